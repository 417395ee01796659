import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { SNAPSHOT_NAME_PREFIX } from '../config.js';
import { connect, isConnectionLost, quoteIdent, withDatabase, type ConnectionInfo } from '../connection.js';
import { applyDatabaseSettings, creationClause, readDatabaseSettings } from './db-settings.js';
import { ConfigError, SetupError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SnapshotStrategy } from '../report.js';
import { busyTemplateError, cloneDatabase, copyMethod, isBusyTemplate, type CopyMethod } from './clone.js';
import { dumpAndRestore } from './dump.js';
import { isExpired, listSnapshotDatabases, writeMetadata, type SnapshotMetadata } from './metadata.js';
import { findPgTools } from './pg-tools.js';
import {
  connectMaintenance,
  countSessions,
  databaseExists,
  inspectServer,
  onSource,
  type ServerInfo,
} from './server.js';
import { opt, say } from '../wording.js';
import { TERMINATE_SESSIONS } from '../queries/databases.js';

export interface SnapshotRequest {
  source?: ConnectionInfo;
  /** Maintenance connection info of the snapshot server. */
  server: ConnectionInfo;
  strategy: 'auto' | 'template' | 'dump' | 'existing';
  name: string;
  /** The golden snapshot to clone, with `existing`. */
  golden?: string;
  runId: string;
  ttlMs: number;
  pgBinDir?: string;
  signal?: AbortSignal;
  log: Logger;
  /** Called the moment the database exists, so that cleanup drops it even if a later step fails. */
  onDatabaseCreated: (name: string) => void;
  /** Extra pg_dump arguments (a subset of tables: -t, --exclude-table-data). */
  dumpArgs?: string[];
  /** false: no ANALYZE after a dump (a copy without rows, whose plans nobody measures). */
  analyze?: boolean;
  /**
   * The snapshot server is the source's own only because none was named: `auto` then
   * refuses to load a source that is in use with a full copy (see busySourceError).
   */
  serverDefaulted?: boolean;
}

export interface CreatedSnapshot {
  name: string;
  strategy: SnapshotStrategy;
  reason: string;
  seconds: number;
}

function describeServer(info: ConnectionInfo): string {
  return `${info.host}:${info.port}`;
}

/**
 * Creates the throwaway database. `auto` prefers a file-level copy (fast, exact, needs
 * the source on this server and idle) and falls back to a dump otherwise.
 */
export async function createSnapshot(
  request: SnapshotRequest,
  admin: pg.Client,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo | undefined,
): Promise<CreatedSnapshot> {
  const started = performance.now();
  const { name, log } = request;
  const sameServer = sourceInfo !== undefined && sourceInfo.identity === serverInfo.identity;
  if (await databaseExists(admin, name)) {
    throw new ConfigError(
      'snapshot-name',
      say`${opt('snapshot-name')}: a database named "${name}" already exists on ${describeServer(request.server)}; choose another name or drop it`,
    );
  }

  const { strategy, reason } =
    request.strategy === 'existing'
      ? await cloneGolden(request, admin, serverInfo)
      : await copySource(request, admin, serverInfo, sourceInfo, sameServer);
  // Settings belong to the database, not its contents: no copy carries them. `existing`
  // carries the golden snapshot's (which got the source's when it was made).
  const from = request.strategy === 'existing' ? (request.golden as string) : request.source!.database;
  const settings =
    strategy === 'dump'
      ? await onSource(request.source as ConnectionInfo, (c) => readDatabaseSettings(c, from))
      : await readDatabaseSettings(admin, from);
  await applyDatabaseSettings(admin, name, settings, log);
  return { name, strategy, reason, seconds: (performance.now() - started) / 1000 };
}

interface MadeCopy {
  strategy: SnapshotStrategy;
  reason: string;
}

/** `existing`: a clone of the golden snapshot, which must exist and be idle. */
async function cloneGolden(
  request: SnapshotRequest,
  admin: pg.Client,
  serverInfo: ServerInfo,
): Promise<MadeCopy> {
  const golden = request.golden as string;
  if (!(await databaseExists(admin, golden))) {
    throw new SetupError(
      say`the golden snapshot "${golden}" does not exist on ${describeServer(request.server)}; create it first (pg-rehearsal snapshot create) or use ${opt('snapshot', 'auto')}`,
    );
  }
  let method: CopyMethod;
  try {
    method = await copyTemplate(admin, serverInfo, golden, request.name, request, 'existing');
  } catch (error) {
    throw isBusyTemplate(error) ? busyTemplateError(golden) : error;
  }
  return { strategy: 'existing', reason: `cloned golden snapshot "${golden}" by ${method.description}` };
}

