import * as core from '@actions/core';
import { buildConfig, type RawOptions, type RehearsalConfig } from '../engine/config.js';
import { parseConnectionUrl } from '../engine/connection.js';
import { OPTIONS, type OptionSpec } from '../engine/options/index.js';
import { plainNaming, type OptionNaming } from '../engine/wording.js';

/** The Action's own inputs: the PR comment, the report files, which changes to rehearse. */
export const ACTION_ONLY_INPUTS: readonly OptionSpec[] = [
  {
    name: 'changed-only',
    type: 'boolean',
    default: 'true',
    description:
      'The built-in runner applies only the migration files the triggering change adds: the PR (pull_request, pull_request_target), the merge group (base_sha..head_sha), the push (before..after), or HEAD against base-ref on other events. When that cannot be known the step fails saying what to set.',
    input: true,
  },
  {
    name: 'base-ref',
    type: 'text',
    description:
      'With changed-only on events without a base (workflow_dispatch, schedule, ...): the branch or commit to diff HEAD against. Default: the repository default branch.',
    input: true,
  },
  {
    name: 'comment',
    type: 'choice',
    default: 'true',
    description: 'The sticky PR comment: true, false, or on-failure.',
    input: true,
  },
  {
    name: 'comment-key',
    type: 'text',
    description:
      "Tells this invocation's sticky comment apart (two steps, a matrix, two workflows). Default: workflow, job, and a digest of working-directory and migrations/command.",
    input: true,
  },
  {
    name: 'github-token',
    type: 'text',
    default: '${{ github.token }}',
    description: 'Token for the PR comment (needs pull-requests: write).',
    input: true,
  },
  {
    name: 'report-path',
    type: 'text',
    description:
      'Where the JSON report is written. Default: $RUNNER_TEMP/pg-rehearsal/<comment-key>-<step>.json, one per invocation.',
    input: true,
  },
  {
    name: 'sarif-path',
    type: 'text',
    description:
      'Also write the findings as SARIF 2.1.0 to this path (for github/codeql-action/upload-sarif: code scanning alerts on the migration lines). Default: not written.',
    input: true,
  },
];

/** Every input of action.yml: the engine's options that are inputs, then the Action's own. */
export const ACTION_INPUTS: readonly OptionSpec[] = [
  ...OPTIONS.filter((spec) => spec.input),
  ...ACTION_ONLY_INPUTS,
];

/**
 * How the Action's messages name options: as inputs (`max-duration`, `snapshot: dump`). An
 * option that is no input (a CLI-only one) keeps its name too: there is nothing else to say.
 */
export const INPUT_NAMING: OptionNaming = plainNaming;

/** The runner passes every input, an empty string meaning "not given". */
export function readInputs(): RawOptions {
  const raw: RawOptions = {};
  for (const { name } of ACTION_INPUTS) raw[name] = core.getInput(name);
  return raw;
}

/** Registers every password and token with the runner so it is masked in all logs. */
export function maskSecrets(raw: RawOptions): void {
  const token = raw['github-token'];
  if (typeof token === 'string' && token) core.setSecret(token);
  for (const name of ['source-url', 'snapshot-server-url']) {
    const value = raw[name];
    if (typeof value !== 'string' || !value) continue;
    try {
      const password = parseConnectionUrl(value, name).password;
      if (password) {
        core.setSecret(password);
        core.setSecret(encodeURIComponent(password));
      }
    } catch {
      // An unparsable URL is reported by buildConfig, redacted.
    }
  }
}

export function configFromInputs(raw: RawOptions): RehearsalConfig {
  return buildConfig(raw, {
    runId: `${process.env.GITHUB_RUN_ID ?? 'local'}${process.env.GITHUB_RUN_ATTEMPT ?? ''}`,
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
  });
}
