import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import {
  LOCK_MODE_NAMES,
  lockModeSql,
  lockModesConflict,
  type LockModeName,
} from '../src/engine/observe/lock-modes.js';
import { createDatabase, dropDatabase, testServers } from './helpers/servers.js';

/**
 * The conflict matrix in lock-modes.ts against the server itself: one session holds each
 * mode on a table, another asks for each mode with NOWAIT; a refusal (55P03) is a conflict.
 */
describe.each(testServers())('lock mode conflicts, as PostgreSQL $name decides them', (server) => {
  let url: string;
  let holder: pg.Client;
  let requester: pg.Client;

  beforeAll(async () => {
    url = await createDatabase(server.url, 'CREATE TABLE t (id int)', 'locks');
    holder = new pg.Client({ connectionString: url });
    requester = new pg.Client({ connectionString: url });
    await holder.connect();
    await requester.connect();
  });

  afterAll(async () => {
    await holder.end();
    await requester.end();
    await dropDatabase(url);
  });

  /** Whether `requested` is refused while `held` is held by the other session. */
  async function serverSaysConflict(held: LockModeName, requested: LockModeName): Promise<boolean> {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE t IN ${lockModeSql(held)} MODE`);
    await requester.query('BEGIN');
    try {
      await requester.query(`LOCK TABLE t IN ${lockModeSql(requested)} MODE NOWAIT`);
      return false;
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
      return true;
    } finally {
      await requester.query('ROLLBACK');
      await holder.query('ROLLBACK');
    }
  }

  it('has all 8 table-level modes', () => {
    expect(LOCK_MODE_NAMES).toHaveLength(8);
  });

  it.each(LOCK_MODE_NAMES)('held %s: the matrix agrees with the server for all 8 requests', async (held) => {
    const expected: Record<string, boolean> = {};
    const actual: Record<string, boolean> = {};
    for (const requested of LOCK_MODE_NAMES) {
      expected[requested] = lockModesConflict(held, requested);
      actual[requested] = await serverSaysConflict(held, requested);
    }
    expect(expected).toEqual(actual);
  });
});
