import type pg from 'pg';
import { quoteIdent } from '../connection.js';
import { SetupError } from '../errors.js';
import type { ServerInfo } from './server.js';
import { opt, say } from '../wording.js';

/** How a file-level copy of a database is made on this server. */
export interface CopyMethod {
  /** True when the server copies files with reflinks (PostgreSQL 18+, file_copy_method = clone). */
  copyOnWrite: boolean;
  /** The CREATE DATABASE clause: FILE_COPY copies files, never the slower WAL_LOG default. */
  clause: string;
  description: string;
}

export function copyMethod(server: ServerInfo): CopyMethod {
  // PostgreSQL 15 added STRATEGY; before it FILE_COPY was the only way.
  const clause = server.major >= 15 ? ' STRATEGY FILE_COPY' : '';
  if (server.major >= 18 && server.fileCopyMethod === 'clone') {
    return {
      copyOnWrite: true,
      clause,
      // copy_file_range underneath: blocks are shared where the filesystem has reflinks.
      description:
        'copy-on-write clone (PostgreSQL 18 file_copy_method = clone; blocks are shared on a reflink filesystem such as XFS or btrfs)',
    };
  }
  // Before 15 CREATE DATABASE has no STRATEGY clause: name what it does, not syntax it lacks.
  const description = clause
    ? 'file copy (CREATE DATABASE ... STRATEGY FILE_COPY)'
    : 'file copy (CREATE DATABASE ... TEMPLATE)';
  return { copyOnWrite: false, clause, description };
}

/** Advisory-lock namespace of pg-rehearsal ("pgrh"), so that our keys meet no one else's. */
export const LOCK_CLASS = 0x70677268;

/**
 * Runs `fn` holding a session advisory lock on the admin connection, keyed on a database
 * name. Concurrent clones of one template, and the swap that replaces it, then wait their
 * turn instead of failing with 55006 "source database is being accessed by other users".
 */
export async function withDatabaseLock<T>(
  admin: pg.Client,
  database: string,
  fn: () => Promise<T>,
): Promise<T> {
  await admin.query(`SELECT pg_advisory_lock($1::int, hashtext($2))`, [LOCK_CLASS | 0, database]);
  try {
    return await fn();
  } finally {
    await admin
      .query(`SELECT pg_advisory_unlock($1::int, hashtext($2))`, [LOCK_CLASS | 0, database])
      .catch(() => undefined);
  }
}

/**
 * `CREATE DATABASE name TEMPLATE template` with the fastest file copy the server offers,
 * serialised with other clones of the same template. `onCreated` runs the moment the
 * database exists, so that a caller's cleanup drops it even if a later step fails.
 */
export async function cloneDatabase(
  admin: pg.Client,
  server: ServerInfo,
  template: string,
  name: string,
  onCreated?: (name: string) => void,
): Promise<CopyMethod> {
  const method = copyMethod(server);
  await withDatabaseLock(admin, template, async () => {
    try {
      await admin.query(
        `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${method.clause}`,
      );
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '42501') {
        throw new SetupError(
          say`role "${server.user}" may not copy database "${template}": it needs CREATEDB and to own the source database (or be superuser); use ${opt('snapshot', 'dump')} instead`,
        );
      }
      // 55006 (someone is connected to the template) is left to the caller: `auto` falls back to a dump.
      throw error;
    }
  });
  onCreated?.(name);
  return method;
}

/** The message for a template that has open sessions (SQLSTATE 55006). */
export function busyTemplateError(template: string): SetupError {
  return new SetupError(
    `database "${template}" has open sessions, so it cannot be copied; close them (see pg_stat_activity WHERE datname = '${template}') and retry`,
  );
}

export function isBusyTemplate(error: unknown): boolean {
  return (error as { code?: string }).code === '55006';
}
