import type { getOctokit } from '@actions/github';
import { ConfigError, errorMessage, SetupError } from '../engine/errors.js';
import type { Logger } from '../engine/logger.js';
import { API_FILE_CAP, filesBetween, pullRequestFilesFromApi, type ChangedFile } from './changed-files.js';
import { git, headCommit, resolveCommit } from './git.js';

type Octokit = ReturnType<typeof getOctokit>;
// The webhook payload, as @actions/github parses it: untyped JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Payload = Record<string, any>;

export interface EventContext {
  eventName: string;
  payload: Payload;
  owner: string;
  repo: string;
}

/** What the triggering event changes, and how to name it in the report. */
export interface ChangeSet {
  files: ChangedFile[];
  /** Why the other matched migrations are not run, e.g. "not changed in PR #7". */
  skipReason: string;
}

const ZERO_SHA = /^0+$/;

/**
 * The files the event adds or modifies, for every event that can gate a merge:
 * pull_request(_target) (the API's list, or git diff when it is incomplete), merge_group
 * (base_sha..head_sha), push (before..after), and any other event against `base-ref`.
 * Throws when that cannot be known: changed-only is then never silently off.
 */
export async function changesOfEvent(
  event: EventContext,
  octokit: Octokit | undefined,
  root: string | undefined,
  baseRef: string | undefined,
  log: Logger,
): Promise<ChangeSet> {
  const { eventName, payload } = event;
  const needRoot = (): string => {
    if (root) return root;
    throw new SetupError(
      `changed-only: working-directory is not inside a git checkout, so the ${eventName} event's changes cannot be read; run actions/checkout (with fetch-depth: 0) first, or set changed-only: false`,
    );
  };
  if (payload.pull_request) return pullRequestChanges(event, octokit, root, log);
  if (eventName === 'merge_group' && payload.merge_group) {
    const { base_sha: base, head_sha: head } = payload.merge_group as { base_sha: string; head_sha: string };
    return { files: await filesBetween(needRoot(), base, head, false), skipReason: 'not in the merge group' };
  }
  if (eventName === 'push' && payload.before && payload.after && !ZERO_SHA.test(payload.before)) {
    const { before, after } = payload as { before: string; after: string };
    return {
      files: await filesBetween(needRoot(), before, after, false),
      skipReason: `not changed by the push ${before.slice(0, 7)}..${after.slice(0, 7)}`,
    };
  }
  const base = baseRef || (payload.repository?.default_branch as string | undefined);
  if (!base) {
    throw new ConfigError(
      'changed-only',
      `changed-only: a ${eventName} event names no base to compare with; set base-ref (e.g. main) to rehearse what changed since it, or changed-only: false to rehearse every matched migration`,
    );
  }
  return baseRefChanges(needRoot(), base);
}

async function baseRefChanges(root: string, base: string): Promise<ChangeSet> {
  const commit = await resolveCommit(root, [`origin/${base}`, base]);
  if (!commit) {
    throw new SetupError(
      `base-ref: "${base}" is not in the clone; set \`fetch-depth: 0\` on actions/checkout (or fetch that branch), or set base-ref to a branch or commit that is`,
    );
  }
  return { files: await filesBetween(root, commit, 'HEAD', true), skipReason: `not changed since ${base}` };
}

async function pullRequestChanges(
  event: EventContext,
  octokit: Octokit | undefined,
  root: string | undefined,
  log: Logger,
): Promise<ChangeSet> {
  const pr = event.payload.pull_request as Payload;
  const skipReason = `not changed in PR #${pr.number}`;
  const baseSha = pr.base?.sha as string | undefined;
  const headSha = pr.head?.sha as string | undefined;
  if (event.eventName === 'pull_request_target') await requireHeadCheckout(root, headSha);
  const viaGit = async (why: string): Promise<ChangeSet> => {
    if (!root || !baseSha || !headSha) {
      throw new SetupError(
        `changed-only: ${why}, and git cannot tell either (${root ? 'the event names no base and head' : 'working-directory is not in a git checkout'}); run actions/checkout with \`fetch-depth: 0\`, or set changed-only: false`,
      );
    }
    log.warn(`${why}: reading the PR's files with git diff ${baseSha.slice(0, 7)}...${headSha.slice(0, 7)}`);
    return { files: await filesBetween(root, baseSha, headSha, true), skipReason };
  };
  if (!octokit) return viaGit('no github-token to list the pull request files');
  let listed: Awaited<ReturnType<typeof pullRequestFilesFromApi>>;
  try {
    listed = await pullRequestFilesFromApi(octokit, {
      owner: event.owner,
      repo: event.repo,
      number: pr.number,
    });
  } catch (error) {
    return viaGit(`could not list the pull request's files through the API (${errorMessage(error)})`);
  }
  const total = typeof pr.changed_files === 'number' ? pr.changed_files : undefined;
  if (listed.listed >= API_FILE_CAP || (total !== undefined && total > listed.listed)) {
    return viaGit(
      `the API listed ${listed.listed} of the PR's ${total ?? 'many'} files (it stops at ${API_FILE_CAP.toLocaleString('en')})`,
    );
  }
  return { files: listed.files, skipReason };
}

/** pull_request_target checks out the base branch by default, where the PR's files are not. */
async function requireHeadCheckout(root: string | undefined, headSha: string | undefined): Promise<void> {
  const head = root ? await headCommit(root) : undefined;
  if (head && head === headSha) return;
  const merged =
    root && headSha ? await git(['merge-base', '--is-ancestor', headSha, 'HEAD'], root) : undefined;
  if (merged?.code === 0) return; // a merge of the PR head is checked out
  throw new SetupError(
    "pull_request_target runs on a checkout of the base branch, which does not have the PR's migrations; check out the PR head (actions/checkout with `ref: ${{ github.event.pull_request.head.sha }}`, for PRs you trust: the job has your secrets), or use the pull_request event",
  );
}
