import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { captureCatalog, type CatalogSnapshot } from '../catalog.js';
import { captureSchema } from '../schema.js';
import type { RehearsalConfig } from '../config.js';
import { connect, isConnectionLost } from '../connection.js';
import { CancelledError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  chooseProbeTables,
  describeTargets,
  PROBE_INTERVAL_MS,
  TrafficGenerator,
} from '../observe/traffic.js';
import {
  MODIFIED_AFTER_RELEASE,
  type MigrationFailure,
  type MigrationReport,
  type Report,
} from '../report.js';
import { round } from '../report-builder.js';
import { readHistory, recordApplied, selectPending } from '../runner/history.js';
import { chooseRunner, type MigrationRunner, type RunnerContext } from '../runner/migration-runner.js';
import type { RehearsalPlan } from './plan.js';
import type { SnapshotLease } from './snapshot-lease.js';
import { CURRENT_DATABASE_SIZE_QUERY } from '../queries/databases.js';

/*
 * Stages 4 and 5, observe and run, then capture: the catalog before, probe traffic, the
 * runner, the catalog after, all on the leased snapshot. See docs/architecture.md.
 */

export interface RunInputs {
  config: RehearsalConfig;
  plan: RehearsalPlan;
  lease: SnapshotLease;
  /** The snapshot server's maintenance connection, to cancel the migration's query. */
  admin: pg.Client;
  /** The run's cancel and timeout together. */
  signal: AbortSignal;
  /** Why the run was cancelled, when it was (the caller's signal, not the timeout). */
  cancel?: AbortSignal;
  log: Logger;
  /** Shared with the report; this stage fills in catalog_before, migrate and catalog_after. */
  phases: Report['phases_ms'];
}

export interface RunMeasurements {
  runner: MigrationRunner;
  migrations: MigrationReport[];
  failure: MigrationFailure | undefined;
  cancelled: boolean;
  before: CatalogSnapshot | undefined;
  after: CatalogSnapshot | undefined;
  traffic: TrafficGenerator | undefined;
}

/** Runs the migrations on the snapshot, observed; closes its own connections. */
export async function observeAndRun(inputs: RunInputs): Promise<RunMeasurements> {
  const { config, plan, lease, admin, signal, log, phases } = inputs;
  let observer: pg.Client | undefined;
  const client = await connect(lease.connection, { applicationName: 'pg-rehearsal-migration' });
  // A tool's history table on the snapshot, not the diff, says what is pending (flyway, golang-migrate, dbmate).
  const history = plan.planned ? await readHistory(client, plan.layout) : undefined;
  if (history && plan.planned) {
    const modified = plan.skipped.filter((s) => s.reason === MODIFIED_AFTER_RELEASE).map((s) => s.path);
    const pending = selectPending(history, plan.planned.run, plan.planned.skipped, log, new Set(modified));
    plan.files = pending.run;
    // In place: the report was handed this list when the plan was made.
    plan.skipped.splice(0, plan.skipped.length, ...pending.skipped);
  }
  const migrationPid = (client as unknown as { processID: number }).processID;
  const cancelInFlight = () => {
    admin.query('SELECT pg_cancel_backend($1)', [migrationPid]).catch(() => undefined);
  };
  signal.addEventListener('abort', cancelInFlight, { once: true });
  try {
    const before = await captureBefore(client, inputs);
    // One time origin for statements, locks and probes, so the timeline lines up.
    const runStarted = performance.now();
    const clock = () => performance.now() - runStarted;
    const traffic = config.traffic && before ? await startTraffic(client, inputs, before, clock) : undefined;
    // Migration time excludes opening the probe connections.
    const migrationStarted = performance.now();
    const runner = chooseRunner(config, plan.files, plan.layout, before);
    const context: RunnerContext = {
      client,
      observer: async () => {
        observer ??= await connect(lease.connection, { applicationName: 'pg-rehearsal-observer' });
        return observer;
      },
      target: lease.connection,
      clock,
      databaseSize: config.metrics ? () => databaseSize(client) : undefined,
      signal,
      log,
    };
    const outcome = await runMigrations(runner, context, inputs);
    if (history && !outcome.cancelled && !outcome.failure?.connection_lost)
      await recordApplied(client, history, outcome.migrations, log);
    // The way back is rehearsed in between, but it is not the migrations' own time.
    phases.migrate = round(performance.now() - migrationStarted - (outcome.rollbackMs ?? 0));
    if (outcome.rollbackMs !== undefined) phases.rollback = round(outcome.rollbackMs);
    await traffic?.stop();
    signal.removeEventListener('abort', cancelInFlight);
    runner.finish(clock());
    const after = await captureAfter(client, inputs, outcome);
    return { runner, ...outcome, before, after, traffic };
  } finally {
    await client.end().catch(() => undefined);
    await observer?.end().catch(() => undefined);
  }
}

