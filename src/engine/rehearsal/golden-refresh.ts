import type { RehearsalConfig } from '../config.js';
import { CancelledError, InternalError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeGoldenRefresh, type GoldenRefreshReport } from '../report.js';
import { round } from '../report-builder.js';
import { ensureFreshGolden, type GoldenFreshness } from '../snapshot/golden-freshness.js';
import { sweepExpiredSnapshots } from '../snapshot/snapshot.js';
import type { Preflight } from './preflight.js';

/*
 * The golden snapshot's refresh (snapshot-max-age): before a rehearsal clones it (the
 * snapshot provider's `prepare`), or as the whole of a refresh-only run (no migrations),
 * say in a nightly workflow. See docs/architecture.md.
 */

export interface RefreshOptions {
  log: Logger;
  cancel: AbortSignal;
}

/** Creates the golden snapshot afresh when too old or missing; undefined when the config asks no refresh. */
export async function refreshGolden(
  config: RehearsalConfig,
  pre: Preflight,
  { log, cancel }: RefreshOptions,
): Promise<GoldenRefreshReport | undefined> {
  const { snapshot } = config;
  if (snapshot.kind !== 'golden' || !snapshot.refresh) return undefined;
  // The preflight inspects the source whenever the config names one, as a refresh does.
  const { sourceInfo } = pre;
  if (!sourceInfo) throw new InternalError('a golden snapshot refresh without the source inspected');
  const { source, maxAgeMs } = snapshot.refresh;
  const started = performance.now();
  const freshness = await log.group('Golden snapshot', () =>
    ensureFreshGolden(pre.admin, config.snapshotServer, pre.serverInfo, sourceInfo, {
      source,
      name: snapshot.golden,
      maxAgeMs,
      pgBinDir: config.pgBinDir,
      log,
      signal: cancel,
    }),
  );
  const report = refreshReport(snapshot.golden, maxAgeMs, freshness, round(performance.now() - started));
  log.info(`golden snapshot ${describeGoldenRefresh(report)}`);
  return report;
}

function refreshReport(
  name: string,
  maxAgeMs: number,
  { outcome, found, current }: GoldenFreshness,
  ms: number,
): GoldenRefreshReport {
  return {
    name,
    outcome,
    max_age_ms: maxAgeMs,
    found_age_ms: found ? Math.max(0, Date.now() - Date.parse(found.created_at)) : null,
    created_at: current.created_at,
    strategy: current.strategy,
    size_bytes: current.size_bytes ?? null,
    ms,
  };
}

/**
 * A refresh-only run: the expired snapshots swept, the golden snapshot refreshed if too old
 * or missing, nothing else. Ends the preflight's connection.
 */
export async function refreshOnly(
  config: RehearsalConfig,
  pre: Preflight,
  options: RefreshOptions,
): Promise<GoldenRefreshReport> {
  try {
    if (options.cancel.aborted)
      throw new CancelledError('cancelled before the golden snapshot was refreshed');
    await sweepExpiredSnapshots(pre.admin, pre.serverInfo, options.log);
    const refresh = await refreshGolden(config, pre, options);
    if (!refresh) throw new InternalError('a refresh-only run without snapshot-max-age');
    return refresh;
  } finally {
    await pre.admin.end().catch(() => undefined);
  }
}
