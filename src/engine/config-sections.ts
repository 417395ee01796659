/**
 * buildConfig's section readers: each reads the options of one part of the configuration
 * and rejects the combinations that part forbids, naming the option.
 */
import type { AdviceOption } from './advice/index.js';
import {
  MIGRATION_LAYOUTS,
  SNAPSHOT_DATA_OPTIONS,
  SNAPSHOT_STRATEGIES,
  type MigrationLayoutOption,
  type RehearsalConfig,
  type RunnerConfig,
  type SnapshotConfig,
  type SnapshotDataOption,
  type SnapshotStrategyOption,
  type Thresholds,
} from './config.js';
import { withDatabase, type ConnectionInfo } from './connection.js';
import type { OptionReader } from './option-reader.js';
import { assertSafeName } from './safe-name.js';
import { parsePercent, parseSizeBytes } from './units.js';
import { opt, say } from './wording.js';

/** The snapshot options that decide which kind of snapshot this is, before the servers are read. */
export interface SnapshotChoice {
  strategy: SnapshotStrategyOption;
  name?: string;
  create: boolean;
}

export function readSnapshotChoice(read: OptionReader): SnapshotChoice {
  const strategyText = read.text('snapshot') ?? 'auto';
  if (!SNAPSHOT_STRATEGIES.includes(strategyText as SnapshotStrategyOption)) {
    read.fail(
      'snapshot',
      `"${strategyText}" is not a snapshot strategy; use one of ${SNAPSHOT_STRATEGIES.join(', ')}`,
    );
  }
  const strategy = strategyText as SnapshotStrategyOption;
  const name = read.text('snapshot-name');
  if (name !== undefined) assertSafeName(name, 'snapshot-name');
  const create = read.bool('create-snapshot');
  if (!create && name === undefined) {
    read.fail(
      'snapshot-name',
      `is required when the snapshot is not created (reuse an existing database by name)`,
    );
  }
  if (strategy === 'existing' && name === undefined) {
    read.fail(
      'snapshot-name',
      say`is required with ${opt('snapshot', 'existing')} (the golden snapshot to clone)`,
    );
  }
  return { strategy, name, create };
}

export function readServers(
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
    return read.fail('snapshot-server-url', say`is required when no ${opt('source-url')} is given`);
  }
  // A snapshot-server URL without a database path means "the postgres maintenance DB".
  return {
    source,
    snapshotServer: snapshotServerGiven ?? withDatabase(snapshotServerBase, 'postgres'),
    snapshotServerDefaulted: snapshotServerGiven === undefined,
  };
}

