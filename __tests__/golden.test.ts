import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { buildConfig } from '../src/engine/config.js';
import { errorText } from '../src/engine/errors.js';
import { RUN_NAMING } from '../src/cli/run.js';
import { parseConnectionUrl } from '../src/engine/connection.js';
import type { Logger } from '../src/engine/logger.js';
import { rehearse } from '../src/engine/rehearse.js';
import { dumpAndRestore, RestoreProgress } from '../src/engine/snapshot/dump.js';
import { LOCK_CLASS } from '../src/engine/snapshot/clone.js';
import {
  cloneSnapshotOn,
  createGoldenSnapshotOn,
  openSnapshotServer,
} from '../src/engine/snapshot/golden-on.js';
import { ensureFreshGolden } from '../src/engine/snapshot/golden-freshness.js';
import { writeMetadata, type SnapshotMetadata } from '../src/engine/snapshot/metadata.js';
import { findPgTools } from '../src/engine/snapshot/pg-tools.js';
import { inspectSource } from '../src/engine/snapshot/server.js';
import { sweepExpiredSnapshots } from '../src/engine/snapshot/snapshot.js';
import { runCli } from './helpers/cli.js';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  fingerprint,
  query,
  serverMajor,
  testServers,
  uniqueName,
  withDatabase,
} from './helpers/servers.js';

const [local] = testServers();
const SERVER = ['--snapshot-server-url', local.url];

const SHOP = `
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 3000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, item_id bigint REFERENCES items);
INSERT INTO orders SELECT g, g FROM generate_series(1, 500) g;
CREATE TABLE audit (id bigint, note text);
INSERT INTO audit SELECT g, 'note' FROM generate_series(1, 200) g;
ANALYZE;`;

const dbName = (url: string) => new URL(url).pathname.slice(1);

/** Polls `condition` every 50 ms, up to 15 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached within 15 s');
}
const count = async (url: string, table: string) =>
  Number((await query<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0].n);

/** A golden snapshot of a fresh SHOP source, through the engine; dropped by `dispose`. */
async function golden(sourceSql = SHOP) {
  const sourceUrl = await createDatabase(local.url, sourceSql, 'gsrc');
  const name = uniqueName('test_golden');
  await createGoldenSnapshotOn({ source: parseConnectionUrl(sourceUrl, 'source-url'), name });
  return {
    sourceUrl,
    name,
    url: withDatabase(local.url, name),
    dispose: async () => {
      await dropDatabase(withDatabase(local.url, name));
      await dropDatabase(sourceUrl);
    },
  };
}

