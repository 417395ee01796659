-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_kind_idx ON events (kind);
REINDEX INDEX CONCURRENTLY events_kind_idx;

-- migrate:down
DROP INDEX CONCURRENTLY IF EXISTS events_kind_idx;
