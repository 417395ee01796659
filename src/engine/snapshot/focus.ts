import type pg from 'pg';
import { captureCatalog, displayName, isIndexKind, type CatalogSnapshot } from '../catalog.js';
import { mayBeHistoryTable } from '../history-tables.js';
import { TABLE_LINKS_QUERY } from '../queries/focus.js';
import { ConfigError } from '../errors.js';
import type { DataReason, LockRecord } from '../report.js';
import { opt, say } from '../wording.js';

/*
 * A focused snapshot copies every table's schema but only some tables' rows: those the
 * migrations touch, and, transitively, those they reference by foreign key (a referencing
 * row is only valid with the row it references, and a new constraint is checked against
 * real data). This module is the source's table graph and the choice of tables, with no
 * server of its own: the caller reads the source (read-only) and makes the dump.
 */

export interface SourceTable {
  schema: string;
  name: string;
  /** Total size on the source (heap, TOAST, indexes). */
  bytes: number;
}

export interface SourceTables {
  /** Every table (ordinary or partitioned) by display name (`orders`, `billing.invoices`). */
  tables: Map<string, SourceTable>;
  /** An index's table, by display names. */
  indexTable: Map<string, string>;
  /** The tables each table references by foreign key. */
  references: Map<string, string[]>;
  /** The partitions or inheritance children of each table: a parent's rows live in them. */
  children: Map<string, string[]>;
  /** The source's catalog: the real sizes and row estimates of the tables not copied. */
  catalog: CatalogSnapshot;
}

/** Reads the source's tables and their links; `client` is a read-only source connection. */
export async function readSourceTables(client: pg.Client): Promise<SourceTables> {
  const catalog = await captureCatalog(client);
  const { rows } = await client.query<{
    link: 'references' | 'child';
    from_schema: string;
    from_name: string;
    to_schema: string;
    to_name: string;
  }>(TABLE_LINKS_QUERY);
  const source: SourceTables = {
    tables: new Map(),
    indexTable: new Map(),
    references: new Map(),
    children: new Map(),
    catalog,
  };
  for (const r of catalog.relations) {
    const name = displayName(r.schema, r.name);
    if (isIndexKind(r.kind)) source.indexTable.set(name, r.table ?? '');
    else if (r.kind === 'r' || r.kind === 'p')
      source.tables.set(name, { schema: r.schema, name: r.name, bytes: r.bytes });
  }
  for (const row of rows) {
    const from = displayName(row.from_schema, row.from_name);
    const to = displayName(row.to_schema, row.to_name);
    const links = row.link === 'references' ? source.references : source.children;
    links.set(from, [...(links.get(from) ?? []), to]);
  }
  return source;
}

/**
 * The relations the run locked that existed before it, by their names before it: a lock
 * is named as the relation was after its statement, so a table the migrations renamed or
 * moved to another schema (`orders` -> `orders_v2`) is found under its source name
 * through its oid in the snapshot's catalogs before and after.
 */
export function lockedBeforeNames(
  locks: LockRecord[],
  before: CatalogSnapshot | undefined,
  after: CatalogSnapshot | undefined,
): string[] {
  const oidAfter = new Map(after?.relations.map((r) => [displayName(r.schema, r.name), r.oid]));
  const nameBefore = new Map(before?.relations.map((r) => [r.oid, displayName(r.schema, r.name)]));
  return locks
    .filter((l) => !l.new_relation)
    .map((l) => nameBefore.get(oidAfter.get(l.relation) ?? -1) ?? l.relation);
}

/** The source tables behind locked relations: a table itself, an index's table; others (sequences, views) add none. */
export function tablesOf(relations: Iterable<string>, source: SourceTables): string[] {
  const tables = new Set<string>();
  for (const relation of relations) {
    if (source.tables.has(relation)) tables.add(relation);
    const table = source.indexTable.get(relation);
    if (table && source.tables.has(table)) tables.add(table);
  }
  return [...tables];
}

/** Tables whose rows a focused snapshot copies, each with why. */
export interface DataSelection {
  tables: string[];
  reasons: Record<string, DataReason>;
}

/**
 * The tables given (with their reason) plus everything they reference by foreign key,
 * transitively, and the partitions of every partitioned table among them.
 */
export function closeOverReferences(source: SourceTables, given: Record<string, DataReason>): DataSelection {
  const reasons: Record<string, DataReason> = { ...given };
  const queue = Object.keys(given);
  while (queue.length > 0) {
    const table = queue.shift() as string;
    const add = (other: string, reason: DataReason) => {
      if (reasons[other] || !source.tables.has(other)) return;
      reasons[other] = reason;
      queue.push(other);
    };
    for (const referenced of source.references.get(table) ?? []) add(referenced, 'referenced');
    for (const child of source.children.get(table) ?? []) add(child, reasons[table]);
  }
  return { tables: Object.keys(reasons).sort(), reasons };
}

