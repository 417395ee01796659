import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import type { RawOptions, RehearsalConfig } from '../engine/config.js';
import { redactUrlString } from '../engine/connection.js';
import {
  CancelledError,
  ConfigError,
  errorMessage,
  errorText,
  isProgrammingError,
} from '../engine/errors.js';
import { rehearse } from '../engine/rehearse.js';
import type { Report } from '../engine/report.js';
import { renderJson } from '../render/json.js';
import { renderMarkdown } from '../render/markdown.js';
import { renderSarif } from '../render/sarif.js';
import { renderText } from '../render/text.js';
import { cancelOnSignals } from '../signals.js';
import { publishAnnotations } from './annotations.js';
import { changesOfEvent } from './event.js';
import { repositoryRoot } from './git.js';
import { configFromInputs, INPUT_NAMING, maskSecrets, readInputs } from './inputs.js';
import { actionLogger as log } from './logger.js';
import { ActionOutputs } from './outputs.js';
import { publishComment } from './publish-comment.js';
import { selectChangedMigrations } from './selection.js';
import { actionSettings, workspace, type ActionSettings } from './settings.js';
import { setupErrorMarkdown, skippedForFork } from './setup-error.js';
import {
  rememberScratchCreated,
  rememberScratchDropped,
  rememberSnapshotCreated,
  rememberSnapshotDropped,
} from './state.js';
import { publishSummary } from './summary.js';

type Octokit = ReturnType<typeof github.getOctokit>;

/** changed-only: the built-in runner applies what the event adds, found from the repository root. */
async function selectChanges(
  config: RehearsalConfig,
  settings: ActionSettings,
  octokit: Octokit | undefined,
) {
  if (!settings.changedOnly || config.runner.kind !== 'sql') return;
  const root = await repositoryRoot(config.workingDirectory);
  const { eventName, payload } = github.context;
  const { owner, repo } = github.context.repo;
  const changes = await changesOfEvent(
    { eventName, payload, owner, repo },
    octokit,
    root,
    settings.baseRef,
    log,
  );
  // Outside a git checkout (the API's list only), paths are relative to the workspace.
  selectChangedMigrations(config, changes, root ?? workspace());
}

function failureReasons(report: Report, config: RehearsalConfig): string[] {
  return [
    report.failure && config.failOnError ? `migration failed: ${report.error}` : '',
    report.cancelled ? 'the run was cancelled' : '',
    report.violations.length && config.failOnViolation
      ? `${report.violations.length} threshold(s) breached: ${report.violations.map((v) => v.rule).join(', ')}`
      : '',
  ].filter(Boolean);
}

/** Report file, log, summary, annotations, comment, outputs, verdict. */
async function publish(
  report: Report,
  config: RehearsalConfig,
  settings: ActionSettings,
  octokit: Octokit | undefined,
  outputs: ActionOutputs,
) {
  mkdirSync(path.dirname(settings.reportPath), { recursive: true });
  writeFileSync(settings.reportPath, renderJson(report));
  if (settings.sarifPath) writeSarif(report, config, settings.sarifPath);
  outputs.fromReport(report, settings.reportPath);
  await log.group('Observations', async () => core.info(renderText(report)));
  await publishSummary(report, settings.runUrl, log);
  publishAnnotations(report, config);
  const body = renderMarkdown(report, {
    marker: settings.marker,
    runUrl: settings.runUrl,
    commit: settings.headSha,
    fullReportHint: `The job summary of the [workflow run](${settings.runUrl}) and the JSON report (${path.basename(settings.reportPath)}) have everything.`,
  });
  outputs.comment(
    await publishComment(settings, octokit, body, !report.passed || report.violations.length > 0),
  );
  const reasons = failureReasons(report, config);
  if (reasons.length) core.setFailed(`pg-rehearsal: ${reasons.join('; ')}`);
}

/** SARIF for code scanning, its file paths relative to the repository checkout. */
function writeSarif(report: Report, config: RehearsalConfig, file: string): void {
  const uriOf = (f: string) =>
    path.relative(workspace(), path.resolve(config.workingDirectory, f)).split(path.sep).join('/');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderSarif(report, { uriOf }));
}

/** The Action's main step: inputs -> settings -> rehearse -> publishers. */
async function main(): Promise<void> {
  // A cancelled job gets SIGINT, then SIGTERM: cancel, drop the snapshot, report, exit.
  const signal = cancelOnSignals((name) =>
    core.warning(`${name}: cancelling the run and dropping the snapshot`),
  );
  const raw: RawOptions = readInputs();
  maskSecrets(raw);
  const outputs = new ActionOutputs();
  let settings: ActionSettings | undefined;
  let octokit: Octokit | undefined;
  try {
    settings = actionSettings(raw, github.context);
    octokit = settings.token ? github.getOctokit(settings.token) : undefined;
    const fork = skippedForFork(raw, github.context.payload);
    if (fork) throw new ConfigError('source-url', fork);
    const config = configFromInputs(raw);
    await selectChanges(config, settings, octokit);
    const report = await rehearse(config, {
      log,
      signal,
      onSnapshotCreated: rememberSnapshotCreated,
      onSnapshotDropped: rememberSnapshotDropped,
      onScratchCreated: rememberScratchCreated,
      onScratchDropped: rememberScratchDropped,
    });
    await publish(report, config, settings, octokit, outputs);
  } catch (error) {
    // A bug, not bad input: its stack goes to the log for the report.
    if (isProgrammingError(error)) core.error(redactUrlString(error.stack ?? error.message));
    const prefix = isProgrammingError(error)
      ? 'internal error '
      : error instanceof ConfigError && !errorMessage(error).startsWith('the rehearsal was skipped')
        ? 'invalid input '
        : '';
    const message = redactUrlString(errorText(error, INPUT_NAMING));
    core.setFailed(`pg-rehearsal: ${prefix}${message}`);
    if (settings) {
      // No stale verdict: an earlier green comment must not stand while the check is red.
      const kind = error instanceof CancelledError ? 'cancelled' : 'could not run';
      outputs.comment(
        await publishComment(
          settings,
          octokit,
          setupErrorMarkdown(settings, kind, `${prefix}${message}`),
          true,
          true, // update only
        ),
      );
    }
  } finally {
    outputs.write();
  }
}

void main();
