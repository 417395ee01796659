INSERT INTO shop.customers (name, country) VALUES ('Émile', 'FR'), ('Jürgen', 'DE');
INSERT INTO shop.orders (customer_id, amount, placed_at)
SELECT 1 + g % 2, g * 1.5, timestamptz '2024-01-01' + g * interval '7 hours'
  FROM generate_series(1, 200) g;
