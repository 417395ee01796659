/**
 * The Report: the one data model between measuring and presenting (docs/architecture.md, "How a report is built").
 * Field names are the JSON names, so the JSON renderer is a plain serialisation.
 * Sizes are bytes; times are milliseconds except the two legacy second-valued fields
 * (`execution_time`, `locks[].duration`).
 */
import type { Blocks } from './observe/lock-modes.js';
import { formatAge, formatBytes, formatDuration } from './units.js';

export const SCHEMA_VERSION = 1;

export type SnapshotStrategy = 'template' | 'clone' | 'dump' | 'existing' | 'reused';
export type RelationStatus = 'new' | 'dropped' | 'changed' | 'unchanged';

export interface StatementRef {
  path: string;
  line: number;
  /** A statement a command's tool sent (through the proxy): its order in the run, from 1; it has no line. */
  index?: number;
  sql: string;
}

export interface BlockedQuery {
  query: string;
  wait_ms: number;
}

export interface LockRecord {
  relation: string;
  /** `table`, `index`, `sequence`, `view`, ... */
  relation_kind: string;
  /** pg_locks.locktype, e.g. `relation`. */
  lock_type: string;
  /** pg_locks.mode, e.g. `AccessExclusiveLock` (as earlier tools report it). */
  mode: string;
  /** The SQL name of the mode, e.g. `ACCESS EXCLUSIVE`. */
  mode_name: string;
  granted: boolean;
  /** Legacy: hold time in seconds. */
  duration: number;
  held_ms: number;
  /** Offset of the hold from the start of the migration run, for timelines. */
  started_at_ms: number;
  blocks: Blocks;
  /** The relation was created by the migration itself: nobody else can be waiting on it. */
  new_relation: boolean;
  statement: StatementRef;
  blocked_queries: BlockedQuery[];
}

export interface StatementReport {
  path: string;
  line: number;
  /** A statement a command's tool sent (through the proxy): its order in the run, from 1; it has no line. */
  index?: number;
  sql: string;
  started_at_ms: number;
  duration_ms: number;
  /** Locks this statement acquired first (mode names per relation). */
  locks: { relation: string; relation_kind: string; mode: string; mode_name: string; blocks: Blocks }[];
  /** Tables and indexes whose storage this statement rewrote. */
  rewrites: string[];
  /** Rows an INSERT, UPDATE or DELETE changed. */
  rows?: number;
  /**
   * How `locks` were captured: read from the migration's session after the statement
   * (`exact`), or polled from another connection while it ran (`polled`: statements that
   * run outside a transaction release their locks before they return). Absent when
   * locks are not traced per statement (monitoring off, a command runner).
   */
  lock_capture?: 'exact' | 'polled';
  error?: string;
}

export interface MigrationReport {
  path: string;
  status: 'applied' | 'failed' | 'not_run';
  /** false when the file ran statement by statement outside one transaction. */
  transactional: boolean;
  duration_ms: number;
  /** Database size change across this file (null when metrics are off). */
  size_delta_bytes: number | null;
  statements: StatementReport[];
  /** With rollback on: whether the way back (the down migration) undoes this migration. */
  rollback?: RollbackReport;
}

/**
 * The way back of one migration, checked as up, down, up again. `differences` compare the
 * schema before the up with the schema after the down: `added` is what the down left
 * behind, `dropped` what it did not restore, `altered` what it restored differently.
 */
export interface RollbackReport {
  status: 'reversible' | 'irreversible' | 'failed' | 'absent' | 'not_checked';
  differences: SchemaChange[];
  down: {
    path: string;
    duration_ms: number;
    transactional: boolean;
    statements: StatementReport[];
    /** The down's own locks, traced exactly like the up's (they are in `locks` too). */
    locks: LockRecord[];
  } | null;
  /** The up ran again after its down. */
  reapplied: boolean;
  /** The down's error (failed), or the error of running the up again. */
  error?: MigrationFailure;
}

export interface SkippedMigration {
  path: string;
  reason: string;
}

/** The skip reason of a file the change modified though the base already had it. */
export const MODIFIED_AFTER_RELEASE =
  'modified after release: the base already had it, so production has run it';

/**
 * Sizes in bytes. `size_*` keep their first meaning: for a table its TOTAL size (heap +
 * TOAST + every index, pg_total_relation_size), for an index the index itself. A table also
 * has its own data (`table_size_*`, heap + TOAST, pg_table_size) and its indexes
 * (`indexes_size_*`, pg_indexes_size) apart; its `status` is `changed` when its own data
 * changed or it was rewritten, not when only an index of it grew (that is the index's row).
 */
export interface RelationMetrics {
  schema: string;
  size_before: number | null;
  size_after: number | null;
  size_delta: number;
  size_delta_percent: number | null;
  rows_before: number | null;
  rows_after: number | null;
  rewritten: boolean;
  status: RelationStatus;
  /**
   * false: a focused snapshot copied no rows of this table; sizes and rows are the source's
   * (read from its catalog), not the snapshot's. Absent when the rows were copied.
   */
  copied?: false;
  /** Tables only: heap + TOAST, without indexes. */
  table_size_before?: number | null;
  table_size_after?: number | null;
  table_size_delta?: number;
  /** Tables only: all the table's indexes. */
  indexes_size_before?: number | null;
  indexes_size_after?: number | null;
  indexes_size_delta?: number;
}