describe('pg-rehearsal snapshot (bundled CLI)', () => {
  it('creates a database-level snapshot, lists it (text, JSON), shows, clones and deletes it', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP, 'gsrc');
    const name = uniqueName('test_golden');
    const cloneName = uniqueName('test_clone');
    try {
      const beforeCreate = Date.now();
      const created = await runCli(['snapshot', 'create', '--source-url', sourceUrl, '--name', name]);
      const afterCreate = Date.now();
      expect(created.stderr).toBe(created.code === 0 ? created.stderr : '');
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(new RegExp(`created snapshot "${name}" \\(template, `));

      const listed = await runCli(['snapshot', 'list', ...SERVER, '--format', 'json']);
      expect(listed.code).toBe(0);
      const entry = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).find(
        (s) => s.name === name,
      );
      expect(entry).toMatchObject({
        name,
        strategy: 'template',
        level: 'database',
        golden: true,
        ttl_seconds: null,
        source: { host: '127.0.0.1', port: 5432, database: dbName(sourceUrl) },
      });
      expect(entry!.size_bytes).toBeGreaterThan(0);
      // Stamped by this create, not an older snapshot's metadata.
      const createdAt = Date.parse(entry!.created_at as string);
      expect(createdAt).toBeGreaterThanOrEqual(beforeCreate);
      expect(createdAt).toBeLessThanOrEqual(afterCreate);
      expect(String(entry!.server_version)).toMatch(/^\d+/);
      expect(JSON.stringify(entry)).not.toMatch(/password/i);

      const text = await runCli(['snapshot', 'list', ...SERVER]);
      expect(text.stdout).toMatch(
        new RegExp(`^${name}\\s+\\S+\\s+[\\d.]+ [kM]B\\s+template golden\\s+from 127.0.0.1:5432/`, 'm'),
      );

      const shown = await runCli(['snapshot', 'show', name, ...SERVER, '--format', 'json']);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ name, level: 'database', golden: true });

      const cloned = await runCli(['snapshot', 'clone', name, '--to', cloneName, ...SERVER]);
      expect(cloned.code).toBe(0);
      expect(cloned.stdout).toMatch(/STRATEGY FILE_COPY/);
      const cloneUrl = withDatabase(local.url, cloneName);
      expect(await fingerprint(cloneUrl)).toBe(await fingerprint(sourceUrl));
      // A clone is the user's database, not a snapshot: it carries no metadata.
      const clones = await runCli(['snapshot', 'show', cloneName, ...SERVER]);
      expect(clones.code).toBe(2);
      expect(clones.stderr).toMatch(/is not a pg-rehearsal snapshot/);
      // And delete refuses it.
      expect((await runCli(['snapshot', 'delete', cloneName, ...SERVER])).code).toBe(2);
      expect(await databasesLike(local.url, cloneName)).toEqual([cloneName]);

      // Creating over an existing name is refused with what to do.
      const again = await runCli(['snapshot', 'create', '--source-url', sourceUrl, '--name', name]);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/--name: a database named .* already exists; pass --replace/);
      expect(
        (await runCli(['snapshot', 'create', '--source-url', sourceUrl, '--name', cloneName, '--replace']))
          .stderr,
      ).toMatch(/is not a pg-rehearsal snapshot .* so it is never replaced/);

      const deleted = await runCli(['snapshot', 'delete', name, ...SERVER]);
      expect(deleted.code).toBe(0);
      expect(await databasesLike(local.url, name)).toEqual([]);
    } finally {
      await dropDatabase(withDatabase(local.url, name));
      await dropDatabase(withDatabase(local.url, cloneName));
      await dropDatabase(sourceUrl);
    }
  });

  it('creates a snapshot of some tables: repeated --tables, --exclude-table-data keeps only the schema', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP, 'gsrc');
    const name = uniqueName('test_golden');
    try {
      const r = await runCli([
        'snapshot',
        'create',
        '--source-url',
        sourceUrl,
        '--name',
        name,
        '--tables',
        'items',
        '--tables',
        'audit',
        '--exclude-table-data',
        'audit',
        '--format',
        'json',
      ]);
      expect(r.stderr).toMatch(/pg_dump/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        name,
        strategy: 'dump',
        level: 'tables',
        tables: ['items', 'audit'],
        exclude_table_data: ['audit'],
        ttl_seconds: null,
      });
      const url = withDatabase(local.url, name);
      const tables = await query<{ t: string }>(
        url,
        `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
      );
      expect(tables.map((t) => t.t)).toEqual(['audit', 'items']);
      expect(await count(url, 'items')).toBe(3000);
      expect(await count(url, 'audit')).toBe(0);

      const template = await runCli([
        'snapshot',
        'create',
        '--source-url',
        sourceUrl,
        '--name',
        uniqueName('test_golden'),
        '--strategy',
        'template',
        '--tables',
        'items',
      ]);
      expect(template.code).toBe(2);
      expect(template.stderr).toMatch(/--tables and --exclude-table-data need --strategy dump/);
    } finally {
      await dropDatabase(withDatabase(local.url, name));
      await dropDatabase(sourceUrl);
    }
  });

  it('copies the rows of a partitioned table named with --tables: its partitions come with it', async () => {
    const sourceUrl = await createDatabase(
      local.url,
      `${SHOP}
       CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
       CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
       CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
       INSERT INTO events SELECT g, date '2025-06-01' + g FROM generate_series(1, 400) g;`,
      'gsrc',
    );
    const name = uniqueName('test_golden');
    try {
      const r = await runCli([
        'snapshot',
        'create',
        '--source-url',
        sourceUrl,
        '--name',
        name,
        '--tables',
        'events',
      ]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        /--tables: also copying events_2025, events_2026, partitions of the tables named/,
      );
      const url = withDatabase(local.url, name);
      expect(await count(url, 'events')).toBe(400);
      expect(await count(url, 'events_2026')).toBe(await count(sourceUrl, 'events_2026'));
    } finally {
      await dropDatabase(withDatabase(local.url, name));
      await dropDatabase(sourceUrl);
    }
  });

  it('restores over a damaged database: refuses while another connection is open, --force disconnects it', async () => {
    const g = await golden();
    const targetName = uniqueName('test_target');
    const targetUrl = withDatabase(local.url, targetName);
    try {
      // The "damaged" database: a clone that then lost rows and gained a table.
      expect((await runCli(['snapshot', 'clone', g.name, '--to', targetName, ...SERVER])).code).toBe(0);
      await query(
        targetUrl,
        `DELETE FROM orders; DELETE FROM items WHERE id > 10; CREATE TABLE junk (x int);`,
      );
      await query(local.url, `COMMENT ON DATABASE ${targetName} IS 'the app database'`);
      const expected = await fingerprint(g.url);

      const other = new pg.Client({ connectionString: targetUrl });
      other.on('error', () => undefined);
      await other.connect();
      try {
        const refused = await runCli(['snapshot', 'restore', g.name, '--to', targetName, ...SERVER]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(
          new RegExp(`database "${targetName}" has 1 other connection\\(s\\); close them, or pass --force`),
        );
        // Refused means untouched.
        expect(await count(targetUrl, 'items')).toBe(10);

        const forced = await runCli([
          'snapshot',
          'restore',
          g.name,
          '--to',
          targetName,
          ...SERVER,
          '--force',
        ]);
        expect(forced.stderr).toMatch(/disconnected 1 session/);
        expect(forced.code).toBe(0);
      } finally {
        await other.end().catch(() => undefined);
      }
      expect(await fingerprint(targetUrl)).toBe(expected);
      const [row] = await query<{ c: string }>(
        local.url,
        `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
        [targetName],
      );
      expect(row.c).toBe('the app database');

      // Arguments the wrong way round: the app database is no snapshot, the golden one stays.
      const swapped = await runCli(['snapshot', 'restore', targetName, '--to', g.name, ...SERVER]);
      expect(swapped.code).toBe(2);
      expect(swapped.stderr).toMatch(/is not a pg-rehearsal snapshot/);
      expect(await fingerprint(g.url)).toBe(expected);

      // Restoring with nobody connected needs no --force; nothing is left aside.
      await query(targetUrl, 'DROP TABLE audit');
      expect((await runCli(['snapshot', 'restore', g.name, '--to', targetName, ...SERVER])).code).toBe(0);
      expect(await fingerprint(targetUrl)).toBe(expected);
    } finally {
      await dropDatabase(targetUrl);
      await g.dispose();
    }
  });
});

