import { CancelledError } from '../errors.js';
import type { MigrationReport, RollbackReport } from '../report.js';
import { captureSchema, diffSchemas, withoutHistoryTables, type SchemaFingerprint } from '../schema.js';
import { downScriptOf, type DownScript } from './layouts.js';
import { runSqlMigrations, type SqlRunContext, type SqlRunResult } from './sql-runner.js';

/**
 * Rehearses the way back: each migration runs up, then its down, then up again, before
 * the next one (up 1, down 1, up 1, up 2, down 2, up 2, ...), so a gap names the
 * migration that has it. The schema after the down is compared with the schema before the
 * up (definitions only: data cannot come back and is not compared). The down is timed and
 * traced like the up, and its locks join the run's, so the same thresholds judge it; the
 * second up is not reported again (its locks were already reported once).
 */
export async function runSqlMigrationsWithRollback(
  files: string[],
  context: SqlRunContext,
): Promise<SqlRunResult> {
  const migrations: MigrationReport[] = [];
  const notRun = (from: number): MigrationReport[] =>
    files.slice(from).map((path) => ({
      path,
      status: 'not_run',
      transactional: true,
      duration_ms: 0,
      size_delta_bytes: null,
      statements: [],
    }));
  for (const [index, file] of files.entries()) {
    try {
      const before = await captureSchema(context.client);
      const up = await runSqlMigrations([file], context);
      const [migration] = up.migrations;
      migrations.push(migration);
      if (up.failure) return { migrations: [...migrations, ...notRun(index + 1)], failure: up.failure };
      migration.rollback = await checkWayBack(file, before, context);
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      const interrupted = error.migrations?.[0];
      const reported =
        interrupted && interrupted.path === file && !migrations.includes(interrupted) ? [interrupted] : [];
      throw new CancelledError(error.message, [
        ...migrations,
        ...reported,
        ...notRun(index + reported.length),
      ]);
    }
  }
  return { migrations };
}

async function checkWayBack(
  file: string,
  before: SchemaFingerprint,
  context: SqlRunContext,
): Promise<RollbackReport> {
  const down = downScriptOf(file, context.layout, context.workingDirectory);
  if (!down) return { status: 'absent', differences: [], down: null, reapplied: false };
  context.log.info(`${file}: checking the way back with ${down.path}`);
  const mark = context.tracer?.recordedCount ?? 0;
  const result = await runSqlMigrations([down.path], {
    ...context,
    databaseSize: undefined,
    load: () => down,
  });
  const report: RollbackReport = {
    status: 'reversible',
    differences: [],
    down: describeDown(down, result, context, mark),
    reapplied: false,
  };
  if (result.failure) return { ...report, status: 'failed', error: result.failure };
  report.differences = withoutHistoryTables(diffSchemas(before, await captureSchema(context.client)));
  const again = await reapply(file, context);
  report.reapplied = !again.failure;
  if (again.failure)
    report.error = {
      ...again.failure,
      message: `running it again after its down failed: ${again.failure.message}`,
    };
  if (report.differences.length || again.failure) report.status = 'irreversible';
  return report;
}

function describeDown(
  down: DownScript,
  result: SqlRunResult,
  context: SqlRunContext,
  mark: number,
): RollbackReport['down'] {
  const [migration] = result.migrations;
  return {
    path: down.path,
    duration_ms: migration.duration_ms,
    transactional: migration.transactional,
    statements: migration.statements,
    locks: context.tracer?.recordsSince(mark) ?? [],
  };
}

/** The up once more, traced so filenodes stay current, but its holds are not reported twice. */
async function reapply(file: string, context: SqlRunContext): Promise<SqlRunResult> {
  const mark = context.tracer?.recordedCount ?? 0;
  const result = await runSqlMigrations([file], { ...context, databaseSize: undefined });
  context.tracer?.forgetSince(mark);
  return result;
}
