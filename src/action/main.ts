import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { parseBooleanOption, type RawOptions, type RehearsalConfig } from '../engine/config.js';
import { redactUrlString } from '../engine/connection.js';
import { ConfigError, errorMessage, isProgrammingError } from '../engine/errors.js';
import { rehearse } from '../engine/rehearse.js';
import type { Report } from '../engine/report.js';
import { renderAnnotations } from '../render/annotations.js';
import { renderJson } from '../render/json.js';
import { renderMarkdown } from '../render/markdown.js';
import { renderSarif } from '../render/sarif.js';
import { renderText } from '../render/text.js';
import { cancelOnSignals } from '../signals.js';
import {
  changedFilesOfPullRequest,
  relativeToWorkingDirectory,
  type PullRequestRef,
} from './changed-files.js';
import { commentMarker, findStickyComment, upsertStickyComment } from './comment.js';
import { configFromInputs, maskSecrets, readInputs } from './inputs.js';
import { actionLogger as log } from './logger.js';
import { rememberSnapshotCreated, rememberSnapshotDropped } from './state.js';

type Octokit = ReturnType<typeof github.getOctokit>;
type CommentMode = 'true' | 'false' | 'on-failure';

function defaultReportPath(): string {
  return path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'pg-rehearsal', 'report.json');
}

function commentModeOf(raw: RawOptions): CommentMode {
  const value = String(raw.comment || 'true')
    .trim()
    .toLowerCase();
  if (value === 'on-failure') return 'on-failure';
  return parseBooleanOption({ comment: value }, 'comment', true) ? 'true' : 'false';
}

function pullRequestOf(context: typeof github.context): PullRequestRef | undefined {
  const pr = context.payload.pull_request;
  if (!pr) return undefined;
  return {
    owner: context.repo.owner,
    repo: context.repo.repo,
    number: pr.number,
    baseSha: (pr.base as { sha?: string } | undefined)?.sha,
    headSha: (pr.head as { sha?: string } | undefined)?.sha,
  };
}

function workspace(): string {
  return process.env.GITHUB_WORKSPACE ?? process.cwd();
}

/** With changed-only on a pull request, the built-in runner applies only what the PR adds or modifies. */
async function selectChangedMigrations(
  config: RehearsalConfig,
  octokit: Octokit | undefined,
  pr: PullRequestRef,
) {
  if (config.runner.kind !== 'sql') return;
  const changed = await changedFilesOfPullRequest(octokit, pr, workspace(), log);
  if (!changed) {
    log.warn('could not tell which files the pull request changed; rehearsing every matched migration');
    return;
  }
  config.runner.onlyFiles = relativeToWorkingDirectory(changed, workspace(), config.workingDirectory);
  config.runner.skipReason = `not changed in PR #${pr.number}`;
}

function publishAnnotations(report: Report, config: RehearsalConfig): void {
  for (const a of renderAnnotations(report)) {
    const file = a.file
      ? path.relative(workspace(), path.resolve(config.workingDirectory, a.file))
      : undefined;
    const properties = { title: a.title, file, startLine: a.line };
    if (a.level === 'error') core.error(a.message, properties);
    else core.warning(a.message, properties);
  }
}

async function publishComment(
  report: Report,
  mode: CommentMode,
  octokit: Octokit | undefined,
  pr: PullRequestRef | undefined,
  marker: string,
  body: string,
): Promise<string> {
  if (mode === 'false' || !pr) return '';
  if (!octokit) {
    log.warn('no github-token: the rehearsal is in the job summary only');
    return '';
  }
  const target = {
    owner: pr.owner,
    repo: pr.repo,
    issueNumber: pr.number,
    marker,
  };
  try {
    let existing: { id: number } | undefined;
    if (mode === 'on-failure' && report.passed) {
      // Only an earlier failure's comment is brought up to date; no new comment on success.
      existing = await findStickyComment(octokit, target);
      if (!existing) return '';
    }
    const result = await upsertStickyComment(octokit, target, body, existing);
    core.info(`${result.action} the PR comment: ${result.url}`);
    return result.url;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 403 || status === 404) {
      core.warning(
        `could not write the PR comment (HTTP ${status}): the token needs \`permissions: pull-requests: write\`, ` +
          'and pull requests from forks get a read-only token. The rehearsal is in the job summary; the check result is unaffected.',
      );
    } else {
      core.warning(
        `could not write the PR comment: ${redactUrlString(errorMessage(error))}; the rehearsal is in the job summary`,
      );
    }
    return '';
  }
}

