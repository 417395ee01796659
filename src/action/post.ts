import * as core from '@actions/core';
import type pg from 'pg';
import { connect, redactUrlString } from '../engine/connection.js';
import { errorMessage } from '../engine/errors.js';
import type { ServerInfo } from '../engine/snapshot/server.js';
import { dropSnapshot, inspectServer } from '../engine/snapshot/snapshot.js';
import { configFromInputs, maskSecrets, readInputs } from './inputs.js';
import { keepsSnapshot } from '../engine/config.js';
import { scratchLeftByMain, snapshotLeftByMain } from './state.js';

/**
 * The post step: runs even when the job was cancelled or the main step was killed, and
 * drops what the main step created but could not drop: its snapshot (unless kept), and the
 * copies it made for a while (a dry pass's, advice's). A no-op otherwise.
 */
async function post(): Promise<void> {
  const snapshot = snapshotLeftByMain();
  const scratch = scratchLeftByMain();
  if (!snapshot && scratch.length === 0) return;
  const raw = readInputs();
  maskSecrets(raw);
  const config = configFromInputs(raw);
  const drop: string[] = [...scratch];
  if (snapshot && keepsSnapshot(config.snapshot))
    core.info(`keep-snapshot is set: leaving snapshot "${snapshot}" in place`);
  else if (snapshot) drop.push(snapshot);
  if (drop.length === 0) return;
  const admin = await connect(config.snapshotServer, { applicationName: 'pg-rehearsal-post' });
  try {
    const serverInfo = await inspectServer(admin);
    for (const name of drop) await dropLeftOver(admin, serverInfo, name, name === snapshot);
  } finally {
    await admin.end();
  }
}

async function dropLeftOver(
  admin: pg.Client,
  serverInfo: ServerInfo,
  name: string,
  isSnapshot: boolean,
): Promise<void> {
  const what = isSnapshot ? 'snapshot' : 'copy';
  try {
    await dropSnapshot(admin, serverInfo, name);
    core.info(`dropped ${what} "${name}" left by the main step`);
  } catch (error) {
    // One that cannot be dropped must not keep the others; the orphan sweep retries.
    core.warning(
      `could not drop the ${what} "${name}": ${redactUrlString(errorMessage(error))}; the next run sweeps it after its TTL`,
    );
  }
}

post().catch((error: unknown) => {
  // Cleanup failing must not hide the rehearsal's own result; the orphan sweep retries.
  core.warning(
    `could not drop what the main step left: ${redactUrlString(errorMessage(error))}; the next run sweeps it after its TTL`,
  );
});
