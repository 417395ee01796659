ALTER TABLE products ADD COLUMN category varchar(100);
CREATE INDEX products_category_idx ON products (category);
