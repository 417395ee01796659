import type pg from 'pg';
import type { IndexMetrics, RelationMetrics, RelationStatus } from './report.js';
import { CATALOG_QUERY } from './queries/catalog.js';
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
  /** Tables: heap + TOAST (pg_table_size), without indexes. null for indexes. */
  tableBytes: number | null;
  /** Tables: all their indexes (pg_indexes_size). null for indexes. */
  indexBytes: number | null;
  rows: number | null;
  /** For an index: the display name of its table. */
  table: string | null;
  /** A focused snapshot did not copy its rows: the figures are the source's (snapshot/focus.ts). */
  copied?: false;
}

export interface CatalogSnapshot {
  databaseBytes: number;
  relations: CatalogRelation[];
  /** The schema's definitions, when metrics are on (schema.ts): the source of schema_changes. */
  schema?: SchemaFingerprint;
}

interface RawRelation {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  filenode: number | null;
  bytes: number;
  table_bytes: number | null;
  index_bytes: number | null;
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
      tableBytes: r.table_bytes === null ? null : Number(r.table_bytes),
      indexBytes: r.index_bytes === null ? null : Number(r.index_bytes),
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
    const total = sizeChange(b?.bytes, a?.bytes);
    // A table is judged by its own data (heap + TOAST): an index added to it is the index's change.
    const own = isIndexKind(relation.kind) ? total : sizeChange(b?.tableBytes, a?.tableBytes);
    let status: RelationStatus = 'unchanged';
    if (!b) status = 'new';
    else if (!a) status = 'dropped';
    else if (rewritten || own.delta !== 0 || a.kind !== b.kind) status = 'changed';
    const metrics: RelationMetrics = {
      schema: relation.schema,
      size_before: total.before,
      size_after: total.after,
      size_delta: total.delta,
      size_delta_percent: total.percent,
      rows_before: b?.rows ?? null,
      rows_after: a?.rows ?? null,
      rewritten,
      status,
      ...(b?.copied === false || a?.copied === false ? { copied: false as const } : {}),
    };
    if (isIndexKind(relation.kind)) diff.indexes[name] = { ...metrics, table: relation.table ?? '' };
    else diff.tables[name] = { ...metrics, ...tableSizes(b, a) };
  }
  return diff;
}

interface SizeChange {
  before: number | null;
  after: number | null;
  delta: number;
  percent: number | null;
}

function sizeChange(before: number | null | undefined, after: number | null | undefined): SizeChange {
  const delta = (after ?? 0) - (before ?? 0);
  return {
    before: before ?? null,
    after: after ?? null,
    delta,
    percent: before ? Math.round((delta / before) * 10000) / 100 : null,
  };
}

/** A table's own size (heap + TOAST) and its indexes', apart. */
function tableSizes(b: CatalogRelation | undefined, a: CatalogRelation | undefined) {
  const table = sizeChange(b?.tableBytes, a?.tableBytes);
  const indexes = sizeChange(b?.indexBytes, a?.indexBytes);
  return {
    table_size_before: table.before,
    table_size_after: table.after,
    table_size_delta: table.delta,
    indexes_size_before: indexes.before,
    indexes_size_after: indexes.after,
    indexes_size_delta: indexes.delta,
  };
}
