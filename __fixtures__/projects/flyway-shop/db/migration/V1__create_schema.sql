CREATE SCHEMA shop;

CREATE TYPE shop.order_status AS ENUM ('new', 'paid', 'shipped');

CREATE TABLE shop.customers (
    id         bigserial PRIMARY KEY,
    name       varchar(200) NOT NULL,
    country    char(2) NOT NULL DEFAULT 'FR'
);

-- Orders are partitioned by month; each month is its own table.
CREATE TABLE shop.orders (
    id          bigserial,
    customer_id bigint NOT NULL REFERENCES shop.customers (id),
    status      shop.order_status NOT NULL DEFAULT 'new',
    amount      numeric(12, 2) NOT NULL,
    placed_at   timestamptz NOT NULL,
    PRIMARY KEY (id, placed_at)
) PARTITION BY RANGE (placed_at);

CREATE TABLE shop.orders_2024_01 PARTITION OF shop.orders
    FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE shop.orders_2024_02 PARTITION OF shop.orders
    FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
