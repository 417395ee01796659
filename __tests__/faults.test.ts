import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/embedded/postgres.js';
import { parseConnectionUrl } from '../src/engine/connection.js';
import { CancelledError } from '../src/engine/errors.js';
import { silentLogger } from '../src/engine/logger.js';
import type { Report } from '../src/engine/report.js';
import { runCommandMigration } from '../src/engine/runner/command-runner.js';
import { dumpAndRestore } from '../src/engine/snapshot/dump.js';
import { findPgTools } from '../src/engine/snapshot/pg-tools.js';
import { parseCommandFile, prepareRun, startAction } from './helpers/action-runner.js';
import { startCli } from './helpers/cli.js';
import { FakeGitHub } from './helpers/fake-github.js';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  query,
  serverMajor,
  testServers,
  uniqueName,
} from './helpers/servers.js';

/**
 * Faults in the middle of a run: each must end in a clear report or error with exit code
 * 1 or 2, and leave no snapshot database behind (or one the next run sweeps). Every
 * check on leftovers looks only at the names of the test's own run id: other test files
 * rehearse on the same servers at the same time.
 */
const [local] = testServers();
const SOURCE =
  'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;';
const SLOW = { '001_slow.sql': 'SELECT pg_sleep(60);' };

function newRunId(prefix: string): string {
  return uniqueName(prefix).replace(/_/g, '');
}

/** Waits until the run's migration session is inside its statement; returns its pid. */
async function migrationBackend(serverUrl: string, snapshotPrefix: string): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const rows = await query<{ pid: number }>(
      serverUrl,
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'pg-rehearsal-migration' AND datname LIKE $1
          AND state = 'active' AND query LIKE '%pg_sleep%'`,
      [`${snapshotPrefix}%`],
    );
    if (rows.length) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no migration of ${snapshotPrefix}* started within 30 s`);
}

function cliRun(sourceUrl: string, runId: string, dir: string, extra: string[] = []) {
  const reportFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-fault-')), 'report.json');
  const run = startCli([
    'run',
    '--source-url',
    sourceUrl,
    '--migrations',
    '*.sql',
    '--working-directory',
    dir,
    '--run-id',
    runId,
    '--output',
    reportFile,
    ...extra,
  ]);
  return { ...run, report: () => JSON.parse(readFileSync(reportFile, 'utf8')) as Report };
}

describe('faults on the local server', () => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, SOURCE, 'fault');
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
  });

  it('the migration connection terminated mid-run: a failed report that says so, exit 1, snapshot dropped', async () => {
    const runId = newRunId('term');
    const run = cliRun(sourceUrl, runId, migrationDir(SLOW));
    const pid = await migrationBackend(local.url, `pg_rehearsal_${runId}_`);
    await query(local.url, 'SELECT pg_terminate_backend($1)', [pid]);
    const r = await run.done;

    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(/FAILED/);
    expect(r.stdout).toContain(
      'migration failed: 001_slow.sql:1: the connection to the snapshot was lost during this statement: terminating connection due to administrator command (SQLSTATE 57P01)',
    );
    const report = run.report();
    expect(report).toMatchObject({ success: false, passed: false, cancelled: false });
    expect(report.failure).toMatchObject({
      connection_lost: true,
      sqlstate: '57P01',
      path: '001_slow.sql',
      line: 1,
    });
    expect(report.migrations[0].status).toBe('failed');
    expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the CLI mid-migration: the statement is cut short, a cancelled report, snapshot dropped',
    async (signal) => {
      const runId = newRunId('sig');
      const run = cliRun(sourceUrl, runId, migrationDir(SLOW));
      await migrationBackend(local.url, `pg_rehearsal_${runId}_`);
      run.child.kill(signal);
      const r = await run.done;

      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${signal}: cancelling the run and dropping the snapshot...`);
      expect(r.stdout.split('\n')[0]).toMatch(/CANCELLED/);
      const report = run.report();
      expect(report).toMatchObject({ cancelled: true, passed: false, success: false });
      expect(report.error).toBe(
        `the run was cancelled (received ${signal}): cancelled while running 001_slow.sql:1`,
      );
      // The report shows what the cancel interrupted: the minute's sleep did not run to its end.
      expect(report.migrations[0]).toMatchObject({ path: '001_slow.sql', status: 'failed' });
      expect(report.migrations[0].statements[0]).toMatchObject({ line: 1, error: 'cancelled' });
      expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    },
  );
});

describe('a slow snapshot copy (dump of a 60 MB source)', () => {
  let bigSource: string;
  beforeAll(async () => {
    bigSource = await createDatabase(
      local.url,
      "CREATE TABLE big (id int, pad text); INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 300000) g;",
      'fault_big',
    );
  });
  afterAll(async () => {
    await dropDatabase(bigSource);
  });

  it('SIGTERM while the snapshot is being copied: stops pg_dump, exits 1, nothing left', async () => {
    const runId = newRunId('dumpsig');
    const run = cliRun(bigSource, runId, migrationDir(SLOW), ['--snapshot', 'dump']);
    let restoring = false;
    for (let i = 0; i < 300 && !restoring; i++) {
      const rows = await query(
        local.url,
        `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg-rehearsal-restore' AND datname LIKE $1`,
        [`pg_rehearsal_${runId}_%`],
      );
      restoring = rows.length > 0;
      if (!restoring) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(restoring).toBe(true);
    run.child.kill('SIGTERM');
    const r = await run.done;

    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SIGTERM: cancelling the run and dropping the snapshot...');
    expect(r.stderr).toContain('pg-rehearsal: snapshot cancelled while copying the database');
    expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });

  it('--timeout limits the migration run only: a copy slower than the timeout still rehearses', async () => {
    const runId = newRunId('slowcopy');
    const run = cliRun(bigSource, runId, migrationDir({ '001.sql': 'SELECT 1;' }), [
      '--snapshot',
      'dump',
      '--timeout',
      '500ms',
    ]);
    const r = await run.done;

    const report = run.report();
    // The 60 MB copy takes about 1 s on a quiet machine; shorter than the timeout proves nothing.
    expect(report.snapshot?.seconds).toBeGreaterThan(0.5);
    expect(r.code).toBe(0);
    expect(report).toMatchObject({ passed: true, cancelled: false });
    expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });
});

