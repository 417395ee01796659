import type { RehearsalConfig } from './config.js';
import { redactorFor } from './connection.js';
import {
  CancelledError,
  SetupError,
  errorMessage,
  isProgrammingError,
  isUsageOrSetupError,
} from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { redactError, redactingLogger, redactReport } from './redact.js';
import type { Report } from './report.js';
import { adviseReport, resolveAdviceMode } from './advice/index.js';
import { snapshotCopier } from './advice/copies.js';
import { buildReport, judge, round, type ReportInputs } from './report-builder.js';
import { planRehearsal, type RehearsalPlan } from './rehearsal/plan.js';
import { refreshOnly } from './rehearsal/golden-refresh.js';
import { preflight, type Preflight } from './rehearsal/preflight.js';
import { runPasses } from './rehearsal/passes.js';
import { passTimeout } from './rehearsal/timeout.js';
import { leaseSnapshot, type SnapshotLease } from './rehearsal/snapshot-lease.js';

export { resolveMigrationFiles } from './rehearsal/plan.js';

export interface RehearsalHooks {
  log?: Logger;
  /** Aborting cancels the migration in flight and cleans up. */
  signal?: AbortSignal;
  /** Called as soon as the snapshot database exists (the Action saves it for its post step). */
  onSnapshotCreated?: (name: string) => void;
  /** Called once the snapshot is gone, so the post step knows there is nothing left. */
  onSnapshotDropped?: (name: string) => void | Promise<void>;
  /** The same for the other databases a run makes for a while (a dry pass's copy, advice's copies). */
  onScratchCreated?: (name: string) => void;
  onScratchDropped?: (name: string) => void;
}

/**
 * The whole rehearsal: snapshot, measure, migrate, measure, judge, clean up.
 * Throws ConfigError/SetupError for problems found before anything ran, and
 * CancelledError for a cancel before the migrations started; every other outcome
 * (success, migration error, lost connection, breach, cancel, timeout) is a Report.
 *
 * No password leaves this function: log lines, error messages and every string of the
 * report have URL passwords and the literal passwords of the run's URLs replaced by `***`.
 */
export async function rehearse(config: RehearsalConfig, hooks: RehearsalHooks = {}): Promise<Report> {
  const redact = redactorFor(config.source, config.snapshotServer);
  const log = redactingLogger(hooks.log ?? silentLogger, redact);
  try {
    return redactReport(await rehearseUnredacted(config, { ...hooks, log }), redact);
  } catch (error) {
    throw redactError(error, redact);
  }
}

async function rehearseUnredacted(config: RehearsalConfig, hooks: RehearsalHooks & { log: Logger }) {
  const { log } = hooks;
  const startedAt = new Date();
  const phases: Report['phases_ms'] = {
    snapshot: 0,
    catalog_before: 0,
    migrate: 0,
    catalog_after: 0,
    cleanup: 0,
  };
  const plan = planRehearsal(config);
  const report = { config, startedAt, phases, skipped: plan.skipped };
  if (plan.nothingToRun) {
    // Nothing to rehearse (no migration changed): no snapshot, a passing report that says so.
    log.info(
      `no migration to run: ${plan.skipped.length} file(s) matched, none selected (${plan.skipped[0]?.reason})`,
    );
    return idleReport(report, config);
  }
  // A cancel (a signal, Ctrl-C) applies to every step; the timeout to the migration run only.
  const cancel = hooks.signal ?? new AbortController().signal;
  const pre = await preflight(config, plan);
  if (config.runner.kind === 'none') {
    // A refresh-only run: the golden snapshot made fresh, nothing migrated.
    const goldenRefresh = await refreshOnly(config, pre, { log, cancel });
    return idleReport({ ...report, serverInfo: pre.serverInfo, goldenRefresh }, config);
  }
  const lease = await leaseSnapshot(config, plan, pre, { ...hooks, log, cancel });
  phases.snapshot = lease.ms;
  const timeout = passTimeout(config.timeoutMs);
  const signal = AbortSignal.any([cancel, timeout.signal]);
  try {
    const run = await runPasses(
      { config, plan, lease, admin: pre.admin, signal, cancel: hooks.signal, log, phases },
      timeout,
    );
    // `phases` is shared with the report, so the cleanup time measured in `finally` lands in it.
    const judged = judge(
      buildReport({
        ...report,
        serverInfo: pre.serverInfo,
        snapshot: lease.info,
        goldenRefresh: lease.goldenRefresh,
        migrations: run.migrations,
        failure: run.failure,
        cancelled: run.cancelled,
        locks: run.runner.locks(),
        runner: run.runner.describe(),
        traffic: run.traffic,
        before: config.metrics ? run.before : undefined,
        after: run.after,
      }),
      config,
    );
    await advise(judged, config, { plan, pre, lease, cancel, log, phases });
    return judged;
  } catch (error) {
    if (isUsageOrSetupError(error) || isProgrammingError(error)) throw error;
    // A cancel that interrupted a query outside the runner (the catalog before, the probes).
    if (signal.aborted)
      throw new CancelledError(`cancelled before the migrations ran (${errorMessage(error)})`);
    throw new SetupError(`the rehearsal failed on the snapshot: ${errorMessage(error)}`);
  } finally {
    timeout.disarm();
    const t = performance.now();
    await lease.release();
    phases.cleanup = round(performance.now() - t);
  }
}

/** The report of a run that ran no migration (none selected, or a refresh-only run): it passes. */
function idleReport(
  inputs: Omit<ReportInputs, 'migrations' | 'failure' | 'cancelled' | 'locks' | 'before' | 'after'>,
  config: RehearsalConfig,
): Report {
  return judge(
    buildReport({
      ...inputs,
      migrations: [],
      failure: undefined,
      cancelled: false,
      locks: [],
      before: undefined,
      after: undefined,
    }),
    config,
  );
}

/**
 * Stage 7, advice: safer forms of the risky statements, rehearsed on fresh copies made by
 * the same provider as the snapshot, before the snapshot is released.
 */
async function advise(
  report: Report,
  config: RehearsalConfig,
  run: {
    plan: RehearsalPlan;
    pre: Preflight;
    lease: SnapshotLease;
    cancel: AbortSignal;
    log: Logger;
    phases: Report['phases_ms'];
  },
): Promise<void> {
  const { pre, lease, cancel, log } = run;
  const started = performance.now();
  report.advice = await adviseReport(report, {
    mode: resolveAdviceMode(config.advice, lease.info.strategy),
    layout: run.plan.layout,
    workingDirectory: config.workingDirectory,
    signal: cancel,
    log,
    freshCopy: snapshotCopier({
      pre,
      config,
      strategy: lease.info.strategy,
      cancel,
      log,
      dumpArgs: lease.focus?.dumpArgs(),
      scratch: lease.scratch,
    }),
  });
  if (report.advice.some((a) => a.measured.alternative))
    run.phases.advice = round(performance.now() - started);
}
