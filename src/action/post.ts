import * as core from '@actions/core';
import { connect, redactUrlString } from '../engine/connection.js';
import { errorMessage } from '../engine/errors.js';
import { dropSnapshot, inspectServer } from '../engine/snapshot/snapshot.js';
import { configFromInputs, maskSecrets, readInputs } from './inputs.js';
import { keepsSnapshot } from '../engine/config.js';
import { snapshotLeftByMain } from './state.js';

/**
 * The post step: runs even when the job was cancelled or the main step was killed, and
 * drops the snapshot the main step created but could not drop. A no-op otherwise.
 */
async function post(): Promise<void> {
  const name = snapshotLeftByMain();
  if (!name) return;
  const raw = readInputs();
  maskSecrets(raw);
  const config = configFromInputs(raw);
  if (keepsSnapshot(config.snapshot)) {
    core.info(`keep-snapshot is set: leaving snapshot "${name}" in place`);
    return;
  }
  const admin = await connect(config.snapshotServer, { applicationName: 'pg-rehearsal-post' });
  try {
    await dropSnapshot(admin, await inspectServer(admin), name);
    core.info(`dropped snapshot "${name}" left by the main step`);
  } finally {
    await admin.end();
  }
}

post().catch((error: unknown) => {
  // Cleanup failing must not hide the rehearsal's own result; the orphan sweep retries.
  core.warning(
    `could not drop the snapshot: ${redactUrlString(errorMessage(error))}; the next run sweeps it after its TTL`,
  );
});
