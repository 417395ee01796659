import type pg from 'pg';
import type { IndexMetrics, RelationMetrics, RelationStatus } from './report.js';
import type { SchemaFingerprint } from './schema.js';

/**
 * One capture of the snapshot's user relations, taken before and after the migrations.
 * A single query each time: no COUNT(*) (row counts are the planner's estimates), so it
 * costs the same on a 10 GB table as on an empty one.
 */
export interface CatalogRelation {
  oid: number;
  schema: string;
  name: string;
  /** pg_class.relkind: r table, p partitioned table, m materialized view, i/I index. */
  kind: string;
  /** Storage file number; it changes when the relation is rewritten. null for partitioned parents. */
  filenode: number | null;
  /** Tables: total size with indexes and TOAST. Indexes: the index itself. */
  bytes: number;
  rows: number | null;
  /** For an index: the display name of its table. */
  table: string | null;
}

export interface CatalogSnapshot {
  databaseBytes: number;
  relations: CatalogRelation[];
  /** The schema's definitions, when metrics are on (schema.ts): the source of schema_changes. */
  schema?: SchemaFingerprint;
}

const CATALOG_QUERY = `
SELECT pg_database_size(current_database())::bigint AS database_bytes,
       coalesce(json_agg(json_build_object(
         'oid', c.oid::bigint,
         'schema', n.nspname,
         'name', c.relname,
         'kind', c.relkind::text,
         'filenode', pg_relation_filenode(c.oid),
         'bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_total_relation_size(c.oid)
                       ELSE pg_relation_size(c.oid) END,
         'rows', CASE WHEN c.reltuples < 0 OR c.relkind IN ('p', 'I') THEN NULL ELSE c.reltuples::bigint END,
         'table_schema', tn.nspname,
         'table_name', t.relname)), '[]') AS relations
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
  LEFT JOIN pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

interface RawRelation {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  filenode: number | null;
  bytes: number;
  rows: number | null;
  table_schema: string | null;
  table_name: string | null;
}

export async function captureCatalog(client: pg.Client): Promise<CatalogSnapshot> {
  const result = await client.query<{ database_bytes: string; relations: RawRelation[] }>(CATALOG_QUERY);
  const row = result.rows[0];
  return {
    databaseBytes: Number(row.database_bytes),
    relations: row.relations.map((r) => ({
      oid: Number(r.oid),
      schema: r.schema,
      name: r.name,
      kind: r.kind,
      filenode: r.filenode === null ? null : Number(r.filenode),
      bytes: Number(r.bytes),
      rows: r.rows === null ? null : Number(r.rows),
      table: r.table_name === null ? null : displayName(r.table_schema ?? 'public', r.table_name),
    })),
  };
}

/** `orders` for public tables, `billing.invoices` elsewhere. */
export function displayName(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

export function isIndexKind(kind: string): boolean {
  return kind === 'i' || kind === 'I';
}

export interface CatalogDiff {
  tables: Record<string, RelationMetrics>;
  indexes: Record<string, IndexMetrics>;
}

/** Compares two captures by qualified name. A changed filenode means the relation was rewritten. */
export function diffCatalogs(before: CatalogSnapshot, after: CatalogSnapshot): CatalogDiff {
  const key = (r: CatalogRelation) => displayName(r.schema, r.name);
  const beforeByName = new Map(before.relations.map((r) => [key(r), r]));
  const afterByName = new Map(after.relations.map((r) => [key(r), r]));
  const names = [...new Set([...beforeByName.keys(), ...afterByName.keys()])].sort();
  const diff: CatalogDiff = { tables: {}, indexes: {} };
  for (const name of names) {
    const b = beforeByName.get(name);
    const a = afterByName.get(name);
    const relation = (a ?? b) as CatalogRelation;
    const rewritten = !!a && !!b && a.filenode !== null && b.filenode !== null && a.filenode !== b.filenode;
    const sizeBefore = b?.bytes ?? null;
    const sizeAfter = a?.bytes ?? null;
    const delta = (sizeAfter ?? 0) - (sizeBefore ?? 0);
    let status: RelationStatus = 'unchanged';
    if (!b) status = 'new';
    else if (!a) status = 'dropped';
    else if (rewritten || delta !== 0 || a.kind !== b.kind) status = 'changed';
    const metrics: RelationMetrics = {
      schema: relation.schema,
      size_before: sizeBefore,
      size_after: sizeAfter,
      size_delta: delta,
      size_delta_percent: sizeBefore ? Math.round((delta / sizeBefore) * 10000) / 100 : null,
      rows_before: b?.rows ?? null,
      rows_after: a?.rows ?? null,
      rewritten,
      status,
    };
    if (isIndexKind(relation.kind)) diff.indexes[name] = { ...metrics, table: relation.table ?? '' };
    else diff.tables[name] = metrics;
  }
  return diff;
}
