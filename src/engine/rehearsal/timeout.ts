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
