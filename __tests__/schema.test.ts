import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { SHOP_V1_SCHEMA, SHOP_V2_MIGRATIONS, shopSeedSql } from '../src/demo/shop.js';
import { captureSchema, diffSchemas } from '../src/engine/schema.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import { rehearseOn } from './helpers/rehearsal.js';
import { createDatabase, dropDatabase, testServers } from './helpers/servers.js';

/** Every kind of object the fingerprint knows, in a schema other than public too. */
const RICH_SCHEMA = `
CREATE SCHEMA billing;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE billing.invoices (id serial PRIMARY KEY, amount positive NOT NULL, mood mood DEFAULT 'ok');
CREATE INDEX invoices_amount_idx ON billing.invoices (amount);
CREATE VIEW billing.big AS SELECT id FROM billing.invoices WHERE amount > 100;
CREATE FUNCTION billing.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER invoices_touch BEFORE UPDATE ON billing.invoices FOR EACH ROW EXECUTE FUNCTION billing.touch();`;

async function schemaOf(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await captureSchema(client);
  } finally {
    await client.end();
  }
}

async function run(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.each(testServers())('schema fingerprint on $name', (server) => {
  let url: string;
  beforeAll(async () => {
    url = await createDatabase(server.url, RICH_SCHEMA, 'schema');
  });
  afterAll(async () => dropDatabase(url));

  it('names every kind of object, qualified outside public, with one-line definitions', async () => {
    const schema = await schemaOf(url);
    const byName = (kind: string, name: string) => schema.find((o) => o.kind === kind && o.name === name);
    expect(byName('table', 'billing.invoices')?.definition).toBe('TABLE');
    expect(byName('column', 'billing.invoices.amount')?.definition).toBe('positive NOT NULL');
    expect(byName('column', 'billing.invoices.mood')?.definition).toBe("mood DEFAULT 'ok'::mood");
    expect(byName('index', 'billing.invoices_amount_idx')?.definition).toMatch(/USING btree \(amount\)/);
    expect(byName('constraint', 'billing.invoices.invoices_pkey')?.definition).toBe('PRIMARY KEY (id)');
    expect(byName('constraint', 'public.positive.positive_check')).toBeUndefined();
    expect(byName('constraint', 'positive.positive_check')?.definition).toBe('CHECK ((VALUE > 0))');
    expect(byName('sequence', 'billing.invoices_id_seq')?.definition).toMatch(/^AS integer INCREMENT 1/);
    expect(byName('view', 'billing.big')?.definition).toMatch(/^VIEW AS SELECT/);
    expect(byName('function', 'billing.touch()')?.definition).toBe('RETURNS trigger LANGUAGE plpgsql');
    expect(byName('type', 'mood')?.definition).toBe("ENUM ('sad', 'ok')");
    expect(byName('type', 'positive')?.definition).toBe('DOMAIN integer');
    expect(byName('trigger', 'billing.invoices.invoices_touch')?.definition).toMatch(/BEFORE UPDATE/);
  });

  it('sees a changed routine body, a new enum value and a validated constraint, and nothing else', async () => {
    const before = await schemaOf(url);
    await run(
      url,
      `CREATE OR REPLACE FUNCTION billing.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := NEW.id; RETURN NEW; END $$;
       ALTER TYPE mood ADD VALUE 'happy';
       ALTER TABLE billing.invoices ADD CONSTRAINT small CHECK (amount < 1000000) NOT VALID;`,
    );
    const middle = await schemaOf(url);
    await run(url, 'ALTER TABLE billing.invoices VALIDATE CONSTRAINT small');
    const after = await schemaOf(url);
    expect(diffSchemas(before, middle)).toEqual([
      {
        object: 'constraint',
        change: 'added',
        name: 'billing.invoices.small',
        before: null,
        after: 'CHECK (((amount)::integer < 1000000)) NOT VALID',
      },
      {
        object: 'function',
        change: 'altered',
        name: 'billing.touch()',
        before: 'RETURNS trigger LANGUAGE plpgsql',
        after: 'RETURNS trigger LANGUAGE plpgsql (body changed)',
      },
      {
        object: 'type',
        change: 'altered',
        name: 'mood',
        before: "ENUM ('sad', 'ok')",
        after: "ENUM ('sad', 'ok', 'happy')",
      },
    ]);
    expect(diffSchemas(middle, after)).toEqual([
      expect.objectContaining({
        name: 'billing.invoices.small',
        change: 'altered',
        after: 'CHECK (((amount)::integer < 1000000))',
      }),
    ]);
    expect(diffSchemas(after, after)).toEqual([]);
  });
});

describe.each(testServers())('schema changes in the report on $name', (server) => {
  it('lists the sample shop upgrade: four new columns, price to numeric(12,2), the new index, nothing on orders', async () => {
    const run = await rehearseOn(server, `${SHOP_V1_SCHEMA}${shopSeedSql(200)}`, SHOP_V2_MIGRATIONS);
    try {
      const changes = run.report.schema_changes;
      expect(changes).toEqual([
        {
          object: 'column',
          change: 'added',
          name: 'products.category',
          before: null,
          after: 'character varying(100)',
        },
        { object: 'column', change: 'added', name: 'products.description', before: null, after: 'text' },
        {
          object: 'column',
          change: 'altered',
          name: 'products.price',
          before: 'integer NOT NULL',
          after: 'numeric(12,2) NOT NULL',
        },
        {
          object: 'column',
          change: 'added',
          name: 'products.rating',
          before: null,
          after: 'double precision',
        },
        {
          object: 'column',
          change: 'added',
          name: 'products.review_count',
          before: null,
          after: 'integer DEFAULT 0',
        },
        {
          object: 'index',
          change: 'added',
          name: 'products_category_idx',
          before: null,
          after: 'CREATE INDEX products_category_idx ON public.products USING btree (category)',
        },
      ]);
      expect(run.report.migrations.every((m) => m.status === 'applied')).toBe(true);
      const text = renderText(run.report);
      expect(text).toContain('Schema changes (6)');
      expect(text).toContain('  ~ column products.price: integer NOT NULL -> numeric(12,2) NOT NULL');
      expect(text).toContain('  + column products.category: character varying(100)');
      const markdown = renderMarkdown(run.report);
      expect(markdown).toContain('**Schema changes (6)**');
      expect(markdown).toContain(
        '| ~ altered | column `products.price` | `integer NOT NULL` | `numeric(12,2) NOT NULL` |',
      );
      // A long list is collapsed in the comment; the text report lists it whole.
      const long = { ...run.report, schema_changes: [...changes!, ...changes!] };
      expect(renderMarkdown(long)).toContain('<details><summary>Schema changes (12)</summary>');
      expect(renderText(long).match(/^ {2}[+~-] /gm)).toHaveLength(12);
    } finally {
      expect(await run.leftovers()).toEqual([]);
      await run.cleanup();
    }
  });

  it('has no schema changes when metrics are off', async () => {
    const run = await rehearseOn(
      server,
      'CREATE TABLE t (id int);',
      { '001.sql': 'ALTER TABLE t ADD COLUMN v int;' },
      {
        metrics: false,
      },
    );
    try {
      expect(run.report.success).toBe(true);
      expect(run.report.schema_changes).toBeNull();
    } finally {
      await run.cleanup();
    }
  });
});
