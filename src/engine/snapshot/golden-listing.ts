import type pg from 'pg';
import { SetupError } from '../errors.js';
import type { SnapshotStrategy } from '../report.js';
import { listSnapshotDatabases, readMetadata, type SnapshotMetadata } from './metadata.js';
import { databaseExists, databaseSize } from './server.js';

/** What `pg-rehearsal snapshot list/show` tell about a snapshot, from its metadata (golden.ts). */
export interface GoldenListing {
  name: string;
  created_at: string;
  size_bytes: number | null;
  source: SnapshotMetadata['source'];
  strategy: SnapshotStrategy;
  level: 'database' | 'tables';
  server_version: string | null;
  tables: string[];
  exclude_table_data: string[];
  /** false for the throwaway snapshots of runs, which the sweep drops after their TTL. */
  golden: boolean;
  ttl_seconds: number | null;
}

function listing(name: string, m: SnapshotMetadata): GoldenListing {
  return {
    name,
    created_at: m.created_at,
    size_bytes: m.size_bytes ?? null,
    source: m.source,
    strategy: m.strategy,
    level: m.level ?? 'database',
    server_version: m.server_version ?? null,
    tables: m.tables ?? [],
    exclude_table_data: m.exclude_table_data ?? [],
    golden: m.ttl_seconds === null,
    ttl_seconds: m.ttl_seconds,
  };
}

export async function listSnapshots(admin: pg.Client): Promise<GoldenListing[]> {
  return (await listSnapshotDatabases(admin)).map((s) => listing(s.name, s.metadata));
}

export async function showSnapshot(admin: pg.Client, name: string): Promise<GoldenListing> {
  const metadata = await readMetadata(admin, name);
  if (!metadata) throw notASnapshot(name, await databaseExists(admin, name));
  return {
    ...listing(name, metadata),
    size_bytes: (await databaseSize(admin, name)) ?? metadata.size_bytes ?? null,
  };
}

export function notASnapshot(name: string, exists: boolean): SetupError {
  return new SetupError(
    exists
      ? `database "${name}" is not a pg-rehearsal snapshot (its COMMENT has no pg-rehearsal metadata); pg-rehearsal snapshot list shows the snapshots`
      : `snapshot "${name}" does not exist; pg-rehearsal snapshot list shows the snapshots`,
  );
}

export async function requireSnapshot(admin: pg.Client, name: string): Promise<void> {
  if (!(await readMetadata(admin, name))) throw notASnapshot(name, await databaseExists(admin, name));
}
