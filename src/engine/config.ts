import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseConnectionUrl, withDatabase, type ConnectionInfo } from './connection.js';
import { ConfigError } from './errors.js';
import { parseDurationMs, parsePercent, parseSizeBytes } from './units.js';

export type SnapshotStrategyOption = 'auto' | 'template' | 'dump' | 'existing';
export const SNAPSHOT_STRATEGIES: readonly SnapshotStrategyOption[] = [
  'auto',
  'template',
  'dump',
  'existing',
];

export type SizeLimit = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number };

export interface Thresholds {
  maxDurationMs?: number;
  maxReadBlockMs?: number;
  maxWriteBlockMs?: number;
  maxSizeIncrease?: SizeLimit;
  maxRewriteSizeBytes?: number;
}

export type RunnerConfig =
  | {
      kind: 'sql';
      patterns: string[];
      /** When set, only these files (relative to the working directory) run. */
      onlyFiles?: string[];
      /** Why the other matched files do not run, for the report. */
      skipReason?: string;
      /** A reason of its own for some of them (file -> reason), e.g. modified after release. */
      skipReasons?: Record<string, string>;
    }
  | { kind: 'command'; command: string };

/** One typed, validated object: everything the engine needs for a run. */
export interface RehearsalConfig {
  /** The database the migrations are meant for; only ever read. Absent with `snapshot: existing`. */
  source?: ConnectionInfo;
  /** Where the throwaway snapshot database is created (its `database` is the maintenance DB). */
  snapshotServer: ConnectionInfo;
  snapshot: {
    strategy: SnapshotStrategyOption;
    /** Name of the snapshot to create, or of the golden snapshot with `existing`. */
    name?: string;
    keep: boolean;
    /** false: reuse the database named `name` as the snapshot, as it is. */
    create: boolean;
    ttlMs: number;
    /** With `existing`: a golden snapshot older than this (or missing) is created afresh from the source. */
    maxAgeMs?: number;
  };
  runner: RunnerConfig;
  workingDirectory: string;
  lockMonitoring: boolean;
  metrics: boolean;
  thresholds: Thresholds;
  failOnError: boolean;
  /** A breached threshold fails the run (false: report-only). */
  failOnViolation: boolean;
  timeoutMs: number;
  /** Identifies this run in snapshot names (GitHub run id, or a local stamp). */
  runId: string;
  /** Directory holding pg_dump/pg_restore, when not the ones found automatically. */
  pgBinDir?: string;
  /** How SQL files are laid out: which run, in what order, which part of each. */
  layout: MigrationLayoutOption;
  /** How often the lock sampler polls pg_locks during a command run. */
  lockSampleIntervalMs: number;
  /** Generate probe traffic and measure who would really be blocked. */
  traffic: boolean;
}

/**
 * Raw option values, keyed by their input/flag name (`max-duration`, `source-url`, ...).
 * Empty strings mean "not given": the Action runner passes every input, defaults included.
 */
export type RawOptions = Record<string, string | boolean | undefined>;

export interface BuildConfigContext {
  /** How an option is named to the user: `--max-duration` (CLI) or `max-duration` (Action input). */
  label?: (option: string) => string;
  runId?: string;
  cwd?: string;
}

const SNAPSHOT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_TTL_MS = 6 * 3_600_000;
const DEFAULT_SAMPLE_INTERVAL_MS = 50;
const DEFAULT_TRAFFIC = false;

export type MigrationLayoutOption = 'auto' | 'plain' | 'flyway' | 'golang-migrate' | 'dbmate';
export const MIGRATION_LAYOUTS: readonly MigrationLayoutOption[] = [
  'auto',
  'plain',
  'flyway',
  'golang-migrate',
  'dbmate',
];