export interface IndexMetrics extends RelationMetrics {
  table: string;
}

export interface MigrationFailure {
  message: string;
  sqlstate?: string;
  path?: string;
  line?: number;
  detail?: string;
  hint?: string;
  /** The last lines a migration command printed, when the runner is a command. */
  output?: string;
  /** The session on the snapshot died (terminated, server restarted): nothing after it was measured. */
  connection_lost?: boolean;
  /** The run stopped before any migration ran: bad input or a setup error (CLI exit 2). */
  setup?: boolean;
}

export interface Violation {
  /** The threshold's input name, e.g. `max-read-block`. */
  rule: string;
  limit: string;
  actual: string;
  subject: string;
  message: string;
  path?: string;
  line?: number;
}

export interface SnapshotInfo {
  name: string;
  strategy: SnapshotStrategy;
  /** Why `auto` picked this strategy (or "requested"). */
  reason: string;
  seconds: number;
  size_bytes: number | null;
  source: { host: string; port: number; database: string } | null;
  server: { host: string; port: number };
  kept: boolean;
  /** Which rows were copied, when `snapshot-data: touched` was asked for. */
  data?: SnapshotData;
}

/** Why a focused snapshot copied a table's rows. */
export type DataReason = 'touched' | 'referenced' | 'history';

/**
 * `all`: every row. `touched`: every table's schema, but the rows of `tables` only: those
 * the migrations locked (`touched`), those they reference by foreign key, transitively
 * (`referenced`), and migration tools' history tables (`history`).
 */
export interface SnapshotData {
  mode: 'all' | 'touched';
  tables: string[];
  reasons: Record<string, DataReason>;
  /** The copied tables' size on the source (the whole source for `all`). */
  bytes_copied: number;
  /** The source database's size. */
  source_bytes: number;
  /** Rehearsals run on the snapshot (a focused snapshot is widened and run again when a run locks a table without rows). */
  passes: number;
  /** Why everything was copied although `touched` was asked for. */
  fallback?: string;
  /** Tables the last pass still locked without their rows (the passes ran out). */
  missing?: string[];
}

/** A golden snapshot checked against snapshot-max-age, and created afresh when too old or missing. */
export interface GoldenRefreshReport {
  name: string;
  /** created: it was missing; refreshed: it was older than the max age; fresh: left as it was. */
  outcome: 'created' | 'refreshed' | 'fresh';
  max_age_ms: number;
  /** The age of the golden snapshot found (null when there was none). */
  found_age_ms: number | null;
  /** When the golden snapshot now in place was created. */
  created_at: string;
  strategy: SnapshotStrategy;
  size_bytes: number | null;
  /** Time spent checking it and, unless fresh, building it. */
  ms: number;
}

export interface ProbeStats {
  probes: number;
  /** Probes that waited at least `blocked_threshold_ms`. */
  blocked: number;
  max_wait_ms: number;
  p95_wait_ms: number;
}

export interface TrafficReport {
  /** Each table gets a read and a write probe every interval. */
  interval_ms: number;
  blocked_threshold_ms: number;
  long_reader_ms: number;
  tables: Record<
    string,
    {
      reads: ProbeStats;
      writes: ProbeStats;
      /** Longest waits, counting only the time after the long reader let go: what thresholds judge. */
      judged_read_wait_ms: number;
      judged_write_wait_ms: number;
      /** [from, to] ms offsets during which probes of that kind were blocked. */
      reads_blocked: [number, number][];
      writes_blocked: [number, number][];
    }
  >;
  /** Per table: what a long-running reader at the start did to the migration and everyone else. */
  lock_queue: Record<string, { reader_held_ms: number; outcome: 'queued' | 'failed_fast' | 'no_conflict' }>;
}

