import { generateSnapshotName, type RehearsalConfig } from '../config.js';
import { withDatabase, type ConnectionInfo } from '../connection.js';
import type { Logger } from '../logger.js';
import { createdSnapshotProvider, type ScratchHooks } from '../rehearsal/snapshot-lease.js';
import type { Preflight } from '../rehearsal/preflight.js';
import type { SnapshotStrategy } from '../report.js';
import { dropSnapshot } from '../snapshot/snapshot.js';

export interface CopySource {
  pre: Preflight;
  config: RehearsalConfig;
  /** How the run's own snapshot was made: the copies are made the same way, from the same origin. */
  strategy: SnapshotStrategy;
  cancel: AbortSignal;
  log: Logger;
  /** A focused snapshot's pg_dump arguments: the copies get the same rows. */
  dumpArgs?: string[];
  /** Told when a copy exists and when it is gone. */
  scratch: ScratchHooks;
}

/**
 * Fresh copies of the database as it was before the migrations, for rehearsing safer
 * forms: made by the run's own snapshot provider, the way the run's snapshot was made (a
 * file copy or clone of the source, a clone of the golden snapshot, or a dump; an `auto`
 * choice pinned to what it chose), named and labelled like any snapshot so that the sweep
 * finds one a crash left behind.
 */
export function snapshotCopier(from: CopySource) {
  return async (): Promise<{ connection: ConnectionInfo; drop: () => Promise<void> }> => {
    const { config, pre } = from;
    const { snapshot } = config;
    if (snapshot.kind === 'reuse')
      throw new Error('the run reused a database as it was; there is nothing to copy');
    const pinned: RehearsalConfig =
      snapshot.kind === 'copy' && snapshot.strategy === 'auto'
        ? { ...config, snapshot: { ...snapshot, strategy: from.strategy === 'dump' ? 'dump' : 'template' } }
        : config;
    const name = generateSnapshotName(config.runId);
    let created = false;
    const drop = async () => {
      await dropSnapshot(pre.admin, pre.serverInfo, name);
      from.scratch.dropped(name);
    };
    try {
      await createdSnapshotProvider.acquire({
        ...pre,
        config: pinned,
        name,
        log: from.log,
        cancel: from.cancel,
        onDatabaseCreated: () => {
          created = true;
          from.scratch.created(name);
        },
        dumpArgs: from.dumpArgs,
        scratch: from.scratch,
      });
    } catch (error) {
      if (created) await drop().catch(() => undefined);
      throw error;
    }
    return { connection: withDatabase(config.snapshotServer, name), drop };
  };
}
