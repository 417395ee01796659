import type { CatalogSnapshot } from '../catalog.js';
import { generateSnapshotName, type RehearsalConfig } from '../config.js';
import { withDatabase } from '../connection.js';
import { CancelledError, errorMessage } from '../errors.js';
import type { SnapshotData, SnapshotInfo } from '../report.js';
import { formatFailure } from '../report.js';
import { snapshotInfo } from '../report-builder.js';
import {
  bytesOf,
  closeOverReferences,
  excludeDataArgs,
  historyTables,
  lockedBeforeNames,
  overlaySourceFigures,
  readSourceTables,
  tablesOf,
  type DataSelection,
  type SourceTables,
} from '../snapshot/focus.js';
import { onSource } from '../snapshot/server.js';
import { createSnapshot, dropSnapshot } from '../snapshot/snapshot.js';
import type { RehearsalPlan } from './plan.js';
import { observeAndRun, type RunMeasurements } from './run.js';
import { armTimeout } from './timeout.js';
import type { ProviderContext, SnapshotProvider } from './snapshot-lease.js';

/*
 * The focused snapshot provider (`snapshot-data: touched`): a dump with every table's
 * schema but only the rows the migrations need. A dry pass on an empty copy finds the
 * tables they lock; those and what they reference are copied; a run that then locks a
 * table without rows has the snapshot widened and runs again (rehearsal/passes.ts).
 */

/** Rehearsals on one focused snapshot, the first included. */
export const MAX_PASSES = 3;

/** What the run stage needs of a focused snapshot between passes. */
export interface SnapshotFocus {
  readonly passes: number;
  /** The source tables these locks are on whose rows were not copied. */
  missing(run: RunMeasurements): string[];
  /** Makes the snapshot again, with these tables' rows (and what they reference) as well. */
  widen(tables: string[]): Promise<void>;
  /** Notes the tables the last pass still locked without rows, once the passes ran out. */
  giveUp(tables: string[]): void;
  /** The source's sizes and row estimates for the relations of tables not copied. */
  overlay(catalog: CatalogSnapshot): void;
  /** pg_dump arguments that make another copy with the same rows (advice's fresh copies). */
  dumpArgs(): string[];
}

export interface FocusedProvider extends SnapshotProvider {
  /** Set by `acquire` when the snapshot is focused (not when everything had to be copied). */
  focus?: SnapshotFocus;
}

type CopyConfig = Extract<RehearsalConfig['snapshot'], { kind: 'copy' }>;

/** `full` makes the snapshot with every row, when focusing does not apply or the dry pass fails. */
export function focusedSnapshotProvider(plan: RehearsalPlan, full: SnapshotProvider): FocusedProvider {
  const provider: FocusedProvider = {
    async acquire(context) {
      const { config, serverInfo, sourceInfo, log } = context;
      const snapshot = config.snapshot as CopyConfig;
      const source = await onSource(snapshot.source, readSourceTables);
      const copyAll = async (why: string): Promise<SnapshotInfo> => {
        log.info(`snapshot-data: touched, but every row is copied: ${why}`);
        const info = await full.acquire(context);
        const bytes = source.catalog.databaseBytes;
        info.data = {
          mode: 'all',
          tables: [],
          reasons: {},
          bytes_copied: bytes,
          source_bytes: bytes,
          passes: 1,
          fallback: why,
        };
        return info;
      };
      if (snapshot.strategy === 'auto' && sourceInfo?.identity === serverInfo.identity) {
        // auto decides there between a file copy and, for a source in use, a refusal or a full dump.
        return copyAll(
          "with snapshot: auto on the source's own server the copy is a file copy, already the whole database in one step; use snapshot: dump to focus it",
        );
      }
      const dry = await log.group('Dry pass (schema only)', () => dryPass(context, plan, source));
      if ('failed' in dry) return copyAll(`the dry pass on an empty copy failed (${dry.failed})`);
      const history = Object.fromEntries(historyTables(source).map((t) => [t, 'history' as const]));
      const touched = Object.fromEntries(dry.touched.map((t) => [t, 'touched' as const]));
      const focus = new Focus(context, source, closeOverReferences(source, { ...history, ...touched }));
      provider.focus = focus;
      return focus.make(dry.seconds);
    },
  };
  return provider;
}

class Focus implements SnapshotFocus {
  passes = 1;
  private info: SnapshotInfo | undefined;

  constructor(
    private readonly context: ProviderContext,
    private readonly source: SourceTables,
    private selection: DataSelection,
  ) {}

  missing(run: RunMeasurements): string[] {
    const copied = new Set(this.selection.tables);
    const locked = lockedBeforeNames(run.runner.locks(), run.before, run.after);
    return tablesOf(locked, this.source).filter((t) => !copied.has(t));
  }

  async widen(tables: string[]): Promise<void> {
    const { admin, serverInfo, name } = this.context;
    const added = Object.fromEntries(tables.map((t) => [t, 'touched' as const]));
    this.selection = closeOverReferences(this.source, { ...this.selection.reasons, ...added });
    this.passes++;
    await dropSnapshot(admin, serverInfo, name);
    await this.make(this.info?.seconds ?? 0);
  }

