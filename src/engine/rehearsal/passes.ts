import { round } from '../report-builder.js';
import { MAX_PASSES } from './focused-snapshot.js';
import { observeAndRun, type RunInputs, type RunMeasurements } from './run.js';

/*
 * Stage 4 around a focused snapshot: a run that locked a table whose rows were not copied
 * (a path that depends on data, which the dry pass on an empty copy could not take) has
 * the snapshot made again with that table's rows, and runs again; at most MAX_PASSES runs.
 * Any other snapshot runs once. The last pass is the one reported. Each pass has the
 * whole timeout (inputs.signal fires with it); the dump between two passes counts against none.
 */
export async function runPasses(
  inputs: RunInputs,
  timeout: { arm: () => void; disarm: () => void },
): Promise<RunMeasurements> {
  const { lease, log, phases, signal } = inputs;
  const focus = lease.focus;
  const pass = async () => {
    timeout.arm();
    try {
      return await observeAndRun(inputs);
    } finally {
      timeout.disarm();
    }
  };
  let run = await pass();
  while (focus && !run.cancelled && !run.failure?.connection_lost) {
    const missing = focus.missing(run);
    if (missing.length === 0) break;
    if (focus.passes >= MAX_PASSES || signal.aborted) {
      const why = signal.aborted ? 'the run was stopped' : `that was the last of ${MAX_PASSES} passes`;
      log.warn(
        `pass ${focus.passes} locked ${missing.join(', ')} without their rows, and ${why}: the report is of this run, which did not see them`,
      );
      focus.giveUp(missing);
      break;
    }
    log.info(
      `pass ${focus.passes} locked ${missing.join(', ')}, whose rows were not copied: copying them and running again`,
    );
    const started = performance.now();
    await focus.widen(missing);
    phases.snapshot = round(phases.snapshot + performance.now() - started);
    run = await pass();
  }
  return run;
}
