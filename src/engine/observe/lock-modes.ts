/**
 * PostgreSQL's table-level lock modes and what each one means for the application's
 * traffic on that table while it is held (docs/architecture.md, "Lock modes").
 */

export type LockModeName =
  | 'AccessShareLock'
  | 'RowShareLock'
  | 'RowExclusiveLock'
  | 'ShareUpdateExclusiveLock'
  | 'ShareLock'
  | 'ShareRowExclusiveLock'
  | 'ExclusiveLock'
  | 'AccessExclusiveLock';

/** What ordinary traffic a held lock stops: plain SELECTs and/or INSERT/UPDATE/DELETE. */
export type Blocks = 'reads+writes' | 'writes' | 'none';

interface LockModeInfo {
  /** The name used in SQL (`LOCK TABLE ... IN <sql> MODE`) and in the docs. */
  sql: string;
  /** Strength order, 1 (weakest) to 8 (strongest), as in the docs' conflict table. */
  strength: number;
  blocks: Blocks;
}

const LOCK_MODES: Record<LockModeName, LockModeInfo> = {
  AccessShareLock: { sql: 'ACCESS SHARE', strength: 1, blocks: 'none' },
  RowShareLock: { sql: 'ROW SHARE', strength: 2, blocks: 'none' },
  RowExclusiveLock: { sql: 'ROW EXCLUSIVE', strength: 3, blocks: 'none' },
  ShareUpdateExclusiveLock: { sql: 'SHARE UPDATE EXCLUSIVE', strength: 4, blocks: 'none' },
  ShareLock: { sql: 'SHARE', strength: 5, blocks: 'writes' },
  ShareRowExclusiveLock: { sql: 'SHARE ROW EXCLUSIVE', strength: 6, blocks: 'writes' },
  ExclusiveLock: { sql: 'EXCLUSIVE', strength: 7, blocks: 'writes' },
  AccessExclusiveLock: { sql: 'ACCESS EXCLUSIVE', strength: 8, blocks: 'reads+writes' },
};

export function isLockModeName(mode: string): mode is LockModeName {
  return Object.hasOwn(LOCK_MODES, mode);
}

/**
 * The modes pg_locks reports on a relation: the eight table-level modes, and SIReadLock,
 * the predicate lock of a SERIALIZABLE transaction, which blocks nobody.
 */
export type RelationLockMode = LockModeName | 'SIReadLock';

/**
 * A relation lock's mode as read from pg_locks, parsed once where the row comes in. Any
 * other value would mean a PostgreSQL this code does not know: an error, not a guess.
 */
export function parseLockMode(mode: unknown): RelationLockMode {
  if (typeof mode === 'string' && (isLockModeName(mode) || mode === 'SIReadLock')) return mode;
  throw new Error(`pg_locks reported a relation lock mode pg-rehearsal does not know: ${String(mode)}`);
}

function info(mode: string): LockModeInfo {
  return isLockModeName(mode) ? LOCK_MODES[mode] : { sql: mode, strength: 0, blocks: 'none' };
}

export function lockModeSql(mode: string): string {
  return info(mode).sql;
}

export function lockStrength(mode: string): number {
  return info(mode).strength;
}

export function lockBlocks(mode: string): Blocks {
  return info(mode).blocks;
}

export function blocksReads(mode: string): boolean {
  return info(mode).blocks === 'reads+writes';
}

export function blocksWrites(mode: string): boolean {
  return info(mode).blocks !== 'none';
}

/**
 * PostgreSQL's conflict table for table-level locks ("Conflicting Lock Modes" in the
 * docs): the modes each mode conflicts with. Symmetric; __tests__/lock-conflicts.test.ts
 * checks all 64 pairs against a real server.
 */
const CONFLICTS: Record<LockModeName, readonly LockModeName[]> = {
  AccessShareLock: ['AccessExclusiveLock'],
  RowShareLock: ['ExclusiveLock', 'AccessExclusiveLock'],
  RowExclusiveLock: ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareUpdateExclusiveLock: [
    'ShareUpdateExclusiveLock',
    'ShareLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
  ShareLock: [
    'RowExclusiveLock',
    'ShareUpdateExclusiveLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
  ShareRowExclusiveLock: [
    'RowExclusiveLock',
    'ShareUpdateExclusiveLock',
    'ShareLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
  ExclusiveLock: [
    'RowShareLock',
    'RowExclusiveLock',
    'ShareUpdateExclusiveLock',
    'ShareLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
  AccessExclusiveLock: [
    'AccessShareLock',
    'RowShareLock',
    'RowExclusiveLock',
    'ShareUpdateExclusiveLock',
    'ShareLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
};

/** Every table-level lock mode, weakest first. */
export const LOCK_MODE_NAMES = Object.keys(LOCK_MODES) as LockModeName[];

/** Whether a session holding `held` makes another session asking for `requested` wait. */
export function lockModesConflict(held: LockModeName, requested: LockModeName): boolean {
  return CONFLICTS[held].includes(requested);
}
