import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../connection.js';
import type { SnapshotStrategy } from '../report.js';
import { DATABASE_COMMENT_QUERY, DATABASE_COMMENTS_QUERY } from '../queries/databases.js';

/**
 * What a snapshot database says about itself, stored as JSON in COMMENT ON DATABASE so
 * that any later run (or a person with psql) can tell where it came from and when it
 * may be swept. Never contains a password.
 */
export interface SnapshotMetadata {
  tool: 'pg-rehearsal';
  created_at: string;
  strategy: SnapshotStrategy;
  source: { host: string; port: number; database: string } | null;
  run_id: string;
  /** Seconds after created_at when the orphan sweep may drop it; null = never (golden). */
  ttl_seconds: number | null;
  /** Golden snapshots also record what they hold, for `snapshot list/show`. */
  level?: 'database' | 'tables';
  server_version?: string;
  size_bytes?: number | null;
  tables?: string[];
  exclude_table_data?: string[];
}

export async function writeMetadata(
  admin: pg.Client,
  database: string,
  metadata: SnapshotMetadata,
): Promise<void> {
  await admin.query(
    `COMMENT ON DATABASE ${quoteIdent(database)} IS ${quoteLiteral(JSON.stringify(metadata))}`,
  );
}

export function parseMetadata(comment: string | null): SnapshotMetadata | undefined {
  if (!comment) return undefined;
  try {
    const parsed = JSON.parse(comment) as Partial<SnapshotMetadata>;
    return parsed && parsed.tool === 'pg-rehearsal' && typeof parsed.created_at === 'string'
      ? (parsed as SnapshotMetadata)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface SnapshotDatabase {
  name: string;
  metadata: SnapshotMetadata;
}

/** Databases on this server that carry our metadata. */
export async function listSnapshotDatabases(admin: pg.Client): Promise<SnapshotDatabase[]> {
  const { rows } = await admin.query<{ datname: string; comment: string | null }>(DATABASE_COMMENTS_QUERY);
  const found: SnapshotDatabase[] = [];
  for (const row of rows) {
    const metadata = parseMetadata(row.comment);
    if (metadata) found.push({ name: row.datname, metadata });
  }
  return found;
}

export function isExpired(metadata: SnapshotMetadata, now = Date.now()): boolean {
  if (metadata.ttl_seconds === null) return false;
  return Date.parse(metadata.created_at) + metadata.ttl_seconds * 1000 < now;
}

export async function readMetadata(
  admin: pg.Client,
  database: string,
): Promise<SnapshotMetadata | undefined> {
  const { rows } = await admin.query<{ comment: string | null }>(DATABASE_COMMENT_QUERY, [database]);
  return rows.length ? parseMetadata(rows[0].comment) : undefined;
}
