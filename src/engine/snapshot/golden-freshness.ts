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
 * created afresh from the source, under a lock of its own for refreshing.
 */

export interface GoldenFreshness {
  outcome: 'fresh' | 'created' | 'refreshed';
  /** The metadata of the golden snapshot found (absent when there was none). */
  found?: SnapshotMetadata;
  /** The metadata of the golden snapshot in place now. */
  current: SnapshotMetadata;
}

/**
 * The advisory lock one refresh of golden snapshot `name` holds while it decides and
 * builds. It is not the snapshot's own lock (`withDatabaseLock(admin, name)`), which clones
 * and the swap take for a moment each: a run that only clones the snapshot in place does
 * not wait for a build that can take minutes, and the swap at its end waits only for
 * clones under way.
 */
export function refreshLockKey(name: string): string {
  return `refresh of ${name}`;
}

/**
 * With `--snapshot-max-age`: makes sure the golden snapshot exists and is younger than
 * `maxAgeMs`, creating it afresh from the source otherwise. Holds the refresh lock
 * throughout, so concurrent refreshes build it once: the others wait, then find it fresh.
 */
export async function ensureFreshGolden(
  admin: pg.Client,
  server: ConnectionInfo,
  serverInfo: ServerInfo,
  sourceInfo: ServerInfo,
  options: CreateGoldenOptions & { maxAgeMs: number },
): Promise<GoldenFreshness> {
  const log = options.log ?? silentLogger;
  return withDatabaseLock(admin, refreshLockKey(options.name), async () => {
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
