import type { getOctokit } from '@actions/github';
import { SetupError } from '../engine/errors.js';
import { git, isShallow } from './git.js';

type Octokit = ReturnType<typeof getOctokit>;

/** A file the change adds or modifies, repository-relative. */
export interface ChangedFile {
  path: string;
  /** The base already had this file (so production has likely run it). */
  modified: boolean;
}

/** The GitHub API lists at most this many files of a pull request. */
export const API_FILE_CAP = 3000;

/** File statuses that mean "this change adds or modifies the file". */
const ADDED_STATUSES = new Set(['added', 'renamed', 'copied']);
const MODIFIED_STATUSES = new Set(['modified', 'changed']);

export async function pullRequestFilesFromApi(
  octokit: Octokit,
  pr: { owner: string; repo: string; number: number },
): Promise<{ files: ChangedFile[]; listed: number }> {
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
    owner: pr.owner,
    repo: pr.repo,
    pull_number: pr.number,
    per_page: 100,
  });
  return {
    listed: files.length,
    files: files
      .filter((f) => ADDED_STATUSES.has(f.status) || MODIFIED_STATUSES.has(f.status))
      .map((f) => ({ path: f.filename, modified: MODIFIED_STATUSES.has(f.status) })),
  };
}

/**
 * Files added or modified between two commits, from git: `base...head` (since their merge
 * base, as a pull request sees it) or `base..head` (exactly what a push or merge group adds).
 * A failure is an error that says how to get the history, never an empty list.
 */
export async function filesBetween(
  root: string,
  base: string,
  head: string,
  mergeBase: boolean,
): Promise<ChangedFile[]> {
  const range = `${base}${mergeBase ? '...' : '..'}${head}`;
  const result = await git(['diff', '--name-status', '--diff-filter=ACMR', '-M', range, '--'], root);
  if (result.code !== 0) {
    const why = result.stderr.split('\n')[0] || `exit code ${result.code}`;
    const shallow = await isShallow(root);
    throw new SetupError(
      `changed-only: git diff ${shortRange(base, head, mergeBase)} failed (${why}). ` +
        (shallow
          ? 'The clone is shallow: set `fetch-depth: 0` on actions/checkout so both commits are there'
          : 'Both commits must be in the clone: set `fetch-depth: 0` on actions/checkout') +
        ', or set changed-only: false to rehearse every matched migration.',
    );
  }
  return parseNameStatus(result.stdout);
}

function shortRange(base: string, head: string, mergeBase: boolean): string {
  const short = (ref: string) => (/^[0-9a-f]{40}$/.test(ref) ? ref.slice(0, 7) : ref);
  return `${short(base)}${mergeBase ? '...' : '..'}${short(head)}`;
}

/** `A\tpath`, `M\tpath`, `R100\told\tnew` -> files (a rename counts as a new file). */
export function parseNameStatus(output: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split('\t');
    if (fields.length < 2) continue;
    files.push({ path: fields[fields.length - 1], modified: fields[0].startsWith('M') });
  }
  return files;
}
