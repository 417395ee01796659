/**
 * PostgreSQL's table-level lock modes and what each one means for the application's
 * traffic on that table while it is held (DESIGN.md section 5).
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