/** auto, template or dump: a copy of the source, by template when it can be, else by pg_dump | pg_restore. */
async function copySource(
  request: SnapshotRequest,
  admin: pg.Client,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo | undefined,
  sameServer: boolean,
): Promise<MadeCopy> {
  const { name, log } = request;
  const source = request.source as ConnectionInfo;
  let useTemplate = request.strategy === 'template';
  let reason = 'requested';
  if (request.strategy === 'template' && !sameServer) {
    throw new ConfigError(
      'snapshot',
      say`${opt('snapshot', 'template')} needs the snapshot server to be the source's server; ${describeServer(request.server)} is a different server. Use ${opt('snapshot', 'dump')} (or auto)`,
    );
  }
  if (request.strategy === 'auto') {
    if (!sameServer) {
      reason =
        'the snapshot server is not the source server, so the database is copied with pg_dump | pg_restore';
    } else {
      const { others, users } = await countSessions(admin, source.database);
      if (users > 0 && request.serverDefaulted) throw busySourceError(source, users);
      useTemplate = others === 0;
      reason = useTemplate
        ? `same server and no other session on the source: ${copyMethod(serverInfo).description}`
        : `same server, but ${others} other session(s) are connected to the source, which a template copy cannot allow; copied with pg_dump | pg_restore`;
    }
  }
  if (!useTemplate) {
    await dumpSnapshot(admin, serverInfo, source, name, request, sourceInfo as ServerInfo);
    return { strategy: 'dump', reason };
  }
  try {
    const method = await copyTemplate(admin, serverInfo, source.database, name, request, 'template');
    return { strategy: method.copyOnWrite ? 'clone' : 'template', reason };
  } catch (error) {
    // A session that connected to the source after our check makes CREATE DATABASE fail.
    if (request.strategy !== 'auto' || !isBusyTemplate(error)) throw error;
    const { users } = await countSessions(admin, source.database);
    if (users > 0 && request.serverDefaulted) throw busySourceError(source, users);
    log.info(`template copy refused (${errorMessage(error)}); falling back to pg_dump | pg_restore`);
    await dumpSnapshot(admin, serverInfo, source, name, request, sourceInfo as ServerInfo);
    return {
      strategy: 'dump',
      reason: 'a session connected to the source during the copy; fell back to pg_dump | pg_restore',
    };
  }
}

/**
 * A source in use on its own server is not copied by default: a full dump and restore there
 * costs its users throughput and the server's disk for the length of the copy.
 */
function busySourceError(source: ConnectionInfo, users: number): ConfigError {
  return new ConfigError(
    'snapshot-server-url',
    say`${opt('snapshot-server-url')}: the source database "${source.database}" on ${describeServer(source)} is in use (${users} other session(s)), and with no ${opt('snapshot-server-url')} the copy would be made on that same server, loading it for as long as the copy takes. Point ${opt('snapshot-server-url')} at a rehearsal server or a CI service container, or set ${opt('snapshot', 'dump')} to accept the load on the source's server`,
  );
}

function metadataFor(request: SnapshotRequest, strategy: SnapshotStrategy): SnapshotMetadata {
  const source = request.source;
  return {
    tool: 'pg-rehearsal',
    created_at: new Date().toISOString(),
    strategy,
    source: source ? { host: source.host, port: source.port, database: source.database } : null,
    run_id: request.runId,
    ttl_seconds: Math.round(request.ttlMs / 1000),
  };
}

async function copyTemplate(
  admin: pg.Client,
  serverInfo: ServerInfo,
  template: string,
  name: string,
  request: SnapshotRequest,
  kind: 'template' | 'existing',
): Promise<CopyMethod> {
  request.log.info(`creating snapshot "${name}" as a file copy of "${template}"`);
  const method = await cloneDatabase(admin, serverInfo, template, name, request.onDatabaseCreated);
  const strategy: SnapshotStrategy =
    kind === 'existing' ? 'existing' : method.copyOnWrite ? 'clone' : 'template';
  // The metadata goes on the new database only: a golden template is never written to.
  await writeMetadata(admin, name, metadataFor(request, strategy));
  return method;
}

