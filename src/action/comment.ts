import { createHash } from 'node:crypto';
import type { getOctokit } from '@actions/github';

type Octokit = ReturnType<typeof getOctokit>;

export interface StickyCommentTarget {
  owner: string;
  repo: string;
  issueNumber: number;
  /** Hidden HTML marker identifying this invocation's comment (it holds the comment key). */
  marker: string;
}

export interface CommentResult {
  id: number;
  url: string;
  action: 'created' | 'updated';
}

/** The account GITHUB_TOKEN writes as; a GitHub App's installation token cannot read GET /user either. */
export const ACTIONS_BOT = 'github-actions[bot]';

/**
 * The default comment key: workflow, job, and a digest of working-directory and the
 * migrations/command, so two steps of one job never share a comment. A matrix whose legs
 * differ only in secrets or services needs an explicit comment-key.
 */
export function defaultCommentKey(
  workflow: string,
  job: string,
  workingDirectory: string,
  runner: string,
): string {
  const digest = createHash('sha256').update(`${workingDirectory}\n${runner}`).digest('hex').slice(0, 8);
  return `${workflow}:${job}:${digest}`;
}

/** `<!-- pg-rehearsal:<key> -->` */
export function commentMarker(key: string): string {
  return `<!-- pg-rehearsal:${key.replace(/--+>?/g, '-')} -->`;
}

/** Who the token is: GET /user, else (forbidden for installation tokens) github-actions[bot]. */
export async function tokenLogin(octokit: Octokit): Promise<string> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return data.login;
  } catch {
    return ACTIONS_BOT;
  }
}

/** This invocation's comment: the marker, written by the same account (another user's copy is left alone). */
export async function findStickyComment(octokit: Octokit, target: StickyCommentTarget, login: string) {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issueNumber,
    per_page: 100,
  });
  return comments.find(
    (c) => c.body?.split('\n', 1)[0] === target.marker && c.user?.login.toLowerCase() === login.toLowerCase(),
  );
}

/** Updates this invocation's comment in place, or creates it the first time. */
export async function upsertStickyComment(
  octokit: Octokit,
  target: StickyCommentTarget,
  body: string,
  existing: { id: number } | undefined,
): Promise<CommentResult> {
  if (existing) {
    const { data } = await octokit.rest.issues.updateComment({
      owner: target.owner,
      repo: target.repo,
      comment_id: existing.id,
      body,
    });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  const { data } = await octokit.rest.issues.createComment({
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issueNumber,
    body,
  });
  return { id: data.id, url: data.html_url, action: 'created' };
}

export async function deleteComment(
  octokit: Octokit,
  target: StickyCommentTarget,
  id: number,
): Promise<void> {
  await octokit.rest.issues.deleteComment({ owner: target.owner, repo: target.repo, comment_id: id });
}
