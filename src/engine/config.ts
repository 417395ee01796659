import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AdviceOption } from './advice/index.js';
import { parseConnectionUrl, withDatabase, type ConnectionInfo } from './connection.js';
import { ConfigError } from './errors.js';
import { assertSafeName } from './safe-name.js';
import { parseDurationMs, parsePercent, parseSizeBytes } from './units.js';

export type SnapshotStrategyOption = 'auto' | 'template' | 'dump' | 'existing';
export const SNAPSHOT_STRATEGIES: readonly SnapshotStrategyOption[] = [
  'auto',
  'template',
  'dump',
  'existing',
];

export type SnapshotDataOption = 'all' | 'touched';
const SNAPSHOT_DATA_OPTIONS: readonly SnapshotDataOption[] = ['all', 'touched'];

export type SizeLimit = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number };

export interface Thresholds {
  maxDurationMs?: number;
  maxReadBlockMs?: number;
  maxWriteBlockMs?: number;
  maxSizeIncrease?: SizeLimit;
  maxRewriteSizeBytes?: number;
  /** With rollback: a down that fails or leaves the schema different is a violation. */
  requireReversible?: boolean;
  /** With rollback: a migration without a down is a violation. */
  requireDown?: boolean;
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

/**
 * Where the database the migrations run on comes from: exactly one of three, so a
 * combination the options forbid cannot be built.
 */
export type SnapshotConfig =
  | {
      /** A new copy of the source: a file-level template copy or a dump (`auto` chooses). */
      kind: 'copy';
      strategy: 'auto' | 'template' | 'dump';
      source: ConnectionInfo;
      /** The snapshot's name; a fresh `pg_rehearsal_...` name when absent. */
      name?: string;
      /** Which rows a dump copies: all of them, or those of the tables the migrations touch (a focused snapshot). */
      data: SnapshotDataOption;
      keep: boolean;
      ttlMs: number;
    }
  | {
      /** A clone of a golden snapshot (`snapshot: existing`). */
      kind: 'golden';
      golden: string;
      keep: boolean;
      ttlMs: number;
      /** A golden snapshot older than `maxAgeMs` (or missing) is created afresh from `source`. */
      refresh?: { source: ConnectionInfo; maxAgeMs: number };
    }
  | {
      /** An existing database, used as it is (`create-snapshot: false`); never dropped. */
      kind: 'reuse';
      name: string;
    };

/** Whether the snapshot stays after the run (kept on request, or not ours to drop). */
export function keepsSnapshot(snapshot: SnapshotConfig): boolean {
  return snapshot.kind === 'reuse' || snapshot.keep;
}

/** The database name the user gave: the snapshot's, the golden snapshot's, or the reused one. */
export function namedDatabase(snapshot: SnapshotConfig): string | undefined {
  return snapshot.kind === 'golden' ? snapshot.golden : snapshot.name;
}

/** One typed, validated object: everything the engine needs for a run. */
export interface RehearsalConfig {
  /** The database the migrations are meant for; only ever read. Inspected whenever it is given. */
  source?: ConnectionInfo;
  /** Where the throwaway snapshot database is created (its `database` is the maintenance DB). */
  snapshotServer: ConnectionInfo;
  /** snapshot-server-url was not given: the snapshot server is the source's own by default. */
  snapshotServerDefaulted: boolean;
  /** Where the database the migrations run on comes from. */
  snapshot: SnapshotConfig;
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
  /** A command's locks: exact (through the tracing proxy) or sampled (pg_locks polled). */
  lockCapture: 'exact' | 'sampled';
  /** Generate probe traffic and measure who would really be blocked. */
  traffic: boolean;
  /** Safer forms of risky statements: rehearsed (measured), in words (text), or none (off). */
  advice: AdviceOption;
  /** Rehearse each migration's way back (up, down, up again). */
  rollback: { enabled: boolean; downCommand?: string };
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

const ADVICE_OPTIONS: readonly AdviceOption[] = ['auto', 'measured', 'text', 'off'];

export function buildConfig(raw: RawOptions, context: BuildConfigContext = {}): RehearsalConfig {
  const read = optionReader(raw, context.label ?? ((option: string) => option));
  const choice = readSnapshotChoice(read);
  const { source, snapshotServer, snapshotServerDefaulted } = readServers(read, choice);
  const runner = readRunner(read);
  const thresholds = readThresholds(read);
  const layout = (read.text('layout') ?? 'auto') as MigrationLayoutOption;
  if (!MIGRATION_LAYOUTS.includes(layout)) {
    read.fail('layout', `"${layout}" is not a layout; use one of ${MIGRATION_LAYOUTS.join(', ')}`);
  }
  const lockSampleIntervalMs = read.duration('lock-sample-interval') ?? DEFAULT_SAMPLE_INTERVAL_MS;
  if (lockSampleIntervalMs < 5) read.fail('lock-sample-interval', 'must be at least 5ms, e.g. 50ms');
  const lockCapture = (read.text('lock-capture') ?? 'exact') as RehearsalConfig['lockCapture'];
  if (lockCapture !== 'exact' && lockCapture !== 'sampled') {
    read.fail(
      'lock-capture',
      `"${lockCapture}" is not a lock capture; use exact (the default) or sampled (for a tool that cannot connect through a proxy)`,
    );
  }
  const timeoutMs = read.duration('timeout') ?? DEFAULT_TIMEOUT_MS;
  if (timeoutMs <= 0) read.fail('timeout', 'must be greater than 0, e.g. 30m');
  const snapshot = readSnapshot(read, choice, source);
  const rollback = readRollback(read, runner, thresholds);
  const advice = (read.text('advice') ?? 'auto') as AdviceOption;
  if (!ADVICE_OPTIONS.includes(advice)) {
    read.fail('advice', `"${advice}" is not an advice mode; use one of ${ADVICE_OPTIONS.join(', ')}`);
  }

  const cwd = context.cwd ?? process.cwd();
  return {
    source,
    snapshotServer,
    snapshotServerDefaulted,
    snapshot,
    runner,
    workingDirectory: path.resolve(cwd, read.text('working-directory') ?? '.'),
    lockMonitoring: read.bool('lock-monitoring', true),
    metrics: read.bool('metrics', true),
    thresholds,
    failOnError: read.bool('fail-on-error', true),
    failOnViolation: read.bool('fail-on-violation', true),
    timeoutMs,
    runId: sanitizeRunId(context.runId ?? localRunId()),
    pgBinDir: read.text('pg-bin-dir'),
    layout,
    lockSampleIntervalMs,
    lockCapture,
    traffic: read.bool('traffic', DEFAULT_TRAFFIC),
    advice,
    rollback,
  };
}

/** Typed access to the raw options; every failure names its option. */
interface OptionReader {
  fail(option: string, message: string): never;
  text(option: string): string | undefined;
  bool(option: string, fallback: boolean): boolean;
  duration(option: string): number | undefined;
  url(option: string): ConnectionInfo | undefined;
  label(option: string): string;
}

function optionReader(raw: RawOptions, label: (option: string) => string): OptionReader {
  const fail = (option: string, message: string): never => {
    throw new ConfigError(option, `${label(option)}: ${message}`);
  };
  const text = (option: string): string | undefined => {
    const value = raw[option];
    if (value === undefined || value === false) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };
  const duration = (option: string): number | undefined => {
    const given = text(option);
    if (given === undefined) return undefined;
    const ms = parseDurationMs(given);
    if (ms === undefined)
      fail(option, `"${given}" is not a duration; use a number with a unit: 500ms, 30s, 5m, 1h`);
    return ms;
  };
  return {
    fail,
    text,
    duration,
    label,
    bool: (option, fallback) => parseBooleanOption(raw, option, fallback, label),
    url: (option) => {
      const given = text(option);
      return given === undefined ? undefined : parseConnectionUrl(given, option, label(option));
    },
  };
}

/** The snapshot options that decide which kind of snapshot this is, before the servers are read. */
interface SnapshotChoice {
  strategy: SnapshotStrategyOption;
  name?: string;
  create: boolean;
}

function readSnapshotChoice(read: OptionReader): SnapshotChoice {
  const strategyText = read.text('snapshot') ?? 'auto';
  if (!SNAPSHOT_STRATEGIES.includes(strategyText as SnapshotStrategyOption)) {
    read.fail(
      'snapshot',
      `"${strategyText}" is not a snapshot strategy; use one of ${SNAPSHOT_STRATEGIES.join(', ')}`,
    );
  }
  const strategy = strategyText as SnapshotStrategyOption;
  const name = read.text('snapshot-name');
  if (name !== undefined) assertSafeName(name, 'snapshot-name', read.label('snapshot-name'));
  const create = read.bool('create-snapshot', true);
  if (!create && name === undefined) {
    read.fail(
      'snapshot-name',
      `is required when the snapshot is not created (reuse an existing database by name)`,
    );
  }
  if (strategy === 'existing' && name === undefined) {
    read.fail('snapshot-name', 'is required with snapshot: existing (the golden snapshot to clone)');
  }
  return { strategy, name, create };
}

function readServers(
  read: OptionReader,
  choice: SnapshotChoice,
): { source?: ConnectionInfo; snapshotServer: ConnectionInfo; snapshotServerDefaulted: boolean } {
  const source = read.url('source-url');
  const needsSource = choice.create && choice.strategy !== 'existing';
  if (needsSource && source === undefined) {
    read.fail(
      'source-url',
      'is required: the URL of the database the migrations are meant for (it is only read)',
    );
  }
  const snapshotServerGiven = read.url('snapshot-server-url');
  const snapshotServerBase = snapshotServerGiven ?? source;
  if (snapshotServerBase === undefined) {
    return read.fail('snapshot-server-url', 'is required when no source-url is given');
  }
  // A snapshot-server URL without a database path means "the postgres maintenance DB".
  return {
    source,
    snapshotServer: snapshotServerGiven ?? withDatabase(snapshotServerBase, 'postgres'),
    snapshotServerDefaulted: snapshotServerGiven === undefined,
  };
}

function readRunner(read: OptionReader): RunnerConfig {
  const migrations = read.text('migrations');
  const command = read.text('command');
  if (migrations !== undefined && command !== undefined) {
    read.fail(
      'migrations',
      'and command are both set; give one: migrations (SQL files) or command (your migration tool)',
    );
  }
  if (command !== undefined) return { kind: 'command', command };
  if (migrations === undefined) {
    return read.fail(
      'migrations',
      'is required (or command): newline-separated globs of SQL files, e.g. migrations/*.sql',
    );
  }
  return {
    kind: 'sql',
    patterns: migrations
      .split(/\r?\n/)
      .map((p) => p.trim())
      .filter(Boolean),
  };
}

function readThresholds(read: OptionReader): Thresholds {
  const thresholds: Thresholds = {
    maxDurationMs: read.duration('max-duration'),
    maxReadBlockMs: read.duration('max-read-block'),
    maxWriteBlockMs: read.duration('max-write-block'),
  };
  const sizeIncrease = read.text('max-size-increase');
  if (sizeIncrease !== undefined) {
    const percent = parsePercent(sizeIncrease);
    const bytes = parseSizeBytes(sizeIncrease);
    if (percent !== undefined) thresholds.maxSizeIncrease = { kind: 'percent', percent };
    else if (bytes !== undefined) thresholds.maxSizeIncrease = { kind: 'bytes', bytes };
    else read.fail('max-size-increase', `"${sizeIncrease}" is not a size; use e.g. 500MB, 2GB or 10%`);
  }
  const rewriteSize = read.text('max-rewrite-size');
  if (rewriteSize !== undefined) {
    thresholds.maxRewriteSizeBytes = parseSizeBytes(rewriteSize);
    if (thresholds.maxRewriteSizeBytes === undefined) {
      read.fail('max-rewrite-size', `"${rewriteSize}" is not a size; use e.g. 0 (any rewrite), 100MB, 1GB`);
    }
  }
  return thresholds;
}

function readSnapshot(
  read: OptionReader,
  choice: SnapshotChoice,
  source: ConnectionInfo | undefined,
): SnapshotConfig {
  const { strategy, name, create } = choice;
  const ttlMs = read.duration('snapshot-ttl') ?? DEFAULT_TTL_MS;
  const maxAgeMs = read.duration('snapshot-max-age');
  if (maxAgeMs !== undefined) {
    if (strategy !== 'existing') {
      read.fail(
        'snapshot-max-age',
        'applies to the golden snapshot of snapshot: existing; set snapshot to existing',
      );
    }
    if (source === undefined) {
      read.fail(
        'snapshot-max-age',
        'needs source-url: a golden snapshot that is too old or missing is created afresh from the source',
      );
    }
  }
  const keep = read.bool('keep-snapshot', false);
  const data = readSnapshotData(read, choice);
  // readSnapshotChoice made sure of the name, readServers of the source.
  if (!create) return { kind: 'reuse', name: name! };
  if (strategy === 'existing') {
    const refresh = maxAgeMs !== undefined && source ? { source, maxAgeMs } : undefined;
    return { kind: 'golden', golden: name!, keep, ttlMs, refresh };
  }
  return { kind: 'copy', strategy, source: source!, name, data, keep, ttlMs };
}

/**
 * `touched` narrows a dump to the rows the migrations need. A file copy (template, a golden
 * snapshot's clone) is the whole database in one step, and a reused database is not copied;
 * and the tables to fill are found from the locks, so they must be traced exactly.
 */
function readSnapshotData(read: OptionReader, choice: SnapshotChoice): SnapshotDataOption {
  const data = (read.text('snapshot-data') ?? 'all') as SnapshotDataOption;
  if (!SNAPSHOT_DATA_OPTIONS.includes(data)) {
    read.fail('snapshot-data', `"${data}" is not a choice; use all (the default) or touched`);
  }
  if (data === 'all') return data;
  const snapshot = read.label('snapshot');
  const why = `a file copy is already the whole database in one step; use ${snapshot} dump (or auto with another snapshot server)`;
  if (!choice.create) {
    read.fail(
      'snapshot-data',
      `touched makes a new copy with fewer rows, but ${read.label('create-snapshot')} is false (the database is reused as it is); remove one of them`,
    );
  }
  if (choice.strategy === 'template' || choice.strategy === 'existing') {
    read.fail('snapshot-data', `touched does not apply to ${snapshot} ${choice.strategy}: ${why}`);
  }
  if (!read.bool('lock-monitoring', true) || read.text('lock-capture') === 'sampled') {
    read.fail(
      'snapshot-data',
      `touched finds the tables to copy from the locks the migrations take, traced exactly; it needs ${read.label('lock-monitoring')} on and ${read.label('lock-capture')} exact`,
    );
  }
  return data;
}

/** rollback, down-command, and the two thresholds that only mean something with them. */
function readRollback(
  read: OptionReader,
  runner: RunnerConfig,
  thresholds: Thresholds,
): RehearsalConfig['rollback'] {
  const enabled = read.bool('rollback', false);
  const downCommand = read.text('down-command');
  if (!enabled) {
    for (const option of ['down-command', 'require-reversible', 'require-down']) {
      if (read.text(option) !== undefined) read.fail(option, 'applies to the way back; set rollback to true');
    }
    return { enabled };
  }
  if (downCommand !== undefined && runner.kind !== 'command') {
    read.fail(
      'down-command',
      'undoes what command applied; with SQL files the down scripts come from the layout',
    );
  }
  thresholds.requireReversible = read.bool('require-reversible', true);
  thresholds.requireDown = read.bool('require-down', false);
  return { enabled, downCommand };
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