async function dumpSnapshot(
  admin: pg.Client,
  serverInfo: ServerInfo,
  source: ConnectionInfo,
  name: string,
  request: SnapshotRequest,
  sourceInfo: ServerInfo,
): Promise<void> {
  const tools = findPgTools(sourceInfo.major, request.pgBinDir);
  request.log.info(`creating snapshot "${name}" with pg_dump ${tools.major} | pg_restore (${tools.pgDump})`);
  // The source's encoding and locale: sorting, case mapping and LIKE behave as there.
  const locale = await onSource(source, (c) => creationClause(c, source.database, serverInfo));
  try {
    await admin.query(
      `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${locale}${copyMethod(serverInfo).clause}`,
    );
  } catch (error) {
    throw new SetupError(
      `the snapshot server cannot create a database with the source's encoding and locale (${locale.trim()}): ${errorMessage(error)}; install that locale on the snapshot server or use a server like the source's`,
    );
  }
  request.onDatabaseCreated(name);
  // Metadata first: if the restore dies, the sweep still recognises the database.
  await writeMetadata(admin, name, metadataFor(request, 'dump'));
  const target = withDatabase(request.server, name);
  await dumpAndRestore(tools, source, target, {
    signal: request.signal,
    log: request.log,
    dumpArgs: request.dumpArgs,
  });
  if (request.analyze !== false) await analyzeDatabase(target);
}

/** Row estimates and plans should match the source's: a restore leaves no statistics. */
export async function analyzeDatabase(target: ConnectionInfo): Promise<void> {
  const client = await connect(target, { applicationName: 'pg-rehearsal-analyze' });
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

/** Drops a snapshot database, disconnecting anyone still on it. Safe to call twice. */
export async function dropSnapshot(admin: pg.Client, serverInfo: ServerInfo, name: string): Promise<void> {
  if (serverInfo.major >= 13) {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return;
  }
  await admin.query(TERMINATE_SESSIONS, [name]);
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

/** How long cleanup keeps trying to reach a snapshot server that went away mid-run. */
export const DROP_RETRY_MS = 15_000;

/**
 * Drops a snapshot even when the admin session died with its server (a restart mid-run):
 * reconnects and retries until `retryMs` has passed, so that a server which comes back in
 * time is left with nothing. Errors other than an unreachable server are not retried.
 */
export async function dropSnapshotReconnecting(
  admin: pg.Client,
  server: ConnectionInfo,
  serverInfo: ServerInfo,
  name: string,
  log: Logger,
  retryMs = DROP_RETRY_MS,
): Promise<void> {
  try {
    await dropSnapshot(admin, serverInfo, name);
    return;
  } catch (error) {
    if (!isConnectionLost(error)) throw error;
    log.warn(
      `lost the connection to the snapshot server (${errorMessage(error)}); retrying the drop of "${name}" for up to ${retryMs / 1000} s`,
    );
  }
  const deadline = Date.now() + retryMs;
  for (;;) {
    await sleep(500);
    let fresh: pg.Client | undefined;
    try {
      fresh = await connectMaintenance(server);
      await dropSnapshot(fresh, serverInfo, name);
      return;
    } catch (error) {
      // Connecting fails while the server is down or still starting up.
      const retriable = fresh === undefined || isConnectionLost(error);
      if (!retriable || Date.now() >= deadline) throw error;
    } finally {
      await fresh?.end().catch(() => undefined);
    }
  }
}

/** Drops expired snapshots that earlier runs left behind (killed runners, crashes). */
export async function sweepExpiredSnapshots(
  admin: pg.Client,
  serverInfo: ServerInfo,
  log: Logger,
): Promise<string[]> {
  const swept: string[] = [];
  for (const snapshot of await listSnapshotDatabases(admin)) {
    if (!snapshot.name.startsWith(SNAPSHOT_NAME_PREFIX) || !isExpired(snapshot.metadata)) continue;
    try {
      await dropSnapshot(admin, serverInfo, snapshot.name);
      swept.push(snapshot.name);
      log.info(`swept expired snapshot "${snapshot.name}" (created ${snapshot.metadata.created_at})`);
    } catch (error) {
      log.warn(`could not sweep expired snapshot "${snapshot.name}": ${errorMessage(error)}`);
    }
  }
  return swept;
}

export { inspectServer };
