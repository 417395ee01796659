ALTER TABLE users ADD COLUMN post_count integer;

-- A batched backfill that commits each batch: psql runs it outside a transaction block.
DO $$
DECLARE
  last_id bigint := 0;
  max_id  bigint;
BEGIN
  SELECT coalesce(max(id), 0) INTO max_id FROM users;
  WHILE last_id < max_id LOOP
    UPDATE users u SET post_count = (SELECT count(*) FROM posts p WHERE p.author_id = u.id)
     WHERE u.id > last_id AND u.id <= last_id + 1000;
    last_id := last_id + 1000;
    COMMIT;
  END LOOP;
END $$;
