-- A parameter named begin is no BEGIN ATOMIC body. (Written as RETURN finish - begin, the
-- begin outside parentheses would make psql itself glue the rest of the file onto it.)
CREATE FUNCTION post_age(begin timestamptz, finish timestamptz DEFAULT now())
RETURNS interval LANGUAGE sql IMMUTABLE AS $$ SELECT finish - begin $$;

-- A SQL-standard function body: its BEGIN ATOMIC ... END holds semicolons.
CREATE FUNCTION published_count(author bigint) RETURNS bigint LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT count(*) FROM posts WHERE author_id = author AND state = 'published';
END;

ALTER TABLE posts ADD COLUMN search tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED;

CREATE INDEX CONCURRENTLY posts_search_idx ON posts USING gin (search);
CREATE INDEX /* partial: live posts only */ CONCURRENTLY posts_live_idx ON posts (author_id)
  WHERE state = 'published';
