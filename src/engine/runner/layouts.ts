import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MigrationLayoutOption } from '../config.js';
import type { SkippedMigration } from '../report.js';
import { sortNaturally } from './files.js';

/**
 * How the SQL files of common migration tools are laid out, so the built-in runner applies
 * them the way the tool would: which files run, in which order, which part of each.
 *
 * - plain: every file, natural order.
 * - flyway: `V<version>__<desc>.sql` in version order, then repeatable `R__<desc>.sql` by
 *   description; undo files `U...` do not run.
 * - golang-migrate: `<n>_<name>.up.sql` by number; `.down.sql` do not run.
 * - dbmate: the `-- migrate:up` section of each file (`transaction:false` honoured).
 */
export type MigrationLayout = Exclude<MigrationLayoutOption, 'auto'>;

const FLYWAY = /^([VRU])([0-9][0-9._]*)?__.+\.sql$/i;
const GOLANG_MIGRATE = /^(\d+)_.+\.(up|down)\.sql$/i;
const DBMATE_UP = /^--\s*migrate:up\b(.*)$/m;
const DBMATE_DOWN = /^--\s*migrate:down\b/m;

export function detectLayout(files: string[], workingDirectory: string): MigrationLayout {
  const names = files.map((f) => path.basename(f));
  if (names.length && names.every((n) => FLYWAY.test(n)) && names.some((n) => /^V/i.test(n))) return 'flyway';
  if (names.length && names.every((n) => GOLANG_MIGRATE.test(n))) return 'golang-migrate';
  if (files.some((f) => DBMATE_UP.test(readFileSync(path.resolve(workingDirectory, f), 'utf8'))))
    return 'dbmate';
  return 'plain';
}

function versionParts(version: string): number[] {
  return version.split(/[._]/).filter(Boolean).map(Number);
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Orders the files of a layout and sets aside those that never run forward. */
export function planMigrations(
  files: string[],
  layout: MigrationLayout,
): { run: string[]; skipped: SkippedMigration[] } {
  const skipped: SkippedMigration[] = [];
  if (layout === 'flyway') {
    const versioned: { file: string; version: number[] }[] = [];
    const repeatable: string[] = [];
    for (const file of files) {
      const match = FLYWAY.exec(path.basename(file));
      const kind = match?.[1].toUpperCase();
      if (kind === 'V') versioned.push({ file, version: versionParts(match![2] ?? '') });
      else if (kind === 'R') repeatable.push(file);
      else
        skipped.push({ path: file, reason: kind === 'U' ? 'undo migration' : 'not a Flyway migration name' });
    }
    versioned.sort((a, b) => compareVersions(a.version, b.version));
    return { run: [...versioned.map((v) => v.file), ...sortNaturally(repeatable)], skipped };
  }
  if (layout === 'golang-migrate') {
    const up: { file: string; n: number }[] = [];
    for (const file of files) {
      const match = GOLANG_MIGRATE.exec(path.basename(file));
      if (match && match[2].toLowerCase() === 'up') up.push({ file, n: Number(match[1]) });
      else skipped.push({ path: file, reason: 'down migration' });
    }
    up.sort((a, b) => a.n - b.n);
    return { run: up.map((u) => u.file), skipped };
  }
  // Plain: `x.down.sql` next to `x.sql` or `x.up.sql` is the way back, never run forward.
  const ups = new Set(files.map((f) => f.replace(/(\.up)?\.sql$/i, '')));
  const run: string[] = [];
  for (const file of files) {
    if (/\.down\.sql$/i.test(file) && ups.has(file.replace(/\.down\.sql$/i, ''))) {
      skipped.push({ path: file, reason: 'down migration' });
    } else run.push(file);
  }
  return { run: sortNaturally(run), skipped };
}

export interface MigrationScript {
  script: string;
  /** Lines before the script's first line in the file (dbmate: the up marker's position). */
  lineOffset: number;
  /** false when the file says it must not run in a transaction. */
  transactional?: boolean;
}

export interface DownScript extends MigrationScript {
  /** The file that holds it, relative to the working directory (dbmate: the migration itself). */
  path: string;
}

/**
 * The way back of a migration under its layout, when it has one: golang-migrate's
 * `.down.sql`, dbmate's `-- migrate:down` section, Flyway's `U<version>__` undo file, or
 * a plain `<name>.down.sql` next to `<name>.sql` or `<name>.up.sql`. A down with nothing
 * but comments and blank lines counts as none.
 */
export function downScriptOf(
  file: string,
  layout: MigrationLayout,
  workingDirectory: string,
): DownScript | undefined {
  const absolute = path.resolve(workingDirectory, file);
  const relativePath = (p: string) => path.relative(workingDirectory, p).split(path.sep).join('/');
  const fromFile = (candidate: string | undefined): DownScript | undefined => {
    if (!candidate || !existsSync(candidate)) return undefined;
    return nonEmpty({
      path: relativePath(candidate),
      script: readFileSync(candidate, 'utf8'),
      lineOffset: 0,
    });
  };
  if (layout === 'dbmate') {
    const text = readFileSync(absolute, 'utf8');
    const down = /^--\s*migrate:down\b(.*)$/m.exec(text);
    if (!down) return undefined;
    const start = down.index + down[0].length;
    return nonEmpty({
      path: file,
      script: text.slice(start),
      lineOffset: text.slice(0, start).split('\n').length - 1,
      transactional: /\btransaction:\s*false\b/.test(down[1]) ? false : undefined,
    });
  }
  if (layout === 'golang-migrate') return fromFile(absolute.replace(/\.up\.sql$/i, '.down.sql'));
  if (layout === 'flyway') return fromFile(flywayUndoOf(absolute));
  const base = absolute.replace(/(\.up)?\.sql$/i, '');
  return /\.down\.sql$/i.test(absolute) ? undefined : fromFile(`${base}.down.sql`);
}

function flywayUndoOf(absolute: string): string | undefined {
  const match = FLYWAY.exec(path.basename(absolute));
  if (!match || match[1].toUpperCase() !== 'V') return undefined;
  const version = versionParts(match[2] ?? '');
  const directory = path.dirname(absolute);
  const undo = readdirSync(directory).find((name) => {
    const m = FLYWAY.exec(name);
    return m?.[1].toUpperCase() === 'U' && compareVersions(versionParts(m[2] ?? ''), version) === 0;
  });
  return undo ? path.join(directory, undo) : undefined;
}

function nonEmpty(down: DownScript): DownScript | undefined {
  const code = down.script.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim();
  return code ? down : undefined;
}

/** The SQL to run from one file under a layout. */
export function loadMigrationScript(
  file: string,
  layout: MigrationLayout,
  workingDirectory: string,
): MigrationScript {
  const text = readFileSync(path.resolve(workingDirectory, file), 'utf8');
  if (layout !== 'dbmate') return { script: text, lineOffset: 0 };
  const up = DBMATE_UP.exec(text);
  if (!up) return { script: '', lineOffset: 0 };
  const start = up.index + up[0].length;
  const rest = text.slice(start);
  const down = DBMATE_DOWN.exec(rest);
  const lineOffset = text.slice(0, start).split('\n').length - 1;
  return {
    script: down ? rest.slice(0, down.index) : rest,
    lineOffset,
    transactional: /\btransaction:\s*false\b/.test(up[1]) ? false : undefined,
  };
}
