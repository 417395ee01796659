import type pg from 'pg';
import { displayName, type CatalogSnapshot } from '../catalog.js';
import type { LockRecord, StatementRef, StatementReport } from '../report.js';
import { OWN_LOCKS_QUERY, OWN_LOCKS_WITH_RELATIONS_QUERY, RELATIONS_QUERY } from '../queries/locks.js';
import { lockBlocks, lockModeSql, parseLockMode, type RelationLockMode } from './lock-modes.js';

/**
 * Exact lock tracing for the built-in runner. After every statement, the migration's own
 * session lists the relation locks it holds; nothing is sampled, so no lock is missed.
 * A lock is held from the start of the statement that first took it until its
 * transaction ends, which is when `endTransaction` is called.
 *
 * Each locked relation's filenode is read too, so a rewrite is pinned to the statement
 * that caused it, for relations that existed before the run and those it created alike.
 */
interface RelationInfo {
  schema: string | null;
  name: string | null;
  kind: string | null;
  filenode: number | null;
  userRelation: boolean;
}

/** A relation that no longer exists (dropped in this transaction): kept, its name comes from earlier. */
const GONE: RelationInfo = { schema: null, name: null, kind: null, filenode: null, userRelation: true };

/** A row of the session's own locks, before its relation is named. */
interface OwnLock {
  oid: number;
  locktype: string;
  mode: RelationLockMode;
  granted: boolean;
}

function toLock(row: pg.QueryResultRow): OwnLock {
  return {
    oid: Number(row.oid),
    locktype: row.locktype,
    mode: parseLockMode(row.mode),
    granted: row.granted,
  };
}

function toRelationInfo(row: pg.QueryResultRow): RelationInfo {
  return {
    schema: row.schema,
    name: row.name,
    kind: row.kind,
    filenode: row.filenode === null ? null : Number(row.filenode),
    userRelation: row.user_relation,
  };
}

/**
 * A CREATE statement rewrites no other relation: skipping the re-read of known relations
 * keeps a long run of CREATE TABLEs in one transaction from re-reading every table
 * created before it.
 */
function mayRewriteKnown(statementSql: string): boolean {
  return !/^\s*create\b/i.test(statementSql);
}

/** DEALLOCATE ALL and DISCARD ALL drop every prepared statement, the tracer's own too. */
export function dropsPreparedStatements(sql: string): boolean {
  return /\b(DEALLOCATE|DISCARD)\b/i.test(sql);
}

export interface ObservedLock {
  oid: number;
  locktype: string;
  mode: RelationLockMode;
  granted: boolean;
  schema: string | null;
  name: string | null;
  kind: string | null;
  filenode: number | null;
}

interface OpenHold {
  lock: ObservedLock;
  relation: string;
  relationKind: string;
  startedAtMs: number;
  statement: StatementRef;
}

const RELKIND_NAMES: Record<string, string> = {
  r: 'table',
  p: 'table',
  i: 'index',
  I: 'index',
  S: 'sequence',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
  t: 'toast table',
  c: 'type',
};

export function relationKindName(kind: string | null): string {
  return kind ? (RELKIND_NAMES[kind] ?? kind) : 'relation';
}

/**
 * The session the tracer reads from: the built-in runner's pg.Client, or the proxy's
 * injected queries in a tool's session.
 */
export interface LockQueryClient {
  query(
    query: string | { name: string; text: string },
    values?: unknown[],
  ): Promise<{ rows: pg.QueryResultRow[] }>;
}

export class LockTracer {
  private readonly open = new Map<string, OpenHold>();
  private readonly closed: LockRecord[] = [];
  private readonly namesByOid = new Map<number, { name: string; kind: string }>();
  private readonly filenodeByOid = new Map<number, number | null>();
  private readonly preexisting = new Set<number>();
  /** What each locked relation is, looked up once (again only when it may have changed). */
  private readonly relationInfo = new Map<number, RelationInfo>();
  private prepared = true;
  /** 'oid:mode' of every lock the one-query read returned in this transaction (the user's or not). */
  private readonly shownKeys = new Set<string>();
  /** Time spent reading locks between statements: what exact tracing costs the migration. */
  spentMs = 0;

