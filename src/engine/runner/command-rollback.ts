import type pg from 'pg';
import type { Logger } from '../logger.js';
import type { LockRecord, MigrationFailure, MigrationReport, RollbackReport } from '../report.js';
import { captureSchema, diffSchemas, withoutHistoryTables, type SchemaFingerprint } from '../schema.js';

/** One run of a migration tool's command, with the locks seen while it ran. */
export interface TracedCommandRun {
  migration: MigrationReport;
  failure?: MigrationFailure;
  locks: LockRecord[];
}

export interface CommandWayBack {
  upCommand: string;
  downCommand: string | undefined;
  /** The schema before the up command ran. */
  before: SchemaFingerprint;
  client: pg.Client;
  run: (command: string) => Promise<TracedCommandRun>;
  log: Logger;
}

/**
 * The way back of a migration tool: `down-command` must undo everything `command`
 * applied, so the pair is checked as one unit: down, compare the schema with the one
 * before the up, then the up command once more. The down's locks are returned to join
 * the run's; the second up's are not reported again.
 */
export async function checkCommandWayBack(
  check: CommandWayBack,
): Promise<{ rollback: RollbackReport; locks: LockRecord[] }> {
  if (!check.downCommand) {
    return { rollback: { status: 'absent', differences: [], down: null, reapplied: false }, locks: [] };
  }
  check.log.info(`checking the way back with \`${check.downCommand}\``);
  const down = await check.run(check.downCommand);
  const rollback: RollbackReport = {
    status: 'reversible',
    differences: [],
    down: {
      path: check.downCommand,
      duration_ms: down.migration.duration_ms,
      transactional: false,
      statements: down.migration.statements,
      locks: down.locks,
    },
    reapplied: false,
  };
  if (down.failure)
    return { rollback: { ...rollback, status: 'failed', error: down.failure }, locks: down.locks };
  rollback.differences = withoutHistoryTables(diffSchemas(check.before, await captureSchema(check.client)));
  const again = await check.run(check.upCommand);
  rollback.reapplied = !again.failure;
  if (again.failure) {
    rollback.error = {
      ...again.failure,
      message: `running it again after its down failed: ${again.failure.message}`,
    };
  }
  if (rollback.differences.length || again.failure) rollback.status = 'irreversible';
  return { rollback, locks: down.locks };
}
