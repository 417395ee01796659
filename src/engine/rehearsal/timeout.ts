/**
 * The migration run's own timer. Not AbortSignal.timeout(): held only weakly by
 * AbortSignal.any, it can be garbage collected before it fires (nodejs/node#57736),
 * and the timeout would never come.
 */
export function armTimeout(ms: number): { signal: AbortSignal; disarm: () => void } {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('timeout')), ms);
  return { signal: timeout.signal, disarm: () => clearTimeout(timer) };
}

/**
 * The same timer for a run of several passes (a focused snapshot made again between
 * them): armed for each pass, so that every pass has the whole timeout and the dump that
 * widens the snapshot between two passes counts against none. Once it fired, it stays fired.
 */
export function passTimeout(ms: number): { signal: AbortSignal; arm: () => void; disarm: () => void } {
  const timeout = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = () => clearTimeout(timer);
  return {
    signal: timeout.signal,
    arm: () => {
      disarm();
      timer = setTimeout(() => timeout.abort(new Error('timeout')), ms);
    },
    disarm,
  };
}
