/**
 * The Report: the one data model between measuring and presenting (DESIGN.md section 3).
 * Field names are the JSON names, so the JSON renderer is a plain serialisation.
 * Sizes are bytes; times are milliseconds except the two legacy second-valued fields
 * (`execution_time`, `locks[].duration`).
 */
import type { Blocks } from './observe/lock-modes.js';

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
  /** Its locks were sampled from another connection while it ran: it cannot run in a transaction block. */
  polled?: boolean;
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
}

export interface SkippedMigration {
  path: string;
  reason: string;
}

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
  server: { version: string; version_num: number } | null;
  runner: {
    kind: 'sql' | 'command';
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
  thresholds: Record<string, string>;
  /** Probe traffic, when it ran; max-read-block/max-write-block then judge measured waits. */
  traffic: TrafficReport | null;
}

/** A statement's place: its line in a file, or `#n`, its order among the statements a command's tool sent. */
export function statementPlace(s: { line: number; index?: number }): string {
  return s.index ? `#${s.index}` : String(s.line);
}

/** `file.sql:12` for a file's statement, `command #3` for a tool's. */
export function statementLocation(s: { path: string; line: number; index?: number }): string {
  return s.index ? `${s.path} #${s.index}` : `${s.path}:${s.line}`;
}
