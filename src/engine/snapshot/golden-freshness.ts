import type pg from 'pg';
import type { ConnectionInfo } from '../connection.js';
import { SetupError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { opt, say } from '../wording.js';
import { withDatabaseLock } from './clone.js';
import { createGoldenSnapshot, type CreateGoldenOptions } from './golden.js';
import { readMetadata, type SnapshotMetadata } from './metadata.js';
import { databaseExists, type ServerInfo } from './server.js';

/*
 * A golden snapshot kept younger than a maximum age (snapshot-max-age): found fresh, or
 * created afresh from the source, under the snapshot's lock.
 */

export interface GoldenFreshness {
  outcome: 'fresh' | 'created' | 'refreshed';
  /** The metadata of the golden snapshot found (absent when there was none). */
  found?: SnapshotMetadata;
  /** The metadata of the golden snapshot in place now. */
  current: SnapshotMetadata;
}

/**
 * With `--snapshot-max-age`: makes sure the golden snapshot exists and is younger than
 * `maxAgeMs`, creating it afresh from the source otherwise. Holds the snapshot's lock
 * throughout, so concurrent runs build it once and the others clone the fresh one.
 */
export async function ensureFreshGolden(
  admin: pg.Client,
  server: ConnectionInfo,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo,
  options: CreateGoldenOptions & { maxAgeMs: number },
): Promise<GoldenFreshness> {
  const log = options.log ?? silentLogger;
  return withDatabaseLock(admin, options.name, async () => {
    const found = await readMetadata(admin, options.name);
    const exists = found !== undefined || (await databaseExists(admin, options.name));
    if (exists && !found) {
      throw new SetupError(
        say`${opt('snapshot-max-age')}: database "${options.name}" exists but is not a pg-rehearsal snapshot (no metadata in its COMMENT), so it is never replaced; name another golden snapshot, or create it with pg-rehearsal snapshot create`,
      );
    }
    const age = found ? Date.now() - Date.parse(found.created_at) : Infinity;
    if (found && age <= options.maxAgeMs) return { outcome: 'fresh', found, current: found };
    log.info(
      found
        ? `golden snapshot "${options.name}" is older than the snapshot max age (created ${found.created_at}): creating it afresh`
        : `golden snapshot "${options.name}" does not exist: creating it from the source`,
    );
    const created = await createGoldenSnapshot(admin, server, serverInfo, sourceInfo, {
      ...options,
      replace: true,
    });
    return { outcome: found ? 'refreshed' : 'created', found, current: created.metadata };
  });
}
