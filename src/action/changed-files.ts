import path from 'node:path';
import * as exec from '@actions/exec';
import type { getOctokit } from '@actions/github';
import { errorMessage } from '../engine/errors.js';
import type { Logger } from '../engine/logger.js';

type Octokit = ReturnType<typeof getOctokit>;

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  baseSha?: string;
  headSha?: string;
}

/** File statuses that mean "this PR adds or modifies the file". */
const CHANGED_STATUSES = new Set(['added', 'modified', 'renamed', 'copied', 'changed']);

/**
 * Files the pull request adds or modifies, repository-relative: from the API (every page),
 * else from `git diff` between the event's base and head. Undefined when neither works.
 */
export async function changedFilesOfPullRequest(
  octokit: Octokit | undefined,
  pr: PullRequestRef,
  workspace: string,
  log: Logger,
): Promise<string[] | undefined> {
  if (octokit) {
    try {
      const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
        owner: pr.owner,
        repo: pr.repo,
        pull_number: pr.number,
        per_page: 100,
      });
      return files.filter((f) => CHANGED_STATUSES.has(f.status)).map((f) => f.filename);
    } catch (error) {
      log.warn(
        `could not list the pull request's files through the API (${errorMessage(error)}); trying git diff`,
      );
    }
  }
  if (!pr.baseSha || !pr.headSha) return undefined;
  let output = '';
  const code = await exec.exec(
    'git',
    ['diff', '--name-only', '--diff-filter=ACMR', `${pr.baseSha}...${pr.headSha}`],
    {
      cwd: workspace,
      ignoreReturnCode: true,
      silent: true,
      listeners: { stdout: (data: Buffer) => (output += data.toString()) },
    },
  );
  if (code !== 0) {
    log.warn(
      `git diff ${pr.baseSha.slice(0, 7)}...${pr.headSha.slice(0, 7)} failed; fetch the history (actions/checkout with fetch-depth: 0)`,
    );
    return undefined;
  }
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Repository-relative paths -> paths relative to the migrations' working directory. */
export function relativeToWorkingDirectory(
  files: string[],
  workspace: string,
  workingDirectory: string,
): string[] {
  return files.map((file) =>
    path.relative(workingDirectory, path.resolve(workspace, file)).split(path.sep).join('/'),
  );
}
