import type pg from 'pg';
import type { CatalogSnapshot } from '../catalog.js';
import type { ConnectionInfo } from '../connection.js';
import type { RehearsalConfig } from '../config.js';
import { InternalError } from '../errors.js';
import type { Logger } from '../logger.js';
import { LockSampler } from '../observe/lock-sampler.js';
import { LockTracer } from '../observe/lock-tracer.js';
import type { LockRecord, MigrationFailure, MigrationReport, Report } from '../report.js';
import { round } from '../report-builder.js';
import { runCommandMigration, statementsFromSampledLocks } from './command-runner.js';
import { runCommandThroughProxy } from './proxy-runner.js';
import type { MigrationLayout } from './layouts.js';
import { checkCommandWayBack, type TracedCommandRun } from './command-rollback.js';
import { runSqlMigrationsWithRollback } from './rollback.js';
import { runSqlMigrations } from './sql-runner.js';
import { captureSchema } from '../schema.js';

/*
 * How migrations are applied to the snapshot. The rehearsal's run stage knows only this
 * interface; SQL files and a user's command are the two implementations today, and a
 * protocol-proxy runner or a rollback run are further ones (docs/architecture.md).
 */

/** What every runner gets from the run stage. */
export interface RunnerContext {
  /** The migration's own session on the snapshot. */
  client: pg.Client;
  /** An autocommit connection on the snapshot for watching; opened on first use. */
  observer: () => Promise<pg.Client>;
  /** The snapshot, for runners that connect themselves (a command). */
  target: ConnectionInfo;
  /** Milliseconds since the run started: one origin for statements, locks and probes. */
  clock: () => number;
  /** The database's size; absent when metrics are off. */
  databaseSize?: () => Promise<number>;
  signal: AbortSignal;
  log: Logger;
}

export interface RunnerOutcome {
  migrations: MigrationReport[];
  failure?: MigrationFailure;
  /** With rollback: time spent checking the way back, inside the run but not the migrations' own. */
  rollbackMs?: number;
}

export interface MigrationRunner {
  /** Applies the migrations; a failed migration is an outcome, anything else throws. */
  run(context: RunnerContext): Promise<RunnerOutcome>;
  /** Called once the run is over, whatever its outcome. */
  finish(endedAtMs: number): void;
  /** The locks the runner saw, for the report. */
  locks(): LockRecord[];
  /** The report's `runner` section. */
  describe(): Report['runner'];
}

/** The runner the config asks for. */
export function chooseRunner(
  config: RehearsalConfig,
  files: string[],
  layout: MigrationLayout,
  before: CatalogSnapshot | undefined,
): MigrationRunner {
  if (config.runner.kind === 'sql') return new SqlFilesRunner(config, files, layout, before);
  if (config.runner.kind === 'none') throw new InternalError('a refresh-only run has no migration runner');
  return new CommandRunner(config, config.runner.command, before);
}

/** SQL files through our own session: every lock traced exactly. */
export class SqlFilesRunner implements MigrationRunner {
  private readonly tracer: LockTracer | undefined;

  constructor(
    private readonly config: RehearsalConfig,
    private readonly files: string[],
    private readonly layout: MigrationLayout,
    before: CatalogSnapshot | undefined,
  ) {
    this.tracer = config.lockMonitoring ? new LockTracer(before) : undefined;
  }

  async run(context: RunnerContext): Promise<RunnerOutcome> {
    const { log } = context;
    const run = this.config.rollback.enabled ? runSqlMigrationsWithRollback : runSqlMigrations;
    return log.group('Migrations', () =>
      run(this.files, {
        client: context.client,
        observer: context.observer,
        tracer: this.tracer,
        clock: context.clock,
        databaseSize: context.databaseSize,
        signal: context.signal,
        workingDirectory: this.config.workingDirectory,
        layout: this.layout,
        log,
      }),
    );
  }

  finish(endedAtMs: number): void {
    this.tracer?.endTransaction(endedAtMs); // nothing should be open; never lose a hold if it is
  }

  locks(): LockRecord[] {
    return this.tracer?.records() ?? [];
  }

  describe(): Report['runner'] {
    return {
      kind: 'sql',
      lock_capture: this.config.lockMonitoring ? 'exact' : 'off',
      tracing_ms: this.tracer ? round(this.tracer.spentMs) : undefined,
      layout: this.layout,
    };
  }
}

