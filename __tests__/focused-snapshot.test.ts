import { describe, expect, it } from '@jest/globals';
import { buildConfig } from '../src/engine/config.js';
import type { Report } from '../src/engine/report.js';
import { rehearse } from '../src/engine/rehearse.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import { migrationDir, rehearseOn } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  fingerprint,
  query,
  testServers,
  uniqueName,
  withDatabase,
} from './helpers/servers.js';
import { runCli } from './helpers/cli.js';

/*
 * Focused snapshots (`snapshot-data: touched`) on the local server only: they are dumps,
 * and the machine has no pg_dump for the embedded PostgreSQL 18.
 */
const [local] = testServers();

const SHOP = `
CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL, price integer NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, product_id bigint NOT NULL REFERENCES products, quantity integer NOT NULL);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, note text NOT NULL);
CREATE TABLE flags (name text PRIMARY KEY);
INSERT INTO products SELECT g, 'product ' || g, g * 10 FROM generate_series(1, 500) g;
INSERT INTO orders SELECT g, 1 + g % 500, -1 + g % 7 FROM generate_series(1, 2000) g;
INSERT INTO audit_log (note) SELECT 'event ' || g FROM generate_series(1, 4000) g;
INSERT INTO flags VALUES ('backfill');
ANALYZE;`;

const TOUCHED = { snapshot: 'dump', 'snapshot-data': 'touched' };

function data(report: Report) {
  expect(report.snapshot?.data).toBeDefined();
  return report.snapshot!.data!;
}

