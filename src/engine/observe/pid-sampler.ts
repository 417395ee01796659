import type pg from 'pg';
import { relationLocksQuery, toObservedLock, type ObservedLock } from './lock-tracer.js';

const PID_LOCKS_QUERY = relationLocksQuery('$1');

/**
 * Watches the locks of one backend from a separate, autocommit connection while `work`
 * runs. Used for statements that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY, VACUUM): they release their locks when they end, so the session cannot
 * read them afterwards. The observer's own query only locks catalog views, never a table
 * the migration could wait on.
 */
export async function sampleBackendLocks<T>(
  observer: pg.Client,
  pid: number,
  intervalMs: number,
  work: Promise<T>,
): Promise<{ result: T; locks: ObservedLock[] }> {
  const seen = new Map<string, ObservedLock>();
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  const sampling = (async () => {
    while (!done) {
      const { rows } = await observer.query(PID_LOCKS_QUERY, [pid]);
      for (const row of rows) {
        const lock = toObservedLock(row);
        const key = `${lock.oid}:${lock.mode}`;
        if (!seen.has(key)) seen.set(key, lock);
      }
      if (!done) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })().catch(() => undefined); // a failed sample must not fail the migration
  const result = await finished;
  await sampling;
  return { result, locks: [...seen.values()] };
}