export function buildConfig(raw: RawOptions, context: BuildConfigContext = {}): RehearsalConfig {
  const label = context.label ?? ((option: string) => option);
  const fail = (option: string, message: string): never => {
    throw new ConfigError(option, `${label(option)}: ${message}`);
  };
  const text = (option: string): string | undefined => {
    const value = raw[option];
    if (value === undefined || value === false) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };
  const bool = (option: string, fallback: boolean) => parseBooleanOption(raw, option, fallback, label);
  const duration = (option: string): number | undefined => {
    const given = text(option);
    if (given === undefined) return undefined;
    const ms = parseDurationMs(given);
    if (ms === undefined)
      fail(option, `"${given}" is not a duration; use a number with a unit: 500ms, 30s, 5m, 1h`);
    return ms;
  };
  const url = (option: string): ConnectionInfo | undefined => {
    const given = text(option);
    return given === undefined ? undefined : parseConnectionUrl(given, option, label(option));
  };

  const strategyText = text('snapshot') ?? 'auto';
  if (!SNAPSHOT_STRATEGIES.includes(strategyText as SnapshotStrategyOption)) {
    fail(
      'snapshot',
      `"${strategyText}" is not a snapshot strategy; use one of ${SNAPSHOT_STRATEGIES.join(', ')}`,
    );
  }
  const strategy = strategyText as SnapshotStrategyOption;

  const snapshotName = text('snapshot-name');
  if (snapshotName !== undefined && !SNAPSHOT_NAME.test(snapshotName)) {
    fail(
      'snapshot-name',
      `"${snapshotName}" is not a safe database name; use letters, digits and underscores, starting with a letter or underscore, at most 63 characters`,
    );
  }
  const create = bool('create-snapshot', true);
  if (!create && snapshotName === undefined) {
    fail(
      'snapshot-name',
      `is required when the snapshot is not created (reuse an existing database by name)`,
    );
  }
  if (strategy === 'existing' && snapshotName === undefined) {
    fail('snapshot-name', 'is required with snapshot: existing (the golden snapshot to clone)');
  }

  const source = url('source-url');
  const needsSource = create && strategy !== 'existing';
  if (needsSource && source === undefined) {
    fail('source-url', 'is required: the URL of the database the migrations are meant for (it is only read)');
  }
  const snapshotServerGiven = url('snapshot-server-url');
  const snapshotServerBase = snapshotServerGiven ?? source;
  if (snapshotServerBase === undefined) {
    return fail('snapshot-server-url', 'is required when no source-url is given');
  }
  // A snapshot-server URL without a database path means "the postgres maintenance DB".
  const snapshotServer = snapshotServerGiven ?? withDatabase(snapshotServerBase, 'postgres');

  const migrations = text('migrations');
  const command = text('command');
  if (migrations !== undefined && command !== undefined) {
    fail(
      'migrations',
      'and command are both set; give one: migrations (SQL files) or command (your migration tool)',
    );
  }
  if (migrations === undefined && command === undefined) {
    fail(
      'migrations',
      'is required (or command): newline-separated globs of SQL files, e.g. migrations/*.sql',
    );
  }
  const runner: RunnerConfig =
    command !== undefined
      ? { kind: 'command', command }
      : {
          kind: 'sql',
          patterns: (migrations as string)
            .split(/\r?\n/)
            .map((p) => p.trim())
            .filter(Boolean),
        };

  const thresholds: Thresholds = {
    maxDurationMs: duration('max-duration'),
    maxReadBlockMs: duration('max-read-block'),
    maxWriteBlockMs: duration('max-write-block'),
  };
  const sizeIncrease = text('max-size-increase');
  if (sizeIncrease !== undefined) {
    const percent = parsePercent(sizeIncrease);
    const bytes = parseSizeBytes(sizeIncrease);
    if (percent !== undefined) thresholds.maxSizeIncrease = { kind: 'percent', percent };
    else if (bytes !== undefined) thresholds.maxSizeIncrease = { kind: 'bytes', bytes };
    else fail('max-size-increase', `"${sizeIncrease}" is not a size; use e.g. 500MB, 2GB or 10%`);
  }
  const rewriteSize = text('max-rewrite-size');
  if (rewriteSize !== undefined) {
    thresholds.maxRewriteSizeBytes = parseSizeBytes(rewriteSize);
    if (thresholds.maxRewriteSizeBytes === undefined) {
      fail('max-rewrite-size', `"${rewriteSize}" is not a size; use e.g. 0 (any rewrite), 100MB, 1GB`);
    }
  }

  const layout = (text('layout') ?? 'auto') as MigrationLayoutOption;
  if (!MIGRATION_LAYOUTS.includes(layout)) {
    fail('layout', `"${layout}" is not a layout; use one of ${MIGRATION_LAYOUTS.join(', ')}`);
  }
  const lockSampleIntervalMs = duration('lock-sample-interval') ?? DEFAULT_SAMPLE_INTERVAL_MS;
  if (lockSampleIntervalMs < 5) fail('lock-sample-interval', 'must be at least 5ms, e.g. 50ms');

  const timeoutMs = duration('timeout') ?? DEFAULT_TIMEOUT_MS;
  if (timeoutMs <= 0) fail('timeout', 'must be greater than 0, e.g. 30m');
  const ttlMs = duration('snapshot-ttl') ?? DEFAULT_TTL_MS;
  const maxAgeMs = duration('snapshot-max-age');
  if (maxAgeMs !== undefined) {
    if (strategy !== 'existing') {
      fail(
        'snapshot-max-age',
        'applies to the golden snapshot of snapshot: existing; set snapshot to existing',
      );
    }
    if (source === undefined) {
      fail(
        'snapshot-max-age',
        'needs source-url: a golden snapshot that is too old or missing is created afresh from the source',
      );
    }
  }

  const cwd = context.cwd ?? process.cwd();
  return {
    source,
    snapshotServer,
    snapshot: { strategy, name: snapshotName, keep: bool('keep-snapshot', false), create, ttlMs, maxAgeMs },
    runner,
    workingDirectory: path.resolve(cwd, text('working-directory') ?? '.'),
    lockMonitoring: bool('lock-monitoring', true),
    metrics: bool('metrics', true),
    thresholds,
    failOnError: bool('fail-on-error', true),
    failOnViolation: bool('fail-on-violation', true),
    timeoutMs,
    runId: sanitizeRunId(context.runId ?? localRunId()),
    pgBinDir: text('pg-bin-dir'),
    layout,
    lockSampleIntervalMs,
    traffic: bool('traffic', DEFAULT_TRAFFIC),
  };
}

/** `true/false` (also yes/no, on/off, 1/0); empty or absent means `fallback`. */
export function parseBooleanOption(
  raw: RawOptions,
  option: string,
  fallback: boolean,
  label: (option: string) => string = (o) => o,
): boolean {
  const value = raw[option];
  if (typeof value === 'boolean') return value;
  const given = value === undefined ? '' : String(value).trim();
  if (given === '') return fallback;
  if (/^(true|yes|on|1)$/i.test(given)) return true;
  if (/^(false|no|off|0)$/i.test(given)) return false;
  throw new ConfigError(option, `${label(option)}: "${given}" is not a boolean; use true or false`);
}

function localRunId(): string {
  return Date.now().toString(36);
}

function sanitizeRunId(runId: string): string {
  return runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 20) || 'run';
}

/** `pg_rehearsal_<run-id>_<random>`: recognisable for the orphan sweep, unique per run. */
export function generateSnapshotName(runId: string): string {
  return `pg_rehearsal_${sanitizeRunId(runId)}_${randomBytes(4).toString('hex')}`;
}
