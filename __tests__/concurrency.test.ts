import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Report } from '../src/engine/report.js';
import { runCli } from './helpers/cli.js';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  fingerprint,
  testServers,
  uniqueName,
} from './helpers/servers.js';

/**
 * Eight rehearsals of one source at the same time, on one snapshot server (the local
 * PostgreSQL): what eight pull requests pushed together do. Each gets its own snapshot,
 * all pass, and none leaves a database behind.
 */
const [local] = testServers();
const RUNS = 8;
const SOURCE = `
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, g % 100 FROM generate_series(1, 20000) g;
ANALYZE;`;
const MIGRATIONS = {
  '001_column.sql': 'ALTER TABLE t ADD COLUMN note text;',
  // Long enough for the runs to overlap on the server.
  '002_index.sql': 'CREATE INDEX t_v_idx ON t (v); SELECT pg_sleep(0.5);',
};

describe(`${RUNS} rehearsals at once against one source`, () => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, SOURCE, 'concurrent');
  });
  afterAll(async () => {
    await dropDatabase(sourceUrl);
  });

  it.each(['template', 'auto'])('snapshot: %s: all pass on snapshots of their own', async (strategy) => {
    const before = await fingerprint(sourceUrl);
    const runId = uniqueName('conc').replace(/_/g, '');
    const dir = migrationDir(MIGRATIONS);
    const results = await Promise.all(
      Array.from({ length: RUNS }, () =>
        runCli([
          'run',
          '--source-url',
          sourceUrl,
          '--migrations',
          '*.sql',
          '--working-directory',
          dir,
          '--snapshot',
          strategy,
          '--run-id',
          runId,
          '--format',
          'json',
        ]),
      ),
    );

    for (const r of results)
      expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const reports = results.map((r) => JSON.parse(r.stdout) as Report);
    for (const report of reports) {
      expect(report.passed).toBe(true);
      expect(report.migrations.map((m) => m.status)).toEqual(['applied', 'applied']);
      expect(report.metrics?.indexes['t_v_idx']?.status).toBe('new');
      // auto copies files when the source is idle, else falls back to a dump: both must work.
      expect(strategy === 'auto' ? ['template', 'dump'] : ['template']).toContain(report.snapshot?.strategy);
    }
    const names = reports.map((report) => report.snapshot?.name);
    expect(new Set(names).size).toBe(RUNS);
    for (const name of names) expect(name).toMatch(new RegExp(`^pg_rehearsal_${runId}_[0-9a-f]{8}$`));
    expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
    expect(await fingerprint(sourceUrl)).toBe(before);
  });
});
