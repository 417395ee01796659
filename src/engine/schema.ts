import type pg from 'pg';
import { displayName } from './catalog.js';
import { belongsToToolHistoryTable } from './history-tables.js';
import { SCHEMA_QUERY } from './queries/schema.js';
import type { SchemaChange, SchemaObjectKind } from './report.js';

/**
 * The schema of the snapshot's user objects, read in one catalog query: what each table,
 * column, index, constraint, sequence, view, routine, type and trigger IS, each described
 * by one line of text. Two captures (before and after the migrations) compared give the
 * schema changes; the same fingerprint tells whether a down migration undid its up.
 * Data is outside it: only definitions, never rows or sequence values.
 */
export interface SchemaObject {
  kind: SchemaObjectKind;
  /** Schema-qualified where not public; `table.column` for what belongs to a table. */
  name: string;
  /** The definition as one line, e.g. `numeric(12,2) NOT NULL DEFAULT 0`. */
  definition: string;
  /** What is compared but not worth showing: a hash of a routine's body. */
  detail?: string;
}

export type SchemaFingerprint = SchemaObject[];

interface SchemaRow {
  kind: SchemaObjectKind;
  schema: string;
  owner: string | null;
  name: string;
  definition: string | null;
  detail: string | null;
}

/** Reads the schema fingerprint of the database the client is connected to. */
export async function captureSchema(client: pg.Client): Promise<SchemaFingerprint> {
  const { rows } = await client.query<SchemaRow>(SCHEMA_QUERY);
  return rows
    .map((row) => ({
      kind: row.kind,
      name: row.owner
        ? `${displayName(row.schema, row.owner)}.${row.name}`
        : displayName(row.schema, row.name),
      definition: (row.definition ?? '').replace(/\s+/g, ' ').trim(),
      ...(row.detail ? { detail: row.detail } : {}),
    }))
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/**
 * What changed between two fingerprints: objects added, dropped, or whose definition
 * differs, in a stable order (by kind as listed in SchemaObjectKind, then name).
 */
export function diffSchemas(before: SchemaFingerprint, after: SchemaFingerprint): SchemaChange[] {
  const key = (o: SchemaObject) => `${o.kind}\u0000${o.name}`;
  const beforeByKey = new Map(before.map((o) => [key(o), o]));
  const afterByKey = new Map(after.map((o) => [key(o), o]));
  const changes: SchemaChange[] = [];
  for (const [k, b] of beforeByKey) {
    const a = afterByKey.get(k);
    if (!a)
      changes.push({ object: b.kind, change: 'dropped', name: b.name, before: b.definition, after: null });
    else if (a.definition !== b.definition || a.detail !== b.detail) {
      const after = a.definition === b.definition ? `${a.definition} (body changed)` : a.definition;
      changes.push({ object: b.kind, change: 'altered', name: b.name, before: b.definition, after });
    }
  }
  for (const [k, a] of afterByKey) {
    if (!beforeByKey.has(k))
      changes.push({ object: a.kind, change: 'added', name: a.name, before: null, after: a.definition });
  }
  const order = (kind: SchemaObjectKind) => SCHEMA_OBJECT_KINDS.indexOf(kind);
  return changes.sort((x, y) => order(x.object) - order(y.object) || x.name.localeCompare(y.name));
}

/**
 * The differences that are not about a migration tool's own history table: the table, its
 * columns and constraints (`table.x`), and its indexes and sequences (`table_pkey`, ...).
 */
export function withoutHistoryTables(changes: SchemaChange[]): SchemaChange[] {
  return changes.filter((c) => !belongsToToolHistoryTable(c));
}

export const SCHEMA_OBJECT_KINDS: readonly SchemaObjectKind[] = [
  'table',
  'column',
  'index',
  'constraint',
  'sequence',
  'view',
  'function',
  'type',
  'trigger',
];
