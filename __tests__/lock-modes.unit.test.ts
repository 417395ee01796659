import { describe, expect, it } from '@jest/globals';
import {
  blocksReads,
  blocksWrites,
  isLockModeName,
  lockBlocks,
  lockModeSql,
  lockStrength,
  parseLockMode,
  type Blocks,
  type LockModeName,
} from '../src/engine/observe/lock-modes.js';

/** The lock modes, weakest first, and the traffic each blocks (docs/architecture.md, "Lock modes"). */
const TABLE: [LockModeName, string, Blocks][] = [
  ['AccessShareLock', 'ACCESS SHARE', 'none'],
  ['RowShareLock', 'ROW SHARE', 'none'],
  ['RowExclusiveLock', 'ROW EXCLUSIVE', 'none'],
  ['ShareUpdateExclusiveLock', 'SHARE UPDATE EXCLUSIVE', 'none'],
  ['ShareLock', 'SHARE', 'writes'],
  ['ShareRowExclusiveLock', 'SHARE ROW EXCLUSIVE', 'writes'],
  ['ExclusiveLock', 'EXCLUSIVE', 'writes'],
  ['AccessExclusiveLock', 'ACCESS EXCLUSIVE', 'reads+writes'],
];

describe('lock modes', () => {
  it.each(TABLE)('%s is %s and blocks %s', (mode, sql, blocks) => {
    expect(isLockModeName(mode)).toBe(true);
    expect(lockModeSql(mode)).toBe(sql);
    expect(lockBlocks(mode)).toBe(blocks);
    expect(blocksReads(mode)).toBe(blocks === 'reads+writes');
    expect(blocksWrites(mode)).toBe(blocks !== 'none');
  });

  it('ACCESS EXCLUSIVE is the only mode that blocks reads', () => {
    expect(TABLE.filter(([mode]) => blocksReads(mode)).map(([, sql]) => sql)).toEqual(['ACCESS EXCLUSIVE']);
  });

  it('EXCLUSIVE, SHARE ROW EXCLUSIVE, SHARE and ACCESS EXCLUSIVE block writes', () => {
    expect(
      TABLE.filter(([mode]) => blocksWrites(mode))
        .map(([, sql]) => sql)
        .sort(),
    ).toEqual(['ACCESS EXCLUSIVE', 'EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE']);
  });

  it('strengths run 1..8, strictly increasing from ACCESS SHARE to ACCESS EXCLUSIVE', () => {
    const strengths = TABLE.map(([mode]) => lockStrength(mode));
    expect(strengths).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let i = 1; i < strengths.length; i++) expect(strengths[i]).toBeGreaterThan(strengths[i - 1]);
  });

  it('a mode that blocks more is never weaker', () => {
    const rank: Record<Blocks, number> = { none: 0, writes: 1, 'reads+writes': 2 };
    const sorted = [...TABLE].sort(([a], [b]) => lockStrength(a) - lockStrength(b));
    for (let i = 1; i < sorted.length; i++) {
      expect(rank[sorted[i][2]]).toBeGreaterThanOrEqual(rank[sorted[i - 1][2]]);
    }
  });

  it('treats unknown modes (e.g. advisory or SIReadLock) as harmless, strength 0, sql = the name', () => {
    for (const mode of ['SIReadLock', 'ExclusiveLockX', '', 'accessexclusivelock']) {
      expect(isLockModeName(mode)).toBe(false);
      expect(lockStrength(mode)).toBe(0);
      expect(lockBlocks(mode)).toBe('none');
      expect(blocksReads(mode)).toBe(false);
      expect(blocksWrites(mode)).toBe(false);
      expect(lockModeSql(mode)).toBe(mode);
    }
  });

  // Regression (was a bug): isLockModeName uses `mode in LOCK_MODES`, which also accepts Object.prototype
  // members, so info() returns a function and lockStrength('constructor') is undefined.
  it('does not mistake Object.prototype members for lock modes', () => {
    expect(isLockModeName('toString')).toBe(false);
    expect(lockStrength('constructor')).toBe(0);
  });

  it('parses what pg_locks reports on a relation, and refuses anything else', () => {
    for (const [mode] of TABLE) expect(parseLockMode(mode)).toBe(mode);
    expect(parseLockMode('SIReadLock')).toBe('SIReadLock');
    for (const mode of ['ExclusiveLockX', '', 'accessexclusivelock', 'toString', null, 3]) {
      expect(() => parseLockMode(mode)).toThrow(/relation lock mode pg-rehearsal does not know/);
    }
  });
});
