import * as core from '@actions/core';

/**
 * What the main step tells the post step (core.saveState): the snapshot it created and
 * whether it already dropped it. Names only; the post step re-reads the URL inputs.
 */
const SNAPSHOT_KEY = 'snapshot-name';
const DROPPED_KEY = 'snapshot-dropped';

export function rememberSnapshotCreated(name: string): void {
  core.saveState(SNAPSHOT_KEY, name);
}

export function rememberSnapshotDropped(): void {
  core.saveState(DROPPED_KEY, 'true');
}

/** The snapshot the main step created and did not drop, if any. */
export function snapshotLeftByMain(): string | undefined {
  const name = core.getState(SNAPSHOT_KEY);
  if (!name || core.getState(DROPPED_KEY) === 'true') return undefined;
  return name;
}
