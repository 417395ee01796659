/**
 * The queries that read locks from pg_locks, for the tracer (lock-tracer.ts), the sampler
 * (lock-sampler.ts) and the poll of non-transactional statements (pid-sampler.ts). Each
 * reads only catalog views, which a migration's DDL never locks exclusively, so reading
 * them never makes a migration wait.
 */
import { THIS_DATABASE, USER_NAMESPACE_OR_UNKNOWN, USER_RELATION_LOCKS } from './user-relations.js';

/** A backend's relation locks on the user's relations, with names (`pidExpression`: whose). */
export function relationLocksQuery(pidExpression: string): string {
  return `
SELECT l.locktype, l.mode, l.granted, l.relation::bigint AS oid,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pg_relation_filenode(l.relation) AS filenode
  FROM pg_locks l
  LEFT JOIN pg_class c ON c.oid = l.relation
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid = ${pidExpression}
   AND ${USER_RELATION_LOCKS}`;
}

/**
 * What the tracer reads after every statement: the session's relation locks, without
 * names. Joining names in here cost ~3 ms a statement once a transaction held a few
 * hundred locks; names are looked up once per relation instead. Prepared once per session.
 */
export const OWN_LOCKS_QUERY = {
  name: 'pg_rehearsal_own_locks',
  text: `SELECT relation::bigint AS oid, locktype, mode, granted FROM pg_locks
          WHERE pid = pg_backend_pid() AND locktype = 'relation' AND database = ${THIS_DATABASE}`,
};

/**
 * The names, kinds and filenodes of the relations the tracer has not seen yet (`$1`: their
 * oids), and whether each is the user's: one round trip for every new relation of a statement.
 */
export const RELATIONS_QUERY = `
SELECT c.oid::bigint AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pg_relation_filenode(c.oid) AS filenode, ${USER_NAMESPACE_OR_UNKNOWN} AS user_relation
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY($1::oid[])`;

/**
 * The tracer's read in one round trip, for the proxy (where every round trip also crosses
 * the proxy's event loop): the session's relation locks that this transaction has not shown
 * yet (`$2`: 'oid:mode' of those it has), and those held ACCESS EXCLUSIVE when the statement
 * may have rewritten or renamed their relation (`$1`), each with its relation's name, kind
 * and filenode. A transaction's locks only grow: sending all of them, and looking all of
 * them up, after every statement made each read cost more than the one before.
 * `looked_up` is false for a lock on a relation that no longer exists.
 */
export const OWN_LOCKS_WITH_RELATIONS_QUERY = {
  name: 'pg_rehearsal_own_locks_relations',
  // The parameters come in through a materialized CTE: planned with their values, the query
  // was planned again at every read (0.3-0.6 ms); through the CTE, the plan is the same for
  // any values, so PostgreSQL keeps one generic plan after its first five. The locks are
  // chosen in a CTE of their own so that only those are looked up; NOT IN over the shown
  // keys is a hashed subplan (ANY over the CTE's array compared every pair). The function
  // behind the pg_locks view, and no pg_database lookup (a backend's own relation locks are
  // all in its database, or 0 for the shared catalogs), make a new backend's first reads
  // cheaper.
  text: `
WITH p AS MATERIALIZED (SELECT $1::boolean AS may_rewrite, $2::text[] AS shown),
mine AS MATERIALIZED (
  SELECT l.relation, l.locktype, l.mode, l.granted
    FROM p CROSS JOIN pg_lock_status() l
   WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.database <> 0
     AND (l.relation::text || ':' || l.mode NOT IN (SELECT unnest(shown) FROM p)
          OR (l.mode = 'AccessExclusiveLock' AND p.may_rewrite)))
SELECT m.relation::bigint AS oid, m.locktype, m.mode, m.granted, c.oid IS NOT NULL AS looked_up,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pg_relation_filenode(c.oid) AS filenode, ${USER_NAMESPACE_OR_UNKNOWN} AS user_relation
  FROM mine m
  LEFT JOIN pg_class c ON c.oid = m.relation
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
};

/**
 * The sampler's one query: every other backend's relation locks on the user's relations,
 * with the running statement and its transaction's start from pg_stat_activity (a hold is
 * one per backend and transaction, pinned to the statement running when it was first seen). Our own sessions (application_name
 * pg-rehearsal-*) are left out: the probes' waits are not the migration's locks.
 */
export const SAMPLE_QUERY = `
SELECT l.pid, l.locktype, l.mode, l.granted, l.relation::bigint AS oid,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       a.query, a.application_name, a.xact_start::text AS xact_start
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  LEFT JOIN pg_class c ON c.oid = l.relation
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid <> pg_backend_pid()
   AND a.application_name NOT LIKE 'pg-rehearsal-%'
   AND ${USER_RELATION_LOCKS}`;

/**
 * One poll: the backend's relation locks, plus what pg_stat_progress_create_index says a
 * concurrent index build holds while it runs (documented: SHARE UPDATE EXCLUSIVE on the
 * table; the new index is held ROW EXCLUSIVE while it is built), so a lock the poll of
 * pg_locks fell between two reads of is still seen while the build is reported.
 */
export const POLL_QUERY = `${relationLocksQuery('$1')}
UNION ALL
SELECT 'relation', held.mode, true, c.oid::bigint, n.nspname, c.relname, c.relkind::text,
       pg_relation_filenode(c.oid)
  FROM pg_stat_progress_create_index p
 CROSS JOIN LATERAL (VALUES (p.relid, 'ShareUpdateExclusiveLock'),
                            (CASE WHEN p.command = 'CREATE INDEX CONCURRENTLY' THEN p.index_relid END,
                             'RowExclusiveLock')) AS held (oid, mode)
  JOIN pg_class c ON c.oid = held.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE p.pid = $1 AND p.command IN ('CREATE INDEX CONCURRENTLY', 'REINDEX CONCURRENTLY')`;
