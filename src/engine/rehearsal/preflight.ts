import type pg from 'pg';
import { namedDatabase, type RehearsalConfig } from '../config.js';
import { ConfigError, SetupError, wordingOf } from '../errors.js';
import { findPgTools } from '../snapshot/pg-tools.js';
import { connectMaintenance, inspectServer, inspectSource, type ServerInfo } from '../snapshot/server.js';
import { dumpsSource, type RehearsalPlan } from './plan.js';
import { opt, say } from '../wording.js';

/*
 * Stage 2, preflight: everything that can be wrong is found before a database is created.
 * See docs/architecture.md.
 */

export interface Preflight {
  /** The snapshot server's maintenance connection; the snapshot lease ends it. */
  admin: pg.Client;
  serverInfo: ServerInfo;
  /** Present whenever the config names a source. */
  sourceInfo?: ServerInfo;
}

/** Inspects the source and the snapshot server; on any error nothing is left open. */
export async function preflight(config: RehearsalConfig, plan: RehearsalPlan): Promise<Preflight> {
  // The source is inspected whenever it is named, if only to make sure we never run on it.
  let sourceInfo: ServerInfo | undefined;
  if (config.source) {
    sourceInfo = await inspectSource(config.source).catch((error: unknown) => {
      throw new SetupError(say`${opt('source-url')}: ${wordingOf(error)}`);
    });
  }
  const admin = await connectMaintenance(config.snapshotServer).catch((error: unknown) => {
    throw new SetupError(say`${opt('snapshot-server-url')}: ${wordingOf(error)}`);
  });
  try {
    const serverInfo = await inspectServer(admin);
    checkSnapshotServer(config, plan, serverInfo, sourceInfo);
    return { admin, serverInfo, sourceInfo };
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw error;
  }
}

function checkSnapshotServer(
  config: RehearsalConfig,
  plan: RehearsalPlan,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo | undefined,
): void {
  const sameServerAsSource = sourceInfo?.identity === serverInfo.identity;
  if (config.snapshot.kind !== 'reuse' && !serverInfo.canCreateDatabases) {
    throw new SetupError(
      say`${opt('snapshot-server-url')}: role "${serverInfo.user}" cannot create databases on the snapshot server ${config.snapshotServer.host}:${config.snapshotServer.port}; grant it (ALTER ROLE "${serverInfo.user}" CREATEDB) or use another ${opt('snapshot-server-url')}`,
    );
  }
  if (
    sameServerAsSource &&
    config.source &&
    (plan.snapshotName === config.source.database ||
      namedDatabase(config.snapshot) === config.source.database)
  ) {
    throw new ConfigError(
      'snapshot-name',
      say`${opt('snapshot-name')}: "${config.source.database}" is the source database itself; a rehearsal never runs on the source, clones it as a golden snapshot or replaces it. Choose another name`,
    );
  }
  // A dump needs pg_dump able to read the source: find out now, not after creating a database.
  if (dumpsSource(config, sameServerAsSource) && sourceInfo) {
    try {
      findPgTools(sourceInfo.major, config.pgBinDir);
    } catch (error) {
      throw new SetupError(say`${opt(config.pgBinDir ? 'pg-bin-dir' : 'snapshot')}: ${wordingOf(error)}`);
    }
  }
}
