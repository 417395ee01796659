import { spawn } from 'node:child_process';
import type pg from 'pg';
import { connect, libpqEnvironment, redactUrlString, type ConnectionInfo } from '../connection.js';
import { CancelledError, SetupError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PgTools } from './pg-tools.js';
import { CURRENT_DATABASE_SIZE_QUERY } from '../queries/databases.js';

/**
 * Streams `pg_dump` of the source straight into `pg_restore` on the snapshot database:
 * no intermediate file, no compression (CPU is the bottleneck, not the pipe), one
 * transaction, session settings that trade durability the snapshot does not need for speed.
 */
export interface DumpOptions {
  signal?: AbortSignal;
  /** Receives a progress line every few seconds while the copy runs. */
  log?: Logger;
  /** Extra pg_dump arguments, e.g. `-t pattern`, `--exclude-table-data pattern`. */
  dumpArgs?: string[];
  progressIntervalMs?: number;
}

const PROGRESS_INTERVAL_MS = 5_000;
/** How long pg_dump may wait for a lock on a source table before it gives up. */
const SOURCE_LOCK_WAIT_MS = 30_000;

export async function dumpAndRestore(
  tools: PgTools,
  source: ConnectionInfo,
  target: ConnectionInfo,
  options: DumpOptions = {},
): Promise<void> {
  const { signal, log } = options;
  // An abort that came before the copy started would never reach the listener below.
  if (signal?.aborted) throw new CancelledError('snapshot cancelled before copying the database');
  // Progress is the snapshot's growth on disk: read its starting size before anything runs.
  const size = new TargetSize(target);
  await size.measure();
  const { dump, restore } = spawnPipeline(tools, source, target, options.dumpArgs ?? []);

  const progress = new RestoreProgress();
  let dumpErr = '';
  dump.stderr.on('data', (chunk: Buffer) => (dumpErr += chunk.toString()));
  restore.stderr.on('data', (chunk: Buffer) => progress.read(chunk.toString()));
  const started = performance.now();
  const intervalMs = options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  const stopTicker = startProgressTicker(size, progress, intervalMs, started, log);

  const onAbort = () => {
    dump.kill('SIGTERM');
    restore.kill('SIGTERM');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort(); // cancelled while we were starting: the listener never fires
  try {
    const [dumpCode, restoreCode] = await Promise.all([exitCode(dump), exitCode(restore)]);
    stopTicker();
    progress.read('\n');
    if (signal?.aborted) throw new CancelledError('snapshot cancelled while copying the database');
    if (dumpCode !== 0) {
      throw new SetupError(`pg_dump of the source failed (exit ${dumpCode}): ${clean(dumpErr)}`);
    }
    if (restoreCode !== 0) {
      throw new SetupError(
        `pg_restore into the snapshot failed (exit ${restoreCode}): ${clean(progress.errors.join('\n'))}`,
      );
    }
    if (performance.now() - started > intervalMs) {
      progress.bytes = (await size.measure()) ?? progress.bytes;
      log?.info(`restored ${progress.describe()} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    stopTicker();
    signal?.removeEventListener('abort', onAbort);
    await size.close();
  }
}

/** pg_dump of the source piped into pg_restore on the snapshot, each with its own libpq environment. */
function spawnPipeline(
  tools: PgTools,
  source: ConnectionInfo,
  target: ConnectionInfo,
  extraDumpArgs: string[],
) {
  const baseEnv = { ...process.env };
  for (const key of Object.keys(baseEnv)) if (key.startsWith('PG')) delete baseEnv[key];
  const dumpEnv = {
    ...baseEnv,
    ...libpqEnvironment(source),
    // Read-only like every source connection. pg_dump sets its own statement_timeout to 0
    // (a table's COPY takes as long as it takes), so the dump is bounded by the run's
    // signal instead, and by --lock-wait-timeout below.
    PGOPTIONS: '-c default_transaction_read_only=on',
    PGAPPNAME: 'pg-rehearsal-dump',
  };
  const restoreEnv = {
    ...baseEnv,
    ...libpqEnvironment(target),
    PGOPTIONS: '-c synchronous_commit=off -c maintenance_work_mem=512MB',
    PGAPPNAME: 'pg-rehearsal-restore',
  };
  const dumpArgs = [
    '--format=custom',
    '--compress=0',
    // Never wait in the source's lock queue: a table locked by someone else fails the dump.
    `--lock-wait-timeout=${SOURCE_LOCK_WAIT_MS}`,
    ...extraDumpArgs,
  ];
  const dump = spawn(tools.pgDump, dumpArgs, {
    env: dumpEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // pg_restore reads pg_dump's pipe itself, as in a shell pipeline: copying gigabytes
  // through Node.js cost CPU that pg_dump, pg_restore and both servers need.
  const restore = spawn(
    tools.pgRestore,
    [
      '--no-owner',
      '--no-acl',
      '--single-transaction',
      '--exit-on-error',
      '--verbose', // one line per table restored: the progress count
      '--dbname',
      target.database,
    ],
    { env: restoreEnv, stdio: [dump.stdout, 'ignore', 'pipe'] },
  );
  // Close our end in this same tick, before the event loop could read from it: the data
  // is pg_restore's alone, and pg_dump gets SIGPIPE if pg_restore dies.
  dump.stdout.destroy();
  return { dump, restore };
}

/** Logs a progress line every interval while the copy runs; returns the function that stops it. */
function startProgressTicker(
  size: TargetSize,
  progress: RestoreProgress,
  intervalMs: number,
  started: number,
  log: Logger | undefined,
): () => void {
  let measuring = false;
  let finished = false;
  const ticker = setInterval(() => {
    if (measuring) return; // a slow server: skip a line rather than queue queries
    measuring = true;
    void size.measure().then((bytes) => {
      measuring = false;
      if (finished) return;
      if (bytes !== undefined) progress.bytes = bytes;
      log?.info(`restoring: ${progress.describe()} in ${Math.round((performance.now() - started) / 1000)} s`);
    });
  }, intervalMs);
  return () => {
    clearInterval(ticker);
    finished = true;
  };
}

/**
 * How much the restore has written so far: the snapshot database's growth on disk since the
 * first reading, which counts the restore's uncommitted data too. Read on a connection of
 * its own; a failure only costs the figure, never the restore.
 */
class TargetSize {
  private client: Promise<pg.Client> | undefined;
  private initial: number | undefined;
  private closed = false;

  constructor(private readonly target: ConnectionInfo) {}

  async measure(): Promise<number | undefined> {
    if (this.closed) return undefined;
    try {
      this.client ??= connect(this.target, { applicationName: 'pg-rehearsal-progress' });
      const client = await this.client;
      const { rows } = await client.query<{ size: string }>(CURRENT_DATABASE_SIZE_QUERY);
      const bytes = Number(rows[0].size);
      this.initial ??= bytes;
      return bytes - this.initial;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = await this.client?.catch(() => undefined);
    await client?.end().catch(() => undefined);
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

/**
 * Counts what went through: bytes written to the snapshot database, and tables whose
 * data pg_restore has loaded (its --verbose lines). Keeps only the lines that are not
 * progress chatter, for the error message.
 */
export class RestoreProgress {
  bytes = 0;
  tables = 0;
  readonly errors: string[] = [];
  private partial = '';

  read(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (/^pg_restore: processing data for table /.test(line)) this.tables++;
    else if (/^pg_restore: (error|warning|fatal)|^(ERROR|DETAIL|HINT|Command was)|^[^p]/i.test(line)) {
      if (line.trim()) this.errors.push(line);
      if (this.errors.length > 50) this.errors.shift();
    }
  }

  describe(): string {
    return `${this.tables} table(s), ${(this.bytes / 1048576).toFixed(1)} MB`;
  }
}
