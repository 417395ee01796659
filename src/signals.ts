/**
 * SIGINT and SIGTERM (Ctrl-C, `kill`, a CI runner cancelling the job) abort the returned
 * signal: the engine then cancels the migration in flight and drops the snapshot before
 * the process exits. A repeated signal changes nothing: the cleanup is already under way.
 */
export function cancelOnSignals(onSignal: (signal: NodeJS.Signals) => void): AbortSignal {
  const controller = new AbortController();
  const cancel = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    onSignal(signal);
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', cancel);
  process.on('SIGTERM', cancel);
  return controller.signal;
}
