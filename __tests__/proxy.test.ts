import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/embedded/postgres.js';
import { buildConfig, type RawOptions } from '../src/engine/config.js';
import { rehearse } from '../src/engine/rehearse.js';
import type { Report } from '../src/engine/report.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import { migrationDir } from './helpers/rehearsal.js';
import { createDatabase, databasesLike, dropDatabase, testServers, uniqueName } from './helpers/servers.js';

const [local, embedded] = testServers();
const ITEMS = `
CREATE TABLE items (id bigint PRIMARY KEY, a int, b int, c int, d int, e int, name text);
INSERT INTO items SELECT g, g, g, g, g, g, md5(g::text) FROM generate_series(1, 100) g;
ANALYZE;`;

async function rehearseCommand(sourceUrl: string, serverUrl: string, options: RawOptions): Promise<Report> {
  const runId = uniqueName('px').replace(/_/g, '');
  const report = await rehearse(buildConfig({ 'source-url': sourceUrl, ...options }, { runId }));
  expect(await databasesLike(serverUrl, `pg_rehearsal_${runId}_%`)).toEqual([]);
  return report;
}

/** psql reading a script from a file, the way most SQL-file tools send it: one statement per Query. */
function psqlScript(sql: string): { command: string; 'working-directory': string } {
  const dir = migrationDir({ 'script.sql': sql });
  return { command: 'psql -X -q -v ON_ERROR_STOP=1 -f script.sql', 'working-directory': dir };
}

function lockList(report: Report, index: number): string[] {
  const statement = report.migrations[0].statements.find((s) => s.index === index);
  return (statement?.locks ?? []).map((l) => `${l.relation} ${l.mode}`);
}

