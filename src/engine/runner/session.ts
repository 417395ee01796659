import type pg from 'pg';
import { quoteIdent } from '../connection.js';

/** What DISCARD ALL does, but DEALLOCATE ALL (see resetSession). */
export const RESET_SESSION = `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *;
     SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES`;
export const SQL_PREPARED_STATEMENTS = 'SELECT name FROM pg_prepared_statements WHERE from_sql';

/**
 * Gives the next file the session psql would give it: psql runs each file on a new
 * connection, so nothing one file SET (search_path, role, timeouts), created (temporary
 * tables, PREPAREd statements, cursors) or held (advisory locks, LISTEN) reaches the next.
 * This is DISCARD ALL but for our own prepared statements (the lock tracer's), which the
 * driver believes still exist: only statements PREPAREd by SQL are deallocated. RESET ALL
 * goes back to the session's defaults, which include ALTER DATABASE / ROLE ... SET.
 */
export async function resetSession(client: pg.Client): Promise<void> {
  await client.query(RESET_SESSION);
  const { rows } = await client.query<{ name: string }>(SQL_PREPARED_STATEMENTS);
  for (const { name } of rows) await client.query(`DEALLOCATE ${quoteIdent(name)}`);
}