export interface Report {
  schema_version: typeof SCHEMA_VERSION;
  tool: { name: 'pg-rehearsal'; version: string };
  // Legacy fields that users of earlier snapshot-execution tools already parse.
  migration_path: string;
  success: boolean;
  execution_time: number;
  started_at: string;
  completed_at: string;
  error: string | null;
  // Ours.
  passed: boolean;
  cancelled: boolean;
  failure: MigrationFailure | null;
  violations: Violation[];
  snapshot: SnapshotInfo | null;
  /** What the run did to its golden snapshot first (snapshot-max-age); all a refresh-only run does. */
  golden_refresh?: GoldenRefreshReport;
  server: { version: string; version_num: number } | null;
  runner: {
    /** none: a refresh-only run, which applies no migrations (see `golden_refresh`). */
    kind: 'sql' | 'command' | 'none';
    /** exact: read after every statement from the migration's session; sampled: polled. */
    lock_capture: 'exact' | 'sampled' | 'off';
    /** Exact capture: time the lock reads between statements took, included in the migrate phase. */
    tracing_ms?: number;
    command?: string;
    /** The SQL layout the files were read with (plain, flyway, golang-migrate, dbmate). */
    layout?: string;
    /** Sampling: the interval asked for, the samples taken and the longest gap seen. */
    sample_interval_ms?: number;
    samples?: number;
    max_sample_gap_ms?: number;
  };
  phases_ms: {
    snapshot: number;
    catalog_before: number;
    migrate: number;
    catalog_after: number;
    /** Rehearsing the safer forms of the advice, when it ran. */
    advice?: number;
    /** With rollback: checking each way back (downs, second ups), inside the run but not in `migrate`. */
    rollback?: number;
    cleanup: number;
  };
  migrations: MigrationReport[];
  /** Files matched by the globs that were not run, and why (e.g. unchanged in the PR). */
  migrations_skipped: SkippedMigration[];
  locks: LockRecord[];
  metrics: {
    total_db_size_before: number | null;
    total_db_size_after: number | null;
    total_db_size_delta: number | null;
    tables: Record<string, RelationMetrics>;
    indexes: Record<string, IndexMetrics>;
  } | null;
  /** Safer forms of the statements that need one (advice: off gives an empty list). */
  advice: Advice[];
  /** Schema differences the migrations made (null when metrics are off or the run stopped early). */
  schema_changes: SchemaChange[] | null;
  thresholds: Record<string, string>;
  /** Probe traffic, when it ran; max-read-block/max-write-block then judge measured waits. */
  traffic: TrafficReport | null;
}

/** One line for a failure: `path:line: message (SQLSTATE x)`; shared by the report and its renderers. */
export function formatFailure(failure: MigrationFailure): string {
  const where = failure.path ? `${failure.path}${failure.line ? `:${failure.line}` : ''}: ` : '';
  const code = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : '';
  return `${where}${failure.message}${code}`;
}

/** What a schema change is about; `column`, `constraint` and `trigger` names are `table.name`. */
export type SchemaObjectKind =
  'table' | 'column' | 'index' | 'constraint' | 'sequence' | 'view' | 'function' | 'type' | 'trigger';

/** One difference between the schema before and after the migrations (definitions, never data). */
export interface SchemaChange {
  object: SchemaObjectKind;
  change: 'added' | 'dropped' | 'altered';
  /** Schema-qualified where not public. */
  name: string;
  /** One-line definitions, e.g. a column's `integer NOT NULL` -> `numeric(12,2) NOT NULL`. */
  before: string | null;
  after: string | null;
}

/** What a statement, or its safer form, cost when rehearsed on the same data. */
export interface AdviceMeasurement {
  duration_ms: number;
  /** Longest hold of a lock blocking reads (ACCESS EXCLUSIVE) on a table that existed before. */
  read_block_ms: number;
  /** Longest hold of a lock blocking writes (SHARE and stronger) on such a table. */
  write_block_ms: number;
}

/** A safer way to write a statement, with what both ways cost where the safe one was rehearsed. */
export interface Advice {
  /** e.g. `create-index-concurrently` (docs/advice.md lists them). */
  rule: string;
  statement: StatementRef;
  table: string | null;
  /** What the statement did, measured, in one line. */
  finding: string;
  /** What to write instead, in words. */
  instead: string;
  /** The safer form as SQL, when it is a mechanical rewrite of the statement. */
  instead_sql: string | null;
  measured: { original: AdviceMeasurement; alternative: AdviceMeasurement | null };
  /** Why `measured.alternative` is null. */
  not_measured?: string;
}

/** A statement's place: its line in a file, or `#n`, its order among the statements a command's tool sent. */
export function statementPlace(s: { line: number; index?: number }): string {
  return s.index ? `#${s.index}` : String(s.line);
}

/** `file.sql:12` for a file's statement, `command #3` for a tool's. */
export function statementLocation(s: { path: string; line: number; index?: number }): string {
  return s.index ? `${s.path} #${s.index}` : `${s.path}:${s.line}`;
}

/** A golden snapshot's refresh in a line, after the words "golden snapshot", for the log and the renderers: what was done and why, when it was created, size, time. */
export function describeGoldenRefresh(refresh: GoldenRefreshReport): string {
  const found = refresh.found_age_ms === null ? '' : `${formatAge(refresh.found_age_ms)} old`;
  const why = {
    fresh: `still fresh: ${found}`,
    created: 'created: it did not exist',
    refreshed: `refreshed: it was ${found}`,
  }[refresh.outcome];
  const size = refresh.size_bytes === null ? '' : `, ${formatBytes(refresh.size_bytes)}`;
  const took = `${refresh.outcome === 'fresh' ? 'checked' : 'built'} in ${formatDuration(refresh.ms)}`;
  return `"${refresh.name}" ${why} (max age ${formatAge(refresh.max_age_ms)}); created ${refresh.created_at} (${refresh.strategy}${size}); ${took}`;
}
