/**
 * The catalog queries of the probe traffic (observe/traffic.ts). The probes themselves are
 * built per table there; these only find what to probe and who is waiting.
 */

/**
 * A table's single-column primary key (`$1`: the table, quoted), so a probe reads and
 * locks one real row by its key as an application would, not a whole table.
 */
export const PRIMARY_KEY_COLUMN_QUERY = `SELECT a.attname AS column FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indnatts = 1`;

/**
 * Which of the slow probes (`$1`: their pids) wait on a lock, rather than being slow for
 * another reason (a busy machine): a probe's wait counts only when it waited on a lock.
 */
export const LOCK_WAITERS_QUERY = `SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'`;
