import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  expandBraces,
  expandMigrationPatterns,
  expandPattern,
  globToRegExp,
  sortNaturally,
} from '../src/engine/runner/files.js';

let root: string;

/** Creates the files (with parent directories) under `root`. */
function touch(...files: string[]): void {
  for (const file of files) {
    const full = path.join(root, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, `-- ${file}\nSELECT 1;\n`);
  }
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-files-'));
  touch(
    'migrations/10_a.sql',
    'migrations/2_b.sql',
    'migrations/1_init.sql',
    'migrations/README.md',
    'migrations/nested/3_deep.sql',
    'migrations/nested/more/4_deeper.sql',
    'other/x.sql',
    'other/y.sql',
    'other/z.sql',
    'seed.sql',
    'node_modules/pkg/ignored.sql',
  );
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('expandMigrationPatterns', () => {
  it('sorts naturally: 2_b.sql before 10_a.sql', () => {
    expect(expandMigrationPatterns(['migrations/*.sql'], root)).toEqual([
      'migrations/1_init.sql',
      'migrations/2_b.sql',
      'migrations/10_a.sql',
    ]);
  });

  it('reads a directory pattern as its *.sql files (not recursive, no other extensions)', () => {
    const expected = ['migrations/1_init.sql', 'migrations/2_b.sql', 'migrations/10_a.sql'];
    expect(expandMigrationPatterns(['migrations'], root)).toEqual(expected);
    expect(expandMigrationPatterns(['migrations/'], root)).toEqual(expected);
    expect(expandMigrationPatterns(['./migrations'], root)).toEqual(expected);
  });

  it('recurses with **/*.sql, including the base directory itself', () => {
    expect(expandMigrationPatterns(['migrations/**/*.sql'], root)).toEqual([
      'migrations/1_init.sql',
      'migrations/2_b.sql',
      'migrations/10_a.sql',
      'migrations/nested/3_deep.sql',
      'migrations/nested/more/4_deeper.sql',
    ]);
  });

  it('skips node_modules when walking from the working directory', () => {
    const all = expandMigrationPatterns(['**/*.sql'], root);
    expect(all).toContain('seed.sql');
    expect(all).toContain('other/x.sql');
    expect(all).toContain('migrations/nested/more/4_deeper.sql');
    expect(all.some((file) => file.startsWith('node_modules/'))).toBe(false);
    expect(all).toHaveLength(9);
  });

  it('matches {a,b} alternatives', () => {
    expect(expandMigrationPatterns(['other/{x,z}.sql'], root)).toEqual(['other/x.sql', 'other/z.sql']);
    expect(expandMigrationPatterns(['{other,migrations}/1*.sql'], root)).toEqual([
      'migrations/1_init.sql',
      'migrations/10_a.sql',
    ]);
  });

  it('matches ? and [...] classes', () => {
    expect(expandMigrationPatterns(['other/?.sql'], root)).toEqual([
      'other/x.sql',
      'other/y.sql',
      'other/z.sql',
    ]);
    expect(expandMigrationPatterns(['other/[xy].sql'], root)).toEqual(['other/x.sql', 'other/y.sql']);
    expect(expandMigrationPatterns(['other/[!xy].sql'], root)).toEqual(['other/z.sql']);
  });

  it('returns [] for patterns that match nothing', () => {
    expect(expandMigrationPatterns(['migrations/*.psql'], root)).toEqual([]);
    expect(expandMigrationPatterns(['missing/**/*.sql'], root)).toEqual([]);
    expect(expandMigrationPatterns(['missing.sql'], root)).toEqual([]);
    expect(expandMigrationPatterns(['', '   '], root)).toEqual([]);
    expect(expandMigrationPatterns([], root)).toEqual([]);
  });

  it('returns paths relative to the working directory, with forward slashes', () => {
    const files = expandMigrationPatterns(['nested/**/*.sql'], path.join(root, 'migrations'));
    expect(files).toEqual(['nested/3_deep.sql', 'nested/more/4_deeper.sql']);
    for (const file of expandMigrationPatterns(['**/*.sql'], root)) {
      expect(path.isAbsolute(file)).toBe(false);
      expect(file).not.toContain('\\');
    }
  });

  it('accepts a plain file path, an absolute path and backslashes', () => {
    expect(expandMigrationPatterns(['seed.sql'], root)).toEqual(['seed.sql']);
    expect(expandMigrationPatterns([path.join(root, 'other', 'x.sql')], root)).toEqual(['other/x.sql']);
    expect(expandMigrationPatterns(['other\\y.sql'], root)).toEqual(['other/y.sql']);
  });

  it('lists files outside the working directory relative to it', () => {
    expect(expandMigrationPatterns(['../other/x.sql'], path.join(root, 'migrations'))).toEqual([
      '../other/x.sql',
    ]);
  });

  it('lists a file matched by two patterns once', () => {
    expect(
      expandMigrationPatterns(['migrations', 'migrations/*.sql', './migrations/2_b.sql', 'seed.sql'], root),
    ).toEqual(['migrations/1_init.sql', 'migrations/2_b.sql', 'migrations/10_a.sql', 'seed.sql']);
  });

  it('sorts the union of several patterns, whatever their order', () => {
    expect(expandMigrationPatterns(['seed.sql', 'other/x.sql', 'migrations/1_init.sql'], root)).toEqual([
      'migrations/1_init.sql',
      'other/x.sql',
      'seed.sql',
    ]);
  });
});

describe('expandPattern', () => {
  it('returns the matches of one pattern, relative to the working directory', () => {
    expect(expandPattern('other/x.sql', root)).toEqual(['other/x.sql']);
    expect(expandPattern('other/*.sql', root).sort()).toEqual(['other/x.sql', 'other/y.sql', 'other/z.sql']);
  });
});

describe('globToRegExp', () => {
  it.each([
    ['*.sql', '1_init.sql', true],
    ['*.sql', 'a/1_init.sql', false],
    ['*.sql', '1_initXsql', false],
    ['**/*.sql', 'a.sql', true],
    ['**/*.sql', 'a/b/c.sql', true],
    ['a/**/b.sql', 'a/b.sql', true],
    ['a/**/b.sql', 'a/x/y/b.sql', true],
    ['a/**', 'a/x/y', true],
    ['?.sql', 'x.sql', true],
    ['?.sql', 'xy.sql', false],
    ['{a,b}.sql', 'b.sql', true],
    ['{a,b}.sql', 'c.sql', false],
    ['{a*,b}.sql', 'abc.sql', true],
    ['[0-9]*.sql', '7_x.sql', true],
    ['[!0-9]*.sql', '7_x.sql', false],
    ['v(1)+.sql', 'v(1)+.sql', true],
    ['{open.sql', '{open.sql', true],
  ])('%s matched against %s is %s', (glob, file, expected) => {
    expect(globToRegExp(glob).test(file)).toBe(expected);
  });
});

describe('sortNaturally', () => {
  it('orders numbers by value, then by text', () => {
    expect(sortNaturally(['10_a.sql', '2_b.sql', '1_c.sql', '100.sql'])).toEqual([
      '1_c.sql',
      '2_b.sql',
      '10_a.sql',
      '100.sql',
    ]);
    expect(sortNaturally(['V1_10__x.sql', 'V1_2__y.sql', 'V1_1__z.sql'])).toEqual([
      'V1_1__z.sql',
      'V1_2__y.sql',
      'V1_10__x.sql',
    ]);
  });

  it('is deterministic for names equal but for case, and does not mutate its input', () => {
    const input = ['b.sql', 'A.sql', 'a.sql'];
    expect(sortNaturally(input)).toEqual(['A.sql', 'a.sql', 'b.sql']);
    expect(sortNaturally(['a.sql', 'A.sql'])).toEqual(['A.sql', 'a.sql']);
    expect(input).toEqual(['b.sql', 'A.sql', 'a.sql']);
  });
});

describe('the shell rules for globs (issue 12)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-globs-'));
    const write = (file: string) => {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), 'SELECT 1;\n');
    };
    write('shared/001_real.sql');
    write('db/002_local.sql');
    write('db/.003_hidden.sql');
    write('db/.drafts/004_draft.sql');
    write('db/005_[wip].sql');
    symlinkSync(path.join(dir, 'shared/001_real.sql'), path.join(dir, 'db/001_linked.sql'));
    symlinkSync(path.join(dir, 'shared'), path.join(dir, 'db/shared-dir'));
    symlinkSync(path.join(dir, 'db'), path.join(dir, 'db/loop')); // a directory that contains itself
    symlinkSync(path.join(dir, 'db/missing.sql'), path.join(dir, 'db/006_broken.sql'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('follows symlinked files, skips dotfiles and broken links, and reads [ in a name through *', () => {
    expect(expandMigrationPatterns(['db/*.sql'], dir)).toEqual([
      'db/001_linked.sql',
      'db/002_local.sql',
      'db/005_[wip].sql',
    ]);
  });

  it('matches a dotfile only when the pattern names the dot', () => {
    expect(expandMigrationPatterns(['db/.*.sql'], dir)).toEqual(['db/.003_hidden.sql']);
  });

  it('follows symlinked directories under **, enters a loop once, and skips dot directories', () => {
    expect(expandMigrationPatterns(['db/**/*.sql'], dir)).toEqual([
      'db/001_linked.sql',
      'db/002_local.sql',
      'db/005_[wip].sql',
      'db/shared-dir/001_real.sql',
    ]);
  });

  it('takes a pattern that matches nothing but names a file as that file, as the shell does', () => {
    expect(expandMigrationPatterns(['db/005_[wip].sql'], dir)).toEqual(['db/005_[wip].sql']);
    expect(expandMigrationPatterns(['db/005_[wip.sql'], dir)).toEqual([]);
  });

  it('expands nested braces before matching', () => {
    expect(expandBraces('db/{a,b{1,2}}.sql')).toEqual(['db/a.sql', 'db/b1.sql', 'db/b2.sql']);
    expect(expandMigrationPatterns(['{db,shared}/00{1,2}_*.sql'], dir)).toEqual([
      'db/001_linked.sql',
      'db/002_local.sql',
      'shared/001_real.sql',
    ]);
  });
});
