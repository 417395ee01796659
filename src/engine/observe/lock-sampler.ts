import type pg from 'pg';
import { displayName, type CatalogSnapshot } from '../catalog.js';
import type { LockRecord, StatementRef } from '../report.js';
import { excerpt } from '../runner/split.js';
import { lockBlocks, lockModeSql, parseLockMode, type RelationLockMode } from './lock-modes.js';
import { SAMPLE_QUERY } from '../queries/locks.js';
import { relationKindName } from './lock-tracer.js';

interface SampledRow {
  pid: number;
  locktype: string;
  mode: string;
  granted: boolean;
  oid: string;
  schema: string | null;
  name: string | null;
  kind: string | null;
  query: string | null;
  application_name: string;
  xact_start: string | null;
}

interface Hold {
  relation: string;
  kind: string | null;
  oid: number;
  locktype: string;
  mode: RelationLockMode;
  granted: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
  query: string;
}

export interface SamplerOptions {
  intervalMs: number;
  /** Milliseconds since the migration run started. */
  clock: () => number;
  /** What to call the "file" of a sampled statement, e.g. the command. */
  label: string;
}

/**
 * Lock sampling for migrations run by any command (Alembic, Prisma, Flyway, ...), whose
 * sessions we do not own. An observer connection in autocommit reads `pg_locks` joined
 * with `pg_stat_activity` for every other backend on the snapshot database every
 * `intervalMs`. Its query (SAMPLE_QUERY, queries/locks.ts) reads only catalog views, which
 * the migration's DDL never locks exclusively, and it runs with a short lock_timeout, so it
 * can never make a migration wait.
 *
 * Precision: a hold is seen from its first to its last sample, so it is measured as
 * (last - first) plus half the gap to the samples on either side (one interval while the
 * sampling keeps pace), i.e. within +/- one interval of the truth; a hold shorter than the
 * interval may be missed. The report says `lock_capture: sampled`.
 */
export class LockSampler {
  private readonly holds = new Map<string, Hold>();
  private readonly namesByOid = new Map<number, string>();
  private readonly preexisting = new Set<number>();
  private running = false;
  private loop?: Promise<void>;
  samples = 0;
  /** When each sample was taken, in order: a hold's edges lie between two samples. */
  private readonly sampleTimes: number[] = [];
  /** Longest gap between two samples: the real precision achieved. */
  maxGapMs = 0;

  constructor(
    private readonly observer: pg.Client,
    private readonly options: SamplerOptions,
    before: CatalogSnapshot | undefined,
  ) {
    for (const r of before?.relations ?? []) {
      this.namesByOid.set(r.oid, displayName(r.schema, r.name));
      this.preexisting.add(r.oid);
    }
  }

  async start(): Promise<void> {
    // Never queue behind a migration's lock, never run long: skip a sample instead.
    await this.observer.query(`SET lock_timeout = '100ms'; SET statement_timeout = '2s'`);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let previous: number | undefined;
    while (this.running) {
      const sentAt = this.options.clock();
      try {
        const { rows } = await this.observer.query<SampledRow>(SAMPLE_QUERY);
        const at = (sentAt + this.options.clock()) / 2;
        this.record(rows, at);
        this.sampleTimes.push(at);
        if (previous !== undefined) this.maxGapMs = Math.max(this.maxGapMs, at - previous);
        previous = at;
        this.samples++;
      } catch {
        // A skipped sample (lock_timeout, a restarting server) only widens the error bars.
      }
      const wait = this.options.intervalMs - (this.options.clock() - sentAt);
      if (this.running && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private record(rows: SampledRow[], at: number): void {
    for (const row of rows) {
      const oid = Number(row.oid);
      const mode = parseLockMode(row.mode);
      const known = this.namesByOid.get(oid);
      // Transient relations (a rewrite's new heap) that exist neither now nor before.
      if (row.name === null && !known) continue;
      const relation = row.name !== null ? displayName(row.schema ?? 'public', row.name) : (known as string);
      if (row.name !== null) this.namesByOid.set(oid, relation);
      // One hold per backend, transaction, relation and mode: locks live until the transaction ends.
      const key = `${row.pid}:${row.xact_start ?? ''}:${oid}:${mode}:${row.granted}`;
      const hold = this.holds.get(key);
      if (hold) hold.lastSeenMs = at;
      else {
        this.holds.set(key, {
          relation,
          kind: row.kind,
          oid,
          locktype: row.locktype,
          mode,
          granted: row.granted,
          firstSeenMs: at,
          lastSeenMs: at,
          query: row.query ?? '',
        });
      }
    }
  }

  records(): LockRecord[] {
    const interval = this.options.intervalMs;
    return [...this.holds.values()]
      .sort((a, b) => a.firstSeenMs - b.firstSeenMs)
      .map((hold) => {
        // The lock was taken between the sample before it was first seen and that sample,
        // and released between its last sample and the next: count half of each gap, which
        // stays honest when a loaded server spaces the samples wider than the interval.
        const before = this.gapBefore(hold.firstSeenMs) ?? interval;
        const after = this.gapAfter(hold.lastSeenMs) ?? interval;
        const heldMs = hold.lastSeenMs - hold.firstSeenMs + (before + after) / 2;
        const startedAt = Math.max(0, hold.firstSeenMs - before / 2);
        const statement: StatementRef = { path: this.options.label, line: 0, sql: excerpt(hold.query) };
        return {
          relation: hold.relation,
          relation_kind: relationKindName(hold.kind),
          lock_type: hold.locktype,
          mode: hold.mode,
          mode_name: lockModeSql(hold.mode),
          granted: hold.granted,
          duration: Math.round(heldMs) / 1000,
          held_ms: Math.round(heldMs * 10) / 10,
          started_at_ms: Math.round(startedAt * 10) / 10,
          blocks: lockBlocks(hold.mode),
          new_relation: !this.preexisting.has(hold.oid),
          statement,
          blocked_queries: [],
        };
      });
  }

  private gapBefore(at: number): number | undefined {
    const index = this.sampleTimes.indexOf(at);
    return index > 0 ? at - this.sampleTimes[index - 1] : undefined;
  }

  private gapAfter(at: number): number | undefined {
    const index = this.sampleTimes.indexOf(at);
    return index >= 0 && index < this.sampleTimes.length - 1 ? this.sampleTimes[index + 1] - at : undefined;
  }
}
