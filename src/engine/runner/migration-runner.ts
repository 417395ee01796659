import type pg from 'pg';
import type { CatalogSnapshot } from '../catalog.js';
import type { ConnectionInfo } from '../connection.js';
import type { RehearsalConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { LockSampler } from '../observe/lock-sampler.js';
import { LockTracer } from '../observe/lock-tracer.js';
import type { LockRecord, MigrationFailure, MigrationReport, Report } from '../report.js';
import { round } from '../report-builder.js';
import { runCommandMigration, statementsFromSampledLocks } from './command-runner.js';
import type { MigrationLayout } from './layouts.js';
import { runSqlMigrations } from './sql-runner.js';

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
    return log.group('Migrations', () =>
      runSqlMigrations(this.files, {
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

/** The user's migration tool in a shell: locks sampled from pg_locks while it runs. */
export class CommandRunner implements MigrationRunner {
  private sampler: LockSampler | undefined;

  constructor(
    private readonly config: RehearsalConfig,
    private readonly command: string,
    private readonly before: CatalogSnapshot | undefined,
  ) {}

  async run(context: RunnerContext): Promise<RunnerOutcome> {
    const { command, config } = this;
    const { databaseSize, log, clock } = context;
    if (config.lockMonitoring) {
      this.sampler = new LockSampler(
        await context.observer(),
        { intervalMs: config.lockSampleIntervalMs, clock, label: command },
        this.before,
      );
      await this.sampler.start();
    }
    const sizeBefore = await databaseSize?.();
    const result = await log
      .group('Migrations', () =>
        runCommandMigration({
          command,
          workingDirectory: config.workingDirectory,
          target: context.target,
          signal: context.signal,
          log,
          clock,
        }),
      )
      .finally(() => this.sampler?.stop());
    if (sizeBefore !== undefined && databaseSize)
      result.migration.size_delta_bytes = (await databaseSize()) - sizeBefore;
    result.migration.statements = statementsFromSampledLocks(command, this.sampler?.records() ?? []);
    return { migrations: [result.migration], failure: result.failure };
  }

  finish(): void {}

  locks(): LockRecord[] {
    return this.sampler?.records() ?? [];
  }

  describe(): Report['runner'] {
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
