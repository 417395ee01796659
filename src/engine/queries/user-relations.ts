/**
 * Which relations are the user's, written once for every query that reads the catalog or
 * pg_locks. The catalog (pg_catalog, information_schema), TOAST tables (pg_toast, and
 * pg_toast_temp_N, which the same LIKE matches) and temporary schemas (pg_temp_N) are
 * noise: a TOAST table is counted with its table, and a temporary table is gone with its
 * session. The conditions are on `n`, the relation's pg_namespace row.
 */
export const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/**
 * The same, for a LEFT JOIN from pg_locks: a lock on a relation dropped since (or created
 * by a transaction not yet visible) has no namespace row, and is kept.
 */
export const USER_NAMESPACE_OR_UNKNOWN = `(n.nspname IS NULL OR (${USER_NAMESPACE}))`;

/** This database's oid, as pg_locks names databases. */
export const THIS_DATABASE = `(SELECT oid FROM pg_database WHERE datname = current_database())`;

/** Relation locks in this database on the user's relations (`l` is pg_locks). */
export const USER_RELATION_LOCKS = `l.locktype = 'relation'
   AND l.database = ${THIS_DATABASE}
   AND ${USER_NAMESPACE_OR_UNKNOWN}`;
