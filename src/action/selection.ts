import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RehearsalConfig } from '../engine/config.js';
import { SetupError } from '../engine/errors.js';
import { matchesMigrationPatterns } from '../engine/runner/files.js';
import { MODIFIED_AFTER_RELEASE } from '../engine/report.js';
import type { ChangeSet } from './event.js';

/**
 * Restricts the built-in runner to the migrations the event adds. Paths are resolved from
 * the repository root (what the API and git list) to the working directory, whatever the
 * checkout path. A changed file the globs match that is not on disk is an error naming it:
 * a pass that ran none of the change is never given. Files the base already had are not
 * re-run (unless a history table says they are pending); they are reported as modified
 * after release.
 */
export function selectChangedMigrations(config: RehearsalConfig, changes: ChangeSet, root: string): void {
  if (config.runner.kind !== 'sql') return;
  const patterns = config.runner.patterns;
  const matched = changes.files
    .map((file) => ({
      ...file,
      relative: path
        .relative(config.workingDirectory, path.resolve(root, file.path))
        .split(path.sep)
        .join('/'),
    }))
    .filter((file) => !file.relative.startsWith('../') && matchesMigrationPatterns(patterns, file.relative));
  const missing = matched.filter((file) => !existsSync(path.resolve(config.workingDirectory, file.relative)));
  if (missing.length) {
    throw new SetupError(
      `the change adds or modifies ${missing.length} migration(s) that are not in this checkout: ${missing
        .slice(0, 10)
        .map((f) => f.path)
        .join(
          ', ',
        )}${missing.length > 10 ? ', …' : ''} (working-directory ${config.workingDirectory}, repository root ${root}); check out the change's head commit and check working-directory`,
    );
  }
  // Warned about from the report: a history table may yet say the file is pending, and run it.
  const modified = matched.filter((file) => file.modified);
  config.runner.onlyFiles = matched.filter((file) => !file.modified).map((file) => file.relative);
  config.runner.skipReason = changes.skipReason;
  config.runner.skipReasons = Object.fromEntries(
    modified.map((file) => [file.relative, MODIFIED_AFTER_RELEASE]),
  );
}
