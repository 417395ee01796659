import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { realisticMigration, sourceSql } from '../bench/suites/observe.js';
import { ConfigError } from '../src/engine/errors.js';
import { silentLogger } from '../src/engine/logger.js';
import { LockTracer } from '../src/engine/observe/lock-tracer.js';
import { expandMigrationPatterns } from '../src/engine/runner/files.js';
import {
  detectLayout,
  loadMigrationScript,
  planMigrations,
  type MigrationLayout,
} from '../src/engine/runner/layouts.js';
import { RESET_SESSION, SQL_PREPARED_STATEMENTS } from '../src/engine/runner/session.js';
import { tokenAt } from '../src/engine/runner/sql-lexer.js';
import { runSqlMigrations, type SqlRunResult } from '../src/engine/runner/sql-runner.js';
import { createLoggedCluster, type LoggedCluster } from './helpers/logged-cluster.js';
import { migrationDir } from './helpers/rehearsal.js';
import { query, uniqueName, withDatabase } from './helpers/servers.js';

/**
 * What pg-rehearsal's runner sends, compared with what psql sends for the same files,
 * both read from the server's own statement log; and the database each leaves behind
 * (pg_dump), from the same empty database.
 */
let cluster: LoggedCluster;
beforeAll(async () => {
  cluster = await createLoggedCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.drop();
});

const FIXTURES = path.resolve('__fixtures__');

/** A statement as sent, for comparison: without leading comments and the trailing semicolon. */
function normalize(statement: string): string {
  let text = statement.trim();
  while (text && tokenAt(text, 0).kind === 'comment') text = text.slice(tokenAt(text, 0).end).trim();
  return text.replace(/;\s*$/, '').trim();
}

/** pg-rehearsal's own statements: the clean session each file starts from. */
const OWN = new Set([RESET_SESSION, SQL_PREPARED_STATEMENTS].map(normalize));

/** What a session sent, minus transaction wrappers and pg-rehearsal's own reads and resets. */
const comparable = (statements: string[]) =>
  statements
    .map(normalize)
    .filter(
      (s) =>
        !/^(begin|commit|rollback)$/i.test(s) && !s.startsWith('SELECT p.proname AS name') && !OWN.has(s),
    );

function dump(database: string, schemaOnly: boolean): string {
  const out = execFileSync(
    'pg_dump',
    [
      '--no-comments',
      ...(schemaOnly ? ['--schema-only'] : []),
      '--dbname',
      withDatabase(cluster.url, database),
    ],
    {
      encoding: 'utf8',
    },
  );
  return out.replace(/^\\(un)?restrict .*$/gm, '');
}