describe.each([local, embedded])('lock-tracing proxy on $name', (server) => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(server.url, ITEMS);
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
  });

  it('reports each of five short SHARE locks on its own CREATE INDEX, in order', async () => {
    const columns = ['a', 'b', 'c', 'd', 'e'];
    const report = await rehearseCommand(
      sourceUrl,
      server.url,
      psqlScript(columns.map((c) => `CREATE INDEX items_${c}_idx ON items (${c});`).join('\n')),
    );
    expect(report.failure).toBeNull();
    expect(report.runner).toMatchObject({ kind: 'command', lock_capture: 'exact' });
    const statements = report.migrations[0].statements;
    expect(statements.map((s) => [s.index, s.sql])).toEqual(
      columns.map((c, i) => [i + 1, `CREATE INDEX items_${c}_idx ON items (${c})`]),
    );
    const shares = report.locks.filter((l) => l.relation === 'items' && l.mode === 'ShareLock');
    expect(shares.map((l) => l.statement.index)).toEqual([1, 2, 3, 4, 5]);
    // The PR comment and the text report place each statement by its order, never at line 0.
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('| order | time | statement |');
    expect(markdown).toMatch(/^\| #5 \| [^|]+ \| `CREATE INDEX items_e_idx ON items \(e\)` \|/m);
    expect(markdown).not.toMatch(/^\| 0 \|/m);
    expect(renderText(report)).toMatch(/^ +#1 +\S+ ms +CREATE INDEX items_a_idx ON items \(a\)/m);
  });

  it('attributes a LOCK TABLE held through pg_sleep(1.5) to LOCK TABLE, held 1.4 to 2.0 s', async () => {
    const report = await rehearseCommand(
      sourceUrl,
      server.url,
      psqlScript('BEGIN;\nLOCK TABLE items IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1.5);\nCOMMIT;'),
    );
    expect(report.failure).toBeNull();
    const lock = report.locks.find((l) => l.relation === 'items' && l.mode === 'AccessExclusiveLock');
    expect(lock?.statement).toMatchObject({ index: 2, sql: 'LOCK TABLE items IN ACCESS EXCLUSIVE MODE' });
    expect(lock!.held_ms).toBeGreaterThanOrEqual(1400);
    expect(lock!.held_ms).toBeLessThanOrEqual(2000);
    expect(lockList(report, 3)).toEqual([]); // pg_sleep took nothing new
  });

  it('pins the rewrite of ALTER ... TYPE to that statement (the tracer, not the catalog diff)', async () => {
    const report = await rehearseCommand(sourceUrl, server.url, {
      ...psqlScript(
        'CREATE INDEX items_name_idx ON items (name);\nALTER TABLE items ALTER COLUMN a TYPE bigint;\nSELECT count(*) FROM items;',
      ),
      metrics: 'false',
    });
    expect(report.failure).toBeNull();
    const statements = report.migrations[0].statements;
    expect(statements.map((s) => s.rewrites.includes('items'))).toEqual([false, true, false]);
    expect(statements[1].rewrites).toContain('items_pkey');
  });

  it('sees the same locks per statement as the built-in runner on the same SQL', async () => {
    const sql = [
      'BEGIN;',
      'CREATE TABLE tags (id int PRIMARY KEY, item_id bigint REFERENCES items (id));',
      'ALTER TABLE items ADD COLUMN note text;',
      'UPDATE items SET note = name WHERE id < 10;',
      'CREATE INDEX items_note_idx ON items (note);',
      // Two rewrites of a table whose ACCESS EXCLUSIVE lock is already held: the second is found too.
      'ALTER TABLE items ALTER COLUMN d TYPE bigint;',
      'ALTER TABLE items ALTER COLUMN e TYPE bigint;',
      'COMMIT;',
      'ALTER TABLE items ALTER COLUMN b TYPE bigint;',
      'CREATE INDEX CONCURRENTLY items_c_idx ON items (c);',
      'VACUUM items;',
    ].join('\n');
    const dir = migrationDir({ '001_change.sql': sql });
    const builtIn = await rehearseCommand(sourceUrl, server.url, {
      migrations: '*.sql',
      'working-directory': dir,
    });
    const proxied = await rehearseCommand(sourceUrl, server.url, {
      command: 'psql -X -q -v ON_ERROR_STOP=1 -f 001_change.sql',
      'working-directory': dir,
    });
    expect(builtIn.failure).toBeNull();
    expect(proxied.failure).toBeNull();
    // Both watch CONCURRENTLY and VACUUM from another connection, every 10 ms: what a poll
    // catches of a statement that lasts a few milliseconds is chance, for both alike.
    const polled = (sql: string) => /CONCURRENTLY|VACUUM/.test(sql);
    const view = (r: Report) =>
      r.migrations[0].statements.map((s) => ({
        sql: s.sql,
        locks: polled(s.sql) ? 'polled' : s.locks.map((l) => `${l.relation} ${l.mode}`).sort(),
        rewrites: [...s.rewrites].sort(),
      }));
    expect(view(proxied)).toEqual(view(builtIn));
    const held = (r: Report) =>
      r.locks
        .filter((l) => !polled(l.statement.sql))
        .map((l) => `${l.relation} ${l.mode} ${l.statement.sql}`)
        .sort();
    expect(held(proxied)).toEqual(held(builtIn));
    expect(
      proxied.migrations[0].statements.filter((s) => s.lock_capture === 'polled').map((s) => s.index),
    ).toEqual([10, 11]);
    expect(proxied.migrations[0].statements.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const rewrote = proxied.migrations[0].statements.filter((s) => s.rewrites.includes('items'));
    expect(rewrote.map((s) => s.sql)).toEqual([
      'ALTER TABLE items ALTER COLUMN d TYPE bigint',
      'ALTER TABLE items ALTER COLUMN e TYPE bigint',
      'ALTER TABLE items ALTER COLUMN b TYPE bigint',
    ]);
  });

  it('passes node-postgres parameters, named statements and several connections, logging no parameter', async () => {
    const secret = `secret-${uniqueName('v')}`; // in the script only: the command line is reported
    const script = `
      const pg = require('pg');
      (async () => {
        const a = new pg.Client(process.env.DATABASE_URL);
        const b = new pg.Client(process.env.DATABASE_URL);
        await a.connect(); await b.connect();
        await a.query('SELECT pg_advisory_lock(42)');
        const named = { name: 'bump', text: 'UPDATE items SET name = $1 WHERE id = $2 RETURNING id' };
        const first = await b.query({ ...named, values: ['${secret}', 7] });
        const again = await b.query({ ...named, values: ['${secret}', 8] });
        const sum = await b.query('SELECT $1::int + $2::int AS v', [40, 2]);
        await b.query('CREATE TABLE extra (id int)');
        await a.query('SELECT pg_advisory_unlock(42)');
        if (first.rows[0].id !== '7' || again.rows[0].id !== '8' || sum.rows[0].v !== 42) process.exit(3);
        await a.end(); await b.end();
      })().catch((e) => { console.error('error: ' + e.message); process.exit(2); });`;
    const dir = migrationDir({ 'migrate.cjs': script });
    const report = await rehearseCommand(sourceUrl, server.url, {
      command: `NODE_PATH=${path.resolve('node_modules')} node migrate.cjs`,
      'working-directory': dir,
    });
    expect(report.failure).toBeNull();
    const statements = report.migrations[0].statements;
    expect(statements.map((s) => s.sql)).toEqual([
      'SELECT pg_advisory_lock(42)',
      'UPDATE items SET name = $1 WHERE id = $2 RETURNING id',
      'UPDATE items SET name = $1 WHERE id = $2 RETURNING id',
      'SELECT $1::int + $2::int AS v',
      'CREATE TABLE extra (id int)',
      'SELECT pg_advisory_unlock(42)',
    ]);
    expect(lockList(report, 2)).toContain('items RowExclusiveLock');
    expect(lockList(report, 5)).toContain('extra AccessExclusiveLock');
    expect(JSON.stringify(report)).not.toContain('secret-');
  });

  it('ends the holds of a transaction at COMMIT AND CHAIN, and traces the chained one afresh', async () => {
    const report = await rehearseCommand(
      sourceUrl,
      server.url,
      psqlScript(
        'BEGIN;\nLOCK TABLE items IN SHARE MODE;\nCOMMIT AND CHAIN;\nLOCK TABLE items IN SHARE MODE;\nCOMMIT;',
      ),
    );
    expect(report.failure).toBeNull();
    expect(report.locks.map((l) => `${l.relation} ${l.mode} #${l.statement.index}`)).toEqual([
      'items ShareLock #2',
      'items ShareLock #4',
    ]);
  });

  it('keeps the locks of the last statement of a tool that disconnects without waiting for anything more', async () => {
    // The lock read is still on its way when psql reaches the end of its file and hangs up:
    // the transaction rolls back, but the statement took its locks and the report says so.
    const report = await rehearseCommand(
      sourceUrl,
      server.url,
      psqlScript('BEGIN;\nLOCK TABLE items IN SHARE MODE;'),
    );
    expect(report.failure).toBeNull();
    expect(lockList(report, 2)).toEqual(['items ShareLock']);
    expect(report.locks.map((l) => `${l.relation} ${l.mode} #${l.statement.index}`)).toEqual([
      'items ShareLock #2',
    ]);
  });

  it("carries psql's \\copy in and out, and its Ctrl-C reaches the backend as a cancel", async () => {
    const dir = migrationDir({
      'rows.csv': '1001,x\n1002,y\n',
      'script.sql':
        "\\copy items (id, name) FROM 'rows.csv' WITH (FORMAT csv)\n\\copy (SELECT id, name FROM items WHERE id > 1000 ORDER BY id) TO 'out.csv' WITH (FORMAT csv)\n",
    });
    const copied = await rehearseCommand(sourceUrl, server.url, {
      command: 'psql -X -q -v ON_ERROR_STOP=1 -f script.sql',
      'working-directory': dir,
    });
    expect(copied.failure).toBeNull();
    expect(readFileSync(path.join(dir, 'out.csv'), 'utf8')).toBe('1001,x\n1002,y\n');
    expect(copied.migrations[0].statements.map((s) => s.sql)).toEqual([
      'COPY items ( id, name ) FROM STDIN WITH (FORMAT csv)',
      'COPY ( SELECT id, name FROM items WHERE id > 1000 ORDER BY id ) TO STDOUT WITH (FORMAT csv)',
    ]);
    expect(lockList(copied, 1)).toContain('items RowExclusiveLock');

    // psql sends a CancelRequest on SIGINT; the backend's answer proves it reached the right one.
    const cancelled = await rehearseCommand(sourceUrl, server.url, {
      command:
        'psql -X -v ON_ERROR_STOP=1 -c "SELECT pg_sleep(30)" & p=$!; ' +
        'until psql -X -tAc "SELECT 1 FROM pg_stat_activity WHERE query = \'SELECT pg_sleep(30)\'" | grep -q 1; do sleep 0.1; done; ' +
        'kill -INT $p; wait $p',
    });
    expect(cancelled.failure?.message).toMatch(/exited with code [1-9]/);
    const sleep = cancelled.migrations[0].statements.find((s) => s.sql === 'SELECT pg_sleep(30)');
    expect(sleep?.error).toMatch(/canceling statement due to user request/);
  });
});

describe('lock-tracing proxy: its own transaction around autocommit statements', () => {
  it('reports an error at its COMMIT (a deferred constraint) to the tool as the statement error', async () => {
    const sourceUrl = await createDatabase(
      local.url,
      'CREATE TABLE d (id int, CONSTRAINT d_id_key UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);',
    );
    try {
      const report = await rehearseCommand(sourceUrl, local.url, {
        ...psqlScript('INSERT INTO d VALUES (1), (1);\nSELECT count(*) FROM d;'),
      });
      expect(report.failure!.output).toMatch(/duplicate key value violates unique constraint "d_id_key"/);
      const statements = report.migrations[0].statements;
      // ON_ERROR_STOP: psql saw the INSERT fail, so it never sent the SELECT.
      expect(statements.map((s) => [s.sql, s.error])).toEqual([
        ['INSERT INTO d VALUES (1), (1)', expect.stringMatching(/duplicate key value/)],
      ]);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });
});

describe('lock-tracing proxy: its lock read, prepared once per session', () => {
  it('prepares it again after the tool drops every prepared statement, in and out of a transaction', async () => {
    const sourceUrl = await createDatabase(local.url, ITEMS);
    try {
      const script = psqlScript(
        [
          'BEGIN;',
          'CREATE INDEX items_a_idx ON items (a);',
          'ROLLBACK;',
          'DEALLOCATE ALL;',
          'CREATE INDEX items_b_idx ON items (b);',
          'BEGIN;',
          'DEALLOCATE ALL;',
          'CREATE INDEX items_c_idx ON items (c);',
          'COMMIT;',
          'SELECT 1/0;',
          'CREATE INDEX items_d_idx ON items (d);',
        ].join('\n'),
      );
      const report = await rehearseCommand(sourceUrl, local.url, {
        ...script,
        // Without ON_ERROR_STOP, psql goes on after an error.
        command: script.command.replace(' -v ON_ERROR_STOP=1', ''),
      });
      expect(report.failure).toBeNull();
      const statements = report.migrations[0].statements;
      // The proxy's ROLLBACK ended the failed statement's transaction: the next one runs.
      expect(statements.find((s) => s.sql === 'SELECT 1/0')?.error).toMatch(/division by zero/);
      for (const [index, column] of [
        [2, 'a'],
        [5, 'b'],
        [8, 'c'],
        [11, 'd'],
      ] as const) {
        const statement = statements[index - 1];
        expect([index, statement.sql, statement.lock_capture, lockList(report, index)]).toEqual([
          index,
          `CREATE INDEX items_${column}_idx ON items (${column})`,
          'exact',
          expect.arrayContaining(['items ShareLock']),
        ]);
      }
    } finally {
      await dropDatabase(sourceUrl);
    }
  });
});

describe('lock-tracing proxy: bad input', () => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, ITEMS);
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
  });

  it('refuses a wrong password with a FATAL that says which password to use', async () => {
    const report = await rehearseCommand(sourceUrl, local.url, {
      command: 'PGPASSWORD=guess psql -X -c "SELECT 1"',
    });
    expect(report.success).toBe(false);
    expect(report.failure!.output).toMatch(
      /password authentication failed.*takes only the password it gave the command in DATABASE_URL and PGPASSWORD/,
    );
  });

  it('refuses sslmode=require from the tool: the proxy is on loopback and does not speak TLS', async () => {
    const report = await rehearseCommand(sourceUrl, local.url, {
      command: 'PGSSLMODE=require psql -X -c "SELECT 1"',
    });
    expect(report.success).toBe(false);
    expect(report.failure!.output).toMatch(/server does not support SSL, but SSL was required/);
  });

  it('fails the run when the snapshot session dies mid-run, and leaves no listener behind', async () => {
    const dir = migrationDir({});
    const report = await rehearseCommand(sourceUrl, local.url, {
      command: 'echo $PGPORT > port.txt; psql -X -c "SELECT pg_terminate_backend(pg_backend_pid())"; true',
      'working-directory': dir,
    });
    expect(report.success).toBe(false);
    expect(report.failure).toMatchObject({ connection_lost: true });
    expect(report.failure!.message).toMatch(
      /connection to the snapshot was lost: the snapshot server closed the connection/,
    );
    const port = Number(readFileSync(path.join(dir, 'port.txt'), 'utf8'));
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve('connected'));
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

describe.each(['scram-sha-256', 'md5'] as const)(
  'lock-tracing proxy to a snapshot server with %s',
  (auth) => {
    let server: EmbeddedServer;
    let password: string;
    beforeAll(async () => {
      password = `Pw${randomBytes(6).toString('hex')}#x/y`;
      server = await startEmbeddedPostgres({ password, auth });
    });
    afterAll(async () => {
      await server.stop();
    });

    it('logs in to the snapshot with the real password, which the tool never sees', async () => {
      const sourceUrl = await createDatabase(server.url, ITEMS);
      try {
        const dir = migrationDir({});
        const report = await rehearseCommand(sourceUrl, server.url, {
          command:
            'echo "$PGPASSWORD" > seen.txt; psql -X -v ON_ERROR_STOP=1 -c "CREATE INDEX items_a_idx ON items (a)"',
          'working-directory': dir,
        });
        expect(report.failure).toBeNull();
        const seen = readFileSync(path.join(dir, 'seen.txt'), 'utf8').trim();
        expect(seen.length).toBeGreaterThan(16);
        expect(seen).not.toBe(password);
        expect(lockList(report, 1)).toContain('items ShareLock');
        expect(JSON.stringify(report)).not.toContain(password);
      } finally {
        await dropDatabase(sourceUrl);
      }
    });
  },
);