  constructor(before: CatalogSnapshot | undefined) {
    for (const r of before?.relations ?? []) {
      this.namesByOid.set(r.oid, { name: displayName(r.schema, r.name), kind: r.kind });
      this.filenodeByOid.set(r.oid, r.filenode);
      this.preexisting.add(r.oid);
    }
  }

  /** The user-relation locks the session holds after running `statementSql`. */
  async readOwnLocks(client: LockQueryClient, statementSql = ''): Promise<ObservedLock[]> {
    const started = performance.now();
    try {
      return await this.readOwnLocksUntimed(client, statementSql);
    } finally {
      this.spentMs += performance.now() - started;
    }
  }

  /**
   * The same read in one round trip, for the proxy: only the locks this transaction had not
   * shown yet (and those held ACCESS EXCLUSIVE, when the statement may have rewritten or
   * renamed their relation), each with its relation looked up by the query itself, so the
   * proxy can send its COMMIT right behind it.
   */
  async readOwnLocksInOneQuery(client: LockQueryClient, statementSql = ''): Promise<ObservedLock[]> {
    const started = performance.now();
    try {
      const { rows } = await client.query(OWN_LOCKS_WITH_RELATIONS_QUERY, [
        mayRewriteKnown(statementSql),
        [...this.shownKeys],
      ]);
      const locks = rows.map(toLock);
      for (const row of rows) {
        this.shownKeys.add(`${row.oid}:${row.mode}`);
        this.relationInfo.set(Number(row.oid), row.looked_up ? toRelationInfo(row) : GONE);
      }
      return this.withRelations(locks);
    } finally {
      this.spentMs += performance.now() - started;
    }
  }

  private async readOwnLocksUntimed(client: LockQueryClient, statementSql: string): Promise<ObservedLock[]> {
    // DEALLOCATE ALL / DISCARD drop our prepared statement; using it then would abort the transaction.
    if (dropsPreparedStatements(statementSql)) this.prepared = false;
    const locks = await this.queryOwnLocks(client);
    const lookup = this.toLookUp(locks, mayRewriteKnown(statementSql));
    if (lookup.length > 0) {
      const { rows } = await client.query(RELATIONS_QUERY, [lookup]);
      for (const oid of lookup) this.relationInfo.set(oid, GONE);
      for (const row of rows) this.relationInfo.set(Number(row.oid), toRelationInfo(row));
    }
    return this.withRelations(locks);
  }

  /**
   * Relations never seen, and any known one held ACCESS EXCLUSIVE (only that mode lets a
   * statement rename or rewrite it, a new filenode), whether it existed before the run or
   * an earlier statement created it.
   */
  private toLookUp(locks: OwnLock[], mayRewrite: boolean): number[] {
    return [
      ...new Set(
        locks
          .filter((l) => !this.relationInfo.has(l.oid) || (l.mode === 'AccessExclusiveLock' && mayRewrite))
          .map((l) => l.oid),
      ),
    ];
  }

  private withRelations(locks: OwnLock[]): ObservedLock[] {
    const observed: ObservedLock[] = [];
    for (const lock of locks) {
      const info = this.relationInfo.get(lock.oid) ?? GONE;
      if (!info.userRelation) continue;
      observed.push({
        ...lock,
        schema: info.schema,
        name: info.name,
        kind: info.kind,
        filenode: info.filenode,
      });
    }
    return observed;
  }

  private async queryOwnLocks(client: LockQueryClient): Promise<OwnLock[]> {
    try {
      const { rows } = await client.query(this.prepared ? OWN_LOCKS_QUERY : OWN_LOCKS_QUERY.text);
      return rows.map(toLock);
    } catch (error) {
      // Our prepared statement was dropped some other way (EXECUTE 'DEALLOCATE ALL'): go on unprepared.
      if (!this.prepared || (error as { code?: string }).code !== '26000') throw error;
      this.prepared = false;
      return this.queryOwnLocks(client);
    }
  }

