-- migrate:up
CREATE TABLE events_archive (LIKE events INCLUDING ALL);

CREATE PROCEDURE archive_events(batch int) LANGUAGE plpgsql AS $$
DECLARE
  moved int;
BEGIN
  LOOP
    WITH gone AS (
      DELETE FROM events WHERE id IN (SELECT id FROM events WHERE kind = 'login' LIMIT batch)
      RETURNING *
    )
    INSERT INTO events_archive SELECT * FROM gone;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXIT WHEN moved = 0;
    COMMIT;
  END LOOP;
END $$;

CALL archive_events(40);

ALTER TABLE events ALTER COLUMN payload SET DEFAULT '{"v": 1}';

-- migrate:down
DROP PROCEDURE archive_events;
DROP TABLE events_archive;
