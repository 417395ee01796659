import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  query,
  testServers,
  uniqueName,
} from './helpers/servers.js';

const CLI = path.resolve('dist/cli/index.js');
const [local] = testServers();

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI the way a user does; `onStart` may signal the child. */
function cli(
  args: string[],
  env: Record<string, string> = {},
  onStart?: (kill: (s: NodeJS.Signals) => void) => void,
) {
  return new Promise<CliResult>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onStart?.((signal) => child.kill(signal));
  });
}

const SOURCE =
  'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;';

describe('pg-rehearsal run (bundled CLI)', () => {
  it('exits 2 with the flag named for a bad duration', async () => {
    const r = await cli([
      'run',
      '--source-url',
      local.url,
      '--migrations',
      'x.sql',
      '--max-duration',
      '5 sekunds',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--max-duration: "5 sekunds" is not a duration; use a number with a unit: 500ms, 30s/,
    );
  });

  it('exits 2 on an unknown flag and on a missing source', async () => {
    expect((await cli(['run', '--frobnicate'])).code).toBe(2);
    const r = await cli(['run', '--migrations', 'x.sql']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--source-url: is required/);
  });

  it('exits 0 and prints the JSON report when the migration passes', async () => {
    const sourceUrl = await createDatabase(local.url, SOURCE);
    try {
      const dir = migrationDir({ '001.sql': 'CREATE INDEX t_v_idx ON t (v);' });
      const r = await cli([
        'run',
        '--source-url',
        sourceUrl,
        '--migrations',
        '*.sql',
        '--working-directory',
        dir,
        '--format',
        'json',
      ]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ schema_version: 1, passed: true, success: true });
      expect(report.metrics.indexes.t_v_idx.status).toBe('new');
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('exits 1 on a breach, prints the verdict first and writes --output', async () => {
    const sourceUrl = await createDatabase(local.url, SOURCE);
    try {
      const dir = migrationDir({ '001.sql': 'ALTER TABLE t ALTER COLUMN v TYPE bigint;' });
      const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-out-')), 'report.json');
      const r = await cli([
        'run',
        `--source-url=${sourceUrl}`,
        '--migrations',
        '*.sql',
        '--working-directory',
        dir,
        '--max-rewrite-size',
        '0',
        '--output',
        out,
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout.split('\n')[0]).toMatch(/FAILED/);
      expect(r.stdout).toMatch(/max-rewrite-size: t \(.*\) was rewritten/);
      expect(JSON.parse(readFileSync(out, 'utf8')).violations[0]).toMatchObject({
        rule: 'max-rewrite-size',
        subject: 't',
        line: 1,
      });
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('--no-fail-on-violation reports a breach and exits 0; a migration error still exits 1', async () => {
    const sourceUrl = await createDatabase(local.url, SOURCE);
    try {
      const breach = migrationDir({ '001.sql': 'ALTER TABLE t ALTER COLUMN v TYPE bigint;' });
      const flags = ['run', '--source-url', sourceUrl, '--migrations', '*.sql', '--format', 'json'];
      const r = await cli([
        ...flags,
        '--working-directory',
        breach,
        '--max-rewrite-size',
        '0',
        '--no-fail-on-violation',
      ]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ passed: true, success: true });
      expect(report.violations.map((v: { rule: string }) => v.rule)).toEqual(['max-rewrite-size']);
      // The same breach with --fail-on-violation=true (the default spelled out) fails.
      const strict = await cli([
        ...flags,
        '--working-directory',
        breach,
        '--max-rewrite-size',
        '0',
        '--fail-on-violation=true',
      ]);
      expect(strict.code).toBe(1);

      const broken = migrationDir({ '001.sql': 'ALTER TABLE missing ADD COLUMN c int;' });
      const failed = await cli([...flags, '--working-directory', broken, '--no-fail-on-violation']);
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout)).toMatchObject({ passed: false, success: false });
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('cancels on SIGTERM: drops the snapshot and exits 1', async () => {
    const sourceUrl = await createDatabase(local.url, SOURCE);
    const runId = uniqueName('sig').replace(/_/g, '');
    try {
      const dir = migrationDir({ '001.sql': 'SELECT pg_sleep(60);' });
      let sent = false;
      const r = await cli(
        [
          'run',
          '--source-url',
          sourceUrl,
          '--migrations',
          '*.sql',
          '--working-directory',
          dir,
          '--snapshot-name',
          `pg_rehearsal_${runId}_x`,
        ],
        {},
        (kill) => {
          // SIGTERM once the migration is running on the snapshot, not after a guessed delay.
          const poll = setInterval(async () => {
            const running = await query(
              local.url,
              `SELECT 1 FROM pg_stat_activity WHERE datname LIKE $1 AND query LIKE '%pg_sleep(60)%'`,
              [`pg_rehearsal_${runId}_%`],
            );
            if (running.length && !sent) {
              sent = true;
              clearInterval(poll);
              kill('SIGTERM');
            }
          }, 100);
        },
      );
      expect(sent).toBe(true);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/SIGTERM: cancelling/);
      expect(r.stdout).toMatch(/CANCELLED/);
      expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('never prints the password of a URL', async () => {
    const url = new URL(local.url);
    url.password = 'Sup3rSecretPw';
    url.pathname = '/no_such_database_abc';
    const r = await cli([
      'run',
      '--source-url',
      url.toString(),
      '--migrations',
      '*.sql',
      '--working-directory',
      migrationDir({ 'a.sql': 'SELECT 1;' }),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/database "no_such_database_abc" does not exist/);
    expect(r.stdout + r.stderr).not.toContain('Sup3rSecretPw');
  });
});

describe('pg-rehearsal demo', () => {
  it('rehearses the shop upgrade on an embedded PostgreSQL 18 and shows the rewrite and the lock', async () => {
    const r = await cli(['demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PostgreSQL 18/);
    expect(r.stdout).toMatch(/table products\s+changed\s+REWRITTEN/);
    expect(r.stdout).toMatch(/products\s+ACCESS EXCLUSIVE/);
    expect(r.stdout).toMatch(/max-rewrite-size: products/);
    expect(r.stdout).toMatch(/Demo phases/);
  });
});
