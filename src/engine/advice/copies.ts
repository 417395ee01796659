import type pg from 'pg';
import { generateSnapshotName, type RehearsalConfig } from '../config.js';
import { withDatabase, type ConnectionInfo } from '../connection.js';
import type { Logger } from '../logger.js';
import type { SnapshotStrategy } from '../report.js';
import type { ServerInfo } from '../snapshot/server.js';
import { createSnapshot, dropSnapshot } from '../snapshot/snapshot.js';

export interface CopySource {
  admin: pg.Client;
  serverInfo: ServerInfo;
  sourceInfo: ServerInfo | undefined;
  config: RehearsalConfig;
  /** How the run's own snapshot was made: the copies are made the same way, from the same origin. */
  strategy: SnapshotStrategy;
  signal: AbortSignal;
  log: Logger;
}

/**
 * Fresh copies of the database as it was before the migrations, for rehearsing safer
 * forms: made exactly as the run's snapshot was (a file copy or clone of the source, a
 * clone of the golden snapshot, or a dump), named and labelled like any snapshot so the
 * sweep finds one a crash left behind.
 */
export function snapshotCopier(from: CopySource) {
  return async (): Promise<{ connection: ConnectionInfo; drop: () => Promise<void> }> => {
    const { config, admin, serverInfo } = from;
    if (from.strategy === 'reused')
      throw new Error('the run reused a database as it was; there is nothing to copy');
    const name = generateSnapshotName(config.runId);
    let created = false;
    const drop = () => dropSnapshot(admin, serverInfo, name);
    try {
      await createSnapshot(
        {
          source: config.source,
          server: config.snapshotServer,
          strategy: from.strategy === 'clone' ? 'template' : from.strategy,
          name,
          golden: config.snapshot.name,
          runId: config.runId,
          ttlMs: config.snapshot.ttlMs,
          pgBinDir: config.pgBinDir,
          signal: from.signal,
          log: from.log,
          onDatabaseCreated: () => (created = true),
        },
        admin,
        serverInfo,
        from.sourceInfo,
      );
    } catch (error) {
      if (created) await drop().catch(() => undefined);
      throw error;
    }
    return { connection: withDatabase(config.snapshotServer, name), drop };
  };
}
