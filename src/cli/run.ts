import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConfig, type RawOptions, type RehearsalConfig } from '../engine/config.js';
import { redactorFor } from '../engine/connection.js';
import { ConfigError, isUsageOrSetupError } from '../engine/errors.js';
import { redactDeep } from '../engine/redact.js';
import { setupFailureReport } from '../engine/setup-report.js';
import { consoleLogger } from '../engine/logger.js';
import { rehearse } from '../engine/rehearse.js';
import type { Report } from '../engine/report.js';
import { renderJson } from '../render/json.js';
import { renderJunit } from '../render/junit.js';
import { renderSarif } from '../render/sarif.js';
import { renderText } from '../render/text.js';

const FORMATS = ['text', 'json', 'sarif', 'junit'] as const;
type Format = (typeof FORMATS)[number];

export const RUN_VALUE_FLAGS = [
  'source-url',
  'snapshot-server-url',
  'snapshot',
  'snapshot-data',
  'snapshot-name',
  'snapshot-ttl',
  'snapshot-max-age',
  'migrations',
  'command',
  'working-directory',
  'max-duration',
  'max-read-block',
  'max-write-block',
  'max-size-increase',
  'max-rewrite-size',
  'timeout',
  'format',
  'output',
  'pg-bin-dir',
  'layout',
  'lock-sample-interval',
  'lock-capture',
  'run-id',
  'advice',
  'down-command',
] as const;

export const RUN_BOOLEAN_FLAGS = [
  'keep-snapshot',
  'lock-monitoring',
  'metrics',
  'fail-on-error',
  'create-snapshot',
  'traffic',
  'rollback',
  'require-reversible',
  'require-down',
  'help',
] as const;

export const RUN_HELP = `Usage: pg-rehearsal run --source-url URL --migrations GLOB [options]

Rehearses migrations on a throwaway snapshot of the source database and reports
time, locks, rewrites and size changes. The source is only read.

Where:
  --source-url URL            database the migrations are meant for (read-only)
  --snapshot-server-url URL   server for the snapshot (default: the source's server)
  --snapshot STRATEGY         auto | template | dump | existing   (default auto)
  --snapshot-data WHICH       all | touched: with a dump, copy every table's schema but only
                              the rows of the tables the migrations touch (default all)
  --snapshot-name NAME        name of the snapshot (with existing: the golden one to clone)
  --snapshot-max-age DURATION with existing: create the golden snapshot afresh from
                              --source-url when it is older than this (or missing), e.g. 24h
  --keep-snapshot             leave the snapshot database in place
  --no-create-snapshot        run on the existing database --snapshot-name as it is
  --pg-bin-dir DIR            directory with pg_dump/pg_restore for the dump strategy
  --run-id ID                 names the snapshot pg_rehearsal_<ID>_<random> (default: a time stamp)
What:
  --migrations GLOB           SQL files, e.g. 'migrations/*.sql' (repeatable)
  --layout NAME               auto | plain | flyway | golang-migrate | dbmate (default auto)
  --command CMD               or: your migration tool's command, run with DATABASE_URL
                              and PG* pointing at the snapshot
  --lock-sample-interval DUR  how often locks are sampled during --command (default 50ms)
  --lock-capture MODE         --command's locks: exact (through a tracing proxy, default) or sampled
  --working-directory DIR     where globs are resolved (default .)
  --no-lock-monitoring        do not trace locks
  --no-metrics                do not capture sizes, rows and rewrites
  --traffic                   probe reads and writes on the touched tables while the
                              migrations run: measure who would really wait
  --timeout DURATION          cancel the migrations after this long (default 30m)
  --rollback                  rehearse the way back: each migration up, down, up again;
                              the schema after the down must equal the one before the up
  --down-command CMD          with --command and --rollback: undoes what CMD applied,
                              e.g. 'alembic downgrade -1'
  --advice MODE               safer forms of risky statements: measured (rehearsed on a
                              fresh copy), text, off; default auto: measured after a
                              file copy or clone, text after a dump
Thresholds (breach -> exit 1):
  --max-duration DURATION     total migration time, e.g. 30s
  --max-read-block DURATION   longest ACCESS EXCLUSIVE hold on a table, e.g. 500ms
  --max-write-block DURATION  longest hold of a lock that blocks writes, e.g. 2s
  --max-size-increase SIZE    e.g. 500MB or 10%
  --max-rewrite-size SIZE     fail when a table this large is rewritten (0 = any)
  --no-require-reversible     with --rollback: a down that fails or leaves the schema
                              different is reported, not a breach (default: a breach)
  --require-down              with --rollback: a migration without a down is a breach
  --no-fail-on-error          a migration error alone does not fail the run
Output:
  --format FORMAT             stdout format: text (default), json, sarif (code scanning),
                              junit (test results for GitLab, Jenkins, ...)
  --output FILE               also write the JSON report to FILE

Exit codes: 0 passed, 1 migration failed or threshold breached, 2 bad usage or setup error,
3 internal error (a bug in pg-rehearsal).
`;

export interface RunOutcome {
  report: Report;
  exitCode: number;
}

/** `pg-rehearsal run`: flags -> Config -> engine -> stdout/file. */
export async function runCommand(options: RawOptions, signal: AbortSignal): Promise<RunOutcome> {
  const format = String(options.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) {
    throw new ConfigError('format', `--format: "${format}" is not a format; use ${FORMATS.join(', ')}`);
  }
  const runId = typeof options['run-id'] === 'string' ? options['run-id'] : undefined;
  const startedAt = new Date();
  let config: RehearsalConfig | undefined;
  let report: Report;
  try {
    config = buildConfig(options, { label: (option) => `--${option}`, runId });
    report = await rehearse(config, { log: consoleLogger(), signal });
  } catch (error) {
    // A setup error still leaves a report behind for the pipeline, then exits 2 as before.
    if (!isUsageOrSetupError(error)) throw error;
    const redact = redactorFor(config?.source, config?.snapshotServer);
    writeOutput(options, redactDeep(setupFailureReport(error, config, startedAt), redact));
    throw error;
  }
  writeOutput(options, report);
  const workingDirectory = config.workingDirectory;
  const uriOf = (file: string) =>
    path.relative(process.cwd(), path.resolve(workingDirectory, file)).split(path.sep).join('/');
  const render: Record<Format, () => string> = {
    text: () => renderText(report),
    json: () => renderJson(report),
    sarif: () => renderSarif(report, { uriOf }),
    junit: () => renderJunit(report),
  };
  process.stdout.write(render[format]());
  return { report, exitCode: report.passed ? 0 : 1 };
}

/** `--output FILE`: the JSON report, whatever the outcome. */
function writeOutput(options: RawOptions, report: Report): void {
  if (typeof options.output !== 'string' || !options.output) return;
  const file = path.resolve(options.output);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderJson(report));
}
