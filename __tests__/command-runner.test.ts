import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildConfig, type RawOptions } from '../src/engine/config.js';
import { rehearse } from '../src/engine/rehearse.js';
import type { Report } from '../src/engine/report.js';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  testServers,
  uniqueName,
  withDatabase,
} from './helpers/servers.js';

const [local, embedded] = testServers();
const lockNames = (locks: { relation: string; mode: string }[]) =>
  locks.map((l) => `${l.relation} ${l.mode}`).sort();
const ACCOUNTS = `
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO accounts SELECT g, md5(g::text) FROM generate_series(1, 300000) g;
ANALYZE;`;

async function rehearseCommand(sourceUrl: string, options: RawOptions, serverUrl = local.url) {
  const runId = uniqueName('cmd').replace(/_/g, '');
  const report = await rehearse(buildConfig({ 'source-url': sourceUrl, ...options }, { runId }));
  expect(await databasesLike(serverUrl, `pg_rehearsal_${runId}_%`)).toEqual([]);
  return report;
}

describe.each([local, embedded])('command runner and lock sampler on $name', (server) => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(server.url, ACCOUNTS);
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
  });

  it('measures a 0.3 s ACCESS EXCLUSIVE hold of a psql command within 0.2-0.5 s', async () => {
    const report = await rehearseCommand(
      sourceUrl,
      {
        command: `psql -v ON_ERROR_STOP=1 -c "BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(0.3); COMMIT;"`,
        'lock-capture': 'sampled',
      },
      server.url,
    );
    expect(report.success).toBe(true);
    expect(report.runner).toMatchObject({ kind: 'command', lock_capture: 'sampled', sample_interval_ms: 50 });
    expect(report.runner.samples).toBeGreaterThan(3);
    const lock = report.locks.find((l) => l.relation === 'accounts' && l.mode === 'AccessExclusiveLock');
    expect(lock).toBeDefined();
    expect(lock!.held_ms).toBeGreaterThanOrEqual(200);
    expect(lock!.held_ms).toBeLessThanOrEqual(500);
    expect(lock!.statement.sql).toMatch(/LOCK TABLE accounts|pg_sleep/);
    // The observer reads only catalog views: it never shows up as a lock holder.
    expect(report.locks.some((l) => /pg_locks|pg_stat_activity/.test(l.statement.sql))).toBe(false);
    expect(report.migrations[0].statements.length).toBeGreaterThan(0);
  });

  it('never makes a migration wait: a long ALTER is never seen waiting for a lock', async () => {
    const report = await rehearseCommand(
      sourceUrl,
      {
        command: `psql -v ON_ERROR_STOP=1 -c "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(100)"`,
        'lock-sample-interval': '5ms',
        'lock-capture': 'sampled',
      },
      server.url,
    );
    expect(report.success).toBe(true);
    expect(report.locks.filter((l) => !l.granted)).toEqual([]);
    const alter = report.locks.find((l) => l.relation === 'accounts' && l.mode === 'AccessExclusiveLock');
    expect(alter?.held_ms).toBeGreaterThan(50);
    expect(report.metrics!.tables.accounts.rewritten).toBe(true);
    expect(report.migrations[0].statements.find((s) => /ALTER TABLE/.test(s.sql))?.rewrites).toContain(
      'accounts',
    );
  });

  it('reports a failing command as failed, with its last output lines', async () => {
    const report = await rehearseCommand(
      sourceUrl,
      { command: `echo applying; psql -v ON_ERROR_STOP=1 -c "SELECT 1/0"` },
      server.url,
    );
    expect(report.success).toBe(false);
    expect(report.failure!.message).toMatch(/exited with code [1-9]/);
    expect(report.failure!.output).toMatch(/applying[\s\S]*division by zero/);
    expect(report.migrations[0].status).toBe('failed');
  });
});

