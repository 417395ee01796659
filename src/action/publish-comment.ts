import * as core from '@actions/core';
import type { getOctokit } from '@actions/github';
import { redactUrlString } from '../engine/connection.js';
import { errorMessage } from '../engine/errors.js';
import {
  deleteComment,
  findStickyComment,
  tokenLogin,
  upsertStickyComment,
  type StickyCommentTarget,
} from './comment.js';
import type { ActionSettings } from './settings.js';

type Octokit = ReturnType<typeof getOctokit>;

export interface PublishedComment {
  id: string;
  url: string;
}

const NONE: PublishedComment = { id: '', url: '' };

/**
 * The sticky PR comment of this invocation. `comment: on-failure` writes only on failure and
 * deletes its earlier failure comment once the run passes. Never fails the step: a refused
 * write is a warning (the job summary has the same text).
 */
export async function publishComment(
  settings: ActionSettings,
  octokit: Octokit | undefined,
  body: string,
  failed: boolean,
  /** Only bring an existing comment up to date (a setup error: no earlier verdict, nothing stale). */
  updateOnly = false,
): Promise<PublishedComment> {
  const pr = settings.pullRequest;
  if (settings.commentMode === 'false' || !pr) return NONE;
  if (!octokit) {
    core.warning('no github-token: the rehearsal is in the job summary only');
    return NONE;
  }
  const target: StickyCommentTarget = { ...pr, marker: settings.marker };
  try {
    const existing = await findStickyComment(octokit, target, await tokenLogin(octokit));
    if (settings.commentMode === 'on-failure' && !failed) {
      if (existing) {
        await deleteComment(octokit, target, existing.id);
        core.info('deleted the earlier failure comment: this run passed');
      }
      return NONE;
    }
    if (updateOnly && !existing) return NONE;
    const result = await upsertStickyComment(octokit, target, body, existing);
    core.info(`${result.action} the PR comment: ${result.url}`);
    return { id: String(result.id), url: result.url };
  } catch (error) {
    warnCommentFailed(error);
    return NONE;
  }
}

function warnCommentFailed(error: unknown): void {
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
}
