import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { VERSION } from '../version.js';
import { captureCatalog, diffCatalogs, type CatalogDiff, type CatalogSnapshot } from './catalog.js';
import { generateSnapshotName, type RehearsalConfig } from './config.js';
import {
  connect,
  isConnectionLost,
  passwordsOf,
  redactSecrets,
  withDatabase,
  type ConnectionInfo,
} from './connection.js';
import { CancelledError, ConfigError, SetupError, errorMessage, isUsageOrSetupError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { LockTracer } from './observe/lock-tracer.js';
import {
  SCHEMA_VERSION,
  type MigrationFailure,
  type MigrationReport,
  type Report,
  type SkippedMigration,
  type SnapshotInfo,
} from './report.js';
import { expandMigrationPatterns } from './runner/files.js';
import {
  HISTORY_LAYOUTS,
  MODIFIED_AFTER_RELEASE,
  readHistory,
  recordApplied,
  selectPending,
} from './runner/history.js';
import { runCommandMigration, statementsFromSampledLocks } from './runner/command-runner.js';
import { detectLayout, planMigrations, type MigrationLayout } from './runner/layouts.js';
import { runSqlMigrations } from './runner/sql-runner.js';
import { LockSampler } from './observe/lock-sampler.js';
import {
  chooseProbeTables,
  describeTargets,
  PROBE_INTERVAL_MS,
  summariseTraffic,
  TrafficGenerator,
} from './observe/traffic.js';
import { ensureFreshGolden } from './snapshot/golden.js';
import { findPgTools } from './snapshot/pg-tools.js';
import { createSnapshot, dropSnapshotReconnecting, sweepExpiredSnapshots } from './snapshot/snapshot.js';
import { connectMaintenance, inspectServer, inspectSource, type ServerInfo } from './snapshot/server.js';
import { describeThresholds, evaluateThresholds } from './thresholds.js';

export interface RehearsalHooks {
  log?: Logger;
  /** Aborting cancels the migration in flight and cleans up. */
  signal?: AbortSignal;
  /** Called as soon as the snapshot database exists (the Action saves it for its post step). */
  onSnapshotCreated?: (name: string) => void;
  /** Called once the snapshot is gone, so the post step knows there is nothing left. */
  onSnapshotDropped?: (name: string) => void | Promise<void>;
}

/** Resolves the SQL files to run; a pattern list that matches nothing is a usage error. */
export function resolveMigrationFiles(config: RehearsalConfig): {
  run: string[];
  skipped: SkippedMigration[];
  layout: MigrationLayout;
  /** Every file the layout runs forward, and the ones it sets aside: what a history table chooses from. */
  planned?: { run: string[]; skipped: SkippedMigration[] };
} {
  if (config.runner.kind !== 'sql') return { run: [], skipped: [], layout: 'plain' };
  const files = expandMigrationPatterns(config.runner.patterns, config.workingDirectory);
  if (files.length === 0) {
    throw new ConfigError(
      'migrations',
      `migrations: no file matches ${config.runner.patterns.map((p) => `"${p}"`).join(', ')} in ${config.workingDirectory}; check the glob and working-directory`,
    );
  }
  const layout = config.layout === 'auto' ? detectLayout(files, config.workingDirectory) : config.layout;
  const planned = planMigrations(files, layout);
  const only = config.runner.onlyFiles;
  if (!only) return { ...planned, layout, planned };
  const reason = config.runner.skipReason ?? 'not selected';
  return {
    run: planned.run.filter((file) => only.includes(file)),
    skipped: [
      ...planned.skipped,
      ...planned.run
        .filter((file) => !only.includes(file))
        .map((path) => ({
          path,
          reason: config.runner.kind === 'sql' ? (config.runner.skipReasons?.[path] ?? reason) : reason,
        })),
    ],
    layout,
    planned,
  };
}

/**
 * The whole rehearsal: snapshot, measure, migrate, measure, judge, clean up.
 * Throws ConfigError/SetupError for problems found before anything ran, and
 * CancelledError for a cancel before the migrations started; every other outcome
 * (success, migration error, lost connection, breach, cancel, timeout) is a Report.
 *
 * No password leaves this function: log lines, error messages and every string of the
 * report have URL passwords and the literal passwords of the run's URLs replaced by `***`.
 */
export async function rehearse(config: RehearsalConfig, hooks: RehearsalHooks = {}): Promise<Report> {
  const secrets = passwordsOf(config.source, config.snapshotServer);
  const redact = (text: string) => redactSecrets(text, secrets);
  const log = redactingLogger(hooks.log ?? silentLogger, redact);
  try {
    return redactReport(await rehearseUnredacted(config, { ...hooks, log }), redact);
  } catch (error) {
    throw redactError(error, redact);
  }
}

/** A logger that hides secrets in every line it passes on. */
function redactingLogger(log: Logger, redact: (text: string) => string): Logger {
  return {
    info: (message) => log.info(redact(message)),
    warn: (message) => log.warn(redact(message)),
    group: (name, fn) => log.group(redact(name), fn),
  };
}

/** Every string of the report (keys too), redacted: it goes to files, comments and outputs. */
function redactReport(report: Report, redact: (text: string) => string): Report {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), walk(v)]));
    }
    return value;
  };
  return walk(report) as Report;
}

