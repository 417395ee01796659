import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig } from '../src/engine/config.js';
import { rehearse } from '../src/engine/rehearse.js';
import { blockingLocks, locksOfMigration } from '../src/render/summary.js';
import { renderText } from '../src/render/text.js';
import { rehearseOn, type RehearsalRun } from './helpers/rehearsal.js';
import { createDatabase, dropDatabase, localServerUrl, type TestServer } from './helpers/servers.js';

/** Rewrites of new tables, how each statement's locks were captured, repeated locks, excerpts, symlinks. */
const server: TestServer = { name: 'local', url: localServerUrl() };

const runs: RehearsalRun[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) {
    expect(await r.leftovers()).toEqual([]);
    await r.cleanup();
  }
});
const run = async (...args: Parameters<typeof rehearseOn>) => {
  const r = await rehearseOn(...args);
  runs.push(r);
  return r;
};

describe('what the report says is true (issue 12)', () => {
  it('reports rewrites of tables an earlier file created; max-rewrite-size counts only pre-existing ones', async () => {
    const { report } = await run(
      server,
      'CREATE TABLE old_t (id int); INSERT INTO old_t SELECT g FROM generate_series(1, 1000) g;',
      {
        '001_create.sql': `CREATE TABLE fresh (id int, v text);
INSERT INTO fresh SELECT g, 'x' FROM generate_series(1, 5000) g;
CREATE TABLE made AS SELECT g AS id FROM generate_series(1, 100) g;`,
        '002_alter.sql': 'ALTER TABLE fresh ALTER COLUMN id TYPE bigint;',
        '003_serial.sql': 'ALTER TABLE fresh ADD COLUMN n serial;',
        '004_old.sql': 'ALTER TABLE old_t ALTER COLUMN id TYPE bigint;',
      },
      { 'max-rewrite-size': '0' },
    );
    expect(report.success).toBe(true);
    const rewrites = report.migrations.map((m) => m.statements.map((s) => s.rewrites));
    // Created (and filled) inside one statement is no rewrite; later statements' are.
    expect(rewrites).toEqual([[[], [], []], [['fresh']], [['fresh']], [['old_t']]]);
    expect(report.violations.map((v) => [v.rule, v.subject])).toEqual([['max-rewrite-size', 'old_t']]);
    expect(renderText(report)).toContain('fresh');
  });

  it('says per statement how its locks were captured; the poll sees a concurrent build and a committing DO', async () => {
    // The DO holds its row lock until its COMMIT, half a second later: ten sample intervals,
    // so the poll sees it however fast the one-row UPDATE itself is.
    const { report } = await run(
      server,
      'CREATE TABLE big (id int, v int); INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 300000) g;',
      {
        '001_mixed.sql': `UPDATE big SET v = 0 WHERE id = 1;
CREATE INDEX CONCURRENTLY big_v_idx ON big (v);
DO $$ BEGIN UPDATE big SET v = 1 WHERE id = 2; PERFORM pg_sleep(0.5); COMMIT; END $$;`,
      },
    );
    expect(report.success).toBe(true);
    expect(report.migrations[0].transactional).toBe(false);
    const [update, build, block] = report.migrations[0].statements;
    expect([update.lock_capture, build.lock_capture, block.lock_capture]).toEqual([
      'exact',
      'polled',
      'polled',
    ]);
    expect(build.locks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ relation: 'big', mode: 'ShareUpdateExclusiveLock' }),
      ]),
    );
    expect(block.locks).toEqual(
      expect.arrayContaining([expect.objectContaining({ relation: 'big', mode: 'RowExclusiveLock' })]),
    );
  });

  it('shows the strongest hold per relation and transaction, keeps every lock in the JSON, and excerpts without comments', async () => {
    const { report } = await run(server, 'CREATE TABLE purchase (id int, item int);', {
      '001_one_tx.sql': `ALTER TABLE purchase ADD COLUMN note text;
create index purchase_item_idx on purchase (item) -- partial
  where item = 1;`,
    });
    expect(report.success).toBe(true);
    const held = report.locks.filter((l) => l.relation === 'purchase').map((l) => l.mode);
    expect(held).toEqual(expect.arrayContaining(['AccessExclusiveLock', 'ShareLock']));
    const shown = blockingLocks(report).filter((l) => l.relation === 'purchase');
    expect(shown.map((l) => l.mode)).toEqual(['AccessExclusiveLock']);
    expect(locksOfMigration(report, report.migrations[0]).map((l) => l.mode)).toEqual([
      'AccessExclusiveLock',
    ]);
    const blockingSection = renderText(report).split('Blocking locks')[1].split('\n\n')[0];
    expect(blockingSection.split('\n').filter((l) => l.includes('purchase'))).toEqual([
      expect.stringMatching(/ACCESS EXCLUSIVE/),
    ]);
    expect(report.migrations[0].statements[1].sql).toBe(
      'create index purchase_item_idx on purchase (item) where item = 1',
    );
  });

  it('runs migrations through a symlinked folder and a symlinked file, never a dotfile', async () => {
    const sourceUrl = await createDatabase(server.url, 'CREATE TABLE t (id int);');
    const root = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-links-'));
    mkdirSync(path.join(root, 'shared'));
    mkdirSync(path.join(root, 'db'));
    writeFileSync(path.join(root, 'shared', '001_add.sql'), 'ALTER TABLE t ADD COLUMN a int;');
    writeFileSync(path.join(root, 'db', '.002_editor_backup.sql'), 'DROP TABLE t;');
    writeFileSync(path.join(root, 'elsewhere.sql'), 'ALTER TABLE t ADD COLUMN b int;');
    symlinkSync(path.join(root, 'shared'), path.join(root, 'db', 'shared'));
    symlinkSync(path.join(root, 'elsewhere.sql'), path.join(root, 'db', '003_linked.sql'));
    try {
      const config = buildConfig(
        { 'source-url': sourceUrl, migrations: 'db/**/*.sql', 'working-directory': root },
        { runId: `links${Date.now()}` },
      );
      const report = await rehearse(config);
      expect(report.success).toBe(true);
      expect(report.migrations.map((m) => m.path)).toEqual(['db/003_linked.sql', 'db/shared/001_add.sql']);
      expect(Object.keys(report.metrics?.tables ?? {})).toEqual(['t']);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });
});
