import type { MigrationReport } from '../engine/report.js';
import { describeDifference } from '../engine/thresholds.js';
import { formatDuration } from '../engine/units.js';

/** The way back of one migration, for a table cell: reversible, irreversible, failed, no down. */
export function wayBackCell(migration: MigrationReport): string {
  const rollback = migration.rollback;
  if (!rollback) return '–';
  const down = rollback.down ? ` (down ${formatDuration(rollback.down.duration_ms)})` : '';
  switch (rollback.status) {
    case 'reversible':
      return `✅ reversible${down}`;
    case 'irreversible':
      return rollback.differences.length
        ? `❌ ${rollback.differences.length} difference(s)${down}`
        : `❌ not re-applicable${down}`;
    case 'failed':
      return `❌ down failed`;
    case 'absent':
      return 'no down';
    default:
      return 'not checked';
  }
}

/** One line for the text report, with what differs or why the down failed. */
export function wayBackText(migration: MigrationReport): string | undefined {
  const rollback = migration.rollback;
  if (!rollback) return undefined;
  const down = rollback.down
    ? `${rollback.down.path}, ${formatDuration(rollback.down.duration_ms)}${rollback.reapplied ? ', re-applied' : ''}`
    : '';
  const error = rollback.error
    ? `${rollback.error.path ?? ''}${rollback.error.line ? `:${rollback.error.line}` : ''} ${rollback.error.message}`.trim()
    : '';
  switch (rollback.status) {
    case 'reversible':
      return `way back: reversible (${down})`;
    case 'irreversible':
      return `way back: IRREVERSIBLE (${down}): ${rollback.differences.map(describeDifference).join('; ') || error}`;
    case 'failed':
      return `way back: DOWN FAILED: ${error}`;
    case 'absent':
      return 'way back: no down migration';
    default:
      return 'way back: not checked';
  }
}

export function hasRollback(migrations: MigrationReport[]): boolean {
  return migrations.some((m) => m.rollback);
}
