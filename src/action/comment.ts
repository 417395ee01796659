import type { getOctokit } from '@actions/github';

type Octokit = ReturnType<typeof getOctokit>;

export interface StickyCommentTarget {
  owner: string;
  repo: string;
  issueNumber: number;
  /** Hidden HTML marker identifying this workflow+job's comment. */
  marker: string;
}

export interface CommentResult {
  url: string;
  action: 'created' | 'updated';
}

/** `<!-- pg-rehearsal:<workflow>:<job> -->`: one sticky comment per workflow and job. */
export function commentMarker(workflow: string, job: string): string {
  return `<!-- pg-rehearsal:${workflow.replace(/-->/g, '')}:${job.replace(/-->/g, '')} -->`;
}

export async function findStickyComment(octokit: Octokit, target: StickyCommentTarget) {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issueNumber,
    per_page: 100,
  });
  return comments.find((c) => c.body?.includes(target.marker));
}

/** Updates this job's comment in place, or creates it the first time. */
export async function upsertStickyComment(
  octokit: Octokit,
  target: StickyCommentTarget,
  body: string,
  existing?: { id: number },
): Promise<CommentResult> {
  const found = existing ?? (await findStickyComment(octokit, target));
  if (found) {
    const { data } = await octokit.rest.issues.updateComment({
      owner: target.owner,
      repo: target.repo,
      comment_id: found.id,
      body,
    });
    return { url: data.html_url, action: 'updated' };
  }
  const { data } = await octokit.rest.issues.createComment({
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issueNumber,
    body,
  });
  return { url: data.html_url, action: 'created' };
}