/** The same error, of the same class, with its message redacted. */
function redactError(error: unknown, redact: (text: string) => string): unknown {
  if (!(error instanceof Error)) return new Error(redact(String(error)));
  const message = redact(error.message);
  if (message === error.message) return error;
  if (error instanceof ConfigError) return new ConfigError(error.option, message);
  if (error instanceof SetupError) return new SetupError(message);
  if (error instanceof CancelledError) return new CancelledError(message);
  return new Error(message);
}

async function rehearseUnredacted(config: RehearsalConfig, hooks: RehearsalHooks & { log: Logger }) {
  const log = hooks.log;
  const startedAt = new Date();
  const phases = { snapshot: 0, catalog_before: 0, migrate: 0, catalog_after: 0, cleanup: 0 };
  const resolved = resolveMigrationFiles(config);
  const { layout, planned } = resolved;
  let { run: files, skipped } = resolved;
  // A released file the change modified may still be pending in a history table: look.
  const historyMayAdd =
    HISTORY_LAYOUTS.has(layout) && skipped.some((s) => s.reason === MODIFIED_AFTER_RELEASE);
  if (config.runner.kind === 'sql' && files.length === 0 && !historyMayAdd) {
    // Nothing to rehearse (no migration changed): no snapshot, a passing report that says so.
    log.info(`no migration to run: ${skipped.length} file(s) matched, none selected (${skipped[0]?.reason})`);
    return buildReport({
      config,
      startedAt,
      migrations: [],
      skipped,
      failure: undefined,
      cancelled: false,
      locks: [],
      before: undefined,
      after: undefined,
      phases,
    });
  }

  // A cancel (a signal, Ctrl-C) applies to every step; the timeout to the migration run only.
  const cancel = hooks.signal ?? new AbortController().signal;

  // Preflight: everything that can be wrong is found before a database is created.
  // The source is inspected whenever it is named, if only to make sure we never run on it.
  let sourceInfo: ServerInfo | undefined;
  if (config.source) {
    sourceInfo = await inspectSource(config.source).catch((error: unknown) => {
      throw new SetupError(`source-url: ${errorMessage(error)}`);
    });
  }
  const admin = await connectMaintenance(config.snapshotServer).catch((error: unknown) => {
    throw new SetupError(`snapshot-server-url: ${errorMessage(error)}`);
  });
  let serverInfo: ServerInfo;
  let snapshotName: string;
  let created = false;
  let snapshot: SnapshotInfo;
  try {
    serverInfo = await inspectServer(admin);
    const sameServerAsSource = sourceInfo?.identity === serverInfo.identity;
    if (config.snapshot.create && !serverInfo.canCreateDatabases) {
      throw new SetupError(
        `snapshot-server-url: role "${serverInfo.user}" cannot create databases on the snapshot server ${config.snapshotServer.host}:${config.snapshotServer.port}; grant it (ALTER ROLE "${serverInfo.user}" CREATEDB) or use another snapshot-server-url`,
      );
    }
    if (config.snapshot.strategy === 'existing' || !config.snapshot.create) {
      snapshotName = config.snapshot.create
        ? generateSnapshotName(config.runId)
        : (config.snapshot.name as string);
    } else {
      snapshotName = config.snapshot.name ?? generateSnapshotName(config.runId);
    }
    if (
      sameServerAsSource &&
      config.source &&
      (snapshotName === config.source.database || config.snapshot.name === config.source.database)
    ) {
      throw new ConfigError(
        'snapshot-name',
        `snapshot-name: "${config.source.database}" is the source database itself; a rehearsal never runs on the source, clones it as a golden snapshot or replaces it. Choose another name`,
      );
    }
    // A dump needs pg_dump able to read the source: find out now, not after creating a database.
    const dumps =
      config.snapshot.create &&
      config.source !== undefined &&
      (config.snapshot.strategy === 'dump' ||
        (config.snapshot.strategy === 'auto' && !sameServerAsSource) ||
        (config.snapshot.strategy === 'existing' &&
          config.snapshot.maxAgeMs !== undefined &&
          !sameServerAsSource));
    if (dumps && sourceInfo) {
      try {
        findPgTools(sourceInfo.major, config.pgBinDir);
      } catch (error) {
        throw new SetupError(`${config.pgBinDir ? 'pg-bin-dir' : 'snapshot'}: ${errorMessage(error)}`);
      }
    }
    await sweepExpiredSnapshots(admin, serverInfo, log);
    if (config.snapshot.strategy === 'existing' && config.snapshot.maxAgeMs !== undefined) {
      await log.group('Golden snapshot', () =>
        ensureFreshGolden(admin, config.snapshotServer, serverInfo, sourceInfo as ServerInfo, {
          source: config.source as ConnectionInfo,
          name: config.snapshot.name as string,
          maxAgeMs: config.snapshot.maxAgeMs as number,
          pgBinDir: config.pgBinDir,
          log,
          signal: cancel,
        }),
      );
    }

    const snapshotStarted = performance.now();
    if (cancel.aborted) throw new CancelledError('cancelled before the snapshot was created');
    if (config.snapshot.create) {
      const made = await log.group('Snapshot', () =>
        createSnapshot(
          {
            source: config.source,
            server: config.snapshotServer,
            strategy: config.snapshot.strategy,
            name: snapshotName,
            golden: config.snapshot.name,
            runId: config.runId,
            ttlMs: config.snapshot.ttlMs,
            pgBinDir: config.pgBinDir,
            signal: cancel,
            log,
            onDatabaseCreated: (name) => {
              created = true;
              hooks.onSnapshotCreated?.(name);
            },
          },
          admin,
          serverInfo,
          sourceInfo,
        ),
      );
      log.info(
        `snapshot "${made.name}" ready in ${made.seconds.toFixed(2)} s (${made.strategy}: ${made.reason})`,
      );
      snapshot = snapshotInfo(config, serverInfo, made.name, made.strategy, made.reason, made.seconds);
    } else {
      snapshot = snapshotInfo(
        config,
        serverInfo,
        snapshotName,
        'reused',
        'reusing an existing database as it is',
        0,
      );
    }
    phases.snapshot = round(performance.now() - snapshotStarted);
  } catch (error) {
    await cleanup();
    throw error;
  }

  async function cleanup(): Promise<void> {
    if (created && !config.snapshot.keep) {
      try {
        await dropSnapshotReconnecting(admin, config.snapshotServer, serverInfo, snapshotName, log);
        await hooks.onSnapshotDropped?.(snapshotName);
      } catch (error) {
        log.warn(
          `could not drop snapshot "${snapshotName}": ${errorMessage(error)}; the next run sweeps it after its TTL`,
        );
      }
    }
    await admin.end().catch(() => undefined);
  }

  let client: pg.Client | undefined;
  let observer: pg.Client | undefined;
  let migrations: MigrationReport[] = [];
  let failure: MigrationFailure | undefined;
  let cancelled = false;
  let before: CatalogSnapshot | undefined;
  let after: CatalogSnapshot | undefined;
  const snapshotConnection = withDatabase(config.snapshotServer, snapshotName);
  // Not AbortSignal.timeout(): held only weakly by AbortSignal.any, it can be garbage
  // collected before it fires (nodejs/node#57736), and the timeout would never come.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('timeout')), config.timeoutMs);
  const signal = AbortSignal.any([cancel, timeout.signal]);
  try {
    client = await connect(snapshotConnection, { applicationName: 'pg-rehearsal-migration' });
    const history = planned ? await readHistory(client, layout) : undefined;
    if (history && planned)
      ({ run: files, skipped } = selectPending(history, planned.run, planned.skipped, log));
    const migrationPid = (client as unknown as { processID: number }).processID;
    const cancelInFlight = () => {
      admin.query('SELECT pg_cancel_backend($1)', [migrationPid]).catch(() => undefined);
    };
    signal.addEventListener('abort', cancelInFlight, { once: true });

    if (config.metrics || config.lockMonitoring) {
      const t = performance.now();
      before = await captureCatalog(client);
      phases.catalog_before = round(performance.now() - t);
      snapshot.size_bytes = before.databaseBytes;
    }
    // One time origin for statements, locks and probes, so the timeline lines up.
    const runStarted = performance.now();
    const clock = () => performance.now() - runStarted;
    let traffic: TrafficGenerator | undefined;
    if (config.traffic && before) {
      const text = files
        .map((f) => readFileSync(path.resolve(config.workingDirectory, f), 'utf8'))
        .join('\n');
      const targets = await describeTargets(client, chooseProbeTables(before, text));
      traffic = new TrafficGenerator(targets, {
        target: snapshotConnection,
        intervalMs: PROBE_INTERVAL_MS,
        clock,
        maxWaitMs: config.timeoutMs,
      });
      log.info(`probe traffic on ${targets.map((t) => t.table).join(', ') || 'no table'}`);
      await traffic.start();
    }
    // Migration time excludes opening the probe connections.
    const migrationStarted = performance.now();
    const databaseSize = config.metrics
      ? async () => {
          const { rows } = await (client as pg.Client).query<{ size: string }>(
            'SELECT pg_database_size(current_database()) AS size',
          );
          return Number(rows[0].size);
        }
      : undefined;
    const openObserver = async () => {
      observer ??= await connect(snapshotConnection, { applicationName: 'pg-rehearsal-observer' });
      return observer;
    };
    const tracer = config.lockMonitoring && config.runner.kind === 'sql' ? new LockTracer(before) : undefined;
    let sampler: LockSampler | undefined;
    try {
      if (config.runner.kind === 'sql') {
        const result = await log.group('Migrations', () =>
          runSqlMigrations(files, {
            client: client as pg.Client,
            observer: openObserver,
            tracer,
            clock,
            databaseSize,
            signal,
            workingDirectory: config.workingDirectory,
            layout,
            log,
          }),
        );
        migrations = result.migrations;
        failure = result.failure;
        if (history) await recordApplied(client as pg.Client, history, migrations, log);
      } else {
        const command = config.runner.command;
        if (config.lockMonitoring) {
          sampler = new LockSampler(
            await openObserver(),
            { intervalMs: config.lockSampleIntervalMs, clock, label: command },
            before,
          );
          await sampler.start();
        }
        const sizeBefore = await databaseSize?.();
        const result = await log
          .group('Migrations', () =>
            runCommandMigration({
              command,
              workingDirectory: config.workingDirectory,
              target: snapshotConnection,
              signal,
              log,
              clock,
            }),
          )
          .finally(() => sampler?.stop());
        if (sizeBefore !== undefined && databaseSize)
          result.migration.size_delta_bytes = (await databaseSize()) - sizeBefore;
        result.migration.statements = statementsFromSampledLocks(command, sampler?.records() ?? []);
        migrations = [result.migration];
        failure = result.failure;
      }
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) {
        cancelled = true;
        if (error instanceof CancelledError && error.migrations) migrations = error.migrations;
        const why = hooks.signal?.aborted
          ? `the run was cancelled (${errorMessage(hooks.signal.reason)})`
          : `the migrations exceeded the ${config.timeoutMs / 1000} s timeout`;
        failure = { message: `${why}: ${errorMessage(error)}` };
      } else if (isConnectionLost(error)) {
        // Lost between statements (BEGIN, COMMIT, a size query): the same outcome as during one.
        failure = connectionLostFailure(error);
      } else {
        throw error;
      }
    }
    phases.migrate = round(performance.now() - migrationStarted);
    await traffic?.stop();
    signal.removeEventListener('abort', cancelInFlight);
    tracer?.endTransaction(clock()); // nothing should be open; never lose a hold if it is

    if (config.metrics && !cancelled && !failure?.connection_lost) {
      const t = performance.now();
      try {
        after = await captureCatalog(client);
      } catch (error) {
        if (!isConnectionLost(error)) throw error;
        failure ??= connectionLostFailure(error);
      }
      phases.catalog_after = round(performance.now() - t);
    }
    // `phases` is shared with the report, so the cleanup time measured in `finally` lands in it.
    const report = buildReport({
      config,
      startedAt,
      serverInfo,
      snapshot,
      migrations,
      skipped,
      failure,
      cancelled,
      locks: tracer?.records() ?? sampler?.records() ?? [],
      sampler,
      tracer,
      layout,
      traffic,
      before: config.metrics ? before : undefined,
      after,
      phases,
    });
    return report;
  } catch (error) {
    if (isUsageOrSetupError(error)) throw error;
    // A cancel that interrupted a query outside the runner (the catalog before, the probes).
    if (signal.aborted)
      throw new CancelledError(`cancelled before the migrations ran (${errorMessage(error)})`);
    throw new SetupError(`the rehearsal failed on the snapshot: ${errorMessage(error)}`);
  } finally {
    clearTimeout(timer);
    await client?.end().catch(() => undefined);
    await observer?.end().catch(() => undefined);
    const t = performance.now();
    await cleanup();
    phases.cleanup = round(performance.now() - t);
  }
}

