import pg from 'pg';
import { displayName, type CatalogSnapshot } from '../catalog.js';
import { connect, quoteIdent, type ConnectionInfo } from '../connection.js';
import { LOCK_WAITERS_QUERY, PRIMARY_KEY_COLUMN_QUERY } from '../queries/traffic.js';
import type { LockRecord, ProbeStats, TrafficReport } from '../report.js';

/**
 * Probe traffic: while the migration runs, workers on their own connections keep issuing
 * the application's simplest queries on the tables the migration touches: a primary-key
 * read, and a write (a row lock plus the table's ROW EXCLUSIVE lock, in a transaction that
 * is always rolled back, so no data changes). A probe waits as long as it is blocked, so
 * its duration is the real blocking time another session would have seen. A probe counts
 * as blocked only when PostgreSQL showed it waiting for a lock: on a busy machine a
 * migration's CPU load alone slows probes, and that is not blocking.
 *
 * At the start, a "long reader" also holds each table for a moment, the way a slow report
 * or an idle-in-transaction session does, to show whether the migration queues behind it
 * and makes everyone else queue behind the migration (the classic outage), or fails fast
 * thanks to lock_timeout.
 */
export const BLOCKED_THRESHOLD_MS = 20;
const MAX_TABLES = 8;
const LARGEST_TABLES = 4;
const LONG_READER_MS = 300;
export const PROBE_INTERVAL_MS = 50;
/** How often in-flight probes older than half the blocked threshold are checked for a lock wait. */
const LOCK_WATCH_INTERVAL_MS = 10;

export interface ProbeTarget {
  table: string;
  /** schema-qualified, quoted. */
  sql: string;
  keyColumn?: string;
  keyValue?: string;
}

export interface ProbeRecord {
  table: string;
  kind: 'read' | 'write';
  started_at_ms: number;
  /** Time spent blocked: the probe's duration when it was seen waiting for a lock, else 0. */
  wait_ms: number;
  query: string;
}

interface InFlightProbe {
  started: number;
  waitedForLock: boolean;
}

/**
 * Tables worth probing: those the migration text names, then the largest, at most
 * MAX_TABLES so the probe connections stay bounded (two per table, plus the long reader).
 */
