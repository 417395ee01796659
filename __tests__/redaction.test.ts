import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redactSecrets } from '../src/engine/connection.js';
import type { Report } from '../src/engine/report.js';
import { copyMethod } from '../src/engine/snapshot/clone.js';
import type { ServerInfo } from '../src/engine/snapshot/server.js';
import { runCli } from './helpers/cli.js';
import { migrationDir } from './helpers/rehearsal.js';
import { createDatabase, dropDatabase, localServerUrl, testServers } from './helpers/servers.js';

const [, embedded] = testServers();

/** The URL with a password put in: the test servers trust, so any password connects. */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

describe('a password that is a common word', () => {
  it('is masked where a password stands and as a whole word, and never inside other words', () => {
    const text = [
      'pg_dump 15 cannot dump; install postgresql-client-18 or set pg-bin-dir to /usr/lib/postgresql/18/bin',
      'connect to postgresql://app:postgres@db:5432/shop failed',
      "dsn 'host=db password=postgres user=app' and password = 'postgres' in a connection string",
      'env PGPASSWORD=postgres and PGPASSWORD: postgres',
      'the password is postgres.',
    ].join('\n');
    const out = redactSecrets(text, ['postgres']);
    expect(out).toContain('postgresql-client-18');
    expect(out).toContain('/usr/lib/postgresql/18/bin');
    expect(out).toContain('postgresql://app:***@db:5432/shop');
    expect(out).toContain("'host=db password=*** user=app'");
    expect(out).toContain('password = ***');
    expect(out).toContain('PGPASSWORD=*** and PGPASSWORD: ***');
    expect(out).toContain('the password is ***.');
    expect(out.replace(/postgres(?=ql)/g, '')).not.toMatch(/postgres/);
  });

  it('a password that is not a word is masked wherever it appears, also inside other text', () => {
    expect(redactSecrets('token=abcS3cr3t!xyz', ['S3cr3t!'])).toBe('token=abc***xyz');
  });

  it('keeps the pg_dump fix readable in a real run with password postgres, and --output still gets a report', async () => {
    // The embedded PostgreSQL 18 is newer than the machine's pg_dump 15: a setup error with a fix.
    const sourceUrl = await createDatabase(embedded.url, 'CREATE TABLE t (id int);');
    const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-out-')), 'report.json');
    try {
      const r = await runCli([
        'run',
        '--source-url',
        withPassword(sourceUrl, 'postgres'),
        '--snapshot-server-url',
        withPassword(localServerUrl(), 'postgres'),
        '--migrations',
        '*.sql',
        '--working-directory',
        migrationDir({ '001.sql': 'SELECT 1;' }),
        '--output',
        output,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/postgresql-client-18/);
      expect(r.stderr).toMatch(/\/usr\/lib\/postgresql\/18\/bin/);
      expect(r.stderr).not.toMatch(/\*\*\*ql/);
      const report = JSON.parse(readFileSync(output, 'utf8')) as Report;
      expect(report.passed).toBe(false);
      expect(report.success).toBe(false);
      expect(report.failure).toMatchObject({ setup: true });
      expect(report.failure!.message).toMatch(/postgresql-client-18/);
      expect(report.error).toBe(report.failure!.message);
      expect(report.migrations).toEqual([]);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('--output gets a report for bad usage too', async () => {
    const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-out-')), 'report.json');
    const r = await runCli([
      'run',
      '--source-url',
      'postgresql://u:hunter2@x/db',
      '--max-duration',
      'soon',
      '--migrations',
      '*.sql',
      '--output',
      output,
    ]);
    expect(r.code).toBe(2);
    const written = readFileSync(output, 'utf8');
    expect(written).not.toContain('hunter2');
    const report = JSON.parse(written) as Report;
    expect(report).toMatchObject({ passed: false, failure: { setup: true } });
    expect(report.failure!.message).toMatch(/max-duration/);
  });
});

describe('snapshot subcommands use the run redaction', () => {
  it('masks a literal password in any message, not only in URLs', async () => {
    const password = 'Xq7-not-a-word';
    const r = await runCli([
      'snapshot',
      'show',
      password, // a mistake people make: the password pasted where the name goes
      '--snapshot-server-url',
      withPassword(localServerUrl(), password),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\*\*\*/);
    expect(r.stderr + r.stdout).not.toContain(password);
  });
});

describe('the snapshot reason names only syntax the server has', () => {
  const server = (major: number): ServerInfo => ({
    version: `${major}.0`,
    versionNum: major * 10000,
    major,
    identity: 'x',
    canCreateDatabases: true,
    user: 'postgres',
    fileCopyMethod: null,
  });
  it.each([13, 14])('PostgreSQL %i: no STRATEGY FILE_COPY', (major) => {
    expect(copyMethod(server(major)).clause).toBe('');
    expect(copyMethod(server(major)).description).not.toMatch(/STRATEGY/);
  });
  it('PostgreSQL 15: STRATEGY FILE_COPY', () => {
    expect(copyMethod(server(15)).description).toMatch(/STRATEGY FILE_COPY/);
  });
});
