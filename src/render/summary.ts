import type { LockRecord, MigrationReport, Report } from '../engine/report.js';
import { lockStrength } from '../engine/observe/lock-modes.js';
import { formatDuration } from '../engine/units.js';

/**
 * Small views over a Report that several renderers share (text, markdown): what the
 * verdict is, the worst lock of a file, the tables it rewrote.
 */
export function verdict(report: Report): string {
  if (report.cancelled) return 'CANCELLED';
  if (report.passed && report.violations.length)
    return `PASSED (${report.violations.length} threshold(s) breached, fail-on-violation off)`;
  if (report.passed) return report.success ? 'PASSED' : 'PASSED (migration failed, fail-on-error off)';
  return 'FAILED';
}

/**
 * Locks that matter to other sessions: on pre-existing tables (an index's lock comes with
 * its table's), blocking something, the strongest per table and statement.
 */
export function blockingLocks(report: Report): LockRecord[] {
  const strongest = new Map<string, LockRecord>();
  for (const lock of strongestHolds(report.locks)) {
    if (!matters(lock) || lock.blocks === 'none') continue;
    const key = `${lock.relation}\u0000${lock.statement.path}:${lock.statement.line}`;
    const current = strongest.get(key);
    if (!current || lockStrength(lock.mode) > lockStrength(current.mode)) strongest.set(key, lock);
  }
  return [...strongest.values()].sort(
    (a, b) => lockStrength(b.mode) - lockStrength(a.mode) || b.held_ms - a.held_ms,
  );
}

/** A lock other sessions could queue behind: on a relation that existed before, and not an index. */
export function matters(lock: LockRecord): boolean {
  return lock.granted && !lock.new_relation && lock.relation_kind !== 'index';
}

export function locksOfMigration(report: Report, migration: MigrationReport): LockRecord[] {
  return strongestHolds(report.locks).filter((l) => l.statement.path === migration.path && matters(l));
}

/**
 * The locks without those a stronger hold on the same relation covered from start to end:
 * a weaker lock taken by a transaction that already held, say, ACCESS EXCLUSIVE blocks
 * nobody the stronger one did not already block. A session's transactions never overlap,
 * so for the built-in runner "covered" is "the same transaction". The JSON keeps all.
 */
export function strongestHolds(locks: LockRecord[]): LockRecord[] {
  const end = (l: LockRecord) => l.started_at_ms + l.held_ms;
  // Start and hold time are each rounded to 0.1 ms: allow that much on the end.
  const covers = (a: LockRecord, b: LockRecord) =>
    a.relation === b.relation &&
    a.granted &&
    lockStrength(a.mode) > lockStrength(b.mode) &&
    a.started_at_ms <= b.started_at_ms &&
    end(a) >= end(b) - 0.2;
  return locks.filter((lock) => !locks.some((other) => covers(other, lock)));
}

/** The strongest lock a file took on a pre-existing relation, longest hold first among equals. */
export function worstLock(report: Report, migration: MigrationReport): LockRecord | undefined {
  return locksOfMigration(report, migration).sort(
    (a, b) => lockStrength(b.mode) - lockStrength(a.mode) || b.held_ms - a.held_ms,
  )[0];
}

export function rewritesOfMigration(migration: MigrationReport): string[] {
  return [...new Set(migration.statements.flatMap((s) => s.rewrites))];
}

/** One entry per relation: its strongest mode. */
export function strongestPerRelation<T extends { relation: string; mode: string }>(locks: T[]): T[] {
  const byRelation = new Map<string, T>();
  for (const lock of locks) {
    const current = byRelation.get(lock.relation);
    if (!current || lockStrength(lock.mode) > lockStrength(current.mode)) byRelation.set(lock.relation, lock);
  }
  return [...byRelation.values()];
}

/** How locks were captured, with the precision of sampling. */
export function describeLockCapture(report: Report): string {
  const runner = report.runner;
  if (runner.lock_capture === 'exact' && runner.kind === 'command') {
    const cost =
      runner.tracing_ms === undefined ? '' : `; the reads took ${formatDuration(runner.tracing_ms)}`;
    return `exact (the command connected through a proxy that read its session's locks after every statement${cost})`;
  }
  if (runner.lock_capture === 'exact') {
    const cost =
      runner.tracing_ms === undefined ? '' : `; the reads took ${formatDuration(runner.tracing_ms)}`;
    return `exact (read after every statement from the migration session${cost})`;
  }
  if (runner.lock_capture === 'sampled') {
    return `sampled every ${runner.sample_interval_ms} ms (${runner.samples} samples, longest gap ${runner.max_sample_gap_ms} ms): hold times +/- one interval`;
  }
  return 'not monitored';
}