export function chooseProbeTables(
  before: CatalogSnapshot,
  migrationText: string,
): { schema: string; name: string }[] {
  const tables = before.relations.filter((r) => r.kind === 'r' || r.kind === 'p');
  const lowered = migrationText.toLowerCase();
  const named = tables.filter((t) =>
    new RegExp(`(^|[^\\w$])"?${escapeRegExp(t.name.toLowerCase())}"?($|[^\\w$])`).test(lowered),
  );
  const largest = [...tables].sort((a, b) => b.bytes - a.bytes).slice(0, LARGEST_TABLES);
  const chosen = new Map<string, { schema: string; name: string }>();
  for (const t of [...named, ...largest]) {
    if (chosen.size >= MAX_TABLES) break;
    chosen.set(displayName(t.schema, t.name), { schema: t.schema, name: t.name });
  }
  return [...chosen.values()];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Finds a single-column primary key and one of its values, so probes touch one real row. */
export async function describeTargets(
  client: pg.Client,
  tables: { schema: string; name: string }[],
): Promise<ProbeTarget[]> {
  const targets: ProbeTarget[] = [];
  for (const t of tables) {
    const sql = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    const { rows } = await client.query<{ column: string }>(PRIMARY_KEY_COLUMN_QUERY, [sql]);
    const target: ProbeTarget = { table: displayName(t.schema, t.name), sql };
    if (rows[0]) {
      const key = await client.query<{ v: string }>(
        `SELECT ${quoteIdent(rows[0].column)}::text AS v FROM ${sql} LIMIT 1`,
      );
      if (key.rows[0]) {
        target.keyColumn = rows[0].column;
        target.keyValue = key.rows[0].v;
      }
    }
    targets.push(target);
  }
  return targets;
}

function readQuery(t: ProbeTarget): string {
  return t.keyColumn
    ? `SELECT 1 FROM ${t.sql} WHERE ${quoteIdent(t.keyColumn)} = $1`
    : `SELECT 1 FROM ${t.sql} LIMIT 1`;
}

/** The locks an UPDATE of one row takes, without writing a row version. */
function writeQueries(t: ProbeTarget): string[] {
  const rowLock = t.keyColumn
    ? [`SELECT 1 FROM ${t.sql} WHERE ${quoteIdent(t.keyColumn)} = $1 FOR NO KEY UPDATE`]
    : [];
  return [`LOCK TABLE ${t.sql} IN ROW EXCLUSIVE MODE`, ...rowLock];
}

export interface TrafficOptions {
  target: ConnectionInfo;
  intervalMs: number;
  clock: () => number;
  /** Bound on any single probe's wait: the run's timeout. */
  maxWaitMs: number;
}

export class TrafficGenerator {
  private readonly probes: ProbeRecord[] = [];
  private readonly clients: pg.Client[] = [];
  private readonly workers: Promise<void>[] = [];
  private readonly readers: { table: string; held_ms: number; startedAt: number }[] = [];
  /** Probes running now, by backend pid, for the lock-wait watcher. */
  private readonly inFlight = new Map<number, InFlightProbe>();
  private running = false;

  constructor(
    private readonly targets: ProbeTarget[],
    private readonly options: TrafficOptions,
  ) {}

  private async open(name: string): Promise<pg.Client> {
    const client = await connect(this.options.target, {
      applicationName: `pg-rehearsal-${name}`,
      statementTimeoutMs: this.options.maxWaitMs,
    });
    this.clients.push(client);
    return client;
  }

  /**
   * Opens every connection first, so that connecting never counts as waiting, and returns
   * once the long readers hold their tables: the migration may start then.
   */
  async start(): Promise<void> {
    const pairs = await Promise.all(
      this.targets.map(async (t) => ({
        t,
        reader: await this.open('probe'),
        writer: await this.open('probe'),
        long: await this.open('long-reader'),
      })),
    );
    const watcher = await this.open('lock-watch');
    this.running = true;
    this.workers.push(this.watchLockWaits(watcher));
    const holding: Promise<void>[] = [];
    for (const { t, reader, writer, long } of pairs) {
      let held!: () => void;
      holding.push(new Promise<void>((resolve) => (held = resolve)));
      this.workers.push(this.holdLongReader(long, t, held));
      this.workers.push(this.loop(reader, t, 'read'));
      this.workers.push(this.loop(writer, t, 'write'));
    }
    await Promise.all(holding);
  }

  private async holdLongReader(client: pg.Client, t: ProbeTarget, held: () => void): Promise<void> {
    const startedAt = this.options.clock();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT 1 FROM ${t.sql} LIMIT 1`);
      held();
      await new Promise((resolve) => setTimeout(resolve, LONG_READER_MS));
    } finally {
      held();
      await client.query('ROLLBACK').catch(() => undefined);
      this.readers.push({ table: t.table, held_ms: this.options.clock() - startedAt, startedAt });
    }
  }

  /**
   * Marks in-flight probes that PostgreSQL shows waiting for a lock. It queries only while
   * some probe has been running for a while, so an unblocked run costs no extra queries.
   */
  private async watchLockWaits(watcher: pg.Client): Promise<void> {
    while (this.running) {
      const now = this.options.clock();
      const slow = [...this.inFlight.entries()]
        .filter(([, probe]) => !probe.waitedForLock && now - probe.started >= BLOCKED_THRESHOLD_MS / 2)
        .map(([pid]) => pid);
      if (slow.length > 0) {
        try {
          const { rows } = await watcher.query<{ pid: number }>(LOCK_WAITERS_QUERY, [slow]);
          for (const { pid } of rows) {
            const probe = this.inFlight.get(pid);
            if (probe) probe.waitedForLock = true;
          }
        } catch {
          return; // without the watcher, probes simply count as not blocked
        }
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_WATCH_INTERVAL_MS));
    }
  }

  private async loop(client: pg.Client, t: ProbeTarget, kind: 'read' | 'write'): Promise<void> {
    const params = t.keyColumn ? [t.keyValue] : [];
    const query = kind === 'read' ? readQuery(t) : writeQueries(t).join('; ');
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0].pid;
    while (this.running) {
      const started = this.options.clock();
      const probe: InFlightProbe = { started, waitedForLock: false };
      this.inFlight.set(pid, probe);
      try {
        if (kind === 'read') await client.query(readQuery(t), params);
        else {
          await client.query('BEGIN');
          for (const [i, q] of writeQueries(t).entries()) await client.query(q, i === 0 ? [] : params);
          await client.query('ROLLBACK');
        }
      } catch {
        // The table may be gone (dropped by the migration) or the probe timed out: stop probing it.
        await client.query('ROLLBACK').catch(() => undefined);
        this.inFlight.delete(pid);
        this.record(t, kind, probe, query);
        return;
      }
      this.inFlight.delete(pid);
      this.record(t, kind, probe, query);
      const next = started + this.options.intervalMs - this.options.clock();
      if (this.running && next > 0) await new Promise((resolve) => setTimeout(resolve, next));
    }
  }

  private record(t: ProbeTarget, kind: 'read' | 'write', probe: InFlightProbe, query: string): void {
    const duration = this.options.clock() - probe.started;
    this.probes.push({
      table: t.table,
      kind,
      started_at_ms: round(probe.started),
      wait_ms: probe.waitedForLock ? round(duration) : 0,
      query: kind === 'read' ? query.replace('$1', t.keyValue ?? '') : query.replace('$1', t.keyValue ?? ''),
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.workers);
    await Promise.allSettled(this.clients.map((c) => c.end()));
  }

  records(): ProbeRecord[] {
    return [...this.probes];
  }

  longReaders(): { table: string; held_ms: number; startedAt: number }[] {
    return [...this.readers];
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function stats(probes: ProbeRecord[]): ProbeStats {
  const waits = probes.map((p) => p.wait_ms).sort((a, b) => a - b);
  const p95 = waits.length ? waits[Math.min(waits.length - 1, Math.ceil(waits.length * 0.95) - 1)] : 0;
  return {
    probes: probes.length,
    blocked: probes.filter((p) => p.wait_ms >= BLOCKED_THRESHOLD_MS).length,
    max_wait_ms: waits.length ? waits[waits.length - 1] : 0,
    p95_wait_ms: p95,
  };
}

/** Merges the intervals during which probes of one kind were blocked on a table. */
function blockedIntervals(probes: ProbeRecord[]): [number, number][] {
  const intervals = probes
    .filter((p) => p.wait_ms >= BLOCKED_THRESHOLD_MS)
    .map((p) => [p.started_at_ms, p.started_at_ms + p.wait_ms] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [from, to] of intervals) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged.map(([a, b]) => [round(a), round(b)]);
}

/**
 * Turns probe records into the report's traffic section, and fills each lock's
 * blocked_queries with the probes that waited while it was held on its table.
 */
export function summariseTraffic(
  probes: ProbeRecord[],
  readers: { table: string; held_ms: number; startedAt: number }[],
  locks: LockRecord[],
  intervalMs: number,
  failedFast: boolean,
): TrafficReport {
  const tables: TrafficReport['tables'] = {};
  for (const table of [...new Set(probes.map((p) => p.table))].sort()) {
    const reads = probes.filter((p) => p.table === table && p.kind === 'read');
    const writes = probes.filter((p) => p.table === table && p.kind === 'write');
    // Thresholds judge only the waiting after our long reader let go: its queue is a
    // scenario shown on its own, not part of what the migration itself costs.
    const reader = readers.find((r) => r.table === table);
    const readerEnd = reader ? reader.startedAt + reader.held_ms : -Infinity;
    const judged = (list: ProbeRecord[]) =>
      round(
        Math.max(0, ...list.map((p) => p.started_at_ms + p.wait_ms - Math.max(p.started_at_ms, readerEnd))),
      );
    tables[table] = {
      reads: stats(reads),
      writes: stats(writes),
      judged_read_wait_ms: judged(reads),
      judged_write_wait_ms: judged(writes),
      reads_blocked: blockedIntervals(reads),
      writes_blocked: blockedIntervals(writes),
    };
  }
  for (const lock of locks) {
    if (lock.blocks === 'none' || lock.new_relation) continue;
    const from = lock.started_at_ms;
    const to = from + lock.held_ms;
    lock.blocked_queries = probes
      .filter(
        (p) =>
          p.table === lock.relation &&
          p.wait_ms >= BLOCKED_THRESHOLD_MS &&
          (p.kind === 'write' || lock.blocks === 'reads+writes') &&
          p.started_at_ms < to &&
          p.started_at_ms + p.wait_ms > from,
      )
      .sort((a, b) => b.wait_ms - a.wait_ms)
      .slice(0, 20)
      .map((p) => ({ query: p.query, wait_ms: p.wait_ms }));
  }
  const lockQueue: TrafficReport['lock_queue'] = {};
  for (const reader of readers) {
    // Reads do not conflict with a reader: a read that waited during its hold waited in
    // the queue behind a migration that was itself waiting for the reader.
    const queued = probes.some(
      (p) =>
        p.table === reader.table &&
        p.kind === 'read' &&
        p.wait_ms >= BLOCKED_THRESHOLD_MS &&
        p.started_at_ms < reader.startedAt + reader.held_ms,
    );
    lockQueue[reader.table] = {
      reader_held_ms: round(reader.held_ms),
      outcome: failedFast ? 'failed_fast' : queued ? 'queued' : 'no_conflict',
    };
  }
  return {
    interval_ms: intervalMs,
    blocked_threshold_ms: BLOCKED_THRESHOLD_MS,
    long_reader_ms: LONG_READER_MS,
    tables,
    lock_queue: lockQueue,
  };
}
