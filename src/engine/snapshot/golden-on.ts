import type pg from 'pg';
import type { ConnectionInfo } from '../connection.js';
import {
  cloneSnapshot,
  createGoldenSnapshot,
  type CloneResult,
  type CreateGoldenOptions,
  type CreatedGolden,
} from './golden.js';
import { connectMaintenance, inspectServer, inspectSource, type ServerInfo } from './server.js';

/* The golden-snapshot operations of golden.ts in one call each, opening the connection themselves. */

/** Opens what the golden-snapshot functions need: the snapshot server's admin connection and its facts. */
export async function openSnapshotServer(
  server: ConnectionInfo,
): Promise<{ admin: pg.Client; serverInfo: ServerInfo; close: () => Promise<void> }> {
  const admin = await connectMaintenance(server);
  try {
    const serverInfo = await inspectServer(admin);
    return { admin, serverInfo, close: () => admin.end().catch(() => undefined) };
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw error;
  }
}

/**
 * One call for scripts and benchmarks: create (or replace) a golden snapshot of `source`
 * on `server` (default: the source's server).
 */
export async function createGoldenSnapshotOn(
  options: CreateGoldenOptions & { server?: ConnectionInfo },
): Promise<CreatedGolden> {
  const server = options.server ?? { ...options.source, database: 'postgres' };
  const sourceInfo = await inspectSource(options.source);
  const { admin, serverInfo, close } = await openSnapshotServer(server);
  try {
    return await createGoldenSnapshot(admin, server, serverInfo, sourceInfo, options);
  } finally {
    await close();
  }
}

/** One call for scripts and benchmarks: clone golden snapshot `name` into a new database `to`. */
export async function cloneSnapshotOn(
  server: ConnectionInfo,
  name: string,
  to: string,
): Promise<CloneResult> {
  const { admin, serverInfo, close } = await openSnapshotServer(server);
  try {
    return await cloneSnapshot(admin, serverInfo, name, to);
  } finally {
    await close();
  }
}
