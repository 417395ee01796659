import { spawn } from 'node:child_process';
import { libpqEnvironment, redactUrlString, type ConnectionInfo } from '../connection.js';
import { CancelledError, SetupError } from '../errors.js';
import type { PgTools } from './pg-tools.js';

/**
 * Streams `pg_dump` of the source straight into `pg_restore` on the snapshot database:
 * no intermediate file, no compression (CPU is the bottleneck, not the pipe), one
 * transaction, session settings that trade durability the snapshot does not need for speed.
 */
export async function dumpAndRestore(
  tools: PgTools,
  source: ConnectionInfo,
  target: ConnectionInfo,
  signal?: AbortSignal,
): Promise<void> {
  const baseEnv = { ...process.env };
  for (const key of Object.keys(baseEnv)) if (key.startsWith('PG')) delete baseEnv[key];
  const dumpEnv = {
    ...baseEnv,
    ...libpqEnvironment(source),
    PGOPTIONS: '-c default_transaction_read_only=on',
    PGAPPNAME: 'pg-rehearsal-dump',
  };
  const restoreEnv = {
    ...baseEnv,
    ...libpqEnvironment(target),
    PGOPTIONS: '-c synchronous_commit=off -c maintenance_work_mem=512MB',
    PGAPPNAME: 'pg-rehearsal-restore',
  };
  const dump = spawn(tools.pgDump, ['--format=custom', '--compress=0'], {
    env: dumpEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const restore = spawn(
    tools.pgRestore,
    ['--no-owner', '--no-acl', '--single-transaction', '--exit-on-error', '--dbname', target.database],
    { env: restoreEnv, stdio: ['pipe', 'ignore', 'pipe'] },
  );
  dump.stdout.pipe(restore.stdin);
  // pg_restore quitting early makes the pipe fail; its own exit status tells why.
  restore.stdin.on('error', () => undefined);

  let dumpErr = '';
  let restoreErr = '';
  dump.stderr.on('data', (chunk: Buffer) => (dumpErr += chunk.toString()));
  restore.stderr.on('data', (chunk: Buffer) => (restoreErr += chunk.toString()));

  const onAbort = () => {
    dump.kill('SIGTERM');
    restore.kill('SIGTERM');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [dumpCode, restoreCode] = await Promise.all([exitCode(dump), exitCode(restore)]);
    if (signal?.aborted) throw new CancelledError('snapshot cancelled while copying the database');
    if (dumpCode !== 0) {
      throw new SetupError(`pg_dump of the source failed (exit ${dumpCode}): ${clean(dumpErr)}`);
    }
    if (restoreCode !== 0) {
      throw new SetupError(`pg_restore into the snapshot failed (exit ${restoreCode}): ${clean(restoreErr)}`);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function exitCode(child: ReturnType<typeof spawn>): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function clean(stderr: string): string {
  return redactUrlString(stderr.trim().split('\n').slice(-5).join(' | ')) || 'no output';
}
