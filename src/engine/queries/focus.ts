import { USER_NAMESPACE } from './user-relations.js';

/**
 * How the source's tables hang together, for a focused snapshot (snapshot/focus.ts): every
 * foreign key (`references`: from the referencing table to the referenced one) and every
 * partition or inheritance child (`child`: from the parent to the child), by schema and name.
 */
export const TABLE_LINKS_QUERY = `
SELECT 'references' AS link, n.nspname AS from_schema, f.relname AS from_name,
       tn.nspname AS to_schema, t.relname AS to_name
  FROM pg_constraint k
  JOIN pg_class f ON f.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = f.relnamespace
  JOIN pg_class t ON t.oid = k.confrelid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE k.contype = 'f' AND ${USER_NAMESPACE}
UNION ALL
SELECT 'child', n.nspname, p.relname, cn.nspname, c.relname
  FROM pg_inherits i
  JOIN pg_class p ON p.oid = i.inhparent
  JOIN pg_namespace n ON n.oid = p.relnamespace
  JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_namespace cn ON cn.oid = c.relnamespace
 WHERE p.relkind IN ('r', 'p') AND c.relkind IN ('r', 'p') AND ${USER_NAMESPACE}`;
