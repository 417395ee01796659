import type { Suite } from '../lib.js';
import { catalogCaptureSuite } from './catalog-capture.js';
import { lockPrecisionSuite } from './lock-precision.js';
import { observeSuite } from './observe.js';
import { proxySuite } from './proxy.js';
import { snapshotSuite } from './snapshot.js';
import { focusedSnapshotSuite } from './snapshot-focused.js';

/** Every benchmark suite, in the order `npm run bench` runs them. */
export const SUITES: Suite[] = [
  observeSuite,
  proxySuite,
  lockPrecisionSuite,
  catalogCaptureSuite,
  snapshotSuite,
  focusedSnapshotSuite,
];
