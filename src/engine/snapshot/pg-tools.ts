import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SetupError } from '../errors.js';
import { opt, say } from '../wording.js';

export interface PgTools {
  pgDump: string;
  pgRestore: string;
  major: number;
}

const DEBIAN_LAYOUT = '/usr/lib/postgresql';

function toolVersion(binary: string): number | undefined {
  try {
    const output = execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(output);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Directories that may hold pg_dump + pg_restore, most specific first. */
function candidateDirectories(preferred?: string): string[] {
  const dirs: string[] = [];
  if (preferred) return [preferred];
  if (existsSync(DEBIAN_LAYOUT)) {
    for (const version of readdirSync(DEBIAN_LAYOUT)) dirs.push(path.join(DEBIAN_LAYOUT, version, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) dirs.push(dir);
  return dirs;
}

/**
 * Finds a pg_dump/pg_restore pair able to dump a server of major version `serverMajor`.
 * pg_dump refuses servers newer than itself, and pg_dump 17+ writes
 * `SET transaction_timeout`, which servers before 17 reject: so the lowest version that
 * is at least the source's wins.
 */
export function findPgTools(serverMajor: number, preferredDir?: string): PgTools {
  const found: PgTools[] = [];
  for (const dir of candidateDirectories(preferredDir)) {
    const pgDump = path.join(dir, 'pg_dump');
    const pgRestore = path.join(dir, 'pg_restore');
    if (!existsSync(pgDump) || !existsSync(pgRestore)) continue;
    const major = toolVersion(pgDump);
    if (major !== undefined) found.push({ pgDump, pgRestore, major });
  }
  const usable = found.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
  if (usable.length > 0) return usable[0];
  const where = preferredDir ? ` in ${preferredDir}` : '';
  const have = found.length
    ? `found only pg_dump ${[...new Set(found.map((t) => t.major))].join(', ')}${where}`
    : `found no pg_dump${where}`;
  throw new SetupError(
    say`the dump snapshot needs pg_dump ${serverMajor} or newer (the source runs PostgreSQL ${serverMajor}); ${have}. Fix: install the client tools, e.g. \`apt-get install postgresql-client-${serverMajor}\` (from the PostgreSQL apt repository, apt.postgresql.org), which puts them in ${DEBIAN_LAYOUT}/${serverMajor}/bin, or set ${opt('pg-bin-dir')} to a directory holding pg_dump and pg_restore ${serverMajor}+.`,
  );
}
