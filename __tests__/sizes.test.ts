import { describe, expect, it } from '@jest/globals';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import { rehearseOn } from './helpers/rehearsal.js';
import { testServers } from './helpers/servers.js';

const [local] = testServers();

const PRODUCTS = `
CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO products SELECT g, 'product ' || g FROM generate_series(1, 20000) g;
ANALYZE;`;

describe('a table is sized apart from its indexes', () => {
  it('a new index is the index growing, not the table', async () => {
    const r = await rehearseOn(local, PRODUCTS, {
      '001.sql': 'CREATE INDEX products_name_idx ON products (name);',
    });
    try {
      const products = r.report.metrics!.tables.products;
      const index = r.report.metrics!.indexes.products_name_idx;
      expect(index.status).toBe('new');
      expect(products.status).toBe('unchanged');
      expect(products.table_size_delta).toBe(0);
      expect(products.indexes_size_delta).toBe(index.size_after);
      // The legacy total still counts everything: heap + TOAST + indexes.
      expect(products.size_delta).toBe(products.indexes_size_delta);
      expect(products.size_after).toBe(products.table_size_after! + products.indexes_size_after!);
      expect(renderText(r.report)).not.toMatch(/table products/);
      expect(renderText(r.report)).toMatch(/index products_name_idx\s+new/);
    } finally {
      await r.cleanup();
    }
  });

  it("a table whose data grows shows its own growth, its indexes' and the total", async () => {
    const r = await rehearseOn(local, PRODUCTS, {
      '001.sql': `INSERT INTO products SELECT g, 'product ' || g FROM generate_series(20001, 40000) g;`,
    });
    try {
      const products = r.report.metrics!.tables.products;
      expect(products.status).toBe('changed');
      expect(products.table_size_delta).toBeGreaterThan(0);
      expect(products.indexes_size_delta).toBeGreaterThan(0);
      expect(products.size_delta).toBe(products.table_size_delta! + products.indexes_size_delta!);
      const line = renderText(r.report)
        .split('\n')
        .find((l) => /table products/.test(l)) as string;
      expect(line).toMatch(/indexes \+[\d.]+ (kB|MB), total [\d.]+ (kB|MB)/);
      expect(renderMarkdown(r.report)).toMatch(/heap \+ TOAST/);
    } finally {
      await r.cleanup();
    }
  });
});