describe('focused snapshots (snapshot-data: touched)', () => {
  it('copies the touched table and what it references, not the rest; the source is unchanged and nothing is left behind', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP);
    const runId = uniqueName('t').replace(/_/g, '');
    try {
      const before = await fingerprint(sourceUrl);
      const dir = migrationDir({
        // Sequences keep the source's values although audit_log's rows stay behind.
        '001.sql': `ALTER TABLE orders ADD COLUMN note text;
DO $$ BEGIN
  IF (SELECT last_value FROM audit_log_id_seq) <> 4000 THEN RAISE EXCEPTION 'sequence not kept'; END IF;
END $$;`,
      });
      const config = { 'source-url': sourceUrl, migrations: '*.sql', 'working-directory': dir, ...TOUCHED };
      const r = { report: await rehearse(buildConfig(config, { runId })) };
      expect(r.report.success).toBe(true);
      const d = data(r.report);
      expect(d.mode).toBe('touched');
      expect(d.tables).toEqual(['orders', 'products']);
      expect(d.reasons).toEqual({ orders: 'touched', products: 'referenced' });
      expect(d.passes).toBe(1);
      expect(d.bytes_copied).toBeGreaterThan(0);
      expect(d.bytes_copied).toBeLessThan(d.source_bytes);
      // The copied tables have their rows; the others keep the source's figures, marked not copied.
      const tables = r.report.metrics!.tables;
      expect(tables.orders.rows_before).toBe(2000);
      expect(tables.orders.copied).toBeUndefined();
      expect(tables.audit_log).toMatchObject({ rows_before: 4000, rows_after: 4000, copied: false });
      expect(tables.audit_log.size_before).toBeGreaterThan(100_000);
      expect(r.report.metrics!.indexes.audit_log_pkey).toMatchObject({ copied: false });
      // Both renderers say in one line what was copied and what was not.
      expect(renderText(r.report)).toMatch(
        /^Data {7}rows copied for orders, products \(referenced\) \(.+ of .+\); 2 other table\(s\) schema only, their sizes and rows read from the source; 1 pass$/m,
      );
      expect(renderMarkdown(r.report)).toMatch(
        /^Data: rows copied for `orders`, `products` \(referenced\) .*; 2 other table\(s\) schema only/m,
      );
      expect(await databasesLike(local.url, `pg_rehearsal_${runId}_%`)).toEqual([]);
      expect(await fingerprint(sourceUrl)).toBe(before);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('a CHECK that real rows violate fails the focused run exactly as it fails a full one', async () => {
    const migration = {
      '001.sql': 'ALTER TABLE orders ADD CONSTRAINT quantity_positive CHECK (quantity >= 0);',
    };
    const full = await rehearseOn(local, SHOP, migration, { snapshot: 'dump' });
    const focused = await rehearseOn(local, SHOP, migration, TOUCHED);
    try {
      expect(full.report.failure?.sqlstate).toBe('23514');
      expect(focused.report.success).toBe(false);
      expect(focused.report.failure).toMatchObject({
        sqlstate: full.report.failure!.sqlstate,
        message: full.report.failure!.message,
        path: '001.sql',
      });
      expect(data(focused.report).tables).toContain('orders');
      expect(await focused.leftovers()).toEqual([]);
    } finally {
      await full.cleanup();
      await focused.cleanup();
    }
  });

  it('a table the migration renames keeps its rows: locks are matched to the source through the oid, not by the new name', async () => {
    const migration = {
      '001.sql': `ALTER TABLE orders RENAME TO orders_v2;
ALTER TABLE orders_v2 ADD CONSTRAINT quantity_positive CHECK (quantity >= 0);`,
    };
    const focused = await rehearseOn(local, SHOP, migration, TOUCHED);
    try {
      expect(focused.report.failure?.sqlstate).toBe('23514');
      // Found by the dry pass already, not by a second pass that saw it without rows.
      expect(data(focused.report)).toMatchObject({ passes: 1, reasons: { orders: 'touched' } });
      expect(await focused.leftovers()).toEqual([]);
    } finally {
      await focused.cleanup();
    }
  });

  it('a migration that reads table B to update table A finds B rows', async () => {
    const migration = {
      // products is not referenced by audit_log: only the read makes it needed.
      '001.sql': `ALTER TABLE audit_log ADD COLUMN product text;
UPDATE audit_log a SET product = p.name FROM products p WHERE p.id = a.id;
ALTER TABLE audit_log ADD CONSTRAINT product_or_late CHECK (product IS NOT NULL OR id > 500);`,
    };
    const r = await rehearseOn(local, SHOP, migration, TOUCHED);
    try {
      expect(r.report.success).toBe(true);
      const update = r.report.migrations[0].statements.find((s) => s.sql.startsWith('UPDATE'));
      expect(update?.rows).toBe(500);
      expect(data(r.report).reasons).toEqual({ audit_log: 'touched', products: 'touched' });
    } finally {
      await r.cleanup();
    }
  });

  it('a path that depends on data (a DO block that writes a table only when another has rows) gets a second pass', async () => {
    const migration = {
      '001.sql': `DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM flags WHERE name = 'backfill') THEN
    UPDATE audit_log SET note = upper(note) WHERE id <= 10;
  END IF;
END $$;`,
    };
    const r = await rehearseOn(local, SHOP, migration, TOUCHED);
    try {
      expect(r.report.success).toBe(true);
      const d = data(r.report);
      expect(d.passes).toBe(2);
      expect(d.reasons).toEqual({ flags: 'touched', audit_log: 'touched' });
      expect(r.report.metrics!.tables.audit_log.copied).toBeUndefined();
      expect(r.report.metrics!.tables.orders.copied).toBe(false);
      expect(await r.leftovers()).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('stops after 3 passes and reports the table the last pass still locked without rows', async () => {
    // Each table's rows open the path to the next: a chain longer than the passes.
    const chain = `
CREATE TABLE step_a (id int); CREATE TABLE step_b (id int); CREATE TABLE step_c (id int); CREATE TABLE step_d (id int);
INSERT INTO step_a VALUES (1); INSERT INTO step_b VALUES (1); INSERT INTO step_c VALUES (1); INSERT INTO step_d VALUES (1);`;
    const migration = {
      '001.sql': `DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM step_a) THEN
    IF EXISTS (SELECT 1 FROM step_b) THEN
      IF EXISTS (SELECT 1 FROM step_c) THEN PERFORM 1 FROM step_d; END IF;
    END IF;
  END IF;
END $$;`,
    };
    const r = await rehearseOn(local, chain, migration, TOUCHED);
    try {
      const d = data(r.report);
      expect(d.passes).toBe(3);
      expect(d.tables).toEqual(['step_a', 'step_b', 'step_c']);
      expect(d.missing).toEqual(['step_d']);
      expect(renderText(r.report)).toMatch(/still locked without rows after 3 passes: step_d$/m);
      expect(await r.leftovers()).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('advice: measured rehearses the safer form on a copy with the same rows', async () => {
    const migration = { '001.sql': 'CREATE INDEX orders_quantity ON orders (quantity);' };
    const r = await rehearseOn(local, SHOP, migration, { ...TOUCHED, advice: 'measured' });
    try {
      const advice = r.report.advice.find((a) => a.rule === 'create-index-concurrently');
      expect(advice?.not_measured).toBeUndefined();
      expect(advice?.measured.alternative).not.toBeNull();
      expect(await r.leftovers()).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('falls back to copying every row when the dry pass on the empty copy fails, and says why', async () => {
    // Fails on an empty table (no row to take the id from), runs on the real data.
    const migration = {
      '001.sql': `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM products) THEN RAISE EXCEPTION 'products is empty'; END IF;
END $$;`,
    };
    const r = await rehearseOn(local, SHOP, migration, TOUCHED);
    try {
      expect(r.report.success).toBe(true);
      const d = data(r.report);
      expect(d.mode).toBe('all');
      expect(d.fallback).toMatch(/dry pass on an empty copy failed \(.*products is empty/);
      expect(renderText(r.report)).toMatch(
        /^Data {7}every row copied \(snapshot-data: touched not applied: the dry pass/m,
      );
      expect(r.report.metrics!.tables.audit_log.rows_before).toBe(4000);
      expect(await r.leftovers()).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('auto on the source server makes its file copy of everything, and the report says why', async () => {
    const r = await rehearseOn(
      local,
      SHOP,
      { '001.sql': 'ALTER TABLE orders ADD COLUMN note text;' },
      {
        'snapshot-data': 'touched',
      },
    );
    try {
      expect(r.report.snapshot!.strategy).toBe('template');
      expect(data(r.report)).toMatchObject({ mode: 'all', passes: 1 });
      expect(data(r.report).fallback).toMatch(/auto on the source's own server the copy is a file copy/);
      expect(r.report.metrics!.tables.audit_log.copied).toBeUndefined();
    } finally {
      await r.cleanup();
    }
  });

  it('a migration tool through the tracing proxy: the dry pass and the passes see its locks too', async () => {
    // The tool's own history table (knex's) keeps its rows in the dry pass: the command checks it.
    const source = `${SHOP}
CREATE TABLE knex_migrations (id serial PRIMARY KEY, name text);
INSERT INTO knex_migrations (name) VALUES ('000_init.js');
CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
INSERT INTO knex_migrations_lock (is_locked) VALUES (0);`;
    const command = `psql -v ON_ERROR_STOP=1 -c "DO \\$\\$ BEGIN IF (SELECT count(*) FROM knex_migrations) <> 1 THEN RAISE EXCEPTION 'history not copied'; END IF; END \\$\\$;" -c "ALTER TABLE orders ADD COLUMN note text"`;
    const r = await rehearseOn(local, source, {}, { ...TOUCHED, migrations: '', command });
    try {
      expect(r.report.failure).toBeNull();
      expect(r.report.success).toBe(true);
      // The command read the history table, so it is touched as well as a history table.
      expect(data(r.report).reasons).toEqual({
        knex_migrations: 'touched',
        knex_migrations_lock: 'history',
        orders: 'touched',
        products: 'referenced',
      });
      expect(r.report.metrics!.tables.audit_log.copied).toBe(false);
      expect(await r.leftovers()).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  it('snapshot create --tables copies, with the tables named, every table they reference by foreign key', async () => {
    const sourceUrl = await createDatabase(local.url, SHOP, 'gsrc');
    const name = uniqueName('test_golden');
    try {
      const r = await runCli([
        'snapshot',
        'create',
        '--source-url',
        sourceUrl,
        '--name',
        name,
        '--tables',
        'ord*',
        '--format',
        'json',
      ]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/--tables: also copying products, referenced by foreign key/);
      expect(JSON.parse(r.stdout)).toMatchObject({
        level: 'tables',
        tables: ['ord*', '"public"."products"'],
      });
      const url = withDatabase(local.url, name);
      const tables = await query<{ t: string }>(
        url,
        `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
      );
      expect(tables.map((t) => t.t)).toEqual(['orders', 'products']);
      const [counts] = await query<{ orders: string; products: string }>(
        url,
        'SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM products) AS products',
      );
      expect(counts).toEqual({ orders: '2000', products: '500' });
    } finally {
      await dropDatabase(withDatabase(local.url, name));
      await dropDatabase(sourceUrl);
    }
  });
});
