import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Advice, Report } from '../src/engine/report.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import { rehearseOn, type RehearsalRun } from './helpers/rehearsal.js';
import { testServers } from './helpers/servers.js';

const [local] = testServers();

/** Enough rows that a scan or an index build takes a while (~100 ms and more), well above a brief lock's cost. */
const SOURCE = `
CREATE TABLE owners (id bigint PRIMARY KEY);
INSERT INTO owners SELECT g FROM generate_series(1, 1000) g;
CREATE TABLE items (id bigint PRIMARY KEY, owner_id bigint, status text, price integer);
INSERT INTO items SELECT g, g % 1000 + 1, 'status ' || (g % 7), g % 900 FROM generate_series(1, 600000) g;
CREATE TABLE empty_items (id bigint PRIMARY KEY, status text);
ANALYZE;`;

const RISKY = {
  '001_index.sql': 'CREATE INDEX items_status_idx ON items (status);',
  '002_fk.sql':
    'ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id);',
  '003_not_null.sql': 'ALTER TABLE items ALTER COLUMN price SET NOT NULL;',
  '004_unique.sql': 'ALTER TABLE items ADD CONSTRAINT items_id_status_key UNIQUE (id, status);',
  '005_type.sql': 'ALTER TABLE items ALTER COLUMN price TYPE bigint;',
  '006_backfill.sql': "UPDATE items SET status = 'archived' WHERE id <= 50000;",
};

const byRule = (report: Report, rule: string): Advice[] => report.advice.filter((a) => a.rule === rule);

describe('advice on risky statements, with their safer forms rehearsed (PostgreSQL 15, template copies)', () => {
  let run: RehearsalRun;
  let report: Report;
  beforeAll(async () => {
    run = await rehearseOn(local, SOURCE, RISKY);
    report = run.report;
  });
  afterAll(async () => {
    expect(await run.leftovers()).toEqual([]);
    await run.cleanup();
  });

  it('fires each rule on its statement, and measures the mechanical ones', () => {
    expect(report.success).toBe(true);
    expect(report.snapshot?.strategy).toBe('template');
    const where = (rule: string) =>
      byRule(report, rule).map((a) => `${a.statement.path}:${a.statement.line}`);
    expect(where('create-index-concurrently')).toEqual(['001_index.sql:1']);
    expect(where('foreign-key-not-valid')).toEqual(['002_fk.sql:1']);
    expect(where('set-not-null-via-check')).toEqual(['003_not_null.sql:1']);
    expect(where('unique-via-index')).toEqual(['004_unique.sql:1']);
    expect(where('rewrite-expand-contract')).toEqual(['005_type.sql:1']);
    expect(where('batch-large-dml')).toEqual(['006_backfill.sql:1']);
    // Once per file that takes a blocking lock without lock_timeout.
    expect(where('lock-timeout')).toEqual([
      '001_index.sql:1',
      '002_fk.sql:1',
      '003_not_null.sql:1',
      '004_unique.sql:1',
      '005_type.sql:1',
    ]);
    for (const a of report.advice) expect(a.table).toBe('items');
  });

  it('CREATE INDEX CONCURRENTLY, rehearsed on the same rows, blocks writes for under a tenth of the time', () => {
    const [a] = byRule(report, 'create-index-concurrently');
    expect(a.instead_sql).toBe('CREATE INDEX CONCURRENTLY items_status_idx ON items (status);');
    expect(a.not_measured).toBeUndefined();
    expect(a.measured.original.write_block_ms).toBeGreaterThan(0);
    expect(a.measured.alternative!.write_block_ms).toBeLessThan(a.measured.original.write_block_ms / 10);
  });

  it('the other mechanical alternatives ran on the copy and block less than the original', () => {
    // Each compared on what it blocks: the validation scan blocks writes, the others reads too.
    const blocked = {
      'foreign-key-not-valid': 'write_block_ms',
      'set-not-null-via-check': 'read_block_ms',
      'unique-via-index': 'read_block_ms',
    } as const;
    for (const [rule, measure] of Object.entries(blocked)) {
      const [a] = byRule(report, rule);
      expect({ rule, why: a.not_measured }).toEqual({ rule, why: undefined });
      const { original, alternative } = a.measured;
      expect(alternative![measure]).toBeLessThan(original[measure]);
    }
    expect(byRule(report, 'set-not-null-via-check')[0].instead_sql).toBe(
      [
        'ALTER TABLE items ADD CONSTRAINT items_price_not_null CHECK (price IS NOT NULL) NOT VALID;',
        'ALTER TABLE items VALIDATE CONSTRAINT items_price_not_null;',
        'ALTER TABLE items ALTER COLUMN price SET NOT NULL;',
        'ALTER TABLE items DROP CONSTRAINT items_price_not_null;',
      ].join('\n'),
    );
  });

  it('rules without a mechanical form give words, no SQL and no invented figures', () => {
    for (const rule of ['rewrite-expand-contract', 'batch-large-dml', 'lock-timeout']) {
      for (const a of byRule(report, rule)) {
        expect(a.instead_sql).toBeNull();
        expect(a.measured.alternative).toBeNull();
      }
    }
    expect(byRule(report, 'batch-large-dml')[0].finding).toMatch(/^50,000 rows changed in one transaction/);
  });

  it('the text report and the comment show the reason, the SQL and both measurements', () => {
    const text = renderText(report);
    expect(text).toContain(`Advice (${report.advice.length})`);
    expect(text).toContain('      CREATE INDEX CONCURRENTLY items_status_idx ON items (status);');
    expect(text).toMatch(/measured on your data: writes blocked [\d.]+ m?s -> [\d.]+ m?s, total/);
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('**💡 `create-index-concurrently`** at `001_index.sql:1`');
    expect(markdown).toContain('```sql\nCREATE INDEX CONCURRENTLY items_status_idx ON items (status);\n```');
  });
});