/** SARIF for code scanning, its file paths relative to the repository checkout. */
function writeSarif(report: Report, config: RehearsalConfig, sarifPath: string): void {
  const file = path.resolve(workspace(), sarifPath);
  const uriOf = (f: string) =>
    path.relative(workspace(), path.resolve(config.workingDirectory, f)).split(path.sep).join('/');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderSarif(report, { uriOf }));
}

/** The Action's main step: inputs -> engine -> report, summary, comment, annotations, outputs, verdict. */
async function main(): Promise<void> {
  // A cancelled job gets SIGINT, then SIGTERM: cancel, drop the snapshot, report, exit.
  const signal = cancelOnSignals((name) =>
    core.warning(`${name}: cancelling the run and dropping the snapshot`),
  );
  const raw = readInputs();
  maskSecrets(raw);
  const outputs: Record<string, string> = {
    passed: 'false',
    'duration-ms': '0',
    violations: '0',
    'report-path': '',
    'snapshot-name': '',
    'comment-url': '',
  };
  try {
    const config = configFromInputs(raw);
    const commentMode = commentModeOf(raw);
    const reportPath = path.resolve(workspace(), String(raw['report-path'] || defaultReportPath()));
    const token = String(raw['github-token'] ?? '');
    const octokit = token ? github.getOctokit(token) : undefined;
    const pr = pullRequestOf(github.context);
    if (pr && parseBooleanOption(raw, 'changed-only', true))
      await selectChangedMigrations(config, octokit, pr);

    const report = await rehearse(config, {
      log,
      signal,
      onSnapshotCreated: rememberSnapshotCreated,
      onSnapshotDropped: rememberSnapshotDropped,
    });
    mkdirSync(path.dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, renderJson(report));
    if (raw['sarif-path']) writeSarif(report, config, String(raw['sarif-path']));
    outputs.passed = String(report.passed);
    outputs['duration-ms'] = String(Math.round(report.phases_ms.migrate));
    outputs.violations = String(report.violations.length);
    outputs['report-path'] = reportPath;
    outputs['snapshot-name'] = report.snapshot?.name ?? '';
    await log.group('Observations', async () => core.info(renderText(report)));

    const { owner, repo } = pr ?? { owner: '', repo: '' };
    const runUrl = owner
      ? `${process.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${owner}/${repo}/actions/runs/${process.env.GITHUB_RUN_ID ?? ''}`
      : undefined;
    const marker = commentMarker(process.env.GITHUB_WORKFLOW ?? 'workflow', process.env.GITHUB_JOB ?? 'job');
    const markdown = renderMarkdown(report, {
      marker,
      runUrl,
      fullReportHint: `The job summary of the [workflow run](${runUrl ?? '#'}) and the JSON report (${path.basename(reportPath)}) have everything.`,
      limit: 60_000,
    });
    try {
      await core.summary.addRaw(renderMarkdown(report, { runUrl, limit: 1_000_000 })).write();
    } catch (error) {
      log.warn(`could not write the job summary: ${errorMessage(error)}`);
    }
    publishAnnotations(report, config);
    outputs['comment-url'] = await publishComment(report, commentMode, octokit, pr, marker, markdown);

    if (!report.passed) {
      const reasons = [
        report.failure ? `migration failed: ${report.error}` : '',
        report.violations.length
          ? `${report.violations.length} threshold(s) breached: ${report.violations.map((v) => v.rule).join(', ')}`
          : '',
      ].filter(Boolean);
      core.setFailed(`pg-rehearsal: ${reasons.join('; ')}`);
    }
  } catch (error) {
    // A bug, not bad input: its stack goes to the log for the report.
    if (isProgrammingError(error)) core.error(redactUrlString(error.stack ?? error.message));
    const prefix =
      error instanceof ConfigError ? 'invalid input ' : isProgrammingError(error) ? 'internal error ' : '';
    core.setFailed(`pg-rehearsal: ${prefix}${redactUrlString(errorMessage(error))}`);
  } finally {
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
  }
}

void main();