describe('a cancel that came before a step started', () => {
  const aborted = () => {
    const controller = new AbortController();
    controller.abort(new Error('received SIGTERM'));
    return controller.signal;
  };

  it('does not start the migration command', async () => {
    const dir = migrationDir({});
    await expect(
      runCommandMigration({
        command: 'touch started.txt',
        workingDirectory: dir,
        target: parseConnectionUrl(local.url, 'source-url'),
        signal: aborted(),
        log: silentLogger,
        clock: () => 0,
      }),
    ).rejects.toThrow(CancelledError);
    expect(existsSync(path.join(dir, 'started.txt'))).toBe(false);
  });

  it('does not start pg_dump | pg_restore', async () => {
    const source = await createDatabase(local.url, SOURCE, 'fault');
    const target = await createDatabase(local.url, '', 'fault_target');
    try {
      await expect(
        dumpAndRestore(
          findPgTools(await serverMajor(local.url)),
          parseConnectionUrl(source, 'source-url'),
          parseConnectionUrl(target, 'snapshot-server-url'),
          { signal: aborted() },
        ),
      ).rejects.toThrow('snapshot cancelled before copying the database');
      expect(await query(target, `SELECT 1 FROM pg_class WHERE relname = 't'`)).toEqual([]);
    } finally {
      await dropDatabase(source);
      await dropDatabase(target);
    }
  });
});

