/**
 * The sample shop (docs/architecture.md, "The demo"): a v1 catalogue of products and the v2 upgrade
 * whose last step quietly rewrites the whole table under an ACCESS EXCLUSIVE lock.
 * Used by `pg-rehearsal demo` and by the tests, so both rehearse the same thing.
 */

export const SHOP_V1_SCHEMA = `
CREATE TABLE products (
  id bigint PRIMARY KEY,
  name varchar(200) NOT NULL,
  price integer NOT NULL,
  stock integer NOT NULL DEFAULT 0
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products (id),
  quantity integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);`;

/** Seeds `rows` products and a few orders; set-based, so 500k rows take seconds. */
export function shopSeedSql(rows: number): string {
  return `
INSERT INTO products (id, name, price, stock)
SELECT g, 'product ' || g, (g * 37) % 10000 + 99, (g * 7) % 500
  FROM generate_series(1, ${rows}) AS g;
INSERT INTO orders (product_id, quantity)
SELECT (g * 13) % ${rows} + 1, g % 5 + 1 FROM generate_series(1, ${Math.max(1, Math.floor(rows / 10))}) AS g;
ANALYZE;`;
}

/** The v2 upgrade as a team would write it: three migration files. */
export const SHOP_V2_MIGRATIONS: Record<string, string> = {
  '001_add_product_details.sql': `-- v2: richer product pages
ALTER TABLE products ADD COLUMN category varchar(100);
ALTER TABLE products ADD COLUMN description text;
ALTER TABLE products ADD COLUMN rating float;
ALTER TABLE products ADD COLUMN review_count integer;
`,
  '002_backfill_defaults.sql': `-- give existing products sane values
UPDATE products SET category = 'general', review_count = 0 WHERE category IS NULL;
ALTER TABLE products ALTER COLUMN review_count SET DEFAULT 0;
`,
  '003_price_numeric.sql': `-- prices in currency units with cents, and browsing by category
ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2) USING price / 100.0;
CREATE INDEX products_category_idx ON products (category);
`,
};
