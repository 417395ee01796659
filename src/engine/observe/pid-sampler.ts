import type pg from 'pg';
import { POLL_QUERY } from '../queries/locks.js';
import { toObservedLock, type ObservedLock } from './lock-tracer.js';

/**
 * Watches the locks of one backend from a separate, autocommit connection while `work`
 * runs. Used for statements that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY, VACUUM, a DO block that commits): they release their locks when they
 * end, so the session cannot read them afterwards. Polls from the start until the
 * statement returns, at least once, and reads once more the moment it returns (a read
 * then may still catch the end of a build). The observer's query only locks catalog
 * views, never a table the migration could wait on.
 */
export async function sampleBackendLocks<T>(
  observer: pg.Client,
  pid: number,
  intervalMs: number,
  work: Promise<T>,
): Promise<{ result: T; locks: ObservedLock[] }> {
  const seen = new Map<string, ObservedLock>();
  let done = false;
  let wake: () => void = () => undefined;
  const finished = work.finally(() => {
    done = true;
    wake();
  });
  const read = async () => {
    const { rows } = await observer.query(POLL_QUERY, [pid]);
    for (const row of rows) {
      const lock = toObservedLock(row);
      const key = `${lock.oid}:${lock.mode}`;
      if (!seen.has(key)) seen.set(key, lock);
    }
  };
  const sampling = (async () => {
    do {
      await read();
      // Sleep until the next poll, or until the statement returns, whichever is first.
      if (!done) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, intervalMs)));
    } while (!done);
    await read();
  })().catch(() => undefined); // a failed poll must not fail the migration
  try {
    const result = await finished;
    return { result, locks: [...seen.values()] };
  } finally {
    await sampling; // the observer is free again before anyone else uses it
  }
}
