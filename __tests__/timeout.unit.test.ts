import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { passTimeout } from '../src/engine/rehearsal/timeout.js';

describe('the timeout of a run of several passes', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('gives each pass the whole timeout and counts nothing between passes', () => {
    jest.useFakeTimers();
    const timeout = passTimeout(1000);
    timeout.arm(); // pass 1
    jest.advanceTimersByTime(900);
    timeout.disarm(); // the snapshot is made again: 5 s that must not count
    jest.advanceTimersByTime(5000);
    expect(timeout.signal.aborted).toBe(false);
    timeout.arm(); // pass 2: a whole second again
    jest.advanceTimersByTime(900);
    expect(timeout.signal.aborted).toBe(false);
    jest.advanceTimersByTime(100);
    expect(timeout.signal.aborted).toBe(true);
    timeout.disarm();
    expect(timeout.signal.aborted).toBe(true); // once fired, it stays fired
  });
});
