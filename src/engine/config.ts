import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AdviceOption } from './advice/index.js';
import {
  readAdvice,
  readModes,
  readRollback,
  readRunner,
  refuseRehearsalOptions,
  readServers,
  readSnapshot,
  readSnapshotChoice,
  readThresholds,
} from './config-sections.js';
import type { ConnectionInfo } from './connection.js';
import { optionReader, type RawOptions } from './option-reader.js';

export type SnapshotStrategyOption = 'auto' | 'template' | 'dump' | 'existing';
export const SNAPSHOT_STRATEGIES: readonly SnapshotStrategyOption[] = [
  'auto',
  'template',
  'dump',
  'existing',
];

export type SnapshotDataOption = 'all' | 'touched';
export const SNAPSHOT_DATA_OPTIONS: readonly SnapshotDataOption[] = ['all', 'touched'];

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
  | { kind: 'command'; command: string }
  /**
   * No migrations: a refresh-only run (`snapshot: existing` with `snapshot-max-age`) that
   * makes sure the golden snapshot is fresh, for a scheduled workflow.
   */
  | { kind: 'none' };

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

export type { RawOptions } from './option-reader.js';

export interface BuildConfigContext {
  runId?: string;
  cwd?: string;
}

export type MigrationLayoutOption = 'auto' | 'plain' | 'flyway' | 'golang-migrate' | 'dbmate';
export const MIGRATION_LAYOUTS: readonly MigrationLayoutOption[] = [
  'auto',
  'plain',
  'flyway',
  'golang-migrate',
  'dbmate',
];

/**
 * The raw options (keyed by their names in the option table, engine/options/) as one validated config.
 * A bad value is a ConfigError naming its option; the adapters word it (`--flag`, `input`).
 */
export function buildConfig(raw: RawOptions, context: BuildConfigContext = {}): RehearsalConfig {
  const read = optionReader(raw);
  const choice = readSnapshotChoice(read);
  const { source, snapshotServer, snapshotServerDefaulted } = readServers(read, choice);
  const runner = readRunner(read, choice);
  refuseRehearsalOptions(read, runner);
  const thresholds = readThresholds(read);
  const modes = readModes(read);
  const snapshot = readSnapshot(read, choice, source);
  const rollback = readRollback(read, runner, thresholds);
  const advice = readAdvice(read);

  const cwd = context.cwd ?? process.cwd();
  return {
    source,
    snapshotServer,
    snapshotServerDefaulted,
    snapshot,
    runner,
    workingDirectory: path.resolve(cwd, read.text('working-directory')!),
    lockMonitoring: read.bool('lock-monitoring'),
    metrics: read.bool('metrics'),
    thresholds,
    failOnError: read.bool('fail-on-error'),
    failOnViolation: read.bool('fail-on-violation'),
    runId: sanitizeRunId(context.runId ?? localRunId()),
    pgBinDir: read.text('pg-bin-dir'),
    ...modes,
    traffic: read.bool('traffic'),
    advice,
    rollback,
  };
}

function localRunId(): string {
  return Date.now().toString(36);
}

function sanitizeRunId(runId: string): string {
  return runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 20) || 'run';
}

/** How every database pg-rehearsal makes for a while is named: what the sweep and the post step may drop. */
export const SNAPSHOT_NAME_PREFIX = 'pg_rehearsal_';

/** `pg_rehearsal_<run-id>_<random>`: recognisable for the orphan sweep, unique per run. */
export function generateSnapshotName(runId: string): string {
  return `${SNAPSHOT_NAME_PREFIX}${sanitizeRunId(runId)}_${randomBytes(4).toString('hex')}`;
}