function connectionLostFailure(error: unknown): MigrationFailure {
  return {
    message: `the connection to the snapshot was lost: ${errorMessage(error)}`,
    connection_lost: true,
  };
}

function snapshotInfo(
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
    kept: config.snapshot.keep || !config.snapshot.create,
  };
}

interface ReportInputs {
  config: RehearsalConfig;
  startedAt: Date;
  serverInfo?: ServerInfo;
  snapshot?: SnapshotInfo;
  migrations: MigrationReport[];
  skipped: SkippedMigration[];
  failure: MigrationFailure | undefined;
  cancelled: boolean;
  locks: Report['locks'];
  sampler?: LockSampler;
  tracer?: LockTracer;
  layout?: MigrationLayout;
  traffic?: TrafficGenerator;
  before: CatalogSnapshot | undefined;
  after: CatalogSnapshot | undefined;
  phases: Report['phases_ms'];
}

function buildReport(inputs: ReportInputs): Report {
  const { config, failure, before, after } = inputs;
  const completedAt = new Date();
  const diff = before && after ? diffCatalogs(before, after) : undefined;
  if (diff && config.runner.kind === 'command') attributeRewrites(inputs.migrations, diff);
  const success = !failure;
  const report: Report = {
    schema_version: SCHEMA_VERSION,
    tool: { name: 'pg-rehearsal', version: VERSION },
    migration_path: config.runner.kind === 'sql' ? config.runner.patterns.join('\n') : config.runner.command,
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
    server: inputs.serverInfo
      ? { version: inputs.serverInfo.version, version_num: inputs.serverInfo.versionNum }
      : null,
    runner: describeRunner(config, inputs.sampler, inputs.tracer, inputs.layout),
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
  report.violations = evaluateThresholds(report, config.thresholds);
  report.passed =
    !inputs.cancelled &&
    (report.violations.length === 0 || !config.failOnViolation) &&
    (success || !config.failOnError);
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

function describeRunner(
  config: RehearsalConfig,
  sampler: LockSampler | undefined,
  tracer: LockTracer | undefined,
  layout: MigrationLayout | undefined,
): Report['runner'] {
  if (config.runner.kind === 'sql') {
    return {
      kind: 'sql',
      lock_capture: config.lockMonitoring ? 'exact' : 'off',
      tracing_ms: tracer ? round(tracer.spentMs) : undefined,
      layout,
    };
  }
  return {
    kind: 'command',
    command: config.runner.command,
    lock_capture: sampler ? 'sampled' : 'off',
    sample_interval_ms: sampler ? config.lockSampleIntervalMs : undefined,
    samples: sampler?.samples,
    max_sample_gap_ms: sampler ? Math.round(sampler.maxGapMs) : undefined,
  };
}

export function formatFailure(failure: MigrationFailure): string {
  const where = failure.path ? `${failure.path}${failure.line ? `:${failure.line}` : ''}: ` : '';
  const code = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : '';
  return `${where}${failure.message}${code}`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
