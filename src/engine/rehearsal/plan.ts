import { generateSnapshotName, type RehearsalConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { MODIFIED_AFTER_RELEASE, type SkippedMigration } from '../report.js';
import { expandMigrationPatterns } from '../runner/files.js';
import { HISTORY_LAYOUTS } from '../runner/history.js';
import { detectLayout, planMigrations, type MigrationLayout } from '../runner/layouts.js';
import { opt, say } from '../wording.js';

/*
 * Stage 1 of a rehearsal, the plan: the decisions that need no server (which files run,
 * how they are laid out, what the snapshot is called, whether it is a dump).
 * See docs/architecture.md.
 */

export interface RehearsalPlan {
  files: string[];
  skipped: SkippedMigration[];
  layout: MigrationLayout;
  /** Every file the layout runs forward, and the ones it sets aside: what a history table chooses from. */
  planned?: { run: string[]; skipped: SkippedMigration[] };
  /** SQL files matched but none selected (and no history table can add one): no snapshot, a passing report that says so. */
  nothingToRun: boolean;
  /** The database the migrations run on: created under this name, or reused as it is. */
  snapshotName: string;
}

export function planRehearsal(config: RehearsalConfig): RehearsalPlan {
  const { run: files, skipped, layout, planned } = resolveMigrationFiles(config);
  // A released file the change modified may still be pending in a history table: look.
  const historyMayAdd =
    HISTORY_LAYOUTS.has(layout) && skipped.some((s) => s.reason === MODIFIED_AFTER_RELEASE);
  return {
    files,
    skipped,
    layout,
    planned,
    nothingToRun: config.runner.kind === 'sql' && files.length === 0 && !historyMayAdd,
    snapshotName: chooseSnapshotName(config),
  };
}

/** Resolves the SQL files to run; a pattern list that matches nothing is a usage error. */
export function resolveMigrationFiles(config: RehearsalConfig): {
  run: string[];
  skipped: SkippedMigration[];
  layout: MigrationLayout;
  /** Every file the layout runs forward, and the ones it sets aside: what a history table chooses from. */
  planned?: { run: string[]; skipped: SkippedMigration[] };
} {
  if (config.runner.kind !== 'sql') return { run: [], skipped: [], layout: 'plain' };
  const files = expandMigrationPatterns(config.runner.patterns, config.workingDirectory);
  if (files.length === 0) {
    throw new ConfigError(
      'migrations',
      say`${opt('migrations')}: no file matches ${config.runner.patterns.map((p) => `"${p}"`).join(', ')} in ${config.workingDirectory}; check the glob and ${opt('working-directory')}`,
    );
  }
  const layout = config.layout === 'auto' ? detectLayout(files, config.workingDirectory) : config.layout;
  const planned = planMigrations(files, layout);
  const only = config.runner.onlyFiles;
  if (!only) return { ...planned, layout, planned };
  const reason = config.runner.skipReason ?? 'not selected';
  const reasons = config.runner.skipReasons ?? {};
  return {
    run: planned.run.filter((file) => only.includes(file)),
    skipped: [
      ...planned.skipped,
      ...planned.run
        .filter((file) => !only.includes(file))
        .map((path) => ({ path, reason: reasons[path] ?? reason })),
    ],
    layout,
    planned,
  };
}

/** A created snapshot gets a fresh name unless one is given; a reused database is the one named. */
function chooseSnapshotName(config: RehearsalConfig): string {
  const { snapshot } = config;
  if (snapshot.kind === 'reuse') return snapshot.name;
  if (snapshot.kind === 'golden') return generateSnapshotName(config.runId);
  return snapshot.name ?? generateSnapshotName(config.runId);
}

/** Whether the snapshot (or the golden snapshot it clones) is made by pg_dump from the source. */
export function dumpsSource(config: RehearsalConfig, sameServerAsSource: boolean): boolean {
  const { snapshot } = config;
  if (snapshot.kind === 'copy') {
    return snapshot.strategy === 'dump' || (snapshot.strategy === 'auto' && !sameServerAsSource);
  }
  return snapshot.kind === 'golden' && snapshot.refresh !== undefined && !sameServerAsSource;
}
