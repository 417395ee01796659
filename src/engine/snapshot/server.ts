import type pg from 'pg';

/** What we need to know about a server before deciding how to snapshot on it. */
export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
  /** pg_control's system identifier plus port: equal on both sides means the same server. */
  identity: string;
  canCreateDatabases: boolean;
  user: string;
}

export async function inspectServer(client: pg.Client): Promise<ServerInfo> {
  const { rows } = await client.query<{
    version: string;
    version_num: string;
    system_identifier: string | null;
    port: string;
    can_create: boolean;
    user: string;
  }>(`
    SELECT current_setting('server_version') AS version,
           current_setting('server_version_num') AS version_num,
           (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
           current_setting('port') AS port,
           (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_create,
           current_user AS user`);
  const row = rows[0];
  const versionNum = Number(row.version_num);
  return {
    version: row.version,
    versionNum,
    major: Math.floor(versionNum / 10000),
    identity: `${row.system_identifier ?? 'unknown'}:${row.port}`,
    canCreateDatabases: row.can_create,
    user: row.user,
  };
}

/** Number of sessions connected to `database`, other than the caller's. */
export async function countOtherSessions(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [database],
  );
  return Number(rows[0].n);
}

export async function databaseExists(client: pg.Client, database: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database]);
  return rows.length > 0;
}

export async function databaseSize(client: pg.Client, database: string): Promise<number | null> {
  const { rows } = await client.query<{ size: string | null }>(
    `SELECT pg_database_size(datname)::bigint AS size FROM pg_database WHERE datname = $1`,
    [database],
  );
  return rows[0]?.size ? Number(rows[0].size) : null;
}
