import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig, type RawOptions } from '../../src/engine/config.js';
import { rehearse, type RehearsalHooks } from '../../src/engine/rehearse.js';
import type { Report } from '../../src/engine/report.js';
import { createDatabase, databasesLike, dropDatabase, type TestServer, uniqueName } from './servers.js';

/** Writes migration files into a fresh temporary directory. */
export function migrationDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-test-'));
  for (const [name, sql] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), sql);
  }
  return dir;
}

export interface RehearsalRun {
  report: Report;
  sourceUrl: string;
  runId: string;
  /** Snapshot databases of this run still on the server (should be none). */
  leftovers: () => Promise<string[]>;
  cleanup: () => Promise<void>;
}

/** Creates a source database from `sourceSql`, rehearses `files` on a snapshot of it. */
export async function rehearseOn(
  server: TestServer,
  sourceSql: string,
  files: Record<string, string>,
  options: RawOptions = {},
  hooks: RehearsalHooks = {},
): Promise<RehearsalRun> {
  const sourceUrl = await createDatabase(server.url, sourceSql);
  const runId = uniqueName('t').replace(/_/g, '');
  const dir = migrationDir(files);
  const leftovers = () => databasesLike(server.url, `pg_rehearsal_${runId}_%`);
  const cleanup = () => dropDatabase(sourceUrl);
  try {
    const config = buildConfig(
      { 'source-url': sourceUrl, migrations: '*.sql', 'working-directory': dir, ...options },
      { runId },
    );
    const report = await rehearse(config, hooks);
    return { report, sourceUrl, runId, leftovers, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
