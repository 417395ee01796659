import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { SNAPSHOT_NAME_PREFIX } from '../config.js';
import { quoteIdent, quoteLiteral, type ConnectionInfo } from '../connection.js';
import { CancelledError, ConfigError, SetupError, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { assertSafeName } from '../safe-name.js';
import {
  busyTemplateError,
  cloneDatabase,
  isBusyTemplate,
  withDatabaseLock,
  type CopyMethod,
} from './clone.js';
import { exactPattern, readSourceTables, tablesAlsoNeeded } from './focus.js';
import { requireSnapshot } from './golden-listing.js';
import { readMetadata, writeMetadata, type SnapshotMetadata } from './metadata.js';
import {
  countOtherSessions,
  databaseComment,
  databaseExists,
  databaseOwner,
  databaseSize,
  onSource,
  terminateOtherSessions,
  type ServerInfo,
} from './server.js';
import { createSnapshot, dropSnapshot } from './snapshot.js';
import { opt, say, type Wording } from '../wording.js';
import { CURRENT_DATABASE_QUERY } from '../queries/databases.js';

/**
 * Golden snapshots: databases created once (say nightly) from a source, kept until
 * deleted (ttl null, so the orphan sweep never drops them), and cloned per rehearsal or
 * restored over a damaged database. Everything here takes the snapshot server's
 * maintenance connection; golden-on.ts has the one-call forms that open it themselves,
 * golden-listing.ts the listing.
 */

export { listSnapshots, showSnapshot, type GoldenListing } from './golden-listing.js';

/** Databases built aside carry this TTL until they are swapped in, so a crash leaves nothing forever. */
const BUILD_TTL_MS = 6 * 3_600_000;

function asideName(kind: string): string {
  return `${SNAPSHOT_NAME_PREFIX}${kind}_${randomBytes(4).toString('hex')}`;
}

export interface CreateGoldenOptions {
  /** The database to snapshot; only read. */
  source: ConnectionInfo;
  name: string;
  strategy?: 'auto' | 'template' | 'dump';
  /** pg_dump -t patterns: snapshot only these tables (forces a dump). */
  tables?: string[];
  /** pg_dump --exclude-table-data patterns: schema only for these tables (forces a dump). */
  excludeTableData?: string[];
  /** Replace a snapshot of the same name (swapped in atomically once the new one is built). */
  replace?: boolean;
  pgBinDir?: string;
  log?: Logger;
  signal?: AbortSignal;
}

export interface CreatedGolden {
  name: string;
  metadata: SnapshotMetadata;
  /** Why this strategy, as in the rehearsal report. */
  reason: string;
  seconds: number;
}

/**
 * Builds a golden snapshot under a temporary name and renames it into place in one
 * transaction (replacing an older one in the same step), so a concurrent reader sees
 * either the old snapshot or the complete new one, never a half-built database.
 */
export async function createGoldenSnapshot(
  admin: pg.Client,
  server: ConnectionInfo,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo,
  options: CreateGoldenOptions,
): Promise<CreatedGolden> {
  const log = options.log ?? silentLogger;
  const { name } = options;
  assertSafeName(name, 'name');
  const subset = (options.tables?.length ?? 0) > 0 || (options.excludeTableData?.length ?? 0) > 0;
  await checkGoldenRequest(admin, serverInfo, sourceInfo, options, subset);
  const tables = await withTablesAlsoNeeded(options, log);
  const dumpArgs = [
    ...tables.flatMap((t) => ['--table', t]),
    ...(options.excludeTableData ?? []).flatMap((t) => ['--exclude-table-data', t]),
  ];
  const building = asideName('build');
  let built = false;
  try {
    const made = await createSnapshot(
      {
        source: options.source,
        server,
        strategy: subset ? 'dump' : (options.strategy ?? 'auto'),
        name: building,
        runId: 'golden',
        ttlMs: BUILD_TTL_MS,
        pgBinDir: options.pgBinDir,
        signal: options.signal,
        log,
        dumpArgs,
        onDatabaseCreated: () => (built = true),
      },
      admin,
      serverInfo,
      sourceInfo,
    );
    const metadata: SnapshotMetadata = {
      tool: 'pg-rehearsal',
      created_at: new Date().toISOString(),
      strategy: made.strategy,
      source: { host: options.source.host, port: options.source.port, database: options.source.database },
      run_id: 'golden',
      ttl_seconds: null,
      level: subset ? 'tables' : 'database',
      server_version: serverInfo.version,
      size_bytes: await databaseSize(admin, building),
      tables,
      exclude_table_data: options.excludeTableData ?? [],
    };
    // A cancel during a file copy only lands here: the old snapshot stays, the copy is dropped.
    if (options.signal?.aborted)
      throw new CancelledError('cancelled before the golden snapshot was swapped in');
    await swapInto(admin, serverInfo, building, name, { comment: JSON.stringify(metadata) });
    built = false;
    const reason = subset ? 'a subset of tables is copied with pg_dump | pg_restore' : made.reason;
    log.info(
      `golden snapshot "${name}" created in ${made.seconds.toFixed(2)} s (${made.strategy}: ${reason})`,
    );
    return { name, metadata, reason, seconds: made.seconds };
  } finally {
    if (built) await dropSnapshot(admin, serverInfo, building).catch(() => undefined);
  }
}

/** The --tables patterns, plus the partitions of the tables named and the tables they reference by foreign key. */
async function withTablesAlsoNeeded(options: CreateGoldenOptions, log: Logger): Promise<string[]> {
  const patterns = options.tables ?? [];
  if (patterns.length === 0) return [];
  const source = await onSource(options.source, readSourceTables);
  const { partitions, referenced } = tablesAlsoNeeded(source, patterns);
  if (partitions.length > 0)
    log.info(`--tables: also copying ${partitions.join(', ')}, partitions of the tables named`);
  if (referenced.length > 0)
    log.info(
      `--tables: also copying ${referenced.join(', ')}, referenced by foreign key from the tables named`,
    );
  return [...patterns, ...[...partitions, ...referenced].map((t) => exactPattern(source.tables.get(t)!))];
}

/** What can be wrong before anything is built: a subset by template, the source itself, a name taken. */
async function checkGoldenRequest(
  admin: pg.Client,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo,
  options: CreateGoldenOptions,
  subset: boolean,
): Promise<void> {
  const { name } = options;
  if (subset && options.strategy === 'template') {
    throw new ConfigError(
      'strategy',
      say`${opt('strategy', 'template')} copies whole databases; ${opt('tables')} and ${opt('exclude-table-data')} need ${opt('strategy', 'dump')} (or auto)`,
    );
  }
  if (sourceInfo.identity === serverInfo.identity && options.source.database === name) {
    throw new ConfigError(
      'name',
      say`${opt('name')}: "${name}" is the source database itself; choose another name`,
    );
  }
  if (await databaseExists(admin, name)) {
    if (!options.replace) {
      throw new ConfigError(
        'name',
        say`${opt('name')}: a database named "${name}" already exists; pass ${opt('replace')} to replace the snapshot, or choose another name`,
      );
    }
    if (!(await readMetadata(admin, name))) {
      throw new ConfigError(
        'name',
        say`${opt('name')}: database "${name}" is not a pg-rehearsal snapshot (no metadata in its COMMENT), so it is never replaced; choose another name`,
      );
    }
  }
}

/**
 * Renames `built` to `target` in one transaction, moving an existing `target` aside first
 * and dropping it afterwards. Fails (and changes nothing) while someone is connected to
 * `target`: PostgreSQL refuses to rename a database in use.
 */
async function swapInto(
  admin: pg.Client,
  serverInfo: ServerInfo,
  built: string,
  target: string,
  {
    comment,
    owner,
    busyHint = ['close them and retry'],
  }: { comment: string | null; owner?: string; busyHint?: Wording },
): Promise<void> {
  const old = asideName('old');
  let moved = false;
  await withDatabaseLock(admin, target, async () => {
    const exists = await databaseExists(admin, target);
    // The old one keeps saying which source it was a snapshot of.
    const replaced = exists ? await readMetadata(admin, target) : undefined;
    await admin.query('BEGIN');
    try {
      if (exists) {
        await admin.query(`ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(old)}`);
        // If the drop below never happens, the sweep recognises the old one as expired.
        await writeMetadata(admin, old, {
          tool: 'pg-rehearsal',
          created_at: new Date(0).toISOString(),
          strategy: 'reused',
          source: replaced?.source ?? null,
          run_id: 'replaced',
          ttl_seconds: 0,
        });
      }
      await admin.query(`ALTER DATABASE ${quoteIdent(built)} RENAME TO ${quoteIdent(target)}`);
      await admin.query(
        `COMMENT ON DATABASE ${quoteIdent(target)} IS ${comment === null ? 'NULL' : quoteLiteral(comment)}`,
      );
      if (owner) await admin.query(`ALTER DATABASE ${quoteIdent(target)} OWNER TO ${quoteIdent(owner)}`);
      await admin.query('COMMIT');
      moved = exists;
    } catch (error) {
      await admin.query('ROLLBACK').catch(() => undefined);
      if (isBusyTemplate(error)) {
        throw new SetupError(
          say`database "${target}" has open sessions, so it cannot be replaced; ${busyHint}`,
        );
      }
      throw error;
    }
  });
  if (moved) await dropSnapshot(admin, serverInfo, old);
}

/** Drops a snapshot; refuses databases that are not pg-rehearsal snapshots. */
export async function deleteSnapshot(admin: pg.Client, serverInfo: ServerInfo, name: string): Promise<void> {
  await requireSnapshot(admin, name);
  await withDatabaseLock(admin, name, () => dropSnapshot(admin, serverInfo, name));
}

export interface CloneResult {
  name: string;
  method: CopyMethod;
  seconds: number;
}

/** A new database `to` from the snapshot, by the fastest file copy the server offers. */
export async function cloneSnapshot(
  admin: pg.Client,
  serverInfo: ServerInfo,
  name: string,
  to: string,
): Promise<CloneResult> {
  assertSafeName(to, 'to');
  await requireSnapshot(admin, name);
  if (await databaseExists(admin, to)) {
    throw new ConfigError(
      'to',
      say`${opt('to')}: a database named "${to}" already exists; choose another name, or use restore to replace it`,
    );
  }
  const started = performance.now();
  try {
    const method = await cloneDatabase(admin, serverInfo, name, to);
    return { name: to, method, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    throw isBusyTemplate(error) ? busyTemplateError(name) : error;
  }
}

export interface RestoreOptions {
  /** Disconnect other sessions of the target instead of refusing. */
  force?: boolean;
  log?: Logger;
}

/**
 * Replaces database `to` with a copy of the snapshot: the copy is built aside, then
 * swapped in by renaming in one transaction, so `to` is never half-restored. The old
 * content is dropped; `to` keeps its owner and comment.
 */
export async function restoreSnapshot(
  admin: pg.Client,
  serverInfo: ServerInfo,
  name: string,
  to: string,
  options: RestoreOptions = {},
): Promise<CloneResult> {
  const log = options.log ?? silentLogger;
  assertSafeName(to, 'to');
  if (to === name)
    throw new ConfigError(
      'to',
      say`${opt('to')}: "${to}" is the snapshot itself; name the database to replace`,
    );
  // Only snapshots are restored from: a swapped `restore app --to golden` must not replace the golden one.
  await requireSnapshot(admin, name);
  const { rows } = await admin.query<{ db: string }>(CURRENT_DATABASE_QUERY);
  if (rows[0].db === to) {
    throw new ConfigError(
      'to',
      say`${opt('to')}: "${to}" is the maintenance database pg-rehearsal is connected to; point ${opt('snapshot-server-url')} at another database (e.g. template1) to replace it`,
    );
  }
  const exists = await databaseExists(admin, to);
  if (exists && !options.force) {
    const others = await countOtherSessions(admin, to);
    if (others > 0) {
      throw new SetupError(
        say`database "${to}" has ${others} other connection(s); close them, or pass ${opt('force')} to disconnect them, before restoring over it`,
      );
    }
  }
  const started = performance.now();
  const building = asideName('restore');
  let built = false;
  try {
    let method: CopyMethod;
    try {
      method = await cloneDatabase(admin, serverInfo, name, building, () => (built = true));
    } catch (error) {
      throw isBusyTemplate(error) ? busyTemplateError(name) : error;
    }
    await writeMetadata(admin, building, {
      tool: 'pg-rehearsal',
      created_at: new Date().toISOString(),
      strategy: method.copyOnWrite ? 'clone' : 'template',
      source: null,
      run_id: 'restore',
      ttl_seconds: BUILD_TTL_MS / 1000,
    });
    const comment = exists ? await databaseComment(admin, to) : null;
    const owner = exists ? ((await databaseOwner(admin, to)) ?? undefined) : undefined;
    // A session can end a moment after pg_terminate_backend returns: retry the swap briefly.
    for (let attempt = 1; ; attempt++) {
      if (exists && options.force) {
        const ended = await terminateOtherSessions(admin, to);
        if (ended) log.info(`disconnected ${ended} session(s) from "${to}"`);
      }
      try {
        await swapInto(admin, serverInfo, building, to, {
          comment,
          owner,
          busyHint: say`close them, or pass ${opt('force')} to disconnect them, and retry`,
        });
        break;
      } catch (error) {
        if (!options.force || attempt >= 20 || !/open sessions/.test(errorMessage(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    built = false;
    return { name: to, method, seconds: (performance.now() - started) / 1000 };
  } finally {
    if (built) await dropSnapshot(admin, serverInfo, building).catch(() => undefined);
  }
}
