import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/embedded/postgres.js';
import { buildConfig } from '../src/engine/config.js';
import { parseConnectionUrl } from '../src/engine/connection.js';
import { rehearse } from '../src/engine/rehearse.js';
import { cloneSnapshotOn, createGoldenSnapshotOn } from '../src/engine/snapshot/golden-on.js';
import { migrationDir } from './helpers/rehearsal.js';
import { createDatabase, fingerprint, query, withDatabase } from './helpers/servers.js';
import { createReflinkVolume, usedBytes, type ReflinkVolume } from './helpers/xfs-volume.js';

/**
 * PostgreSQL 18 with `file_copy_method = clone`, its data directory on a loop-mounted XFS
 * with reflink: CREATE DATABASE ... STRATEGY FILE_COPY then shares blocks instead of
 * copying them. Needs root (CI runs as root); anywhere else this fails and says why.
 */
const BIG = `
CREATE TABLE big (id int PRIMARY KEY, pad text);
INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 120000) g;
ANALYZE;`;

describe('copy-on-write clones (PostgreSQL 18, XFS reflink)', () => {
  let volume: ReflinkVolume | undefined;
  let server: EmbeddedServer | undefined;

  beforeAll(async () => {
    volume = await createReflinkVolume(2 * 1024 ** 3);
    server = await startEmbeddedPostgres({
      baseDir: volume.mountPoint,
      settings: { file_copy_method: 'clone' },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await volume?.dispose();
  });

  it('clones a golden snapshot without copying its blocks, and reports copy-on-write', async () => {
    const s = server as EmbeddedServer;
    expect(s.major).toBeGreaterThanOrEqual(18);
    const sourceUrl = await createDatabase(s.url, BIG, 'cow');
    const [{ size }] = await query<{ size: string }>(
      sourceUrl,
      `SELECT pg_database_size(current_database()) AS size`,
    );
    expect(Number(size)).toBeGreaterThan(40 * 1024 ** 2);

    const golden = await createGoldenSnapshotOn({
      source: parseConnectionUrl(sourceUrl, 'source-url'),
      name: 'golden_cow',
    });
    expect(golden.metadata.strategy).toBe('clone');
    expect(golden.reason).toMatch(/copy-on-write/);

    // A clone of some tens of MB takes (almost) no new space: the blocks are shared.
    const mount = (volume as ReflinkVolume).mountPoint;
    const usedBefore = usedBytes(mount);
    const clone = await cloneSnapshotOn(parseConnectionUrl(s.url, 'server'), 'golden_cow', 'cow_clone');
    const grown = usedBytes(mount) - usedBefore;
    expect(clone.method.copyOnWrite).toBe(true);
    expect(grown).toBeLessThan(Number(size) / 4);
    expect(clone.seconds).toBeLessThan(10); // generous: the machine is shared
    expect(await fingerprint(withDatabase(s.url, 'cow_clone'))).toBe(await fingerprint(sourceUrl));

    // The control: the same copy with file_copy_method = copy does take the space.
    const client = new pg.Client({ connectionString: s.url });
    await client.connect();
    try {
      const beforeCopy = usedBytes(mount);
      await client.query('SET file_copy_method = copy');
      await client.query('CREATE DATABASE plain_copy TEMPLATE golden_cow STRATEGY FILE_COPY');
      expect(usedBytes(mount) - beforeCopy).toBeGreaterThan(Number(size) / 2);
    } finally {
      await client.end();
    }

    // A rehearsal on the golden snapshot says how it was cloned.
    const report = await rehearse(
      buildConfig({
        'snapshot-server-url': s.url,
        snapshot: 'existing',
        'snapshot-name': 'golden_cow',
        migrations: '*.sql',
        'working-directory': migrationDir({ '001.sql': 'ALTER TABLE big ADD COLUMN flag bool;' }),
      }),
    );
    expect(report.success).toBe(true);
    expect(report.snapshot).toMatchObject({ strategy: 'existing' });
    expect(report.snapshot!.reason).toMatch(/copy-on-write clone \(PostgreSQL 18 file_copy_method = clone/);

    // auto on the same server picks the copy-on-write clone and names it so.
    const auto = await rehearse(
      buildConfig({
        'source-url': sourceUrl,
        migrations: '*.sql',
        'working-directory': migrationDir({ '001.sql': 'CREATE INDEX ON big (pad);' }),
      }),
    );
    expect(auto.snapshot).toMatchObject({ strategy: 'clone' });
    expect(auto.snapshot!.reason).toMatch(/copy-on-write/);
  });
});
