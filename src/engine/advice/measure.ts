import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { captureCatalog } from '../catalog.js';
import { connect, type ConnectionInfo } from '../connection.js';
import { errorMessage } from '../errors.js';
import { formatDuration } from '../units.js';
import { silentLogger, type Logger } from '../logger.js';
import { LockTracer } from '../observe/lock-tracer.js';
import type { Advice, AdviceMeasurement } from '../report.js';
import type { MigrationLayout } from '../runner/layouts.js';
import { isTransactionControl, requiresNoTransaction } from '../runner/split.js';
import { runSqlMigrations, type SqlRunContext } from '../runner/sql-runner.js';
import { blockMeasurement, type AdviceCandidate } from './rules.js';

/**
 * Measured alternatives: each safer form is rehearsed on a fresh copy of the database as
 * it was before the migrations, after replaying every statement that ran before the
 * original (the earlier files, then the file's own earlier statements), so it meets the
 * same data the original met. The safer form's statements then run one by one, each in
 * its own transaction (or none, for CONCURRENTLY), traced exactly like a migration.
 */
export interface AlternativeRun {
  /** A new copy of the database as it was before the migrations, and how to drop it. */
  freshCopy: () => Promise<{ connection: ConnectionInfo; drop: () => Promise<void> }>;
  /** The files of the run, in the order they ran. */
  files: string[];
  workingDirectory: string;
  layout: MigrationLayout;
  signal: AbortSignal;
  log: Logger;
}

/** Each rehearsal of an alternative costs a copy: at most this many per run. */
export const MAX_MEASURED_ALTERNATIVES = 5;

export async function measureAlternatives(
  candidates: AdviceCandidate[],
  run: AlternativeRun,
): Promise<Advice[]> {
  let measured = 0;
  const advice: Advice[] = [];
  for (const candidate of candidates) {
    const item = candidate.advice;
    advice.push(item);
    if (!candidate.alternative) continue;
    if (run.signal.aborted) {
      item.not_measured = 'the run was cancelled';
      continue;
    }
    if (measured >= MAX_MEASURED_ALTERNATIVES) {
      item.not_measured = `only the first ${MAX_MEASURED_ALTERNATIVES} alternatives of a run are rehearsed`;
      continue;
    }
    measured++;
    try {
      const result = await rehearseAlternative(candidate, run);
      if ('failed' in result) item.not_measured = result.failed;
      else item.measured.alternative = result;
      run.log.info(`advice ${item.rule} (${item.statement.path}:${item.statement.line}): ${describe(item)}`);
    } catch (error) {
      item.not_measured = `the alternative could not be rehearsed: ${errorMessage(error)}`;
    }
  }
  return advice;
}

function describe(item: Advice): string {
  const alt = item.measured.alternative;
  const original = item.measured.original;
  return alt
    ? `writes blocked ${formatDuration(original.write_block_ms)} -> ${formatDuration(alt.write_block_ms)}, total ${formatDuration(original.duration_ms)} -> ${formatDuration(alt.duration_ms)}`
    : `${item.not_measured}`;
}

async function rehearseAlternative(
  candidate: AdviceCandidate,
  run: AlternativeRun,
): Promise<AdviceMeasurement | { failed: string }> {
  const copy = await run.freshCopy();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-advice-'));
  const sessions: pg.Client[] = [];
  try {
    const client = await connect(copy.connection, { applicationName: 'pg-rehearsal-advice' });
    sessions.push(client);
    const context = runContext(client, copy.connection, run, sessions);
    const before = run.files.slice(0, run.files.indexOf(candidate.advice.statement.path));
    const replay = await runSqlMigrations(before, context);
    if (replay.failure) return { failed: `replaying the earlier files failed: ${replay.failure.message}` };
    const earlier = candidate.statement.index;
    if (earlier > 0) {
      const prefix = await runSqlMigrations(
        [writeScript(directory, 'earlier.sql', earlierStatements(candidate))],
        { ...context, layout: 'plain' },
      );
      if (prefix.failure)
        return { failed: `replaying the statements before it failed: ${prefix.failure.message}` };
    }
    const tracer = new LockTracer(await captureCatalog(client));
    const started = performance.now();
    const alternative = await runSqlMigrations(
      [writeScript(directory, 'alternative.sql', ownTransactions(candidate.alternative!.statements))],
      { ...context, layout: 'plain', tracer, clock: () => performance.now() - started },
    );
    if (alternative.failure)
      return { failed: `the alternative failed on this data: ${alternative.failure.message}` };
    const statements = alternative.migrations[0].statements.filter((s) => !isTransactionControl(s.sql));
    const duration = statements.reduce((sum, s) => sum + s.duration_ms, 0);
    return blockMeasurement(Math.round(duration * 10) / 10, tracer.records());
  } finally {
    for (const session of sessions) await session.end().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
    await copy.drop();
  }
}

function runContext(
  client: pg.Client,
  connection: ConnectionInfo,
  run: AlternativeRun,
  sessions: pg.Client[],
): SqlRunContext {
  let observer: pg.Client | undefined;
  return {
    client,
    observer: async () => {
      if (!observer) {
        observer = await connect(connection, { applicationName: 'pg-rehearsal-advice-observer' });
        sessions.push(observer);
      }
      return observer;
    },
    clock: () => performance.now(),
    signal: run.signal,
    workingDirectory: run.workingDirectory,
    layout: run.layout,
    log: silentLogger,
  };
}

/** The statements of the original's file that ran before it, as they were written. */
function earlierStatements(candidate: AdviceCandidate): string {
  const { siblings, index } = candidate.statement;
  return siblings.slice(0, index).join('');
}

/** Each statement in its own transaction, except those PostgreSQL refuses inside one. */
function ownTransactions(statements: string[]): string {
  return statements
    .map((sql) => (requiresNoTransaction(sql) ? `${sql};\n` : `BEGIN;\n${sql};\nCOMMIT;\n`))
    .join('');
}

function writeScript(directory: string, name: string, script: string): string {
  const file = path.join(directory, name);
  writeFileSync(file, script);
  return file;
}