/**
 * The user's migration tool in a shell, connected through the lock-tracing proxy (every
 * statement traced exactly in the tool's own session), or with `lock-capture: sampled`
 * watched by sampling pg_locks while it runs.
 */
export class CommandRunner implements MigrationRunner {
  /** The up's sampler, which describes a sampled capture. */
  private sampler: LockSampler | undefined;
  /** Time the proxy's lock reads took inside the tool's sessions. */
  private tracingMs = 0;
  /** Every lock seen while the up and the down ran (traced or sampled). */
  private readonly sampled: LockRecord[] = [];
  private upRan = false;

  constructor(
    private readonly config: RehearsalConfig,
    private readonly command: string,
    private readonly before: CatalogSnapshot | undefined,
  ) {}

  async run(context: RunnerContext): Promise<RunnerOutcome> {
    const { command, config } = this;
    const { databaseSize, log } = context;
    const schemaBeforeUp = config.rollback.enabled ? await captureSchema(context.client) : undefined;
    const sizeBefore = await databaseSize?.();
    const result = await log.group('Migrations', () => this.runTraced(command, context));
    if (sizeBefore !== undefined && databaseSize)
      result.migration.size_delta_bytes = (await databaseSize()) - sizeBefore;
    if (!schemaBeforeUp || result.failure) return { migrations: [result.migration], failure: result.failure };
    const started = performance.now();
    const wayBack = await log.group('Way back', () =>
      checkCommandWayBack({
        upCommand: command,
        downCommand: config.rollback.downCommand,
        before: schemaBeforeUp,
        client: context.client,
        run: (line) => this.runTraced(line, context),
        log,
      }),
    );
    result.migration.rollback = wayBack.rollback;
    return {
      migrations: [result.migration],
      failure: result.failure,
      rollbackMs: performance.now() - started,
    };
  }

  /** One run of a command line, its statements known from sampling pg_locks while it runs. */
  private async runTraced(line: string, context: RunnerContext): Promise<TracedCommandRun> {
    if (this.exact) return this.runThroughProxy(line, context);
    const { config } = this;
    const sampler = config.lockMonitoring
      ? new LockSampler(
          await context.observer(),
          { intervalMs: config.lockSampleIntervalMs, clock: context.clock, label: line },
          this.before,
        )
      : undefined;
    await sampler?.start();
    this.sampler ??= sampler;
    // The up's second run (after its down) is not reported again; everything else is, cancelled or not.
    const reported = line !== this.command || !this.upRan;
    this.upRan ||= line === this.command;
    try {
      const run = await runCommandMigration({
        command: line,
        workingDirectory: config.workingDirectory,
        target: context.target,
        signal: context.signal,
        log: context.log,
        clock: context.clock,
      });
      await sampler?.stop();
      const locks = sampler?.records() ?? [];
      run.migration.statements = statementsFromSampledLocks(line, locks);
      return { ...run, locks };
    } finally {
      await sampler?.stop();
      if (reported) this.sampled.push(...(sampler?.records() ?? []));
    }
  }

  /** One run of a command line through the proxy: its statements and locks exactly as sent. */
  private async runThroughProxy(line: string, context: RunnerContext): Promise<TracedCommandRun> {
    const reported = line !== this.command || !this.upRan;
    this.upRan ||= line === this.command;
    const run = await runCommandThroughProxy({
      command: line,
      workingDirectory: this.config.workingDirectory,
      target: context.target,
      signal: context.signal,
      log: context.log,
      clock: context.clock,
      before: this.before,
      observer: context.observer,
    });
    this.tracingMs += run.tracingMs;
    if (reported) this.sampled.push(...run.locks);
    return run;
  }

  private get exact(): boolean {
    return this.config.lockMonitoring && this.config.lockCapture === 'exact';
  }

  finish(): void {}

  locks(): LockRecord[] {
    return [...this.sampled];
  }

  describe(): Report['runner'] {
    if (this.exact) {
      return {
        kind: 'command',
        command: this.command,
        lock_capture: 'exact',
        tracing_ms: round(this.tracingMs),
      };
    }
    const { sampler } = this;
    return {
      kind: 'command',
      command: this.command,
      lock_capture: sampler ? 'sampled' : 'off',
      sample_interval_ms: sampler ? this.config.lockSampleIntervalMs : undefined,
      samples: sampler?.samples,
      max_sample_gap_ms: sampler ? Math.round(sampler.maxGapMs) : undefined,
    };
  }
}
