/**
 * `npm run test:unit`: the tests that need no server (files named `*.unit.test.ts`), with
 * no global setup, so they run in seconds with no database reachable. `npm test` runs them
 * too, with everything else.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/__tests__/**/*.unit.test.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