  giveUp(tables: string[]): void {
    if (this.info?.data) this.info.data.missing = tables;
  }

  overlay(catalog: CatalogSnapshot): void {
    overlaySourceFigures(catalog, this.source, new Set(this.selection.tables));
  }

  dumpArgs(): string[] {
    return excludeDataArgs(this.source, this.selection.tables);
  }

  /** The snapshot under the run's name: every table's schema, the selection's rows. */
  async make(secondsBefore: number): Promise<SnapshotInfo> {
    const { config, admin, serverInfo, sourceInfo, log, cancel } = this.context;
    const { tables, reasons } = this.selection;
    const snapshot = config.snapshot as CopyConfig;
    log.info(
      `copying the rows of ${tables.length} of ${this.source.tables.size} table(s): ${tables.join(', ') || 'none'}`,
    );
    const made = await log.group('Snapshot', () =>
      createSnapshot(
        {
          ...snapshotRequest(this.context),
          strategy: snapshot.strategy,
          name: this.context.name,
          onDatabaseCreated: this.context.onDatabaseCreated,
          dumpArgs: excludeDataArgs(this.source, tables),
          signal: cancel,
        },
        admin,
        serverInfo,
        sourceInfo,
      ),
    );
    const seconds = secondsBefore + made.seconds;
    const next = snapshotInfo(config, serverInfo, made.name, made.strategy, made.reason, seconds);
    const data: SnapshotData = {
      mode: 'touched',
      tables,
      reasons,
      bytes_copied: bytesOf(this.source, tables),
      source_bytes: this.source.catalog.databaseBytes,
      passes: this.passes,
    };
    next.data = data;
    // The lease holds the first pass's object: later passes update it in place.
    this.info = this.info ? Object.assign(this.info, next) : next;
    return this.info;
  }
}

/** The parts of a snapshot request every copy of this run shares. */
function snapshotRequest(context: ProviderContext) {
  const { config, log } = context;
  const snapshot = config.snapshot as CopyConfig;
  return {
    source: snapshot.source,
    server: config.snapshotServer,
    runId: config.runId,
    ttlMs: snapshot.ttlMs,
    pgBinDir: config.pgBinDir,
    serverDefaulted: config.snapshotServerDefaulted,
    log,
  };
}

/**
 * The migrations on a copy with every table's schema and no rows (but the tools' history
 * tables), traced exactly: the tables they lock. The copy is dropped whatever happens.
 */
async function dryPass(
  context: ProviderContext,
  plan: RehearsalPlan,
  source: SourceTables,
): Promise<{ touched: string[]; seconds: number } | { failed: string }> {
  const { config, admin, serverInfo, sourceInfo, cancel, log } = context;
  const started = performance.now();
  const name = generateSnapshotName(config.runId);
  let created = false;
  let timeout: ReturnType<typeof armTimeout> | undefined;
  try {
    const made = await createSnapshot(
      {
        ...snapshotRequest(context),
        strategy: 'dump',
        name,
        onDatabaseCreated: () => {
          created = true;
          context.scratch.created(name);
        },
        dumpArgs: excludeDataArgs(source, historyTables(source)),
        analyze: false,
        signal: cancel,
      },
      admin,
      serverInfo,
      sourceInfo,
    );
    const info = snapshotInfo(config, serverInfo, name, made.strategy, made.reason, made.seconds);
    const dryConfig: RehearsalConfig = {
      ...config,
      // The catalog after names a table the migrations renamed by its oid (lockedBeforeNames).
      metrics: true,
      traffic: false,
      lockMonitoring: true,
      lockCapture: 'exact',
      rollback: { enabled: false },
    };
    // The timeout is the migrations' own, as in the real run: the dump before it does not count.
    timeout = armTimeout(config.timeoutMs);
    const run = await observeAndRun({
      config: dryConfig,
      // The run may narrow the files to those pending in a history table: on its own copy.
      plan: { ...plan, skipped: [...plan.skipped] },
      lease: {
        name,
        connection: withDatabase(config.snapshotServer, name),
        info,
        ms: 0,
        release: async () => {},
        scratch: context.scratch,
      },
      admin,
      signal: AbortSignal.any([cancel, timeout.signal]),
      cancel,
      log,
      phases: { snapshot: 0, catalog_before: 0, migrate: 0, catalog_after: 0, cleanup: 0 },
    });
    if (cancel.aborted)
      throw new CancelledError('cancelled during the dry pass, before the snapshot was made');
    if (run.failure) return { failed: formatFailure(run.failure) };
    const touched = tablesOf(lockedBeforeNames(run.runner.locks(), run.before, run.after), source);
    log.info(`the dry pass locked ${touched.length} table(s): ${touched.join(', ') || 'none'}`);
    return { touched, seconds: (performance.now() - started) / 1000 };
  } finally {
    timeout?.disarm();
    if (created)
      await dropSnapshot(admin, serverInfo, name).then(
        () => context.scratch.dropped(name),
        (error) =>
          log.warn(
            `could not drop the dry pass's copy "${name}": ${errorMessage(error)}; the next run sweeps it after its TTL`,
          ),
      );
  }
}
