import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConfig, type RawOptions, type RehearsalConfig } from '../engine/config.js';
import { redactorFor } from '../engine/connection.js';
import { ConfigError, errorText, isUsageOrSetupError } from '../engine/errors.js';
import { OPTIONS, type OptionSpec } from '../engine/options/index.js';
import { redactDeep } from '../engine/redact.js';
import { setupFailureReport } from '../engine/setup-report.js';
import { consoleLogger } from '../engine/logger.js';
import { rehearse } from '../engine/rehearse.js';
import type { Report } from '../engine/report.js';
import { renderJson } from '../render/json.js';
import { renderJunit } from '../render/junit.js';
import { renderSarif } from '../render/sarif.js';
import { renderText } from '../render/text.js';
import { opt, say } from '../engine/wording.js';
import { cliNaming, helpLines } from './flags.js';

const FORMATS = ['text', 'json', 'sarif', 'junit'] as const;
type Format = (typeof FORMATS)[number];

/** The run's own flags: how to print the report, and the run id that names the snapshot. */
const RUN_ONLY_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'run-id',
    type: 'text',
    description: 'Names the snapshot pg_rehearsal_<run-id>_<random>; default: a time stamp.',
    cli: {
      group: 'where',
      arg: 'ID',
      help: ['names the snapshot pg_rehearsal_<ID>_<random> (default: a time stamp)'],
    },
  },
  {
    name: 'format',
    type: 'choice',
    default: 'text',
    description: 'The stdout format: text, json, sarif or junit.',
    cli: {
      group: 'output',
      arg: 'FORMAT',
      help: [
        'stdout format: text (default), json, sarif (code scanning),',
        'junit (test results for GitLab, Jenkins, ...)',
      ],
    },
  },
  {
    name: 'output',
    type: 'text',
    description: 'Also write the JSON report to this file.',
    cli: { group: 'output', arg: 'FILE', help: ['also write the JSON report to FILE'] },
  },
];

/** Every option `pg-rehearsal run` knows: the engine's table, then the run's own. */
export const RUN_OPTIONS: readonly OptionSpec[] = [...OPTIONS, ...RUN_ONLY_OPTIONS];

/** How a run's messages name options: `--max-duration`, `--snapshot dump`. */
export const RUN_NAMING = cliNaming(RUN_OPTIONS);

export const RUN_HELP = `Usage: pg-rehearsal run --source-url URL --migrations GLOB [options]

Rehearses migrations on a throwaway snapshot of the source database and reports
time, locks, rewrites and size changes. The source is only read.

Where:
${helpLines(RUN_OPTIONS, 'where')}What:
${helpLines(RUN_OPTIONS, 'what')}Thresholds (breach -> exit 1):
${helpLines(RUN_OPTIONS, 'thresholds')}Output:
${helpLines(RUN_OPTIONS, 'output')}
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
    throw new ConfigError(
      'format',
      say`${opt('format')}: "${format}" is not a format; use ${FORMATS.join(', ')}`,
    );
  }
  const runId = typeof options['run-id'] === 'string' ? options['run-id'] : undefined;
  const startedAt = new Date();
  let config: RehearsalConfig | undefined;
  let report: Report;
  try {
    config = buildConfig(options, { runId });
    report = await rehearse(config, { log: consoleLogger(), signal });
  } catch (error) {
    // A setup error still leaves a report behind for the pipeline, then exits 2 as before.
    if (!isUsageOrSetupError(error)) throw error;
    const redact = redactorFor(config?.source, config?.snapshotServer);
    const report = setupFailureReport(errorText(error, RUN_NAMING), config, startedAt);
    writeOutput(options, redactDeep(report, redact));
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
