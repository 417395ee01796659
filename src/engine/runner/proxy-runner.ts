import type pg from 'pg';
import type { CatalogSnapshot } from '../catalog.js';
import { LockTracingProxy } from '../proxy/server.js';
import type { LockRecord } from '../report.js';
import { runCommandMigration, type CommandRunContext, type CommandRunResult } from './command-runner.js';

export interface TracedCommandResult extends CommandRunResult {
  locks: LockRecord[];
  /** Time the proxy's lock reads took inside the tool's sessions. */
  tracingMs: number;
}

/**
 * Runs a migration command through the lock-tracing proxy: the tool's DATABASE_URL and
 * PG* point at the proxy, which forwards to the snapshot and reads each statement's locks
 * in the tool's own session. A session the proxy lost (the snapshot server went away) fails
 * the run even when the tool exits 0.
 */
export async function runCommandThroughProxy(
  context: CommandRunContext & { before: CatalogSnapshot | undefined; observer: () => Promise<pg.Client> },
): Promise<TracedCommandResult> {
  const proxy = new LockTracingProxy({
    target: context.target,
    before: context.before,
    clock: context.clock,
    label: context.command,
    observer: context.observer,
  });
  await proxy.listen();
  try {
    const result = await runCommandMigration({
      ...context,
      target: proxy.toolTarget(),
      secrets: [proxy.password],
    });
    await proxy.settle(context.signal);
    result.migration.statements = proxy.statements();
    const lost = proxy.failures[0];
    if (lost && !result.failure) {
      result.migration.status = 'failed';
      result.failure = {
        message: `the connection to the snapshot was lost: ${lost}`,
        path: context.command,
        connection_lost: true,
      };
    } else if (lost && result.failure) result.failure.connection_lost = true;
    return { ...result, locks: proxy.locks(), tracingMs: proxy.tracingMs() };
  } finally {
    await proxy.close();
  }
}