describe('advice stays quiet where the statement is already safe or nobody could wait', () => {
  it('no rule fires on a table created in the run, an empty table, or CONCURRENTLY and NOT VALID forms', async () => {
    const run = await rehearseOn(local, SOURCE, {
      '001_new.sql': `CREATE TABLE fresh (id bigint, v int);
INSERT INTO fresh SELECT g, g FROM generate_series(1, 50000) g;
CREATE INDEX fresh_v_idx ON fresh (v);
ALTER TABLE fresh ALTER COLUMN v SET NOT NULL;`,
      '002_empty.sql': 'CREATE INDEX empty_items_status_idx ON empty_items (status);',
      '003_safe.sql': `CREATE INDEX CONCURRENTLY items_price_idx ON items (price);`,
      '004_safe.sql': `SET lock_timeout = '2s';
ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id) NOT VALID;`,
    });
    try {
      expect(run.report.success).toBe(true);
      expect(run.report.advice).toEqual([]);
    } finally {
      await run.cleanup();
    }
  });

  it('advice: text gives the SQL unmeasured and says why; advice: off gives none', async () => {
    const files = { '001_index.sql': RISKY['001_index.sql'] };
    const text = await rehearseOn(local, SOURCE, files, { advice: 'text' });
    const off = await rehearseOn(local, SOURCE, files, { advice: 'off' });
    try {
      const [a] = byRule(text.report, 'create-index-concurrently');
      expect(a.instead_sql).toContain('CONCURRENTLY');
      expect(a.measured.alternative).toBeNull();
      expect(a.not_measured).toBe('the advice option is text');
      expect(off.report.advice).toEqual([]);
    } finally {
      await text.cleanup();
      await off.cleanup();
    }
  });

  it('after a dump, auto keeps the advice in words and says that each copy would be a dump', async () => {
    const run = await rehearseOn(
      local,
      SOURCE,
      { '001_index.sql': RISKY['001_index.sql'] },
      { snapshot: 'dump' },
    );
    try {
      const [a] = byRule(run.report, 'create-index-concurrently');
      expect(a.measured.alternative).toBeNull();
      expect(a.not_measured).toMatch(/another dump of the source; set the advice option to measured/);
    } finally {
      expect(await run.leftovers()).toEqual([]);
      await run.cleanup();
    }
  });
});