describe('command environment and limits', () => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, 'CREATE TABLE t (id int);');
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
  });

  it('points DATABASE_URL (postgresql://) and PG* at the snapshot, in the working directory', async () => {
    const dir = migrationDir({});
    const report = await rehearseCommand(sourceUrl, {
      command: 'echo "$DATABASE_URL|$PGDATABASE|$PGHOST|$PGPORT|$(pwd)" > env.txt',
      'lock-capture': 'sampled', // exact capture points them at its proxy (proxy.test.ts)
      'working-directory': dir,
    });
    const [url, database, host, port, cwd] = readFileSync(path.join(dir, 'env.txt'), 'utf8')
      .trim()
      .split('|');
    expect(report.snapshot!.name).toBe(database);
    expect(url).toBe(`postgresql://postgres@127.0.0.1:5432/${database}`);
    expect([host, port]).toEqual(['127.0.0.1', '5432']);
    expect(cwd).toBe(dir);
  });

  it('cancels a command past the timeout and kills it', async () => {
    const dir = migrationDir({});
    const report = await rehearseCommand(sourceUrl, {
      command: 'sleep 30; touch finished.txt',
      'working-directory': dir,
      timeout: '1s',
    });
    // The failure message rides along so that an unexpected outcome says what happened.
    expect({ cancelled: report.cancelled, failure: report.failure?.message }).toMatchObject({
      cancelled: true,
      failure: expect.stringContaining('timeout'),
    });
    // The report came back before the command could finish: it was stopped, not waited for.
    expect(existsSync(path.join(dir, 'finished.txt'))).toBe(false);
  });
});

const FIXTURES = path.resolve('__fixtures__/tools');
const BIN = path.resolve('node_modules/.bin');
// dbmate's npm wrapper lists every platform's binary; the registry mirror here has only
// linux-x64, so the project depends on that binary package directly (optional).
const DBMATE = path.resolve('node_modules/@dbmate/linux-x64/bin/dbmate');

