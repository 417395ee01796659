import { spawn } from 'node:child_process';
import { connectionUrl, libpqEnvironment, redactSecrets, type ConnectionInfo } from '../connection.js';
import { CancelledError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LockRecord, MigrationFailure, MigrationReport, StatementReport } from '../report.js';
import { excerpt } from './split.js';

export interface CommandRunContext {
  command: string;
  workingDirectory: string;
  /** The snapshot the command must migrate. */
  target: ConnectionInfo;
  signal: AbortSignal;
  log: Logger;
  clock: () => number;
  /** Passwords the tool was given besides the target's (the proxy's), hidden in its output too. */
  secrets?: string[];
}

export interface CommandRunResult {
  migration: MigrationReport;
  failure?: MigrationFailure;
}

const OUTPUT_TAIL_LINES = 20;

/**
 * The environment a migration tool expects: DATABASE_URL (postgresql://, which SQLAlchemy
 * requires) and the libpq PG* variables, all pointing at the snapshot.
 */
export function commandEnvironment(target: ConnectionInfo): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // The runner's own PG* settings must not leak in and point the tool elsewhere.
    if (value !== undefined && !key.startsWith('PG') && key !== 'DATABASE_URL') env[key] = value;
  }
  return { ...env, ...libpqEnvironment(target), DATABASE_URL: connectionUrl(target) };
}

/**
 * Runs the user's migration command in a shell, streaming its output to the log. A
 * non-zero exit is a failed migration, reported with the command's last output lines.
 * Cancelling kills the whole process group.
 */
export async function runCommandMigration(context: CommandRunContext): Promise<CommandRunResult> {
  const { command, log } = context;
  const migration: MigrationReport = {
    path: command,
    status: 'not_run',
    transactional: false,
    duration_ms: 0,
    size_delta_bytes: null,
    statements: [],
  };
  // A signal that fired already (a cancel or the timeout, while the sampler was starting)
  // would never call the abort listener below: do not start the command at all.
  if (context.signal.aborted)
    throw new CancelledError(`cancelled before \`${command}\` started`, [migration]);
  const started = context.clock();
  log.info(`$ ${command}`);
  const child = spawn('sh', ['-c', command], {
    cwd: context.workingDirectory,
    env: commandEnvironment(context.target),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so cancelling reaches the tool's children too
  });
  const tail: string[] = [];
  // Tools print the cause first and a long stack trace after it: keep the cause apart.
  let firstError: string | undefined;
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      const clean = redactSecrets(line, context.secrets ?? []);
      log.info(clean);
      if (!firstError && /(error|fatal|exception)\s*:/i.test(clean)) firstError = clean.trim();
      tail.push(clean);
      if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    }
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  const kill = () => {
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      // already gone
    }
  };
  context.signal.addEventListener('abort', kill, { once: true });
  let exitCode: number;
  try {
    exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    context.signal.removeEventListener('abort', kill);
  }
  migration.duration_ms = Math.round((context.clock() - started) * 10) / 10;
  if (context.signal.aborted) {
    migration.status = 'failed';
    throw new CancelledError(`cancelled while running \`${command}\``, [migration]);
  }
  if (exitCode === 0) {
    migration.status = 'applied';
    return { migration };
  }
  migration.status = 'failed';
  return {
    migration,
    failure: {
      message: `the migration command exited with code ${exitCode}${firstError ? `: ${firstError}` : ''}`,
      path: command,
      output: tail.join('\n'),
    },
  };
}

/**
 * Statements of a command run, as the sampler saw them: each distinct query that held a
 * lock, with the locks it held. Lines are unknown (0): the tool, not a file, sent them.
 */
export function statementsFromSampledLocks(command: string, locks: LockRecord[]): StatementReport[] {
  const byQuery = new Map<string, StatementReport>();
  for (const lock of locks) {
    const sql = lock.statement.sql;
    let statement = byQuery.get(sql);
    if (!statement) {
      statement = {
        path: command,
        line: 0,
        sql: excerpt(sql),
        started_at_ms: lock.started_at_ms,
        duration_ms: 0,
        locks: [],
        rewrites: [],
      };
      byQuery.set(sql, statement);
    }
    statement.started_at_ms = Math.min(statement.started_at_ms, lock.started_at_ms);
    const end = lock.started_at_ms + lock.held_ms;
    statement.duration_ms = Math.max(
      statement.duration_ms,
      Math.round((end - statement.started_at_ms) * 10) / 10,
    );
    if (!statement.locks.some((l) => l.relation === lock.relation && l.mode === lock.mode)) {
      statement.locks.push({
        relation: lock.relation,
        relation_kind: lock.relation_kind,
        mode: lock.mode,
        mode_name: lock.mode_name,
        blocks: lock.blocks,
      });
    }
  }
  return [...byQuery.values()].sort((a, b) => a.started_at_ms - b.started_at_ms);
}