/** Runs `files` (in `dir`, under `layout`) with psql and with the runner; returns both logs and dumps. */
/** `schemaOnly`: data that depends on now() would differ between the two runs. */
async function compare(
  dir: string,
  layout: MigrationLayout | 'auto',
  schemaOnly: boolean,
  database = uniqueName('parity'),
) {
  const found = expandMigrationPatterns(['**/*.sql'], dir);
  const chosen = layout === 'auto' ? detectLayout(found, dir) : layout;
  const files = planMigrations(found, chosen).run;
  const psqlApp = `${database}_psql`;
  const oursApp = `${database}_ours`;

  await query(cluster.url, `CREATE DATABASE ${database}`);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-psql-'));
  try {
    for (const [i, file] of files.entries()) {
      const script = path.join(scratch, `${i}.sql`);
      writeFileSync(script, loadMigrationScript(file, chosen, dir).script);
      execFileSync(
        'psql',
        ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', withDatabase(cluster.url, database), '-f', script],
        {
          env: { ...process.env, PGAPPNAME: psqlApp },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const psqlDump = dump(database, schemaOnly);
  await query(cluster.url, `DROP DATABASE ${database}`);

  // The same name again, so statements that name the database behave the same.
  await query(cluster.url, `CREATE DATABASE ${database}`);
  let result: SqlRunResult;
  let oursDump: string;
  try {
    result = await runOurs(database, oursApp, dir, files, chosen);
    oursDump = dump(database, schemaOnly);
  } finally {
    await query(cluster.url, `DROP DATABASE ${database} WITH (FORCE)`);
  }
  return {
    result,
    psql: comparable(await cluster.statementsOf(psqlApp)),
    ours: comparable(await cluster.statementsOf(oursApp)),
    psqlDump,
    oursDump,
  };
}

async function runOurs(database: string, app: string, dir: string, files: string[], layout: MigrationLayout) {
  const url = withDatabase(cluster.url, database);
  const client = new pg.Client({ connectionString: url, application_name: app });
  await client.connect();
  let observer: pg.Client | undefined;
  const started = performance.now();
  try {
    return await runSqlMigrations(files, {
      client,
      observer: async () => {
        if (!observer) {
          observer = new pg.Client({ connectionString: url, application_name: `${app}_observer` });
          await observer.connect();
        }
        return observer;
      },
      tracer: new LockTracer(undefined),
      clock: () => performance.now() - started,
      signal: new AbortController().signal,
      workingDirectory: dir,
      layout,
      log: silentLogger,
    });
  } finally {
    await client.end();
    await observer?.end();
  }
}

/** The cases where splitting or transactions once differed from psql. */
const CASES: Record<string, string> = {
  'a parameter named begin': `CREATE FUNCTION span(begin timestamptz, finish timestamptz) RETURNS interval
LANGUAGE sql AS $$ SELECT finish - begin $$;
CREATE TABLE spans (id int, at timestamptz);
CREATE INDEX CONCURRENTLY spans_at_idx ON spans (at);`,
  'a result column named begin, a table named procedure': `CREATE FUNCTION ranges() RETURNS TABLE (begin int, finish int)
LANGUAGE sql AS $$ SELECT 1, 2 $$;
CREATE TABLE procedure (id int);
INSERT INTO procedure VALUES (1);
CREATE INDEX CONCURRENTLY procedure_id_idx ON procedure (id);`,
  'meta-commands psql honours': `\\set ON_ERROR_STOP on
\\echo creating t
CREATE TABLE t (id int)\\g
INSERT INTO t VALUES (1) \\; INSERT INTO t VALUES (2);
SELECT count(*) FROM t
\\g
`,
  "a pg_dump script's \\restrict lines": `\\restrict abcDEF123
SET statement_timeout = 0;
CREATE TABLE dumped (id integer NOT NULL);
\\unrestrict abcDEF123
`,
  'COPY FROM stdin with inline data': `CREATE TABLE people (id int, name text, note text);
COPY people (id, name, note) FROM stdin;
1\tAda\tsemi; colon
2\tBob\t\\N
\\.
COPY people FROM stdin WITH (FORMAT csv);
3,"Cy; D",x
\\.
SELECT count(*) FROM people;`,
  'a dollar tag with a non-ASCII letter': `CREATE FUNCTION greet() RETURNS text LANGUAGE sql AS $é$ SELECT 'a;b' $é$;
SELECT greet();`,
  'comments inside CREATE INDEX CONCURRENTLY': `CREATE TABLE items (id int, item int);
CREATE /* c */ INDEX CONCURRENTLY items_id_idx ON items (id);
CREATE INDEX
-- on purpose
CONCURRENTLY items_item_idx ON items (item);
REINDEX INDEX CONCURRENTLY items_id_idx;`,
  'REINDEX DATABASE': `CREATE TABLE r (id int PRIMARY KEY);
REINDEX DATABASE current_database_placeholder;`,
  'a DO block and a CALL that commit': `CREATE TABLE batch (id int, done bool DEFAULT false);
INSERT INTO batch SELECT g FROM generate_series(1, 50) g;
DO $$
BEGIN
  FOR i IN 0..4 LOOP
    UPDATE batch SET done = true WHERE id > i * 10 AND id <= (i + 1) * 10;
    COMMIT;
  END LOOP;
END $$;
CREATE PROCEDURE reset_batch() LANGUAGE plpgsql AS $$
BEGIN
  UPDATE batch SET done = false;
  ROLLBACK;
  UPDATE batch SET done = false WHERE id = 1;
  COMMIT;
END $$;
CALL reset_batch();`,
};

describe('pg-rehearsal sends what psql sends (server statement log)', () => {
  it.each(Object.keys(CASES))(
    '%s',
    async (name) => {
      // REINDEX DATABASE names the database: both runs use the same generated name.
      const database = uniqueName('parity');
      const dir = migrationDir({
        '001_case.sql': CASES[name].replace('current_database_placeholder', database),
      });
      const { result, psql, ours, psqlDump, oursDump } = await compare(dir, 'plain', false, database);
      expect(result.failure).toBeUndefined();
      expect(psql.length).toBeGreaterThan(0);
      expect(ours).toEqual(psql);
      expect(oursDump).toEqual(psqlDump);
    },
    60_000,
  );

  it('a meta-command that cannot be honoured is an error naming file, line and command, before anything runs', async () => {
    const dir = migrationDir({
      '001_ok.sql': 'CREATE TABLE first_file (id int);',
      '002_gexec.sql': "CREATE TABLE x (id int);\nSELECT 'DROP TABLE x'\n\\gexec\n",
    });
    const database = uniqueName('parity');
    await query(cluster.url, `CREATE DATABASE ${database}`);
    try {
      const run = runOurs(database, `${database}_ours`, dir, ['001_ok.sql', '002_gexec.sql'], 'plain');
      await expect(run).rejects.toThrow(ConfigError);
      await expect(run).rejects.toThrow(/^002_gexec\.sql:3: psql meta-command \\gexec cannot be run/);
      const tables = await query(
        withDatabase(cluster.url, database),
        `SELECT 1 FROM pg_class WHERE relname = 'first_file'`,
      );
      expect(tables).toEqual([]);
    } finally {
      await query(cluster.url, `DROP DATABASE ${database} WITH (FORCE)`);
    }
  }, 60_000);
});

describe('the same statements and the same schema as psql on whole migration sets', () => {
  const sets: [string, () => string, MigrationLayout | 'auto'][] = [
    [
      '__fixtures__/sample (seed, then its migrations)',
      () =>
        copyOf([
          'sample/seed.sql',
          'sample/migrations/001_add_category.sql',
          'sample/migrations/002_price_numeric.sql',
        ]),
      'plain',
    ],
    ['__fixtures__/tools/dbmate', () => dbmateTool(), 'dbmate'],
    ['bench realistic migration', () => benchSet(), 'plain'],
    ['a plain-layout blog', () => path.join(FIXTURES, 'projects/plain-blog'), 'plain'],
    ['a Flyway shop', () => path.join(FIXTURES, 'projects/flyway-shop'), 'auto'],
    ['a dbmate event store', () => path.join(FIXTURES, 'projects/dbmate-events'), 'auto'],
  ];
  it.each(sets)(
    '%s',
    async (_name, directory, layout) => {
      const { result, psql, ours, psqlDump, oursDump } = await compare(directory(), layout, true);
      expect(result.failure).toBeUndefined();
      expect(result.migrations.every((m) => m.status === 'applied')).toBe(true);
      expect(psql.length).toBeGreaterThan(2);
      expect(ours).toEqual(psql);
      expect(oursDump).toEqual(psqlDump);
    },
    120_000,
  );
});

/** Fixture files copied under numbered names, so they run in the listed order. */
function copyOf(files: string[]): string {
  return migrationDir(
    Object.fromEntries(
      files.map((f, i) => [
        `${String(i).padStart(3, '0')}_${path.basename(f)}`,
        readFileSync(path.join(FIXTURES, f), 'utf8'),
      ]),
    ),
  );
}

function dbmateTool(): string {
  const migration = 'tools/dbmate/db/migrations/20240101000000_account_email.sql';
  return migrationDir({
    '20230101000000_accounts.sql':
      '-- migrate:up\nCREATE TABLE accounts (id int PRIMARY KEY, name text);\n-- migrate:down\nDROP TABLE accounts;\n',
    [path.basename(migration)]: readFileSync(path.join(FIXTURES, migration), 'utf8'),
  });
}

function benchSet(): string {
  return migrationDir({ '000_source.sql': sourceSql(2_000), ...realisticMigration(2_000) });
}
