import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The real servers every engine test runs on: the machine's PostgreSQL (DATABASE_URL,
 * else 127.0.0.1:5432) and the embedded PostgreSQL 18 that the global setup started.
 */
export interface TestServer {
  name: string;
  /** URL of the server's `postgres` maintenance database. */
  url: string;
}

export function localServerUrl(): string {
  return process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export function testServers(): TestServer[] {
  const pg18 = process.env.PG18_URL;
  if (!pg18) throw new Error('PG18_URL is not set: the jest global setup starts the embedded PostgreSQL 18');
  return [
    { name: 'local', url: withDatabase(localServerUrl(), 'postgres') },
    { name: 'embedded-18', url: pg18 },
  ];
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function serverMajor(url: string): Promise<number> {
  const [row] = await query<{ v: string }>(url, `SELECT current_setting('server_version_num') AS v`);
  return Math.floor(Number(row.v) / 10000);
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Creates a database on the server, fills it with `sql`, and returns its URL. */
export async function createDatabase(serverUrl: string, sql: string, prefix = 'src'): Promise<string> {
  const name = uniqueName(`test_${prefix}`);
  await query(serverUrl, `CREATE DATABASE ${name}`);
  const url = withDatabase(serverUrl, name);
  if (sql.trim()) await query(url, sql);
  return url;
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await query(withDatabase(url, 'postgres'), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export async function databasesLike(serverUrl: string, pattern: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    serverUrl,
    `SELECT datname FROM pg_database WHERE datname LIKE $1`,
    [pattern],
  );
  return rows.map((r) => r.datname);
}

/**
 * A fingerprint of everything in a database: pg_dump where the local pg_dump can dump
 * the server, else the schema and every row's text through SQL. Equal before and after
 * means the source was not touched.
 */
export async function fingerprint(url: string): Promise<string> {
  const major = await serverMajor(url);
  const localDumpMajor = Number(
    /(\d+)/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))?.[1],
  );
  if (major <= localDumpMajor) {
    const dump = execFileSync('pg_dump', ['--no-comments', '--dbname', url], { encoding: 'utf8' });
    // Newer pg_dump versions wrap the script in \restrict KEY ... \unrestrict KEY with a random key.
    return dump.replace(/^\\(un)?restrict .*$/gm, '');
  }
  const tables = await query<{ t: string }>(
    url,
    `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const parts: string[] = [];
  const schema = await query(
    url,
    `SELECT table_name, column_name, data_type, column_default, is_nullable FROM information_schema.columns
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  parts.push(JSON.stringify(schema));
  const indexes = await query(url, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`);
  parts.push(JSON.stringify(indexes));
  for (const { t } of tables) {
    const [row] = await query<{ h: string }>(
      url,
      `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${t} x`,
    );
    parts.push(`${t}:${row.h}`);
  }
  return parts.join('\n');
}
