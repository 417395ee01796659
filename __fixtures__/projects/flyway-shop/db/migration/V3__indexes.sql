CREATE INDEX orders_customer_idx ON shop.orders (customer_id);
ALTER TABLE shop.customers ALTER COLUMN name TYPE text;
CREATE
  UNIQUE INDEX
  -- concurrently, so writes go on
  CONCURRENTLY customers_name_key ON shop.customers (name);
