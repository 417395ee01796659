import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { query, uniqueName } from './servers.js';

/**
 * A PostgreSQL 15 cluster of its own with `log_statement = all` in JSON, so a test can
 * read exactly what each session sent: ground truth for "pg-rehearsal sends what psql
 * sends". Created with pg_createcluster (the test runs as root), dropped in `drop()`.
 */
export interface LoggedCluster {
  url: string;
  port: number;
  /** The statements a session with this application_name sent, in order, once `marker` is logged. */
  statementsOf(applicationName: string): Promise<string[]>;
  drop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function createLoggedCluster(): Promise<LoggedCluster> {
  const name = uniqueName('rehearsal_log');
  const port = await freePort();
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-log-'));
  execFileSync('chown', ['postgres', logDir]);
  const settings = {
    log_statement: 'all',
    log_destination: 'jsonlog',
    logging_collector: 'on',
    log_directory: logDir,
    log_filename: 'server.log',
    fsync: 'off',
  };
  execFileSync(
    'pg_createcluster',
    [
      '15',
      name,
      '--port',
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-o', `${k}=${v}`]),
      '--start',
      '--',
      '--auth-host=trust',
      '--auth-local=trust',
    ],
    { stdio: 'ignore' },
  );
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const logFile = path.join(logDir, 'server.json');

  const logged = (): { application_name?: string; message?: string }[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];

  return {
    url,
    port,
    async statementsOf(applicationName) {
      // The collector writes asynchronously: a marker sent last shows everything before it is in.
      const marker = uniqueName('marker');
      const client = `${applicationName}_m`;
      await query(`${url}?application_name=${client}`, `SELECT '${marker}'`);
      for (let tries = 0; ; tries++) {
        if (logged().some((e) => e.message?.includes(marker))) break;
        if (tries > 500) throw new Error(`the server log never showed ${marker}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return logged()
        .filter((e) => e.application_name === applicationName && e.message?.startsWith('statement: '))
        .map((e) => (e.message as string).slice('statement: '.length));
    },
    async drop() {
      execFileSync('pg_dropcluster', ['15', name, '--stop'], { stdio: 'ignore' });
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
