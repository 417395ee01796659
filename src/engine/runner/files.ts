import { readdirSync, realpathSync, statSync } from 'node:fs';
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

/**
 * Files matched by one pattern, as paths relative to the working directory. The shell's
 * rules: `{a,b}` expands first; `*`, `?` and `[...]` never match a leading dot (nor does
 * `**` enter a dot directory) unless the pattern's segment starts with one; symlinked files
 * and directories are followed, a directory loop is entered once; and a pattern that
 * matches nothing but names an existing file (`001_[wip].sql`) is that file.
 */
export function expandPattern(pattern: string, workingDirectory: string): string[] {
  const normalized = pattern.trim().replace(/\\/g, '/').replace(/^\.\//, '');
  if (!normalized) return [];
  const found = new Set<string>();
  for (const expanded of expandBraces(normalized)) {
    for (const file of matchPattern(expanded, workingDirectory)) found.add(file);
  }
  return [...found];
}

function matchPattern(pattern: string, workingDirectory: string): string[] {
  const absolute = path.resolve(workingDirectory, pattern);
  const literal = statSync(absolute, { throwIfNoEntry: false });
  if (!hasMagic(pattern)) {
    if (!literal) return [];
    if (literal.isDirectory()) return matchPattern(`${pattern.replace(/\/$/, '')}/*.sql`, workingDirectory);
    return [relative(workingDirectory, absolute)];
  }
  const segments = pattern.split('/');
  const firstMagic = segments.findIndex(hasMagic);
  const base = path.resolve(workingDirectory, segments.slice(0, firstMagic).join('/') || '.');
  const start = realpathOf(base);
  const found = start ? matchSegments(base, segments.slice(firstMagic), new Set([start])) : [];
  if (found.length === 0 && literal?.isFile()) return [relative(workingDirectory, absolute)];
  return found.map((file) => relative(workingDirectory, file));
}

/** Matches `segments` below `dir`; `ancestors` are the real paths entered so far (loop guard). */
function matchSegments(dir: string, segments: string[], ancestors: Set<string>): string[] {
  const [segment, ...rest] = segments;
  const found: string[] = [];
  if (segment === '**') {
    // Zero directories, then every visible subdirectory with `**` still to match.
    found.push(...(rest.length ? matchSegments(dir, rest, ancestors) : entries(dir, '*').files));
    for (const sub of entries(dir, '*').directories) {
      if (path.basename(sub) === 'node_modules') continue;
      const real = realpathOf(sub);
      if (real && !ancestors.has(real))
        found.push(...matchSegments(sub, segments, new Set([...ancestors, real])));
    }
    return found;
  }
  const { files, directories } = entries(dir, segment);
  if (rest.length === 0) return files;
  for (const sub of directories) {
    const real = realpathOf(sub);
    if (real && !ancestors.has(real)) found.push(...matchSegments(sub, rest, new Set([...ancestors, real])));
  }
  return found;
}

/** The files and directories of `dir` whose names match one segment, symlinks followed. */
function entries(dir: string, segment: string): { files: string[]; directories: string[] } {
  const files: string[] = [];
  const directories: string[] = [];
  let names: string[];
  if (!hasMagic(segment)) names = [segment];
  else {
    const matcher = globToRegExp(segment);
    names = (readdirSafe(dir) ?? []).filter(
      (name) => (!name.startsWith('.') || segment.startsWith('.')) && matcher.test(name),
    );
  }
  for (const name of names) {
    const full = path.join(dir, name);
    const stat = statSync(full, { throwIfNoEntry: false }); // follows symlinks; a broken one is skipped
    if (stat?.isFile()) files.push(full);
    else if (stat?.isDirectory()) directories.push(full);
  }
  return { files, directories };
}

function readdirSafe(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

function realpathOf(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/** `{a,b}` alternatives expanded as the shell does before matching (nested braces too). */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{' && depth++ === 0) open = i;
    else if (ch === ',' && depth === 1) commas.push(i);
    else if (ch === '}' && depth > 0 && --depth === 0) {
      if (commas.length === 0) return [pattern]; // `{x}` is literal in the shell
      const bounds = [open, ...commas, i];
      const head = pattern.slice(0, open);
      const tail = pattern.slice(i + 1);
      return bounds
        .slice(1)
        .flatMap((end, k) => expandBraces(`${head}${pattern.slice(bounds[k] + 1, end)}${tail}`));
    }
  }
  return [pattern];
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
        // The class as the shell reads it: `[!...]` negates; a backslash is a plain character.
        source += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
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
