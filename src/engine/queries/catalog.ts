import { USER_NAMESPACE } from './user-relations.js';

/**
 * The catalog before and after the run (catalog.ts): the database's size and every user
 * table, partitioned table, materialized view and index with its filenode (a new filenode
 * is a rewrite), sizes and estimated rows, in one round trip. Aggregated into one JSON
 * value so one row carries the whole snapshot.
 */
export const CATALOG_QUERY = `
SELECT pg_database_size(current_database())::bigint AS database_bytes,
       coalesce(json_agg(json_build_object(
         'oid', c.oid::bigint,
         'schema', n.nspname,
         'name', c.relname,
         'kind', c.relkind::text,
         'filenode', pg_relation_filenode(c.oid),
         'bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_total_relation_size(c.oid)
                       ELSE pg_relation_size(c.oid) END,
         'table_bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_table_size(c.oid) END,
         'index_bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_indexes_size(c.oid) END,
         'rows', CASE WHEN c.reltuples < 0 OR c.relkind IN ('p', 'I') THEN NULL ELSE c.reltuples::bigint END,
         'table_schema', tn.nspname,
         'table_name', t.relname)), '[]') AS relations
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
  LEFT JOIN pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
   AND ${USER_NAMESPACE}`;
