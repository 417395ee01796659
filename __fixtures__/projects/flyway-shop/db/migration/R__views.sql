CREATE OR REPLACE VIEW shop.monthly_revenue AS
SELECT date_trunc('month', placed_at) AS month, sum(amount) AS revenue
  FROM shop.orders
 GROUP BY 1;