export function readRunner(read: OptionReader, choice: SnapshotChoice): RunnerConfig {
  const migrations = read.text('migrations');
  const command = read.text('command');
  if (migrations !== undefined && command !== undefined) {
    read.fail(
      'migrations',
      say`and ${opt('command')} are both set; give one: ${opt('migrations')} (SQL files) or ${opt('command')} (your migration tool)`,
    );
  }
  if (command !== undefined) return { kind: 'command', command };
  if (migrations === undefined) {
    // Refreshing a golden snapshot is a run of its own (say nightly), with nothing to migrate.
    const refreshOnly =
      choice.create && choice.strategy === 'existing' && read.text('snapshot-max-age') !== undefined;
    if (refreshOnly) return { kind: 'none' };
    if (!choice.create && choice.strategy === 'existing' && read.text('snapshot-max-age') !== undefined)
      return read.fail(
        'migrations',
        say`is required (or ${opt('command')}): ${opt('create-snapshot', 'false')} uses a database as it is, so it cannot refresh a golden snapshot; drop it for a run that only refreshes`,
      );
    return read.fail(
      'migrations',
      say`is required (or ${opt('command')}): newline-separated globs of SQL files, e.g. migrations/*.sql; for a run that only refreshes a golden snapshot, set ${opt('snapshot', 'existing')} with ${opt('snapshot-name')}, ${opt('snapshot-max-age')} and ${opt('source-url')}`,
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

/** The options that only mean something when migrations run. */
const REHEARSAL_ONLY_OPTIONS = [
  'max-duration',
  'max-read-block',
  'max-write-block',
  'max-size-increase',
  'max-rewrite-size',
  'rollback',
  'down-command',
  'require-reversible',
  'require-down',
  'traffic',
];
// Turned on by true; the others count as given whatever their value, as readRollback counts them.
const BOOLEAN_REHEARSAL_OPTIONS = new Set(['rollback', 'traffic']);

/**
 * A refresh-only run rehearses nothing, so a threshold or the way back given to it would
 * never be checked: say so rather than pass without having looked.
 */
export function refuseRehearsalOptions(read: OptionReader, runner: RunnerConfig): void {
  if (runner.kind !== 'none') return;
  for (const option of REHEARSAL_ONLY_OPTIONS) {
    const given = BOOLEAN_REHEARSAL_OPTIONS.has(option) ? read.bool(option) : read.text(option) !== undefined;
    if (given) {
      read.fail(
        option,
        say`applies to migrations, and this run only refreshes the golden snapshot (no ${opt('migrations')}, no ${opt('command')}); remove it, or give the migrations to rehearse`,
      );
    }
  }
}

export function readThresholds(read: OptionReader): Thresholds {
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

export function readSnapshot(
  read: OptionReader,
  choice: SnapshotChoice,
  source: ConnectionInfo | undefined,
): SnapshotConfig {
  const { strategy, name, create } = choice;
  const ttlMs = read.duration('snapshot-ttl')!;
  const maxAgeMs = read.duration('snapshot-max-age');
  if (maxAgeMs !== undefined) {
    if (strategy !== 'existing') {
      read.fail(
        'snapshot-max-age',
        say`applies to the golden snapshot of ${opt('snapshot', 'existing')}; set ${opt('snapshot', 'existing')}`,
      );
    }
    if (source === undefined) {
      read.fail(
        'snapshot-max-age',
        say`needs ${opt('source-url')}: a golden snapshot that is too old or missing is created afresh from the source`,
      );
    }
  }
  const keep = read.bool('keep-snapshot');
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
  const data = read.text('snapshot-data')! as SnapshotDataOption;
  if (!SNAPSHOT_DATA_OPTIONS.includes(data)) {
    read.fail('snapshot-data', `"${data}" is not a choice; use all (the default) or touched`);
  }
  if (data === 'all') return data;
  if (!choice.create) {
    read.fail(
      'snapshot-data',
      say`touched makes a new copy with fewer rows, but ${opt('create-snapshot', 'false')} reuses the database as it is; remove one of them`,
    );
  }
  if (choice.strategy === 'template' || choice.strategy === 'existing') {
    read.fail(
      'snapshot-data',
      say`touched does not apply to ${opt('snapshot', choice.strategy)}: a file copy is already the whole database in one step; use ${opt('snapshot', 'dump')} (or auto with another snapshot server)`,
    );
  }
  if (!read.bool('lock-monitoring') || read.text('lock-capture') === 'sampled') {
    read.fail(
      'snapshot-data',
      say`touched finds the tables to copy from the locks the migrations take, traced exactly; it needs ${opt('lock-monitoring', 'true')} and ${opt('lock-capture', 'exact')}`,
    );
  }
  return data;
}

/** rollback, down-command, and the two thresholds that only mean something with them. */
export function readRollback(
  read: OptionReader,
  runner: RunnerConfig,
  thresholds: Thresholds,
): RehearsalConfig['rollback'] {
  const enabled = read.bool('rollback');
  const downCommand = read.text('down-command');
  if (!enabled) {
    for (const option of ['down-command', 'require-reversible', 'require-down']) {
      if (read.text(option) !== undefined) {
        read.fail(option, say`applies to the way back; set ${opt('rollback', 'true')}`);
      }
    }
    return { enabled };
  }
  if (downCommand !== undefined && runner.kind !== 'command') {
    read.fail(
      'down-command',
      say`undoes what ${opt('command')} applied; with SQL files the down scripts come from the layout`,
    );
  }
  thresholds.requireReversible = read.bool('require-reversible', true);
  thresholds.requireDown = read.bool('require-down');
  return { enabled, downCommand };
}

const ADVICE_OPTIONS: readonly AdviceOption[] = ['auto', 'measured', 'text', 'off'];

/** The options with a fixed set of values that no other option constrains. */
export function readModes(
  read: OptionReader,
): Pick<RehearsalConfig, 'layout' | 'lockSampleIntervalMs' | 'lockCapture' | 'timeoutMs'> {
  const layout = read.text('layout') as MigrationLayoutOption;
  if (!MIGRATION_LAYOUTS.includes(layout)) {
    read.fail('layout', `"${layout}" is not a layout; use one of ${MIGRATION_LAYOUTS.join(', ')}`);
  }
  const lockSampleIntervalMs = read.duration('lock-sample-interval')!;
  if (lockSampleIntervalMs < 5) read.fail('lock-sample-interval', 'must be at least 5ms, e.g. 50ms');
  const lockCapture = read.text('lock-capture') as RehearsalConfig['lockCapture'];
  if (lockCapture !== 'exact' && lockCapture !== 'sampled') {
    read.fail(
      'lock-capture',
      `"${lockCapture}" is not a lock capture; use exact (the default) or sampled (for a tool that cannot connect through a proxy)`,
    );
  }
  const timeoutMs = read.duration('timeout')!;
  if (timeoutMs <= 0) read.fail('timeout', 'must be greater than 0, e.g. 30m');
  return { layout, lockSampleIntervalMs, lockCapture, timeoutMs };
}

export function readAdvice(read: OptionReader): AdviceOption {
  const advice = read.text('advice') as AdviceOption;
  if (!ADVICE_OPTIONS.includes(advice)) {
    read.fail('advice', `"${advice}" is not an advice mode; use one of ${ADVICE_OPTIONS.join(', ')}`);
  }
  return advice;
}