async function databaseSize(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ size: string }>(CURRENT_DATABASE_SIZE_QUERY);
  return Number(rows[0].size);
}

async function captureBefore(client: pg.Client, inputs: RunInputs): Promise<CatalogSnapshot | undefined> {
  const { config, phases, lease } = inputs;
  if (!config.metrics && !config.lockMonitoring) return undefined;
  const t = performance.now();
  const before = await captureCatalog(client);
  if (config.metrics) before.schema = await captureSchema(client);
  phases.catalog_before = round(performance.now() - t);
  lease.info.size_bytes = before.databaseBytes;
  lease.focus?.overlay(before);
  return before;
}

async function startTraffic(
  client: pg.Client,
  inputs: RunInputs,
  before: CatalogSnapshot,
  clock: () => number,
): Promise<TrafficGenerator> {
  const { config, plan, lease, log } = inputs;
  const text = plan.files
    .map((f) => readFileSync(path.resolve(config.workingDirectory, f), 'utf8'))
    .join('\n');
  const targets = await describeTargets(client, chooseProbeTables(before, text));
  const traffic = new TrafficGenerator(targets, {
    target: lease.connection,
    intervalMs: PROBE_INTERVAL_MS,
    clock,
    maxWaitMs: config.timeoutMs,
  });
  log.info(`probe traffic on ${targets.map((t) => t.table).join(', ') || 'no table'}`);
  await traffic.start();
  return traffic;
}

type Outcome = Pick<RunMeasurements, 'migrations' | 'failure' | 'cancelled'> & { rollbackMs?: number };

/** The runner's outcome; a cancel, the timeout or a lost connection are outcomes too. */
async function runMigrations(
  runner: MigrationRunner,
  context: RunnerContext,
  inputs: RunInputs,
): Promise<Outcome> {
  const { config, signal, cancel } = inputs;
  try {
    const result = await runner.run(context);
    return {
      migrations: result.migrations,
      failure: result.failure,
      cancelled: false,
      rollbackMs: result.rollbackMs,
    };
  } catch (error) {
    if (error instanceof CancelledError || signal.aborted) {
      const migrations = error instanceof CancelledError && error.migrations ? error.migrations : [];
      const why = cancel?.aborted
        ? `the run was cancelled (${errorMessage(cancel.reason)})`
        : `the migrations exceeded the ${config.timeoutMs / 1000} s timeout`;
      return { migrations, failure: { message: `${why}: ${errorMessage(error)}` }, cancelled: true };
    }
    // Lost between statements (BEGIN, COMMIT, a size query): the same outcome as during one.
    if (isConnectionLost(error))
      return { migrations: [], failure: connectionLostFailure(error), cancelled: false };
    throw error;
  }
}

async function captureAfter(
  client: pg.Client,
  inputs: RunInputs,
  outcome: Outcome,
): Promise<CatalogSnapshot | undefined> {
  const { config, phases } = inputs;
  if (!config.metrics || outcome.cancelled || outcome.failure?.connection_lost) return undefined;
  const t = performance.now();
  try {
    const after = await captureCatalog(client);
    after.schema = await captureSchema(client);
    inputs.lease.focus?.overlay(after);
    return after;
  } catch (error) {
    if (!isConnectionLost(error)) throw error;
    outcome.failure ??= connectionLostFailure(error);
    return undefined;
  } finally {
    phases.catalog_after = round(performance.now() - t);
  }
}

function connectionLostFailure(error: unknown): MigrationFailure {
  return {
    message: `the connection to the snapshot was lost: ${errorMessage(error)}`,
    connection_lost: true,
  };
}
