import type pg from 'pg';
import { connect, SOURCE_CONNECT_OPTIONS, withDatabase, type ConnectionInfo } from '../connection.js';
import { errorMessage } from '../errors.js';
import {
  DATABASE_COMMENT_QUERY,
  DATABASE_EXISTS_QUERY,
  DATABASE_OWNER_QUERY,
  DATABASE_SIZE_QUERY,
  SERVER_INFO_QUERY,
  SESSIONS_QUERY,
  TERMINATE_OTHER_SESSIONS,
} from '../queries/databases.js';

/** What we need to know about a server before deciding how to snapshot on it. */
export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
  /** pg_control's system identifier plus port: equal on both sides means the same server. */
  identity: string;
  canCreateDatabases: boolean;
  user: string;
  /** PostgreSQL 18+: `clone` makes STRATEGY FILE_COPY copy-on-write on a reflink filesystem. */
  fileCopyMethod: string | null;
}

export async function inspectServer(client: pg.Client): Promise<ServerInfo> {
  const { rows } = await client.query<{
    version: string;
    version_num: string;
    system_identifier: string | null;
    port: string;
    can_create: boolean;
    user: string;
    file_copy_method: string | null;
  }>(SERVER_INFO_QUERY);
  const row = rows[0];
  const versionNum = Number(row.version_num);
  return {
    version: row.version,
    versionNum,
    major: Math.floor(versionNum / 10000),
    identity: `${row.system_identifier ?? 'unknown'}:${row.port}`,
    canCreateDatabases: row.can_create,
    user: row.user,
    fileCopyMethod: row.file_copy_method || null,
  };
}

/** Number of sessions connected to `database`, other than the caller's. */
export async function countOtherSessions(client: pg.Client, database: string): Promise<number> {
  return (await countSessions(client, database)).others;
}

/** Every application_name pg-rehearsal connects with starts so (preflight, dump, admin, ...). */
export const OWN_APPLICATION_PREFIX = 'pg-rehearsal';

/**
 * Sessions on `database` other than the caller's (autovacuum workers aside), and how many of them are the source's
 * users: client sessions that are not pg-rehearsal's own (other rehearsals, by
 * application_name). Autovacuum and other background workers are not users.
 */
export async function countSessions(
  client: pg.Client,
  database: string,
): Promise<{ others: number; users: number }> {
  const { rows } = await client.query<{ others: string; users: string }>(SESSIONS_QUERY, [
    database,
    OWN_APPLICATION_PREFIX,
  ]);
  return { others: Number(rows[0].others), users: Number(rows[0].users) };
}

export async function databaseExists(client: pg.Client, database: string): Promise<boolean> {
  const { rows } = await client.query(DATABASE_EXISTS_QUERY, [database]);
  return rows.length > 0;
}

export async function databaseSize(client: pg.Client, database: string): Promise<number | null> {
  const { rows } = await client.query<{ size: string | null }>(DATABASE_SIZE_QUERY, [database]);
  return rows[0]?.size ? Number(rows[0].size) : null;
}

/** Sessions on `database` other than the caller's, ended; returns how many. */
export async function terminateOtherSessions(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query(TERMINATE_OTHER_SESSIONS, [database]);
  return rows.length;
}

export async function databaseComment(client: pg.Client, database: string): Promise<string | null> {
  const { rows } = await client.query<{ comment: string | null }>(DATABASE_COMMENT_QUERY, [database]);
  return rows[0]?.comment ?? null;
}

export async function databaseOwner(client: pg.Client, database: string): Promise<string | null> {
  const { rows } = await client.query<{ owner: string }>(DATABASE_OWNER_QUERY, [database]);
  return rows[0]?.owner ?? null;
}

/** Opens the snapshot server's maintenance database (postgres, else template1). */
export async function connectMaintenance(server: ConnectionInfo): Promise<pg.Client> {
  try {
    return await connect(server, { applicationName: 'pg-rehearsal-admin' });
  } catch (error) {
    if (server.database === 'postgres' && /does not exist/.test(errorMessage(error))) {
      return connect(withDatabase(server, 'template1'), { applicationName: 'pg-rehearsal-admin' });
    }
    throw error;
  }
}

/** What the source server is, read on the one kind of source connection: read-only, short statements. */
export function inspectSource(source: ConnectionInfo): Promise<ServerInfo> {
  return onSource(source, inspectServer);
}

/** `fn` on a read-only connection to the source, closed after. */
export async function onSource<T>(source: ConnectionInfo, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(source, {
    ...SOURCE_CONNECT_OPTIONS,
    applicationName: 'pg-rehearsal-preflight',
  });
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
