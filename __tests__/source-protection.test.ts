import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, parseConnectionUrl, SOURCE_CONNECT_OPTIONS } from '../src/engine/connection.js';
import { CLI, runCli, type CliResult } from './helpers/cli.js';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  dropDatabase,
  fingerprint,
  query,
  testServers,
  uniqueName,
} from './helpers/servers.js';

/**
 * The source is only ever read: whatever the rehearsal does (pass, fail, get killed in the
 * middle of a migration), a dump of the source is byte-for-byte the same afterwards, with
 * the snapshot made by a file copy (template) or by pg_dump | pg_restore (dump).
 */
const [local] = testServers();

const SOURCE = `
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT '2024-01-01');
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, total integer NOT NULL);
INSERT INTO customers (id, email) SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, total) SELECT 1 + g % 2000, g % 700 FROM generate_series(1, 20000) g;
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 500;
CREATE FUNCTION order_count(c bigint) RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders WHERE customer_id = c';
ANALYZE;`;

/** Each one writes to every table before it ends, so a run on the source would show. */
const OUTCOMES = {
  passing: {
    '001_note.sql': 'ALTER TABLE orders ADD COLUMN note text;\nUPDATE orders SET note = total::text;',
    '002_index.sql':
      'CREATE INDEX orders_total_idx ON orders (total);\nDELETE FROM customers WHERE id > 1500 AND id NOT IN (SELECT customer_id FROM orders);',
  },
  failing: {
    '001_ok.sql': 'ALTER TABLE customers ADD COLUMN vip boolean NOT NULL DEFAULT false;',
    '002_bad.sql':
      'UPDATE orders SET total = total + 1;\nUPDATE customers SET email = email || (1 / (id - id))::text;',
  },
  cancelled: {
    '001_slow.sql':
      'UPDATE customers SET email = upper(email);\nSELECT pg_sleep(60);\nDROP TABLE orders CASCADE;',
  },
} as const;

let sourceUrl: string;
let pristine: string;

beforeAll(async () => {
  sourceUrl = await createDatabase(local.url, SOURCE, 'protect');
  pristine = await fingerprint(sourceUrl);
});

afterAll(async () => {
  await dropDatabase(sourceUrl);
});

function args(strategy: string, dir: string, snapshotName: string): string[] {
  return [
    'run',
    '--source-url',
    sourceUrl,
    '--snapshot',
    strategy,
    '--snapshot-name',
    snapshotName,
    '--migrations',
    '*.sql',
    '--working-directory',
    dir,
    '--format',
    'json',
  ];
}

/** Starts the CLI and sends SIGTERM once the slow statement has been running for a moment. */
async function runAndKill(cliArgs: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...cliArgs], { env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 60_000;
  // The migration session shows up in pg_stat_activity while pg_sleep runs.
  for (;;) {
    const rows = await query(
      local.url,
      `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg-rehearsal-migration' AND query LIKE '%pg_sleep%' AND datname = $1`,
      [cliArgs[cliArgs.indexOf('--snapshot-name') + 1]],
    );
    if (rows.length > 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  const code = await done;
  return { code, stdout, stderr };
}

describe.each(['template', 'dump'])('the source after a rehearsal with snapshot %s', (strategy) => {
  it.each(Object.keys(OUTCOMES) as (keyof typeof OUTCOMES)[])(
    '%s: a dump of the source is unchanged',
    async (outcome) => {
      const dir = migrationDir(OUTCOMES[outcome]);
      const snapshotName = uniqueName('protect_snap');
      const cliArgs = args(strategy, dir, snapshotName);
      const run = outcome === 'cancelled' ? await runAndKill(cliArgs) : await runCli(cliArgs);
      const report = JSON.parse(run.stdout);

      expect(report.snapshot.strategy).toBe(strategy);
      if (outcome === 'passing') {
        expect(run.code).toBe(0);
        expect(report.migrations.map((m: { status: string }) => m.status)).toEqual(['applied', 'applied']);
      } else if (outcome === 'failing') {
        expect(run.code).toBe(1);
        expect(report.failure.sqlstate).toBe('22012'); // division by zero
      } else {
        expect(run.code).toBe(1);
        expect(report.cancelled).toBe(true);
        expect(run.stderr).toContain('SIGTERM: cancelling the run');
      }
      expect(await fingerprint(sourceUrl)).toBe(pristine);
      // The snapshot was dropped, and nothing is left connected to the source.
      expect(await query(local.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [snapshotName])).toEqual(
        [],
      );
      const sourceDb = new URL(sourceUrl).pathname.slice(1);
      expect(
        await query(local.url, `SELECT application_name FROM pg_stat_activity WHERE datname = $1`, [
          sourceDb,
        ]),
      ).toEqual([]);
    },
  );
});

describe('the connection every source read goes through', () => {
  it('is read-only with a short statement_timeout, on the real server', async () => {
    const client = await connect(parseConnectionUrl(sourceUrl, 'source-url'), {
      ...SOURCE_CONNECT_OPTIONS,
      applicationName: 'pg-rehearsal-preflight',
    });
    try {
      const { rows } = await client.query<{ ro: string; st: string }>(
        `SELECT current_setting('default_transaction_read_only') AS ro, current_setting('statement_timeout') AS st`,
      );
      expect(rows[0]).toEqual({ ro: 'on', st: '30s' });
      await expect(client.query('CREATE TABLE intruder (id int)')).rejects.toMatchObject({ code: '25006' });
      await expect(client.query('UPDATE customers SET email = email')).rejects.toMatchObject({
        code: '25006',
      });
    } finally {
      await client.end();
    }
    expect(await fingerprint(sourceUrl)).toBe(pristine);
  });
});
