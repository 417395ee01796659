import { keepsSnapshot, namedDatabase, type RehearsalConfig } from '../config.js';
import { withDatabase, type ConnectionInfo } from '../connection.js';
import { CancelledError, errorMessage, InternalError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GoldenRefreshReport, SnapshotInfo } from '../report.js';
import { round, snapshotInfo } from '../report-builder.js';
import { createSnapshot, dropSnapshotReconnecting, sweepExpiredSnapshots } from '../snapshot/snapshot.js';
import { focusedSnapshotProvider, type FocusedProvider, type SnapshotFocus } from './focused-snapshot.js';
import { refreshGolden } from './golden-refresh.js';
import type { RehearsalPlan } from './plan.js';
import type { Preflight } from './preflight.js';

/*
 * Stage 3, the snapshot lease: a database to run the migrations on, and the one way to give
 * it back (`release`). Where the database comes from is a SnapshotProvider: a created
 * one (template, clone of a golden snapshot, dump: snapshot/snapshot.ts chooses), a focused
 * dump (focused-snapshot.ts) or an existing database reused as it is. See docs/architecture.md.
 */

export interface SnapshotLease {
  name: string;
  /** The snapshot, for connecting to it. */
  connection: ConnectionInfo;
  /** The report's `snapshot` section; `size_bytes` is filled in once measured. */
  info: SnapshotInfo;
  /** Milliseconds spent making the snapshot (the `snapshot` phase). */
  ms: number;
  /** What `prepare` did to the golden snapshot first, when the config asks for a refresh. */
  goldenRefresh?: GoldenRefreshReport;
  /** A focused snapshot (`snapshot-data: touched`): widened between passes (passes.ts). */
  focus?: SnapshotFocus;
  /** Drops the snapshot if this run created it (and it is not kept), and ends the maintenance connection. */
  release(): Promise<void>;
  /** Where advice's copies say they exist and are gone. */
  scratch: ScratchHooks;
}

export interface LeaseHooks {
  /** Called as soon as the snapshot database exists. */
  onSnapshotCreated?: (name: string) => void;
  /** Called once the snapshot is gone. */
  onSnapshotDropped?: (name: string) => void | Promise<void>;
  /**
   * Called when a database besides the snapshot exists (a focused snapshot's dry-pass copy,
   * advice's copies), and again once it is gone: what a cleanup after a killed run must drop.
   */
  onScratchCreated?: (name: string) => void;
  onScratchDropped?: (name: string) => void;
}

/** The LeaseHooks for scratch databases, always callable. */
export interface ScratchHooks {
  created(name: string): void;
  dropped(name: string): void;
}

/** What a provider needs: the preflight's connection and servers, the plan's name. */
export interface ProviderContext extends Preflight {
  config: RehearsalConfig;
  name: string;
  log: Logger;
  cancel: AbortSignal;
  /** To be called the moment a database exists, so that `release` drops it even if a later step fails. */
  onDatabaseCreated: (name: string) => void;
  /** Extra pg_dump arguments for a dump: a focused snapshot's tables, for advice's copies of it. */
  dumpArgs?: string[];
  scratch: ScratchHooks;
}

export interface SnapshotProvider {
  /** Work before the snapshot proper, not counted in its time (refreshing a golden snapshot). */
  prepare?(context: ProviderContext): Promise<GoldenRefreshReport | undefined>;
  acquire(context: ProviderContext): Promise<SnapshotInfo>;
}

/** A new database from the source or a golden snapshot. */
export const createdSnapshotProvider: SnapshotProvider = {
  prepare: ({ config, log, cancel, ...pre }) => refreshGolden(config, pre, { log, cancel }),
  async acquire(context) {
    const { config, admin, serverInfo, sourceInfo, log, cancel } = context;
    const { snapshot } = config;
    if (snapshot.kind === 'reuse') throw new InternalError('a reused database is not created');
    const made = await log.group('Snapshot', () =>
      createSnapshot(
        {
          source: config.source,
          server: config.snapshotServer,
          strategy: snapshot.kind === 'golden' ? 'existing' : snapshot.strategy,
          name: context.name,
          golden: namedDatabase(snapshot),
          runId: config.runId,
          ttlMs: snapshot.ttlMs,
          pgBinDir: config.pgBinDir,
          serverDefaulted: config.snapshotServerDefaulted,
          signal: cancel,
          log,
          onDatabaseCreated: context.onDatabaseCreated,
          dumpArgs: context.dumpArgs,
        },
        admin,
        serverInfo,
        sourceInfo,
      ),
    );
    log.info(
      `snapshot "${made.name}" ready in ${made.seconds.toFixed(2)} s (${made.strategy}: ${made.reason})`,
    );
    return snapshotInfo(config, serverInfo, made.name, made.strategy, made.reason, made.seconds);
  },
};

/** An existing database, used as it is (`create-snapshot: false`). */
export const reusedDatabaseProvider: SnapshotProvider = {
  async acquire({ config, serverInfo, name }) {
    return snapshotInfo(config, serverInfo, name, 'reused', 'reusing an existing database as it is', 0);
  },
};

function chooseProvider(config: RehearsalConfig, plan: RehearsalPlan): SnapshotProvider {
  const { snapshot } = config;
  if (snapshot.kind === 'reuse') return reusedDatabaseProvider;
  if (snapshot.kind === 'copy' && snapshot.data === 'touched')
    return focusedSnapshotProvider(plan, createdSnapshotProvider);
  return createdSnapshotProvider;
}

/** Sweeps expired snapshots, then leases one from the config's provider; on failure releases what it made. */
export async function leaseSnapshot(
  config: RehearsalConfig,
  plan: RehearsalPlan,
  pre: Preflight,
  options: LeaseHooks & { log: Logger; cancel: AbortSignal },
): Promise<SnapshotLease> {
  const { log, cancel } = options;
  const name = plan.snapshotName;
  let created = false;
  const release = async (): Promise<void> => {
    if (created && !keepsSnapshot(config.snapshot)) {
      try {
        await dropSnapshotReconnecting(pre.admin, config.snapshotServer, pre.serverInfo, name, log);
        await options.onSnapshotDropped?.(name);
      } catch (error) {
        log.warn(
          `could not drop snapshot "${name}": ${errorMessage(error)}; the next run sweeps it after its TTL`,
        );
      }
    }
    await pre.admin.end().catch(() => undefined);
  };
  const provider = chooseProvider(config, plan);
  const scratch: ScratchHooks = {
    created: (database) => options.onScratchCreated?.(database),
    dropped: (database) => options.onScratchDropped?.(database),
  };
  const context: ProviderContext = {
    ...pre,
    config,
    name,
    log,
    cancel,
    onDatabaseCreated: (database) => {
      created = true;
      options.onSnapshotCreated?.(database);
    },
    scratch,
  };
  try {
    await sweepExpiredSnapshots(pre.admin, pre.serverInfo, log);
    const goldenRefresh = await provider.prepare?.(context);
    const started = performance.now();
    if (cancel.aborted) throw new CancelledError('cancelled before the snapshot was created');
    const info = await provider.acquire(context);
    const ms = round(performance.now() - started);
    const connection = withDatabase(config.snapshotServer, name);
    const focus = (provider as FocusedProvider).focus;
    return { name, connection, info, ms, goldenRefresh, release, focus, scratch };
  } catch (error) {
    await release();
    throw error;
  }
}
