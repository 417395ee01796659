import { VERSION } from '../version.js';
import type { RehearsalConfig } from './config.js';
import { SCHEMA_VERSION, type Report } from './report.js';
import { migrationPath } from './report-builder.js';
import { describeThresholds } from './thresholds.js';

/**
 * The report of a run that stopped before any migration ran (bad input, a server out of
 * reach, a missing tool): `passed: false` with the reason in `failure`, so that a pipeline
 * reading `--output` (or the Action's report-path) learns why instead of finding no file.
 * `config` is absent when the options themselves were wrong. The message is the error's,
 * worded by the adapter (errorText) and redacted by the caller, as every engine error is.
 */
export function setupFailureReport(
  message: string,
  config: RehearsalConfig | undefined,
  startedAt: Date,
): Report {
  const runner = config?.runner;
  return {
    schema_version: SCHEMA_VERSION,
    tool: { name: 'pg-rehearsal', version: VERSION },
    migration_path: migrationPath(runner),
    success: false,
    execution_time: 0,
    started_at: startedAt.toISOString(),
    completed_at: new Date().toISOString(),
    error: message,
    passed: false,
    cancelled: false,
    failure: { message, setup: true },
    violations: [],
    snapshot: null,
    server: null,
    runner: { kind: runner?.kind ?? 'sql', lock_capture: 'off' },
    phases_ms: { snapshot: 0, catalog_before: 0, migrate: 0, catalog_after: 0, cleanup: 0 },
    migrations: [],
    migrations_skipped: [],
    locks: [],
    metrics: null,
    advice: [],
    schema_changes: null,
    thresholds: config ? describeThresholds(config.thresholds) : {},
    traffic: null,
  };
}
