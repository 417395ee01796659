import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildConfig } from '../src/engine/config.js';
import { rehearse } from '../src/engine/rehearse.js';
import { runCli } from './helpers/cli.js';
import { migrationDir } from './helpers/rehearsal.js';
import { databasesLike, localServerUrl, withDatabase } from './helpers/servers.js';
import { startTlsServer, type TlsServer } from './helpers/tls-server.js';

/**
 * A source behind TLS with a private CA (the RDS / Cloud SQL setup): a PostgreSQL 15 cluster
 * of this file's own that takes TLS connections only, so every connection below that works
 * was a TLS connection whose certificate was checked as asked.
 */
let tls: TlsServer;
const DATABASE = 'shop';
const MIGRATION = { '001.sql': 'ALTER TABLE items ADD COLUMN price integer;' };

function tlsUrl(query = ''): string {
  return `postgresql://postgres@127.0.0.1:${tls.port}/${DATABASE}${query}`;
}

/** The URL with the private CA, checked as verify-full. */
function verifiedUrl(): string {
  return tlsUrl(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`);
}

beforeAll(async () => {
  tls = await startTlsServer();
  const psql = (sql: string, db = 'postgres') =>
    execFileSync('psql', [...tls.socketArgs, '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      stdio: 'pipe',
    });
  psql(`CREATE DATABASE ${DATABASE}`);
  psql(
    'CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100); ANALYZE items',
    DATABASE,
  );
});

afterAll(() => tls?.drop());

describe('a source with a private CA', () => {
  it('connects with sslmode=verify-full and sslrootcert in the URL, for every connection of the run', async () => {
    const dir = migrationDir(MIGRATION);
    const report = await rehearse(
      buildConfig({
        'source-url': tlsUrl(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`),
        migrations: '*.sql',
        'working-directory': dir,
      }),
    );
    expect(report.failure).toBeNull();
    expect(report.passed).toBe(true);
    expect(report.snapshot!.strategy).toBe('template');
    expect(report.metrics!.tables.items.rows_before).toBe(100);
  });

  it('takes the CA from PGSSLROOTCERT (and the mode from PGSSLMODE), as psql does', async () => {
    const dir = migrationDir(MIGRATION);
    const r = await runCli(
      ['run', '--source-url', tlsUrl(), '--migrations', '*.sql', '--working-directory', dir],
      { PGSSLMODE: 'verify-full', PGSSLROOTCERT: tls.caFile },
    );
    expect(r.stderr).not.toMatch(/could not connect/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PASSED|passed/i);
  });

  it('refuses a certificate the given CA did not sign: exit 2, naming the certificate problem', async () => {
    const dir = migrationDir(MIGRATION);
    const r = await runCli([
      'run',
      '--source-url',
      tlsUrl(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.wrongCaFile)}`),
      '--migrations',
      '*.sql',
      '--working-directory',
      dir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /TLS certificate was rejected \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/,
    );
    expect(r.stderr).toMatch(/sslrootcert/);
  });

  it('dumps from it onto another server: pg_dump gets the TLS settings too', async () => {
    const dir = migrationDir(MIGRATION);
    const runId = `tls${process.pid}`;
    const snapshotServer = withDatabase(localServerUrl(), 'postgres');
    const report = await rehearse(
      buildConfig(
        {
          'source-url': tlsUrl(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`),
          'snapshot-server-url': snapshotServer,
          migrations: '*.sql',
          'working-directory': dir,
        },
        { runId },
      ),
    );
    expect(report.failure).toBeNull();
    expect(report.snapshot!.strategy).toBe('dump');
    expect(report.metrics!.tables.items.rows_before).toBe(100);
    expect(await databasesLike(snapshotServer, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });
});

describe('a command through the lock-tracing proxy to a TLS-only snapshot server', () => {
  it('connects the proxy upstream over TLS while the tool talks plain to it on loopback; locks stay exact', async () => {
    const dir = migrationDir({});
    const runId = `tlsproxy${process.pid}`;
    const report = await rehearse(
      buildConfig(
        {
          'source-url': verifiedUrl(),
          command: [
            "psql -X -c '\\conninfo' > tool.txt",
            'psql -X -At -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" > upstream.txt',
            'psql -X -v ON_ERROR_STOP=1 -c "CREATE INDEX items_id_idx ON items (id)"',
          ].join(' && '),
          'working-directory': dir,
        },
        { runId },
      ),
    );
    expect(report.failure).toBeNull();
    expect(report.runner).toMatchObject({ kind: 'command', lock_capture: 'exact' });
    // The tool: on the proxy's loopback port, no TLS. Its backend: a TLS session (hostssl only).
    const tool = readFileSync(path.join(dir, 'tool.txt'), 'utf8');
    expect(tool).toMatch(/host "127\.0\.0\.1" at port "\d+"/);
    expect(tool).not.toContain(`port "${tls.port}"`);
    expect(tool).not.toMatch(/SSL connection/);
    expect(readFileSync(path.join(dir, 'upstream.txt'), 'utf8').trim()).toBe('t');
    const index = report.migrations[0].statements.find((s) => s.sql.startsWith('CREATE INDEX'));
    expect(index).toMatchObject({ lock_capture: 'exact' });
    expect(index!.locks.map((l) => `${l.relation} ${l.mode}`)).toContain('items ShareLock');
    expect(await databasesLike(verifiedUrl(), `pg_rehearsal_${runId}_%`)).toEqual([]);
  });
});