/** pg_dump arguments that keep every table's schema but the rows of `copied` only. */
export function excludeDataArgs(source: SourceTables, copied: Iterable<string>): string[] {
  const keep = new Set(copied);
  return [...source.tables.entries()]
    .filter(([name]) => !keep.has(name))
    .flatMap(([, table]) => ['--exclude-table-data', exactPattern(table)]);
}

/** A pg_dump pattern that matches exactly this table: quoted, so no character is a wildcard. */
export function exactPattern(table: { schema: string; name: string }): string {
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `${quote(table.schema)}.${quote(table.name)}`;
}

/** The source's total size of these tables. */
export function bytesOf(source: SourceTables, tables: Iterable<string>): number {
  let bytes = 0;
  for (const table of tables) bytes += source.tables.get(table)?.bytes ?? 0;
  return bytes;
}

/**
 * Migration tools' own history tables: the tool reads them to decide what is pending, so
 * their rows are copied on every pass, the dry pass included (otherwise every migration
 * would look pending on an empty copy).
 */
export function historyTables(source: SourceTables): string[] {
  return [...source.tables.entries()]
    .filter(([, t]) => mayBeHistoryTable(t.schema, t.name))
    .map(([name]) => name);
}

/**
 * Gives the relations of tables that were not copied their real figures from the source
 * (sizes, row estimates), marked not copied, so an empty copy never reads as an empty
 * table; the database's size counts them at their real size too.
 */
export function overlaySourceFigures(
  catalog: CatalogSnapshot,
  source: SourceTables,
  copied: Set<string>,
): void {
  const real = new Map(source.catalog.relations.map((r) => [displayName(r.schema, r.name), r]));
  for (const relation of catalog.relations) {
    const name = displayName(relation.schema, relation.name);
    const table = isIndexKind(relation.kind) ? (relation.table ?? '') : name;
    const original = real.get(name);
    if (copied.has(table) || !source.tables.has(table) || !original || original.kind !== relation.kind)
      continue;
    if (!isIndexKind(relation.kind)) catalog.databaseBytes += original.bytes - relation.bytes;
    relation.bytes = original.bytes;
    relation.tableBytes = original.tableBytes;
    relation.indexBytes = original.indexBytes;
    relation.rows = original.rows;
    relation.copied = false;
  }
}

/** What a `pg_dump --table` pattern list leaves out that the tables it names need. */
export interface TablesAlsoNeeded {
  /** Partitions (and inheritance children) of the tables named: their rows are the named tables' rows. */
  partitions: string[];
  /** Tables the named ones reference by foreign key, transitively: their rows point to these. */
  referenced: string[];
}

/**
 * What a golden snapshot of some tables must hold besides them. pg_dump copies a named
 * partitioned table without its partitions' rows; patterns are read as pg_dump reads them
 * (`*`, `?`, regular-expression notation, quoted parts literal); a pattern without a schema
 * matches in any schema.
 */
export function tablesAlsoNeeded(source: SourceTables, patterns: string[]): TablesAlsoNeeded {
  const matchers = patterns.map(patternMatcher);
  const named = [...source.tables.entries()]
    .filter(([, t]) => matchers.some((matches) => matches(t.schema, t.name)))
    .map(([name]) => name);
  const selection = closeOverReferences(
    source,
    Object.fromEntries(named.map((t) => [t, 'touched' as const])),
  );
  const added = selection.tables.filter((t) => !named.includes(t));
  return {
    partitions: added.filter((t) => selection.reasons[t] === 'touched'),
    referenced: added.filter((t) => selection.reasons[t] === 'referenced'),
  };
}

function patternMatcher(pattern: string): (schema: string, name: string) => boolean {
  const parts = splitPattern(pattern);
  try {
    const name = new RegExp(`^(?:${parts[parts.length - 1]})$`);
    const schema = parts.length > 1 ? new RegExp(`^(?:${parts[parts.length - 2]})$`) : undefined;
    return (s, n) => name.test(n) && (schema === undefined || schema.test(s));
  } catch (error) {
    throw new ConfigError(
      'tables',
      say`${opt('tables')}: "${pattern}" is not a valid pattern (${(error as Error).message}); outside double quotes, characters such as ( [ { | + ^ are regular-expression notation, as in pg_dump: put them in double quotes to match them literally`,
    );
  }
}

/**
 * A psql/pg_dump pattern's dot-separated parts as regular expressions: outside double
 * quotes `*` is `.*`, `?` is `.`, `$` is literal, letters fold to lower case and the other
 * regular-expression characters keep their meaning; inside, everything is literal.
 */
function splitPattern(pattern: string): string[] {
  const parts = [''];
  let quoted = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '"') {
      if (quoted && pattern[i + 1] === '"') {
        parts[parts.length - 1] += '"';
        i++;
      } else quoted = !quoted;
    } else if (quoted) parts[parts.length - 1] += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '.') parts.push('');
    else if (ch === '*') parts[parts.length - 1] += '.*';
    else if (ch === '?') parts[parts.length - 1] += '.';
    else parts[parts.length - 1] += ch === '$' ? '\\$' : ch.toLowerCase();
  }
  return parts;
}
