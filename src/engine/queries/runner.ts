/**
 * The catalog reads of the migration runners (runner/*): which procedures already in the
 * database can commit, and whether a tool's history table is there to be read.
 */

/** PL/pgSQL procedures whose body can commit (`name`, `body`): a CALL of one runs outside a transaction. */
export const COMMITTING_PROCEDURES_QUERY = `
SELECT p.proname AS name, p.prosrc AS body FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.prokind = 'p' AND l.lanname = 'plpgsql' AND p.prosrc ~* '(commit|rollback)'`;

/** Whether table $1 (with column $2, when not null) is on the search path (`ok`). */
export const TABLE_ON_PATH_QUERY = `
SELECT EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = ANY (current_schemas(false)) AND table_name = $1
                  AND ($2::text IS NULL OR column_name = $2)) AS ok`;