describe('real migration tools', () => {
  const tools: { name: string; dir: string; command: string; direct?: string }[] = [
    // .ci/run installs alembic (Debian: alembic python3-psycopg2); without it this case fails.
    { name: 'alembic', dir: 'alembic', command: 'alembic upgrade head' },
    { name: 'knex', dir: 'knex', command: `${BIN}/knex migrate:latest --knexfile knexfile.cjs` },
    {
      name: 'node-pg-migrate',
      dir: 'node-pg-migrate',
      command: `${BIN}/node-pg-migrate up --migrations-dir migrations`,
    },
    {
      name: 'dbmate',
      dir: 'dbmate',
      // Through the lock-tracing proxy, whose URL carries sslmode=disable (lib/pq's default is require).
      command: `${DBMATE} --no-dump-schema up`,
      direct: `DATABASE_URL="$DATABASE_URL?sslmode=disable" ${DBMATE} --no-dump-schema up`,
    },
    { name: 'psql', dir: 'psql', command: 'psql -X -q -v ON_ERROR_STOP=1 -f migrate.sql' },
    { name: 'node-postgres', dir: 'node-postgres', command: 'node migrate.cjs' },
  ];
  /**
   * The locks of each unit that holds the migration's two statements (one migration, the
   * same SQL for every tool): dbmate sends both in one query string, one unit, the others
   * one by one.
   */
  const lockView = (report: Report) =>
    report.migrations[0].statements
      .map((s) => ({
        statements: (s.sql.match(/\b(alter table|create index)\b/gi) ?? []).map((k) => k.toUpperCase()),
        locks: lockNames(s.locks),
      }))
      .filter((unit) => unit.statements.length > 0);
  let builtIn: Map<string, string[]>;
  let sourceUrl: string;
  let emptyUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, ACCOUNTS);
    emptyUrl = await createDatabase(local.url, '', 'empty');
    // The same SQL through the built-in runner: what each tool's statements must show.
    const reference = await rehearseCommand(sourceUrl, {
      migrations: 'migrate.sql',
      'working-directory': path.join(FIXTURES, 'psql'),
    });
    expect(reference.failure).toBeNull();
    builtIn = new Map(lockView(reference).map((unit) => [unit.statements.join(), unit.locks]));
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
    await dropDatabase(emptyUrl);
  });

  it.each(tools)(
    '$name: applies its migration, and the ACCESS EXCLUSIVE lock and the new index show',
    async (tool) => {
      const report = await rehearseCommand(sourceUrl, {
        command: tool.command,
        'working-directory': path.join(FIXTURES, tool.dir),
      });
      expect(report.failure).toBeNull();
      expect(report.success).toBe(true);
      const lock = report.locks.find((l) => l.relation === 'accounts' && l.mode === 'AccessExclusiveLock');
      expect(lock).toBeDefined();
      expect(lock!.blocks).toBe('reads+writes');
      expect(report.metrics!.indexes.accounts_name_idx).toMatchObject({ status: 'new', table: 'accounts' });
      // The table's own data did not change: the new index is its indexes growing.
      expect(report.metrics!.tables.accounts.status).toBe('unchanged');
      expect(report.metrics!.tables.accounts.indexes_size_delta).toBe(
        report.metrics!.indexes.accounts_name_idx.size_after,
      );
      // Through the lock-tracing proxy: the lock is pinned on the tool's own statement.
      expect(report.runner.lock_capture).toBe('exact');
      expect(lock!.statement.sql).toMatch(/^ALTER TABLE "?accounts"?/i);
      const index = report.migrations[0].statements.find((s) => /CREATE INDEX/i.test(s.sql));
      expect(lockNames(index?.locks ?? [])).toContain('accounts ShareLock');
      // Statement by statement, the locks the built-in runner reports on the same SQL.
      expect([...builtIn.keys()]).toEqual(['ALTER TABLE', 'CREATE INDEX']);
      const units = lockView(report);
      expect(units.flatMap((unit) => unit.statements)).toEqual(['ALTER TABLE', 'CREATE INDEX']);
      expect(units).toEqual(
        units.map((unit) => ({
          statements: unit.statements,
          locks: unit.statements.flatMap((statement) => builtIn.get(statement) ?? []).sort(),
        })),
      );
    },
  );

  it.each(tools)(
    '$name: leaves the same schema through the proxy as connected directly (pg_dump -s)',
    async (tool) => {
      const dumps: string[] = [];
      for (const capture of ['exact', 'sampled']) {
        const runId = uniqueName('dump').replace(/_/g, '');
        const report = await rehearse(
          buildConfig(
            {
              'source-url': sourceUrl,
              command: capture === 'sampled' ? (tool.direct ?? tool.command) : tool.command,
              'working-directory': path.join(FIXTURES, tool.dir),
              'lock-capture': capture,
              'keep-snapshot': 'true',
            },
            { runId },
          ),
        );
        const url = withDatabase(local.url, report.snapshot!.name);
        try {
          expect(report.failure).toBeNull();
          const dump = execFileSync('pg_dump', ['-s', '--no-comments', '--dbname', url], {
            encoding: 'utf8',
          });
          dumps.push(dump.replace(/^\\(un)?restrict .*$/gm, ''));
        } finally {
          await dropDatabase(url);
        }
      }
      expect(dumps[0]).toContain('accounts_name_idx');
      expect(dumps[0]).toEqual(dumps[1]);
    },
  );

  it.each(tools)('$name: a failing migration is reported as failed with its output', async (tool) => {
    const report = await rehearseCommand(emptyUrl, {
      command: tool.command,
      'working-directory': path.join(FIXTURES, tool.dir),
    });
    expect(report.success).toBe(false);
    expect(report.passed).toBe(false);
    expect(report.failure!.message).toMatch(/exited with code [1-9]/);
    expect(`${report.failure!.message}\n${report.failure!.output}`).toMatch(/accounts/);
  });
});
