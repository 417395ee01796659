import path from 'node:path';
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { MODIFIED_AFTER_RELEASE, type MigrationReport, type SkippedMigration } from '../report.js';
import type { MigrationLayout } from './layouts.js';
import { TABLE_ON_PATH_QUERY } from '../queries/runner.js';

/**
 * Migration tools that keep a history table in the database decide what is pending from it,
 * not from a diff: Flyway (`flyway_schema_history`), golang-migrate (`schema_migrations`,
 * one row: the current version) and dbmate (`schema_migrations`, one row per version).
 * The rehearsal reads the SNAPSHOT's table the same way, and records what it applied there
 * as the tool would, so the snapshot ends as production will.
 */
export const HISTORY_LAYOUTS: ReadonlySet<MigrationLayout> = new Set(['flyway', 'golang-migrate', 'dbmate']);

export interface MigrationHistory {
  table: string;
  isApplied(file: string): boolean;
  record(client: pg.Client, applied: MigrationReport[]): Promise<void>;
}

const FLYWAY_NAME = /^([VR])([0-9][0-9._]*)?__(.+)\.sql$/i;

function flywayVersion(version: string): string {
  return version
    .split(/[._]/)
    .filter(Boolean)
    .map((part) => String(Number(part)))
    .join('.');
}

async function tableExists(client: pg.Client, table: string, column?: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(TABLE_ON_PATH_QUERY, [table, column ?? null]);
  return rows[0].ok;
}

async function flywayHistory(client: pg.Client): Promise<MigrationHistory | undefined> {
  if (!(await tableExists(client, 'flyway_schema_history'))) return undefined;
  const { rows } = await client.query<{ version: string | null; script: string }>(
    'SELECT version, script FROM flyway_schema_history WHERE success',
  );
  const versions = new Set(rows.filter((r) => r.version).map((r) => flywayVersion(r.version as string)));
  const scripts = new Set(rows.map((r) => r.script));
  return {
    table: 'flyway_schema_history',
    isApplied: (file) => {
      const match = FLYWAY_NAME.exec(path.basename(file));
      if (!match) return false;
      // A repeatable migration Flyway re-runs when its checksum changes; we re-run it when unrecorded.
      return match[2] ? versions.has(flywayVersion(match[2])) : scripts.has(path.basename(file));
    },
    record: async (db, applied) => {
      for (const m of applied) {
        const match = FLYWAY_NAME.exec(path.basename(m.path));
        await db.query(
          `INSERT INTO flyway_schema_history
             (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
           SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, 'SQL', $3, NULL, current_user, $4, true
             FROM flyway_schema_history`,
          [
            match?.[2] ? flywayVersion(match[2]) : null,
            (match?.[3] ?? '').replace(/_/g, ' '),
            path.basename(m.path),
            Math.round(m.duration_ms),
          ],
        );
      }
    },
  };
}

function leadingNumber(file: string): string | undefined {
  return /^(\d+)/.exec(path.basename(file))?.[1];
}

async function golangMigrateHistory(client: pg.Client): Promise<MigrationHistory | undefined> {
  if (!(await tableExists(client, 'schema_migrations', 'dirty'))) return undefined;
  const { rows } = await client.query<{ version: string }>(
    'SELECT version::text AS version FROM schema_migrations',
  );
  const current = rows.length ? BigInt(rows[0].version) : -1n;
  return {
    table: 'schema_migrations',
    isApplied: (file) => BigInt(leadingNumber(file) ?? '-1') <= current,
    record: async (db, applied) => {
      const last = applied.at(-1);
      if (!last) return;
      // golang-migrate keeps one row: the version the database is at.
      await db.query('DELETE FROM schema_migrations');
      await db.query('INSERT INTO schema_migrations (version, dirty) VALUES ($1, false)', [
        leadingNumber(last.path),
      ]);
    },
  };
}

async function dbmateHistory(client: pg.Client): Promise<MigrationHistory | undefined> {
  if (!(await tableExists(client, 'schema_migrations', 'version'))) return undefined;
  const { rows } = await client.query<{ version: string }>(
    'SELECT version::text AS version FROM schema_migrations',
  );
  const versions = new Set(rows.map((r) => r.version));
  return {
    table: 'schema_migrations',
    isApplied: (file) => versions.has(leadingNumber(file) ?? ''),
    record: async (db, applied) => {
      for (const m of applied) {
        await db.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING', [
          leadingNumber(m.path),
        ]);
      }
    },
  };
}

/** The snapshot's history table for this layout, if the tool has one and the database holds it. */
export async function readHistory(
  client: pg.Client,
  layout: MigrationLayout,
): Promise<MigrationHistory | undefined> {
  if (layout === 'flyway') return flywayHistory(client);
  if (layout === 'golang-migrate') return golangMigrateHistory(client);
  if (layout === 'dbmate') return dbmateHistory(client);
  return undefined;
}

/**
 * Pending as the tool sees it: every forward file the history table does not list, whatever
 * the diff selected. Files set aside by the layout (down, undo) stay set aside. A file the
 * change modified after release runs if the table says it is pending; if the table lists
 * it, production ran the old version and the edit will never run: it stays reported so.
 */
export function selectPending(
  history: MigrationHistory,
  forward: string[],
  setAside: SkippedMigration[],
  log: Logger,
  modifiedAfterRelease: ReadonlySet<string> = new Set(),
): { run: string[]; skipped: SkippedMigration[] } {
  const run = forward.filter((file) => !history.isApplied(file));
  const applied = forward.filter((file) => history.isApplied(file));
  log.info(`${history.table}: ${applied.length} migration(s) already applied, ${run.length} pending`);
  return {
    run,
    skipped: [
      ...setAside,
      ...applied.map((p) => ({
        path: p,
        reason: modifiedAfterRelease.has(p) ? MODIFIED_AFTER_RELEASE : `already applied (${history.table})`,
      })),
    ],
  };
}

/** Records the files that ran to completion, as the tool does after each. */
export async function recordApplied(
  client: pg.Client,
  history: MigrationHistory,
  migrations: MigrationReport[],
  log: Logger,
): Promise<void> {
  try {
    await history.record(
      client,
      migrations.filter((m) => m.status === 'applied'),
    );
  } catch (error) {
    log.warn(`could not record the applied migrations in ${history.table}: ${(error as Error).message}`);
  }
}