describe('faults of a server of our own', () => {
  let server: EmbeddedServer;
  let sourceUrl: string;
  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    sourceUrl = await createDatabase(server.url, SOURCE, 'fault');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the snapshot server restarted mid-run: a failed report, exit 1, and the snapshot is dropped once it is back', async () => {
    const runId = newRunId('restart');
    const run = cliRun(sourceUrl, runId, migrationDir(SLOW));
    await migrationBackend(server.url, `pg_rehearsal_${runId}_`);
    await server.restart(1000);
    const r = await run.done;

    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /migration failed: 001_slow\.sql:1: the connection to the snapshot was lost during this statement: terminating connection due to administrator command \(SQLSTATE 57P01\)/,
    );
    expect(r.stderr).toMatch(
      /lost the connection to the snapshot server .*; retrying the drop of "pg_rehearsal_/,
    );
    expect(r.stderr).not.toMatch(/could not drop/);
    expect(run.report().failure).toMatchObject({ connection_lost: true });
    expect(await databasesLike(server.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });

  it('the snapshot server down longer than cleanup waits: a warning, and the next run sweeps the snapshot', async () => {
    const runId = newRunId('down');
    const run = cliRun(sourceUrl, runId, migrationDir(SLOW), ['--snapshot-ttl', '1s']);
    await migrationBackend(server.url, `pg_rehearsal_${runId}_`);
    // Down for longer than the 15 s cleanup retries for.
    const [r] = await Promise.all([run.done, server.restart(18_000)]);

    expect(r.code).toBe(1);
    expect(run.report().failure).toMatchObject({ connection_lost: true });
    expect(r.stderr).toMatch(
      new RegExp(
        `could not drop snapshot "pg_rehearsal_${runId}_[0-9a-f]+": .*; the next run sweeps it after its TTL`,
      ),
    );
    const [left] = await databasesLike(server.url, `pg_rehearsal_${runId}_%`);
    expect(left).toBeDefined();

    const next = await cliRun(sourceUrl, newRunId('next'), migrationDir({ '001.sql': 'SELECT 1;' })).done;
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`swept expired snapshot "${left}"`);
    expect(await databasesLike(server.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });

  it('a CLI killed outright (SIGKILL) leaves its snapshot with a TTL, and the next run sweeps it', async () => {
    const runId = newRunId('killed');
    const killed = cliRun(sourceUrl, runId, migrationDir(SLOW), ['--snapshot-ttl', '1s']);
    await migrationBackend(server.url, `pg_rehearsal_${runId}_`);
    killed.child.kill('SIGKILL');
    await killed.done;
    const [left] = await databasesLike(server.url, `pg_rehearsal_${runId}_%`);
    expect(left).toBeDefined();
    const [{ comment }] = await query<{ comment: string }>(
      server.url,
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [left],
    );
    expect(JSON.parse(comment)).toMatchObject({ tool: 'pg-rehearsal', ttl_seconds: 1 });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const next = cliRun(sourceUrl, newRunId('next'), migrationDir({ '001.sql': 'SELECT 1;' }));
    const r = await next.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`swept expired snapshot "${left}"`);
    expect(await databasesLike(server.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
  });
});

describe('a cancelled Action', () => {
  const github = new FakeGitHub();
  let sourceUrl: string;
  beforeAll(async () => {
    await github.start();
    sourceUrl = await createDatabase(local.url, SOURCE, 'fault');
  });
  afterAll(async () => {
    await github.stop();
    await dropDatabase(sourceUrl);
  });

  /** The runner's environment for one run, with a run id of its own. */
  function actionRun() {
    const workspace = migrationDir({ 'db/migrations/001_slow.sql': SLOW['001_slow.sql'] });
    github.prFiles = [{ filename: 'db/migrations/001_slow.sql', status: 'added' }];
    const runId = String(Date.now() % 1e9) + String(Math.floor(Math.random() * 1000));
    const { env, files } = prepareRun(
      { 'source-url': sourceUrl, migrations: 'db/migrations/*.sql' },
      { workspace, apiUrl: github.url, env: { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: '1' } },
    );
    // The engine names snapshots after the run id and attempt.
    const prefix = `pg_rehearsal_${runId}1_`;
    const post = () => {
      const state = parseCommandFile(readFileSync(files.state, 'utf8'));
      const postEnv = { ...env };
      for (const [name, value] of Object.entries(state)) postEnv[`STATE_${name}`] = value;
      return startAction('dist/post/index.js', postEnv, workspace).done;
    };
    return { workspace, env, files, prefix, post };
  }

  it('main killed with SIGKILL mid-migration: the post step drops the snapshot', async () => {
    const { workspace, env, prefix, post } = actionRun();
    const main = startAction('dist/index.js', env, workspace);
    await migrationBackend(local.url, prefix);
    main.child.kill('SIGKILL');
    await main.done;
    expect(await databasesLike(local.url, `${prefix}%`)).toHaveLength(1);

    const r = await post();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`dropped snapshot "${prefix}[0-9a-f]+" left by the main step`));
    expect(await databasesLike(local.url, `${prefix}%`)).toEqual([]);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'main receiving %s (a cancelled job) cancels, drops the snapshot itself and fails the step',
    async (signal) => {
      const { workspace, env, files, prefix, post } = actionRun();
      const main = startAction('dist/index.js', env, workspace);
      await migrationBackend(local.url, prefix);
      main.child.kill(signal);
      const r = await main.done;

      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`::warning::${signal}: cancelling the run and dropping the snapshot`);
      expect(r.stdout).toMatch(
        new RegExp(`::error::pg-rehearsal: migration failed: the run was cancelled \\(received ${signal}\\)`),
      );
      const outputs = parseCommandFile(readFileSync(files.output, 'utf8'));
      expect(outputs.passed).toBe('false');
      const report = JSON.parse(readFileSync(outputs['report-path'], 'utf8')) as Report;
      expect(report.cancelled).toBe(true);
      expect(parseCommandFile(readFileSync(files.state, 'utf8'))['snapshot-dropped']).toBe('true');
      expect(await databasesLike(local.url, `${prefix}%`)).toEqual([]);
      // No stale verdict: the sticky comment says the run was cancelled, and on which commit.
      expect(github.comments).toHaveLength(1);
      expect(github.comments[0].body).toMatch(/### ⚠️ pg-rehearsal: cancelled/);
      expect(github.comments[0].body).toContain(`commit \`${'b'.repeat(12)}\``);

      // The post step then finds nothing to do.
      const afterwards = await post();
      expect(afterwards.code).toBe(0);
      expect(afterwards.stdout).toBe('');
    },
  );
});
