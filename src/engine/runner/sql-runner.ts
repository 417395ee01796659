import type pg from 'pg';
import { resetSession } from './session.js';
import { isConnectionLost } from '../connection.js';
import { CancelledError, ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LockTracer } from '../observe/lock-tracer.js';
import { sampleBackendLocks } from '../observe/pid-sampler.js';
import type { MigrationFailure, MigrationReport, StatementReport } from '../report.js';
import { sendStatement } from './copy.js';
import { loadMigrationScript, type MigrationLayout, type MigrationScript } from './layouts.js';
import {
  committingProcedures,
  excerpt,
  isTransactionControl,
  requiresNoTransaction,
  ScriptError,
  splitSqlStatements,
  type SqlStatement,
} from './split.js';
import { COMMITTING_PROCEDURES_QUERY } from '../queries/runner.js';

export interface SqlRunContext {
  /** The migration's own session on the snapshot. */
  client: pg.Client;
  /** An autocommit connection for watching non-transactional statements; opened on demand. */
  observer: () => Promise<pg.Client>;
  tracer?: LockTracer;
  /** Milliseconds since the migration run started. */
  clock: () => number;
  /** Measures the database's size, to attribute growth to each file; absent when metrics are off. */
  databaseSize?: () => Promise<number>;
  signal: AbortSignal;
  workingDirectory: string;
  layout: MigrationLayout;
  log: Logger;
  /** Where a file's SQL comes from; by default its layout's up part (a rollback gives the down). */
  load?: (file: string) => MigrationScript;
}

export interface SqlRunResult {
  migrations: MigrationReport[];
  failure?: MigrationFailure;
  /** With rollback: the time spent checking the way back, not part of the migrations' time. */
  rollbackMs?: number;
}

const statusReaders = new WeakMap<pg.Client, () => string>();

/**
 * Transaction status from the server's last ReadyForQuery: I idle, T in a transaction, E
 * failed one. One listener per client, however many runs use it.
 */
function trackTransactionStatus(client: pg.Client): () => string {
  const known = statusReaders.get(client);
  if (known) return known;
  let status = 'I';
  const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
  connection.on('readyForQuery', (message: { status?: string }) => {
    status = message.status ?? status;
  });
  const read = () => status;
  statusReaders.set(client, read);
  return read;
}

/**
 * Applies SQL migration files in order. A file runs in one transaction, like most
 * migration tools do, unless it manages transactions itself (BEGIN/COMMIT) or holds a
 * statement PostgreSQL refuses inside one (CREATE INDEX CONCURRENTLY, ...): then its
 * statements run one by one, each plain statement in its own short transaction.
 * The first error stops the run.
 */
export async function runSqlMigrations(files: string[], context: SqlRunContext): Promise<SqlRunResult> {
  const status = trackTransactionStatus(context.client);
  const migrations: MigrationReport[] = files.map((file) => ({
    path: file,
    status: 'not_run',
    transactional: true,
    duration_ms: 0,
    size_delta_bytes: null,
    statements: [],
  }));
  // Every file is split before the first runs: a script we cannot run as psql would stops
  // the run before it changed anything.
  const scripts = files.map((file) => splitFile(file, context));
  const committing = committingProcedures(
    scripts.flatMap((s) => s.statements.map((statement) => statement.sql)),
    await existingProcedures(context.client),
  );
  let size = await context.databaseSize?.();
  for (const [index, migration] of migrations.entries()) {
    await resetSession(context.client); // each file starts from a clean session, as with psql
    // After the reset: a cancel that came during it must not let the file start.
    if (context.signal.aborted) throw new CancelledError('cancelled before all migrations ran', migrations);
    const { statements, transactional } = scripts[index];
    const outside = (s: SqlStatement) => requiresNoTransaction(s.sql, committing);
    migration.transactional =
      transactional !== false && !statements.some((s) => outside(s) || isTransactionControl(s.sql));
    context.log.info(
      `${migration.path}: ${statements.length} statement(s)${migration.transactional ? ' in one transaction' : ', one by one'}`,
    );
    const started = context.clock();
    let failure: MigrationFailure | undefined;
    try {
      failure = migration.transactional
        ? await runInOneTransaction(migration, statements, context)
        : await runOneByOne(migration, statements, context, status, outside);
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      // The report shows the file and statement the cancel interrupted.
      migration.duration_ms = round(context.clock() - started);
      migration.status = 'failed';
      throw new CancelledError(error.message, migrations);
    }
    migration.duration_ms = round(context.clock() - started);
    migration.status = failure ? 'failed' : 'applied';
    if (size !== undefined && context.databaseSize && !failure?.connection_lost) {
      const after = await context.databaseSize();
      migration.size_delta_bytes = after - size;
      size = after;
    }
    if (failure) return { migrations, failure };
  }
  return { migrations };
}

/** A file's statements, with lines counted in the file; a script psql would run otherwise is a usage error. */
function splitFile(
  file: string,
  context: SqlRunContext,
): { statements: SqlStatement[]; transactional?: boolean } {
  const { script, lineOffset, transactional } = context.load
    ? context.load(file)
    : loadMigrationScript(file, context.layout, context.workingDirectory);
  try {
    const statements = splitSqlStatements(script).map((s) => ({ ...s, line: s.line + lineOffset }));
    return { statements, transactional };
  } catch (error) {
    if (!(error instanceof ScriptError)) throw error;
    throw new ConfigError('migrations', `${file}:${error.line + lineOffset}: ${error.message}`);
  }
}

