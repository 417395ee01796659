import os from 'node:os';
import type pg from 'pg';
import {
  connect,
  parseConnectionUrl,
  quoteIdent,
  quoteLiteral,
  type ConnectionInfo,
} from '../src/engine/connection.js';
import {
  startEmbeddedPostgres,
  type EmbeddedOptions,
  type EmbeddedServer,
} from '../src/embedded/postgres.js';

/** The servers benchmarks run on: the machine's PostgreSQL 15, and embedded PostgreSQL 18 they start. */
export interface BenchServer {
  label: string;
  /** The `postgres` maintenance database. */
  info: ConnectionInfo;
  stop(): Promise<void>;
}

export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export function localServer(): BenchServer {
  const url = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const info = { ...parseConnectionUrl(url, 'DATABASE_URL'), database: 'postgres' };
  return { label: 'PostgreSQL 15 (local)', info, stop: async () => undefined };
}

export async function embeddedServer(
  options: EmbeddedOptions = {},
): Promise<BenchServer & { embedded: EmbeddedServer }> {
  const embedded = await startEmbeddedPostgres(options);
  return {
    label: `PostgreSQL ${embedded.major} (embedded)`,
    info: parseConnectionUrl(embedded.url, 'embedded'),
    embedded,
    stop: () => embedded.stop(),
  };
}

/** Runs `fn` on the local PostgreSQL, then on an embedded PostgreSQL 18 started for it and stopped after. */
export async function forEachServer(fn: (server: BenchServer) => Promise<void>): Promise<void> {
  const servers: BenchServer[] = [localServer()];
  try {
    servers.push(await embeddedServer());
    for (const server of servers) await fn(server);
  } finally {
    for (const server of servers) await server.stop();
  }
}

export function on(server: BenchServer, database: string): ConnectionInfo {
  return { ...server.info, database };
}

/** Runs `fn` on a fresh connection to `info`, closing it afterwards. */
export async function withClient<T>(info: ConnectionInfo, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(info, { applicationName: 'pg-rehearsal-bench' });
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function sql(info: ConnectionInfo, text: string): Promise<pg.QueryResult> {
  return withClient(info, (client) => client.query(text));
}

export async function dropDatabase(server: BenchServer, name: string): Promise<void> {
  await sql(server.info, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** Creates (replacing) database `name` and runs `setup` in it. */
export async function createDatabase(server: BenchServer, name: string, setup = ''): Promise<ConnectionInfo> {
  await dropDatabase(server, name);
  await sql(server.info, `CREATE DATABASE ${quoteIdent(name)}`);
  const info = on(server, name);
  if (setup.trim()) await sql(info, setup);
  return info;
}

export async function databaseBytes(server: BenchServer, name: string): Promise<number | undefined> {
  const { rows } = await sql(
    server.info,
    `SELECT pg_database_size(datname)::bigint AS size FROM pg_database WHERE datname = ${quoteLiteral(name)}`,
  );
  return rows.length ? Number(rows[0].size) : undefined;
}

/** 1-minute load average: other work on the machine skews timings, so every result records it. */
export function loadAverage(): number {
  return Math.round(os.loadavg()[0] * 100) / 100;
}

/**
 * Runs `fn` for each variant, `repetitions` times, rotating the order every round so that
 * no variant always runs first (cold caches) or last (a warmed-up machine).
 */
export async function alternate<V>(
  variants: V[],
  repetitions: number,
  fn: (variant: V, round: number) => Promise<void>,
): Promise<void> {
  for (let round = 0; round < repetitions; round++) {
    for (let i = 0; i < variants.length; i++) await fn(variants[(i + round) % variants.length], round);
  }
}

export function percent(value: number, baseline: number): number {
  return Math.round(((value - baseline) / baseline) * 1000) / 10;
}

export function goalLine(met: boolean, text: string): string {
  return `- **Goal ${met ? 'met' : 'missed'}**: ${text}`;
}