describe('replacing a golden snapshot', () => {
  it('--replace swaps the new one in: a reader polling meanwhile always finds it, old or new', async () => {
    const g = await golden(`${SHOP}
      CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 40000) g;`);
    try {
      await query(g.sourceUrl, `INSERT INTO items VALUES (3001, 'new')`);
      const seen = new Set<string>();
      let polling = true;
      const reader = (async () => {
        const client = new pg.Client({ connectionString: local.url });
        await client.connect();
        try {
          while (polling) {
            const { rows } = await client.query<{ c: string | null }>(
              `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
              [g.name],
            );
            seen.add(
              rows.length ? (JSON.parse(rows[0].c as string) as SnapshotMetadata).created_at : 'missing',
            );
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        } finally {
          await client.end();
        }
      })();
      const r = await runCli([
        'snapshot',
        'create',
        '--source-url',
        g.sourceUrl,
        '--name',
        g.name,
        '--strategy',
        'dump',
        '--replace',
      ]);
      polling = false;
      await reader;
      expect(r.code).toBe(0);
      expect(seen.has('missing')).toBe(false);
      expect(seen.size).toBe(2); // the old one until the swap, then the new one
      expect(await count(g.url, 'items')).toBe(3001);
      // No build left aside: only the golden snapshot names this source.
      const named = await query<{ datname: string }>(
        local.url,
        `SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1`,
        [`%"database":"${dbName(g.sourceUrl)}"%`],
      );
      expect(named.map((r) => r.datname)).toEqual([g.name]);
    } finally {
      await g.dispose();
    }
  });
});

describe('rehearsing on a golden snapshot', () => {
  const ALTER = {
    '001.sql':
      'ALTER TABLE items ADD COLUMN price int DEFAULT (random() * 10)::int; UPDATE items SET name = upper(name); DELETE FROM orders;',
  };

  it('clones it and leaves the golden snapshot byte-for-byte unchanged', async () => {
    const g = await golden();
    const runId = uniqueName('g').replace(/_/g, '');
    try {
      const before = await fingerprint(g.url);
      const [comment] = await query(
        local.url,
        `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
        [g.name],
      );
      const report = await rehearse(
        buildConfig(
          {
            'snapshot-server-url': local.url,
            snapshot: 'existing',
            'snapshot-name': g.name,
            migrations: '*.sql',
            'working-directory': migrationDir(ALTER),
          },
          { runId },
        ),
      );
      expect(report.success).toBe(true);
      expect(report.snapshot).toMatchObject({ strategy: 'existing' });
      expect(report.snapshot!.reason).toMatch(new RegExp(`cloned golden snapshot "${g.name}" by file copy`));
      expect(report.snapshot!.name).not.toBe(g.name);
      expect(report.metrics!.tables.items.rewritten).toBe(true);
      expect(await fingerprint(g.url)).toBe(before);
      const [after] = await query(
        local.url,
        `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
        [g.name],
      );
      expect(after).toEqual(comment);
      expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    } finally {
      await g.dispose();
    }
  });

  it('runs 4 rehearsals in parallel, each on its own clone of one golden snapshot', async () => {
    const g = await golden();
    const runIds = [1, 2, 3, 4].map(() => uniqueName('p').replace(/_/g, ''));
    try {
      const dir = migrationDir(ALTER);
      const reports = await Promise.all(
        runIds.map((runId) =>
          rehearse(
            buildConfig(
              {
                'snapshot-server-url': local.url,
                snapshot: 'existing',
                'snapshot-name': g.name,
                migrations: '*.sql',
                'working-directory': dir,
              },
              { runId },
            ),
          ),
        ),
      );
      for (const report of reports) {
        expect(report.error ?? null).toBeNull();
        expect(report.success).toBe(true);
        expect(report.metrics!.tables.items).toMatchObject({ rows_before: 3000, rewritten: true });
      }
      expect(new Set(reports.map((r) => r.snapshot!.name)).size).toBe(4);
      for (const runId of runIds)
        expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    } finally {
      await g.dispose();
    }
  });

  it('keeps the clone with keep-snapshot, as a throwaway snapshot the sweep may drop later', async () => {
    const g = await golden();
    try {
      const report = await rehearse(
        buildConfig({
          'snapshot-server-url': local.url,
          snapshot: 'existing',
          'snapshot-name': g.name,
          'keep-snapshot': 'true',
          migrations: '*.sql',
          'working-directory': migrationDir({ '001.sql': 'CREATE TABLE kept (x int);' }),
        }),
      );
      const kept = report.snapshot!.name;
      try {
        expect(report.snapshot!.kept).toBe(true);
        expect(await databasesLike(local.url, kept)).toEqual([kept]);
        const [{ c }] = await query<{ c: string }>(
          local.url,
          `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
          [kept],
        );
        expect(JSON.parse(c)).toMatchObject({ strategy: 'existing', ttl_seconds: 6 * 3600 });
        expect(await count(withDatabase(local.url, kept), 'kept')).toBe(0);
      } finally {
        await dropDatabase(withDatabase(local.url, kept));
      }
    } finally {
      await g.dispose();
    }
  });

  it('serialises clones of one snapshot on an advisory lock instead of failing', async () => {
    const g = await golden();
    const to = uniqueName('test_clone');
    const holder = new pg.Client({ connectionString: local.url });
    await holder.connect();
    try {
      // Someone (a swap replacing the golden snapshot, another clone) holds its lock.
      await holder.query('SELECT pg_advisory_lock($1::int, hashtext($2))', [LOCK_CLASS, g.name]);
      const cloning = cloneSnapshotOn(parseConnectionUrl(local.url, 'server'), g.name, to);
      // The clone queues on that lock (pg_locks shows its wait) and makes nothing meanwhile.
      let waiting = false;
      for (let i = 0; i < 300 && !waiting; i++) {
        const rows = await query(
          local.url,
          `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
              AND classid = $1::int::oid AND objid = hashtext($2)::oid AND objsubid = 2`,
          [LOCK_CLASS, g.name],
        );
        waiting = rows.length > 0;
        if (!waiting) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(waiting).toBe(true);
      expect(await databasesLike(local.url, to)).toEqual([]);
      await holder.query('SELECT pg_advisory_unlock($1::int, hashtext($2))', [LOCK_CLASS, g.name]);
      await cloning;
      expect(await databasesLike(local.url, to)).toEqual([to]);
    } finally {
      await holder.end();
      await dropDatabase(withDatabase(local.url, to));
      await g.dispose();
    }
  });

  it('lets a clone of the golden snapshot in place go ahead while a refresh is still building', async () => {
    const g = await golden();
    const to = uniqueName('test_clone');
    const server = parseConnectionUrl(local.url, 'server');
    const blocker = new pg.Client({ connectionString: g.sourceUrl });
    await blocker.connect();
    const { admin, serverInfo, close } = await openSnapshotServer(server);
    const events: string[] = [];
    let release = () => undefined as void;
    let refreshing: Promise<unknown> | undefined;
    try {
      // The refresh waits on this lock (reading the source) until the clone is done, or 20 s passed.
      await blocker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const released = new Promise<void>((resolve) => (release = resolve)).then(() =>
        blocker.query('COMMIT'),
      );
      const timer = setTimeout(release, 20_000);
      const sourceInfo = await inspectSource(parseConnectionUrl(g.sourceUrl, 'source-url'));
      const refresh = ensureFreshGolden(admin, server, serverInfo, sourceInfo, {
        source: parseConnectionUrl(g.sourceUrl, 'source-url'),
        name: g.name,
        strategy: 'dump',
        maxAgeMs: 0,
      }).then((r) => {
        events.push('refreshed');
        return r;
      });
      refreshing = refresh;
      await until(
        async () =>
          (
            await query(
              local.url,
              `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
              [dbName(g.sourceUrl)],
            )
          ).length > 0,
      );
      await cloneSnapshotOn(server, g.name, to);
      events.push('cloned');
      release();
      clearTimeout(timer);
      await released;
      expect((await refresh).outcome).toBe('refreshed');
      expect(events).toEqual(['cloned', 'refreshed']);
      expect(await count(withDatabase(local.url, to), 'items')).toBe(3000);
    } finally {
      release();
      await refreshing?.catch(() => undefined); // its build is dropped before the connection closes
      await close();
      await blocker.end().catch(() => undefined);
      await dropDatabase(withDatabase(local.url, to));
      await g.dispose();
    }
  });

  it('--snapshot-max-age creates a missing golden snapshot and replaces one that is too old', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP, 'gsrc');
    const name = uniqueName('test_golden');
    const goldenUrl = withDatabase(local.url, name);
    const options = {
      'source-url': sourceUrl,
      snapshot: 'existing',
      'snapshot-name': name,
      'snapshot-max-age': '24h',
      migrations: '*.sql',
      'working-directory': migrationDir({ '001.sql': 'CREATE INDEX ON items (name);' }),
    };
    const lines: string[] = [];
    const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), group: (_n, fn) => fn() };
    try {
      const first = await rehearse(buildConfig(options), { log });
      expect(first.success).toBe(true);
      expect(lines.join('\n')).toMatch(new RegExp(`golden snapshot "${name}" does not exist: creating it`));
      expect(first.golden_refresh).toMatchObject({ name, outcome: 'created', found_age_ms: null });
      const [{ c: created }] = await query<{ c: string }>(
        local.url,
        `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
        [name],
      );
      expect(JSON.parse(created)).toMatchObject({ ttl_seconds: null, level: 'database' });

      // Fresh: the next run clones it as it is.
      lines.length = 0;
      const second = await rehearse(buildConfig(options), { log });
      expect(lines.join('\n')).not.toMatch(/creating it/);
      expect(second.golden_refresh).toMatchObject({
        outcome: 'fresh',
        created_at: JSON.parse(created).created_at,
      });

      // Two days old, and the source has changed since: it is built afresh before the clone.
      const old: SnapshotMetadata = {
        ...JSON.parse(created),
        created_at: new Date(Date.now() - 2 * 86_400_000).toISOString(),
      };
      const { admin, close } = await openSnapshotServer(parseConnectionUrl(local.url, 'x'));
      await writeMetadata(admin, name, old).finally(close);
      await query(
        sourceUrl,
        `INSERT INTO items SELECT g, 'new' FROM generate_series(3001, 3100) g; ANALYZE items`,
      );
      lines.length = 0;
      const refreshed = await rehearse(buildConfig(options), { log });
      expect(lines.join('\n')).toMatch(/is older than the snapshot max age .*creating it afresh/);
      expect(refreshed.metrics!.tables.items.rows_before).toBe(3100);
      expect(refreshed.golden_refresh).toMatchObject({ outcome: 'refreshed' });
      expect(refreshed.golden_refresh!.found_age_ms).toBeGreaterThanOrEqual(2 * 86_400_000);
      expect(await count(goldenUrl, 'items')).toBe(3100);
      expect(await databasesLike(local.url, name)).toEqual([name]);

      // A database of that name that pg-rehearsal did not create is never replaced.
      const plainUrl = await createDatabase(local.url, 'CREATE TABLE precious (x int);', 'plain');
      try {
        await expect(
          rehearse(buildConfig({ ...options, 'snapshot-name': dbName(plainUrl) }), { log }),
        ).rejects.toThrow(/exists but is not a pg-rehearsal snapshot .* so it is never replaced/);
        expect(await count(plainUrl, 'precious')).toBe(0);
      } finally {
        await dropDatabase(plainUrl);
      }
    } finally {
      await dropDatabase(goldenUrl);
      await dropDatabase(sourceUrl);
    }
  });
});

describe('pg-rehearsal run, refresh only (bundled CLI)', () => {
  it('with --snapshot-max-age and no migrations, creates the golden snapshot when missing, then leaves it', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP, 'gsrc');
    const name = uniqueName('test_golden');
    const refresh = ['run', '--source-url', sourceUrl, '--snapshot', 'existing', '--snapshot-name', name];
    const createdAt = async () =>
      JSON.parse(
        (
          await query<{ c: string }>(
            local.url,
            `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
            [name],
          )
        )[0].c,
      ).created_at as string;
    try {
      const created = await runCli([...refresh, '--snapshot-max-age', '24h']);
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/PASSED/);
      expect(created.stdout).toMatch(new RegExp(`Golden {5}"${name}" created: it did not exist`));
      expect(created.stdout).toMatch(/Migrations none: a refresh-only run/);
      expect(await count(withDatabase(local.url, name), 'items')).toBe(3000);
      const first = await createdAt();

      const fresh = await runCli([...refresh, '--snapshot-max-age', '1000h', '--format', 'json']);
      expect(fresh.code).toBe(0);
      expect(JSON.parse(fresh.stdout).golden_refresh).toMatchObject({ outcome: 'fresh', created_at: first });
      expect(await createdAt()).toBe(first);

      const nothing = await runCli(refresh);
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toMatch(
        /--migrations: is required \(or --command\).*set --snapshot existing with --snapshot-name, --snapshot-max-age and --source-url/,
      );
    } finally {
      await dropDatabase(withDatabase(local.url, name));
      await dropDatabase(sourceUrl);
    }
  });
});

describe('usage errors', () => {
  it('names the flag and what to do', async () => {
    const unknown = await runCli(['snapshot', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown snapshot subcommand "frobnicate"; use one of create, list/);
    const noName = await runCli(['snapshot', 'create', '--source-url', local.url]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/--name is required/);
    const noServer = await runCli(['snapshot', 'list']);
    expect(noServer.stderr).toMatch(/--snapshot-server-url is required/);
    const help = await runCli(['snapshot', '--help']);
    expect(help.stdout).toMatch(/restore NAME --to DB \[--force\]/);
    expect((await runCli(['--help'])).stdout).toMatch(
      /pg-rehearsal snapshot create\|list\|show\|delete\|clone\|restore/,
    );
  });

  it('snapshot-max-age needs snapshot: existing and a source to rebuild from', () => {
    const base = { migrations: 'x.sql', 'snapshot-max-age': '24h', 'snapshot-name': 'g' };
    expect(() => buildConfig({ ...base, 'source-url': local.url })).toThrow(
      /^snapshot-max-age: applies to the golden snapshot of snapshot: existing/,
    );
    let cliMessage = '';
    try {
      buildConfig({ ...base, snapshot: 'existing', 'snapshot-server-url': local.url });
    } catch (error) {
      cliMessage = errorText(error, RUN_NAMING);
    }
    expect(cliMessage).toMatch(/^--snapshot-max-age: needs --source-url/);
    expect(() =>
      buildConfig({ ...base, snapshot: 'existing', 'source-url': local.url, 'snapshot-max-age': 'soon' }),
    ).toThrow(/is not a duration/);
    const config = buildConfig({ ...base, snapshot: 'existing', 'source-url': local.url });
    expect(config.snapshot).toMatchObject({
      kind: 'golden',
      refresh: { source: config.source, maxAgeMs: 24 * 3_600_000 },
    });
  });
});

describe('orphan sweep', () => {
  it('drops an expired pg_rehearsal_* snapshot, never a golden one or another database', async () => {
    const expired = uniqueName('pg_rehearsal_testsweep');
    const goldenOld = uniqueName('pg_rehearsal_testgolden');
    const other = uniqueName('test_notours');
    const longAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const meta = (ttl: number | null): SnapshotMetadata => ({
      tool: 'pg-rehearsal',
      created_at: longAgo,
      strategy: 'template',
      source: null,
      run_id: 'test',
      ttl_seconds: ttl,
    });
    const { admin, serverInfo, close } = await openSnapshotServer(parseConnectionUrl(local.url, 'x'));
    try {
      for (const name of [expired, goldenOld, other]) await admin.query(`CREATE DATABASE ${name}`);
      await writeMetadata(admin, expired, meta(60));
      await writeMetadata(admin, goldenOld, meta(null));
      // Expired-looking metadata, but not a pg_rehearsal_* name: not ours to drop.
      await writeMetadata(admin, other, meta(60));
      const swept = await sweepExpiredSnapshots(admin, serverInfo, {
        info: () => undefined,
        warn: () => undefined,
        group: (_n, fn) => fn(),
      });
      expect(swept).toContain(expired);
      expect(swept).not.toContain(goldenOld);
      expect(swept).not.toContain(other);
      expect(await databasesLike(local.url, expired)).toEqual([]);
      expect(await databasesLike(local.url, goldenOld)).toEqual([goldenOld]);
      expect(await databasesLike(local.url, other)).toEqual([other]);
    } finally {
      for (const name of [expired, goldenOld, other])
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await close();
    }
  });
});

describe('dump progress', () => {
  it('counts restored tables from pg_restore --verbose and keeps only the error lines', () => {
    const progress = new RestoreProgress();
    progress.read(
      'pg_restore: connecting to database for restore\npg_restore: processing data for table "public.a"\npg_re',
    );
    progress.read(
      'store: processing data for table "public.b"\npg_restore: error: could not execute query: boom\nCommand was: COPY x\n',
    );
    progress.bytes = 3 * 1048576;
    expect(progress.describe()).toBe('2 table(s), 3.0 MB');
    expect(progress.errors).toEqual([
      'pg_restore: error: could not execute query: boom',
      'Command was: COPY x',
    ]);
  });

  it('logs tables and bytes done while a restore runs', async () => {
    const sourceUrl = await createDatabase(
      local.url,
      `${SHOP}
       CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 60000) g;`,
      'gsrc',
    );
    const targetUrl = await createDatabase(local.url, '', 'gdst');
    try {
      const lines: string[] = [];
      await dumpAndRestore(
        findPgTools(await serverMajor(sourceUrl)),
        parseConnectionUrl(sourceUrl, 'source-url'),
        parseConnectionUrl(targetUrl, 'target'),
        {
          log: { info: (m) => lines.push(m), warn: () => undefined, group: (_n, fn) => fn() },
          progressIntervalMs: 1,
        },
      );
      expect(await count(targetUrl, 'big')).toBe(60000);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines[lines.length - 1]).toMatch(/^restored 4 table\(s\), \d+\.\d MB in \d+\.\d s$/);
      expect(Number(/, ([\d.]+) MB/.exec(lines[lines.length - 1])![1])).toBeGreaterThan(10);
    } finally {
      await dropDatabase(targetUrl);
      await dropDatabase(sourceUrl);
    }
  });

  it('cancelling stops pg_dump and pg_restore, and says so', async () => {
    const sourceUrl = await createDatabase(
      local.url,
      `CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 200000) g;`,
      'gsrc',
    );
    const targetUrl = await createDatabase(local.url, '', 'gdst');
    try {
      const abort = new AbortController();
      const copy = dumpAndRestore(
        findPgTools(await serverMajor(sourceUrl)),
        parseConnectionUrl(sourceUrl, 'source-url'),
        parseConnectionUrl(targetUrl, 'target'),
        {
          signal: abort.signal,
          // Cancel at the first progress line, while the copy runs.
          log: { info: () => abort.abort(), warn: () => undefined, group: (_n, fn) => fn() },
          progressIntervalMs: 1,
        },
      );
      await expect(copy).rejects.toThrow(/cancelled while copying/);
      // Both processes are gone: nothing of the restore is left connected to the target.
      const sessions = await query<{ n: string }>(
        local.url,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg-rehearsal-restore'`,
        [new URL(targetUrl).pathname.slice(1)],
      );
      expect(Number(sessions[0].n)).toBe(0);
    } finally {
      await dropDatabase(targetUrl);
      await dropDatabase(sourceUrl);
    }
  });
});