/** Procedures already in the database whose PL/pgSQL body can commit: a CALL of one runs outside a transaction. */
async function existingProcedures(client: pg.Client): Promise<{ name: string; body: string }[]> {
  const { rows } = await client.query<{ name: string; body: string }>(COMMITTING_PROCEDURES_QUERY);
  return rows;
}

async function runInOneTransaction(
  migration: MigrationReport,
  statements: SqlStatement[],
  context: SqlRunContext,
): Promise<MigrationFailure | undefined> {
  await context.client.query('BEGIN');
  for (const statement of statements) {
    const failure = await runStatement(migration, statement, context, true);
    if (failure) {
      await context.client.query('ROLLBACK').catch(() => undefined);
      context.tracer?.endTransaction(context.clock());
      return failure;
    }
  }
  await context.client.query('COMMIT');
  context.tracer?.endTransaction(context.clock());
  return undefined;
}

async function runOneByOne(
  migration: MigrationReport,
  statements: SqlStatement[],
  context: SqlRunContext,
  status: () => string,
  outside: (statement: SqlStatement) => boolean,
): Promise<MigrationFailure | undefined> {
  for (const statement of statements) {
    if (context.signal.aborted) throw new CancelledError('cancelled during a migration');
    if (isTransactionControl(statement.sql)) {
      const failure = await runStatement(migration, statement, context, false);
      if (failure) return failure;
      if (status() === 'I') context.tracer?.endTransaction(context.clock());
      continue;
    }
    if (outside(statement)) {
      const failure = await runStatement(migration, statement, context, false, true);
      if (failure) return failure;
      context.tracer?.endTransaction(context.clock());
      continue;
    }
    // A plain statement: in the file's own transaction if one is open, else in a short
    // one of ours, which is what autocommit does anyway, but lets us read its locks.
    const ownTransaction = status() === 'I';
    if (ownTransaction) await context.client.query('BEGIN');
    const failure = await runStatement(migration, statement, context, true);
    if (failure) {
      if (ownTransaction || status() !== 'I') await context.client.query('ROLLBACK').catch(() => undefined);
      context.tracer?.endTransaction(context.clock());
      return failure;
    }
    if (ownTransaction) {
      await context.client.query('COMMIT');
      context.tracer?.endTransaction(context.clock());
    }
  }
  // A file that leaves a transaction open is the file's bug; commit nothing silently.
  if (status() !== 'I') {
    await context.client.query('ROLLBACK').catch(() => undefined);
    context.tracer?.endTransaction(context.clock());
    return {
      message: 'the file ended inside an open transaction (BEGIN without COMMIT)',
      path: migration.path,
    };
  }
  return undefined;
}

async function runStatement(
  migration: MigrationReport,
  statement: SqlStatement,
  context: SqlRunContext,
  readLocksAfter: boolean,
  sampleWhileRunning = false,
): Promise<MigrationFailure | undefined> {
  const report: StatementReport = {
    path: migration.path,
    line: statement.line,
    sql: excerpt(statement.sql),
    started_at_ms: 0,
    duration_ms: 0,
    locks: [],
    rewrites: [],
  };
  migration.statements.push(report);
  const started = context.clock();
  report.started_at_ms = round(started);
  try {
    if (sampleWhileRunning && context.tracer) {
      const observer = await context.observer();
      const pid = (context.client as unknown as { processID: number }).processID;
      report.lock_capture = 'polled';
      const { locks } = await sampleBackendLocks(observer, pid, 10, sendStatement(context.client, statement));
      report.duration_ms = round(context.clock() - started);
      context.tracer.observe(locks, started, report);
    } else {
      if (context.tracer) report.lock_capture = 'exact';
      const result = await sendStatement(context.client, statement);
      report.duration_ms = round(context.clock() - started);
      if (/^(INSERT|UPDATE|DELETE|MERGE)$/.test(result?.command ?? ''))
        report.rows = result?.rowCount ?? undefined;
      if (readLocksAfter && context.tracer) {
        context.tracer.observe(
          await context.tracer.readOwnLocks(context.client, statement.sql),
          started,
          report,
        );
      }
    }
    return undefined;
  } catch (error) {
    report.duration_ms = round(context.clock() - started);
    if (context.signal.aborted) {
      report.error = 'cancelled';
      throw new CancelledError(`cancelled while running ${migration.path}:${statement.line}`);
    }
    const e = error as pg.DatabaseError;
    const line = statement.line + linesBefore(statement.sql, Number(e.position));
    report.error = e.message;
    if (isConnectionLost(error)) {
      return {
        message: `the connection to the snapshot was lost during this statement: ${e.message}`,
        // A socket error's code (ECONNRESET, EPIPE) is no SQLSTATE.
        sqlstate: e.code?.length === 5 && !e.code.startsWith('E') ? e.code : undefined,
        path: migration.path,
        line,
        connection_lost: true,
      };
    }
    return {
      message: e.message,
      sqlstate: e.code,
      path: migration.path,
      line,
      detail: e.detail,
      hint: e.hint,
    };
  }
}

/** Line offset of a 1-based character position inside a statement. */
function linesBefore(sql: string, position: number): number {
  if (!Number.isFinite(position) || position < 1) return 0;
  return (sql.slice(0, position - 1).match(/\n/g) ?? []).length;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
