import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { buildConfig } from '../src/engine/config.js';
import { ConfigError, SetupError } from '../src/engine/errors.js';
import { rehearse } from '../src/engine/rehearse.js';
import { migrationDir, rehearseOn } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  localServerUrl,
  query,
  testServers,
  uniqueName,
  withDatabase,
} from './helpers/servers.js';

const SHOP = `
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 3000) g;
ANALYZE;`;
const ADD_COLUMN = { '001.sql': 'ALTER TABLE items ADD COLUMN price integer;' };

const [local, embedded] = testServers();

describe('snapshot strategies', () => {
  it('auto copies the database as a template when the source is idle on the same server', async () => {
    const r = await rehearseOn(local, SHOP, ADD_COLUMN);
    try {
      expect(r.report.snapshot).toMatchObject({ strategy: 'template' });
      expect(r.report.snapshot!.reason).toMatch(/no other session/);
      expect(r.report.snapshot!.name).toMatch(new RegExp(`^pg_rehearsal_${r.runId}_[0-9a-f]{8}$`));
      expect(await r.leftovers()).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('auto refuses a source in use on its own server when no snapshot-server-url is given, before creating anything', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP);
    const other = new pg.Client({ connectionString: sourceUrl, application_name: 'shop-web' });
    await other.connect();
    try {
      const dir = migrationDir(ADD_COLUMN);
      const runId = uniqueName('t').replace(/_/g, '');
      const error = await rehearse(
        buildConfig({ 'source-url': sourceUrl, migrations: '*.sql', 'working-directory': dir }, { runId }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/is in use \(1 other session\(s\)\)/);
      expect((error as Error).message).toMatch(
        /Point snapshot-server-url at a rehearsal server or a CI service container/,
      );
      expect((error as Error).message).toMatch(/snapshot: dump to accept the load/);
      expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    } finally {
      await other.end();
      await dropDatabase(sourceUrl);
    }
  });

  it('a source in use is copied with pg_dump | pg_restore when snapshot: dump or the same server is named explicitly', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP);
    const other = new pg.Client({ connectionString: sourceUrl, application_name: 'shop-web' });
    await other.connect();
    try {
      const dir = migrationDir(ADD_COLUMN);
      const base = { 'source-url': sourceUrl, migrations: '*.sql', 'working-directory': dir };
      const dumped = await rehearse(buildConfig({ ...base, snapshot: 'dump' }));
      expect(dumped.snapshot!.strategy).toBe('dump');
      expect(dumped.success).toBe(true);
      // The restore was analysed: row estimates match the source's.
      expect(dumped.metrics!.tables.items.rows_before).toBe(3000);
      const named = await rehearse(buildConfig({ ...base, 'snapshot-server-url': local.url }));
      expect(named.snapshot!.strategy).toBe('dump');
      expect(named.snapshot!.reason).toMatch(/1 other session/);
    } finally {
      await other.end();
      await dropDatabase(sourceUrl);
    }
  });

  it("auto does not count pg-rehearsal's own sessions on the source as use: it falls back to a dump", async () => {
    const sourceUrl = await createDatabase(local.url, SHOP);
    // A concurrent rehearsal's preflight or dump, recognised by its application_name.
    const own = new pg.Client({ connectionString: sourceUrl, application_name: 'pg-rehearsal-dump' });
    await own.connect();
    try {
      const dir = migrationDir(ADD_COLUMN);
      const report = await rehearse(
        buildConfig({ 'source-url': sourceUrl, migrations: '*.sql', 'working-directory': dir }),
      );
      expect(report.snapshot!.strategy).toBe('dump');
      expect(report.snapshot!.reason).toMatch(/1 other session/);
      expect(report.success).toBe(true);
    } finally {
      await own.end();
      await dropDatabase(sourceUrl);
    }
  });

  it('dumps from the machine PostgreSQL into the embedded PostgreSQL 18 when the servers differ', async () => {
    const r = await rehearseOn(local, SHOP, ADD_COLUMN, { 'snapshot-server-url': embedded.url });
    try {
      expect(r.report.snapshot!.strategy).toBe('dump');
      expect(r.report.server!.version).toMatch(/^18/);
      expect(r.report.success).toBe(true);
      expect(r.report.metrics!.tables.items).toMatchObject({ rows_before: 3000, rows_after: 3000 });
      expect(await databasesLike(embedded.url, `pg_rehearsal_${r.runId}_%`)).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('refuses a dump of a newer server than its pg_dump, with the exact fix, before creating anything', async () => {
    const sourceUrl = await createDatabase(embedded.url, SHOP);
    const runId = uniqueName('t').replace(/_/g, '');
    try {
      const config = buildConfig(
        {
          'source-url': sourceUrl,
          'snapshot-server-url': local.url,
          migrations: '*.sql',
          'working-directory': migrationDir(ADD_COLUMN),
        },
        { runId },
      );
      const error = await rehearse(config).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SetupError);
      expect((error as Error).message).toMatch(/pg_dump 18 or newer/);
      expect((error as Error).message).toMatch(/postgresql-client-18/);
      expect((error as Error).message).toMatch(/\/usr\/lib\/postgresql\/18\/bin/);
      expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('refuses snapshot: template across servers', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP);
    try {
      const config = buildConfig({
        'source-url': sourceUrl,
        'snapshot-server-url': embedded.url,
        snapshot: 'template',
        migrations: '*.sql',
        'working-directory': migrationDir(ADD_COLUMN),
      });
      await expect(rehearse(config)).rejects.toThrow(
        /template needs the snapshot server to be the source's server/,
      );
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('refuses a snapshot name that is the source itself', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP);
    try {
      const name = new URL(sourceUrl).pathname.slice(1);
      for (const extra of [{ 'snapshot-name': name }, { 'snapshot-name': name, 'create-snapshot': false }]) {
        const config = buildConfig({
          'source-url': sourceUrl,
          migrations: '*.sql',
          'working-directory': migrationDir(ADD_COLUMN),
          ...extra,
        });
        const error = await rehearse(config).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toMatch(/is the source database itself/);
      }
      const columns = await query(
        sourceUrl,
        `SELECT 1 FROM information_schema.columns WHERE column_name = 'price'`,
      );
      expect(columns).toEqual([]);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('reuses an existing database as it is with create-snapshot false, and never drops it', async () => {
    const targetUrl = await createDatabase(local.url, SHOP, 'reuse');
    try {
      const name = new URL(targetUrl).pathname.slice(1);
      const report = await rehearse(
        buildConfig({
          'snapshot-server-url': local.url,
          'snapshot-name': name,
          'create-snapshot': false,
          migrations: '*.sql',
          'working-directory': migrationDir(ADD_COLUMN),
        }),
      );
      expect(report.snapshot).toMatchObject({ strategy: 'reused', name, kept: true });
      expect(await databasesLike(local.url, name)).toEqual([name]);
    } finally {
      await dropDatabase(targetUrl);
    }
  });

  it('sweeps expired pg_rehearsal_ snapshots and touches nothing else', async () => {
    const tag = uniqueName('sw').replace(/_/g, '');
    const expired = `pg_rehearsal_${tag}_old`;
    const fresh = `pg_rehearsal_${tag}_fresh`;
    const foreign = `pg_rehearsal_${tag}_nometa`;
    const meta = (createdAt: string, ttl: number) =>
      JSON.stringify({
        tool: 'pg-rehearsal',
        created_at: createdAt,
        strategy: 'template',
        source: null,
        run_id: 'x',
        ttl_seconds: ttl,
      });
    for (const name of [expired, fresh, foreign]) await query(local.url, `CREATE DATABASE ${name}`);
    await query(local.url, `COMMENT ON DATABASE ${expired} IS '${meta('2020-01-01T00:00:00Z', 60)}'`);
    await query(local.url, `COMMENT ON DATABASE ${fresh} IS '${meta(new Date().toISOString(), 3600)}'`);
    const r = await rehearseOn(local, SHOP, ADD_COLUMN);
    try {
      expect((await databasesLike(local.url, `pg_rehearsal_${tag}_%`)).sort()).toEqual(
        [fresh, foreign].sort(),
      );
    } finally {
      await r.cleanup();
      for (const name of [expired, fresh, foreign]) await query(local.url, `DROP DATABASE IF EXISTS ${name}`);
    }
  });
});

describe('setup errors, found before any database is created', () => {
  const role = uniqueName('nocreatedb');
  beforeAll(async () => {
    await query(localServerUrl(), `CREATE ROLE ${role} LOGIN NOCREATEDB`);
  });
  afterAll(async () => {
    await query(localServerUrl(), `DROP ROLE IF EXISTS ${role}`);
  });

  const attempt = async (sourceUrl: string, extra: Record<string, string> = {}) =>
    rehearse(
      buildConfig({
        'source-url': sourceUrl,
        migrations: '*.sql',
        'working-directory': migrationDir(ADD_COLUMN),
        ...extra,
      }),
    ).catch((e: unknown) => e);

  it('names a database that does not exist', async () => {
    const error = await attempt(withDatabase(local.url, 'no_such_db_xyz'));
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toMatch(/database "no_such_db_xyz" does not exist/);
  });

  it('names host:port of a refused connection and never the password', async () => {
    const error = await attempt('postgresql://bob:TopSecret123@127.0.0.1:1/db');
    expect((error as Error).message).toMatch(/could not connect to 127\.0\.0\.1:1/);
    expect((error as Error).message).not.toContain('TopSecret123');
  });

  it('explains a role without CREATEDB on the snapshot server', async () => {
    const url = new URL(local.url);
    url.username = role;
    const error = await attempt(withDatabase(url.toString(), 'postgres'));
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toMatch(new RegExp(`role "${role}" cannot create databases.*CREATEDB`));
  });

  it('rejects a migrations glob that matches nothing', async () => {
    const error = await rehearse(
      buildConfig({
        'source-url': local.url,
        migrations: 'nothing/*.sql',
        'working-directory': migrationDir({}),
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/no file matches "nothing\/\*\.sql"/);
  });
});
