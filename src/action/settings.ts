import os from 'node:os';
import path from 'node:path';
import type * as github from '@actions/github';
import { parseBooleanOption, type RawOptions } from '../engine/option-reader.js';
import { ConfigError } from '../engine/errors.js';
import { commentMarker, defaultCommentKey } from './comment.js';

export type CommentMode = 'true' | 'false' | 'on-failure';

/** What the Action needs besides the engine's config: where to report and about which commit. */
export interface ActionSettings {
  commentMode: CommentMode;
  commentKey: string;
  marker: string;
  reportPath: string;
  /** Where SARIF goes for code scanning, when asked for. */
  sarifPath?: string;
  changedOnly: boolean;
  baseRef?: string;
  token: string;
  pullRequest?: { owner: string; repo: string; issueNumber: number };
  /** The commit the run is about (the PR head, the pushed or merge-group head). */
  headSha?: string;
  runUrl: string;
}

export function workspace(): string {
  return process.env.GITHUB_WORKSPACE ?? process.cwd();
}

function commentModeOf(raw: RawOptions): CommentMode {
  const value = String(raw.comment || 'true')
    .trim()
    .toLowerCase();
  if (value === 'on-failure') return 'on-failure';
  if (['true', 'false', 'yes', 'no', 'on', 'off', '1', '0'].includes(value))
    return parseBooleanOption({ comment: value }, 'comment', true) ? 'true' : 'false';
  throw new ConfigError(
    'comment',
    `comment: "${String(raw.comment)}" is not valid; use true, false or on-failure`,
  );
}

function headShaOf(context: typeof github.context): string | undefined {
  const payload = context.payload;
  return (
    (payload.pull_request?.head as { sha?: string } | undefined)?.sha ??
    (payload.merge_group as { head_sha?: string } | undefined)?.head_sha ??
    (payload.after as string | undefined) ??
    (context.sha || undefined)
  );
}

/** Settings from the raw inputs only, so a setup error can still update this invocation's comment. */
export function actionSettings(raw: RawOptions, context: typeof github.context): ActionSettings {
  const text = (name: string) => String(raw[name] ?? '').trim();
  const commentKey =
    text('comment-key') ||
    defaultCommentKey(
      process.env.GITHUB_WORKFLOW ?? 'workflow',
      process.env.GITHUB_JOB ?? 'job',
      text('working-directory') || '.',
      text('command') || text('migrations'),
    );
  // One report per invocation: the comment key and the step's id (GITHUB_ACTION) tell them apart.
  const slug = `${commentKey}-${process.env.GITHUB_ACTION ?? ''}`.replace(/[^A-Za-z0-9_.-]+/g, '_');
  const defaultReport = path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'pg-rehearsal', `${slug}.json`);
  const pr = context.payload.pull_request;
  const { owner, repo } = process.env.GITHUB_REPOSITORY ? context.repo : { owner: '', repo: '' };
  return {
    commentMode: commentModeOf(raw),
    commentKey,
    marker: commentMarker(commentKey),
    reportPath: path.resolve(workspace(), text('report-path') || defaultReport),
    sarifPath: text('sarif-path') ? path.resolve(workspace(), text('sarif-path')) : undefined,
    changedOnly: parseBooleanOption(raw, 'changed-only', true),
    baseRef: text('base-ref') || undefined,
    token: text('github-token'),
    pullRequest: pr && owner ? { owner, repo, issueNumber: pr.number } : undefined,
    headSha: headShaOf(context),
    runUrl: `${process.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${owner}/${repo}/actions/runs/${process.env.GITHUB_RUN_ID ?? ''}`,
  };
}
