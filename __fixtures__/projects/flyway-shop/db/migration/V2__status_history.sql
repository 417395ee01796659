ALTER TYPE shop.order_status ADD VALUE IF NOT EXISTS 'cancelled';

CREATE TABLE shop.status_history (
    order_id   bigint NOT NULL,
    status     shop.order_status NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- The tag $é$ holds a semicolon; psql reads it as one string.
CREATE FUNCTION shop.log_status() RETURNS trigger LANGUAGE plpgsql AS $é$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO shop.status_history (order_id, status) VALUES (NEW.id, NEW.status);
  END IF;
  RETURN NEW;
END
$é$;

CREATE TRIGGER orders_status_log AFTER UPDATE OF status ON shop.orders
    FOR EACH ROW EXECUTE FUNCTION shop.log_status();

CREATE TABLE shop.procedure (id int PRIMARY KEY, label text);
INSERT INTO shop.procedure VALUES (1, 'refund');
