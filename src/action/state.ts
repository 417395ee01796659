import * as core from '@actions/core';
import { SNAPSHOT_NAME_PREFIX } from '../engine/config.js';

/**
 * What the main step tells the post step (core.saveState): the snapshot it created and
 * whether it already dropped it, and the other databases it made for a while and has not
 * dropped yet (a dry pass's copy, advice's copies). Names only; the post step re-reads
 * the URL inputs.
 */
const SNAPSHOT_KEY = 'snapshot-name';
const DROPPED_KEY = 'snapshot-dropped';
const SCRATCH_KEY = 'scratch-databases';

/** The scratch databases that exist now; saved whole at each change (the last save wins). */
const scratch = new Set<string>();

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

export function rememberScratchCreated(name: string): void {
  scratch.add(name);
  core.saveState(SCRATCH_KEY, JSON.stringify([...scratch]));
}

export function rememberScratchDropped(name: string): void {
  scratch.delete(name);
  core.saveState(SCRATCH_KEY, JSON.stringify([...scratch]));
}

/** The scratch databases the main step made and did not drop. Only pg-rehearsal's own names are trusted. */
export function scratchLeftByMain(): string[] {
  const saved = core.getState(SCRATCH_KEY);
  if (!saved) return [];
  let names: unknown;
  try {
    names = JSON.parse(saved);
  } catch {
    return []; // never written by us: the snapshot is still dropped, the sweep does the rest
  }
  return Array.isArray(names)
    ? names.filter((n): n is string => typeof n === 'string' && n.startsWith(SNAPSHOT_NAME_PREFIX))
    : [];
}
