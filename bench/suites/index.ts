import type { Suite } from '../lib.js';

/** Every benchmark suite, in the order `npm run bench` runs them. */
export const SUITES: Suite[] = [];
