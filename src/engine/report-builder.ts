import { VERSION } from '../version.js';
import { diffCatalogs, type CatalogDiff, type CatalogSnapshot } from './catalog.js';
import { keepsSnapshot, type RehearsalConfig } from './config.js';
import { PROBE_INTERVAL_MS, summariseTraffic, type TrafficGenerator } from './observe/traffic.js';
import {
  SCHEMA_VERSION,
  formatFailure,
  type GoldenRefreshReport,
  type MigrationFailure,
  type MigrationReport,
  type Report,
  type SkippedMigration,
  type SnapshotInfo,
} from './report.js';
import type { ServerInfo } from './snapshot/server.js';
import { diffSchemas } from './schema.js';
import { describeThresholds, evaluateThresholds } from './thresholds.js';

/*
 * The report builder: turns what the stages of a rehearsal measured into the one Report
 * (report.ts), then judges it against the thresholds. Pure: no database, no clock but
 * `completed_at`.
 */

export function snapshotInfo(
  config: RehearsalConfig,
  serverInfo: ServerInfo,
  name: string,
  strategy: SnapshotInfo['strategy'],
  reason: string,
  seconds: number,
): SnapshotInfo {
  const source = config.source;
  return {
    name,
    strategy,
    reason,
    seconds: Math.round(seconds * 1000) / 1000,
    size_bytes: null,
    source: source ? { host: source.host, port: source.port, database: source.database } : null,
    server: { host: config.snapshotServer.host, port: config.snapshotServer.port },
    kept: keepsSnapshot(config.snapshot),
  };
}

export interface ReportInputs {
  config: RehearsalConfig;
  startedAt: Date;
  serverInfo?: ServerInfo;
  snapshot?: SnapshotInfo;
  /** What was done to the golden snapshot first (snapshot-max-age). */
  goldenRefresh?: GoldenRefreshReport;
  migrations: MigrationReport[];
  skipped: SkippedMigration[];
  failure: MigrationFailure | undefined;
  cancelled: boolean;
  locks: Report['locks'];
  /** The runner's own description (MigrationRunner.describe); absent when nothing ran. */
  runner?: Report['runner'];
  traffic?: TrafficGenerator;
  before: CatalogSnapshot | undefined;
  after: CatalogSnapshot | undefined;
  phases: Report['phases_ms'];
}

export function buildReport(inputs: ReportInputs): Report {
  const { config, failure, before, after } = inputs;
  const completedAt = new Date();
  const diff = before && after ? diffCatalogs(before, after) : undefined;
  // Sampled statements carry no filenodes: pin rewrites from the catalog. Traced ones have theirs.
  if (diff && config.runner.kind === 'command' && inputs.runner?.lock_capture !== 'exact')
    attributeRewrites(inputs.migrations, diff);
  const success = !failure;
  const report: Report = {
    schema_version: SCHEMA_VERSION,
    tool: { name: 'pg-rehearsal', version: VERSION },
    migration_path: migrationPath(config.runner),
    success,
    execution_time: Math.round(inputs.phases.migrate) / 1000,
    started_at: inputs.startedAt.toISOString(),
    completed_at: completedAt.toISOString(),
    error: failure ? formatFailure(failure) : null,
    passed: false,
    cancelled: inputs.cancelled,
    failure: failure ?? null,
    violations: [],
    snapshot: inputs.snapshot ?? null,
    ...(inputs.goldenRefresh ? { golden_refresh: inputs.goldenRefresh } : {}),
    server: inputs.serverInfo
      ? { version: inputs.serverInfo.version, version_num: inputs.serverInfo.versionNum }
      : null,
    runner: inputs.runner ?? idleRunner(config),
    phases_ms: inputs.phases,
    migrations: inputs.migrations,
    migrations_skipped: inputs.skipped,
    locks: inputs.locks,
    metrics: before
      ? {
          total_db_size_before: before.databaseBytes,
          total_db_size_after: after?.databaseBytes ?? null,
          total_db_size_delta: after ? after.databaseBytes - before.databaseBytes : null,
          tables: diff?.tables ?? {},
          indexes: diff?.indexes ?? {},
        }
      : null,
    advice: [],
    schema_changes: before?.schema && after?.schema ? diffSchemas(before.schema, after.schema) : null,
    thresholds: describeThresholds(config.thresholds),
    traffic: inputs.traffic
      ? summariseTraffic(
          inputs.traffic.records(),
          inputs.traffic.longReaders(),
          inputs.locks,
          PROBE_INTERVAL_MS,
          failure?.sqlstate === '55P03',
        )
      : null,
  };
  return report;
}

/** The verdict, the last stage: the thresholds' violations, and whether the run passed. */
export function judge(report: Report, config: RehearsalConfig): Report {
  report.violations = evaluateThresholds(report, config.thresholds);
  report.passed =
    !report.cancelled &&
    (report.violations.length === 0 || !config.failOnViolation) &&
    (report.success || !config.failOnError);
  return report;
}

/**
 * A command's statements are known only from sampling, which cannot read filenodes:
 * pin each rewrite the catalog diff found on the statement that held the table
 * ACCESS EXCLUSIVE (a rewrite always takes it).
 */
function attributeRewrites(migrations: MigrationReport[], diff: CatalogDiff): void {
  const rewritten = [...Object.entries(diff.tables), ...Object.entries(diff.indexes)]
    .filter(([, metrics]) => metrics.rewritten)
    .map(([name]) => name);
  for (const name of rewritten) {
    const statement = migrations
      .flatMap((m) => m.statements)
      .find((s) => s.locks.some((l) => l.relation === name && l.mode === 'AccessExclusiveLock'));
    if (statement && !statement.rewrites.includes(name)) statement.rewrites.push(name);
  }
}

/** The `runner` section when no migration was selected (or none is asked for), so none ran. */
function idleRunner(config: RehearsalConfig): Report['runner'] {
  if (config.runner.kind === 'sql') {
    return { kind: 'sql', lock_capture: config.lockMonitoring ? 'exact' : 'off' };
  }
  if (config.runner.kind === 'none') return { kind: 'none', lock_capture: 'off' };
  return { kind: 'command', command: config.runner.command, lock_capture: 'off' };
}

/** The legacy `migration_path`: the globs, the command, or nothing for a refresh-only run. */
export function migrationPath(runner: RehearsalConfig['runner'] | undefined): string {
  if (runner?.kind === 'sql') return runner.patterns.join('\n');
  return runner?.kind === 'command' ? runner.command : '';
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
