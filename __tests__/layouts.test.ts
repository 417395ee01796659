import { afterEach, describe, expect, it } from '@jest/globals';
import { detectLayout, planMigrations } from '../src/engine/runner/layouts.js';
import { migrationDir, rehearseOn, type RehearsalRun } from './helpers/rehearsal.js';
import { testServers } from './helpers/servers.js';

const [local] = testServers();
const BASE = 'CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100);';

describe('layout detection and order', () => {
  it('orders Flyway versions numerically, repeatables last, and skips undo files', () => {
    const files = ['V10__c.sql', 'V2__b.sql', 'R__view.sql', 'V1_1__a2.sql', 'V1__a.sql', 'U2__undo_b.sql'];
    expect(detectLayout(files, migrationDir({}))).toBe('flyway');
    const plan = planMigrations(files, 'flyway');
    expect(plan.run).toEqual(['V1__a.sql', 'V1_1__a2.sql', 'V2__b.sql', 'V10__c.sql', 'R__view.sql']);
    expect(plan.skipped).toEqual([{ path: 'U2__undo_b.sql', reason: 'undo migration' }]);
  });

  it('runs golang-migrate .up.sql files by number and skips .down.sql', () => {
    const files = ['10_c.up.sql', '2_b.up.sql', '2_b.down.sql', '1_a.up.sql'];
    expect(detectLayout(files, migrationDir({}))).toBe('golang-migrate');
    const plan = planMigrations(files, 'golang-migrate');
    expect(plan.run).toEqual(['1_a.up.sql', '2_b.up.sql', '10_c.up.sql']);
    expect(plan.skipped).toEqual([{ path: '2_b.down.sql', reason: 'down migration' }]);
  });

  it('detects dbmate from its markers, and plain files otherwise', () => {
    const dir = migrationDir({
      '1.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\n',
      '2.sql': 'SELECT 2;',
    });
    expect(detectLayout(['1.sql', '2.sql'], dir)).toBe('dbmate');
    expect(detectLayout(['2.sql'], dir)).toBe('plain');
  });
});

describe('layouts applied by the built-in runner', () => {
  const runs: RehearsalRun[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      expect(await r.leftovers()).toEqual([]);
      await r.cleanup();
    }
  });

  it('applies Flyway migrations in version order, the repeatable view last', async () => {
    const r = await rehearseOn(local, BASE, {
      'V2__add_price.sql': 'ALTER TABLE items ADD COLUMN price int;',
      'V10__add_stock.sql': 'ALTER TABLE items ADD COLUMN stock int;',
      'V1__add_name.sql': 'ALTER TABLE items ADD COLUMN name text;',
      'R__items_view.sql': 'CREATE OR REPLACE VIEW items_view AS SELECT id, name, price, stock FROM items;',
      'U2__drop_price.sql': 'ALTER TABLE items DROP COLUMN price;',
    });
    runs.push(r);
    expect(r.report.success).toBe(true);
    expect(r.report.runner.layout).toBe('flyway');
    expect(r.report.migrations.map((m) => m.path)).toEqual([
      'V1__add_name.sql',
      'V2__add_price.sql',
      'V10__add_stock.sql',
      'R__items_view.sql',
    ]);
    expect(r.report.migrations_skipped).toEqual([{ path: 'U2__drop_price.sql', reason: 'undo migration' }]);
  });

  it('applies only golang-migrate up files', async () => {
    const r = await rehearseOn(local, BASE, {
      '1_name.up.sql': 'ALTER TABLE items ADD COLUMN name text;',
      '1_name.down.sql': 'ALTER TABLE items DROP COLUMN name;',
      '2_index.up.sql': 'CREATE INDEX items_name_idx ON items (name);',
    });
    runs.push(r);
    expect(r.report.success).toBe(true);
    expect(r.report.migrations.map((m) => m.path)).toEqual(['1_name.up.sql', '2_index.up.sql']);
    expect(r.report.metrics!.indexes.items_name_idx.status).toBe('new');
  });

  it('applies the up section of dbmate files, with file line numbers, honouring transaction:false', async () => {
    const r = await rehearseOn(local, BASE, {
      '20240101_name.sql':
        '-- migrate:up\nALTER TABLE items ADD COLUMN name text;\nALTER TABLE items ADD COLUMN nope int4x;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN name;\n',
    });
    runs.push(r);
    expect(r.report.failure).toMatchObject({ path: '20240101_name.sql', line: 3 });
    const noTransaction = await rehearseOn(local, BASE, {
      '20240102_index.sql':
        '-- migrate:up transaction:false\nCREATE INDEX items_id2_idx ON items (id);\n-- migrate:down\nDROP INDEX items_id2_idx;\n',
    });
    runs.push(noTransaction);
    expect(noTransaction.report.success).toBe(true);
    expect(noTransaction.report.migrations[0]).toMatchObject({ transactional: false });
    expect(noTransaction.report.migrations[0].statements.map((s) => s.line)).toEqual([2]);
    expect(noTransaction.report.metrics!.indexes.items_id2_idx.status).toBe('new');
  });
});
