-- The sample shop, v1 (DESIGN.md section 8), small enough for CI.
CREATE TABLE products (
  id bigint PRIMARY KEY,
  name varchar(200) NOT NULL,
  price integer NOT NULL,
  stock integer NOT NULL DEFAULT 0
);
INSERT INTO products (id, name, price, stock)
SELECT g, 'product ' || g, (g * 37) % 10000 + 99, (g * 7) % 500 FROM generate_series(1, 100000) AS g;
ANALYZE;