  /**
   * Records what the session holds after `statement` (which started at `startedAtMs`),
   * filling the statement's `locks` and `rewrites`.
   */
  observe(locks: ObservedLock[], startedAtMs: number, statement: StatementReport): void {
    const ref: StatementRef = {
      path: statement.path,
      line: statement.line,
      index: statement.index,
      sql: statement.sql,
    };
    for (const lock of locks) {
      const known = this.namesByOid.get(lock.oid);
      // A relation that exists neither now nor before (the transient heap of a table
      // rewrite) lived and died inside the statement: nobody else could see it.
      if (lock.name === null && !known) continue;
      const relation =
        lock.name !== null
          ? displayName(lock.schema ?? 'public', lock.name)
          : (known?.name ?? `oid ${lock.oid}`);
      const kind = lock.kind ?? known?.kind ?? null;
      if (lock.name !== null) this.namesByOid.set(lock.oid, { name: relation, kind: lock.kind ?? '' });

      const key = `${lock.oid}:${lock.mode}`;
      if (!this.open.has(key)) {
        this.open.set(key, {
          lock,
          relation,
          relationKind: relationKindName(kind),
          startedAtMs,
          statement: ref,
        });
        statement.locks.push({
          relation,
          relation_kind: relationKindName(kind),
          mode: lock.mode,
          mode_name: lockModeSql(lock.mode),
          blocks: lockBlocks(lock.mode),
        });
      }
      // Every relation is followed, those created by an earlier statement too; the first
      // sight of a relation created by this very statement only records its filenode.
      if (lock.filenode !== null) {
        const previous = this.filenodeByOid.get(lock.oid);
        if (previous !== undefined && previous !== null && previous !== lock.filenode) {
          statement.rewrites.push(relation);
        }
        this.filenodeByOid.set(lock.oid, lock.filenode);
      }
    }
  }

  /** The transaction ended at `endedAtMs` (COMMIT, ROLLBACK, or an implicit one): its locks are released. */
  endTransaction(endedAtMs: number): void {
    for (const hold of this.open.values()) {
      const heldMs = Math.max(0, endedAtMs - hold.startedAtMs);
      this.closed.push({
        relation: hold.relation,
        relation_kind: hold.relationKind,
        lock_type: hold.lock.locktype,
        mode: hold.lock.mode,
        mode_name: lockModeSql(hold.lock.mode),
        granted: hold.lock.granted,
        duration: Math.round(heldMs) / 1000,
        held_ms: Math.round(heldMs * 10) / 10,
        started_at_ms: Math.round(hold.startedAtMs * 10) / 10,
        blocks: lockBlocks(hold.lock.mode),
        new_relation: !this.preexisting.has(hold.lock.oid),
        statement: hold.statement,
        blocked_queries: [],
      });
    }
    this.open.clear();
    this.shownKeys.clear();
  }

  records(): LockRecord[] {
    return [...this.closed];
  }

  /** How many holds are recorded so far: a mark for `recordsSince` and `forgetSince`. */
  get recordedCount(): number {
    return this.closed.length;
  }

  recordsSince(mark: number): LockRecord[] {
    return this.closed.slice(mark);
  }

  /** Forgets the holds recorded after `mark`: a re-run whose locks are already reported once. */
  forgetSince(mark: number): void {
    this.closed.length = mark;
  }
}

export function toObservedLock(row: Record<string, unknown>): ObservedLock {
  return {
    oid: Number(row.oid),
    locktype: String(row.locktype),
    mode: parseLockMode(row.mode),
    granted: Boolean(row.granted),
    schema: (row.schema as string | null) ?? null,
    name: (row.name as string | null) ?? null,
    kind: (row.kind as string | null) ?? null,
    filenode: row.filenode === null || row.filenode === undefined ? null : Number(row.filenode),
  };
}
