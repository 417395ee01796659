import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Resolves newline-separated migration globs (`migrations/*.sql`, `db/**\/*.sql`, or a
 * directory, meaning its `*.sql` files) relative to the working directory. Node 20 has
 * no fs.glob, and these patterns need only `*`, `**`, `?` and `{a,b}`.
 */
export function expandMigrationPatterns(patterns: string[], workingDirectory: string): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    for (const file of expandPattern(pattern, workingDirectory)) found.add(file);
  }
  return sortNaturally([...found]);
}

/** Files matched by one pattern, as paths relative to the working directory. */
export function expandPattern(pattern: string, workingDirectory: string): string[] {
  const normalized = pattern.trim().replace(/\\/g, '/').replace(/^\.\//, '');
  if (!normalized) return [];
  const absolute = path.resolve(workingDirectory, normalized);
  if (!hasMagic(normalized)) {
    const stat = statSync(absolute, { throwIfNoEntry: false });
    if (!stat) return [];
    if (stat.isDirectory()) return expandPattern(`${normalized.replace(/\/$/, '')}/*.sql`, workingDirectory);
    return [relative(workingDirectory, absolute)];
  }
  const segments = normalized.split('/');
  const firstMagic = segments.findIndex(hasMagic);
  const base = path.resolve(workingDirectory, segments.slice(0, firstMagic).join('/') || '.');
  const matcher = globToRegExp(segments.slice(firstMagic).join('/'));
  return walk(base)
    .filter((file) => matcher.test(path.relative(base, file).split(path.sep).join('/')))
    .map((file) => relative(workingDirectory, file));
}

/** Whether `file` (relative to the working directory) is one the patterns would match, on disk or not. */
export function matchesMigrationPatterns(patterns: string[], file: string): boolean {
  return patterns.some((pattern) => {
    const normalized = pattern.trim().replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/$/, '');
    if (!normalized) return false;
    if (hasMagic(normalized)) return globToRegExp(normalized).test(file);
    // A plain name is a file, or a directory meaning its *.sql files.
    return file === normalized || globToRegExp(`${normalized}/*.sql`).test(file);
  });
}

function relative(workingDirectory: string, file: string): string {
  return path.relative(workingDirectory, file).split(path.sep).join('/');
}

function hasMagic(text: string): boolean {
  return /[*?{[]/.test(text);
}

function walk(directory: string): string[] {
  const stat = statSync(directory, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) return [];
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === '.git') continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) files.push(...walk(full));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}

export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more directories
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '{') {
      const end = glob.indexOf('}', i);
      if (end === -1) source += '\\{';
      else {
        source += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((alt) => alt.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
          .join('|')})`;
        i = end;
      }
    } else if (ch === '[') {
      const end = glob.indexOf(']', i);
      if (end === -1) source += '\\[';
      else {
        source += glob.slice(i, end + 1).replace(/^\[!/, '[^');
        i = end;
      }
    } else source += ch.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Natural order: `2_b.sql` before `10_a.sql`. */
export function sortNaturally(files: string[]): string[] {
  return [...files].sort((a, b) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}
