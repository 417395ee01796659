import * as core from '@actions/core';
import { buildConfig, type RawOptions, type RehearsalConfig } from '../engine/config.js';
import { parseConnectionUrl } from '../engine/connection.js';

/** Every input of action.yml; the runner passes all of them, an empty string meaning "not given". */
export const INPUT_NAMES = [
  'source-url',
  'snapshot-server-url',
  'snapshot',
  'snapshot-data',
  'snapshot-name',
  'snapshot-max-age',
  'keep-snapshot',
  'migrations',
  'command',
  'working-directory',
  'changed-only',
  'lock-monitoring',
  'metrics',
  'max-duration',
  'max-read-block',
  'max-write-block',
  'max-size-increase',
  'max-rewrite-size',
  'fail-on-error',
  'comment',
  'github-token',
  'report-path',
  'sarif-path',
  'timeout',
  'pg-bin-dir',
  'layout',
  'lock-sample-interval',
  'lock-capture',
  'traffic',
  'advice',
  'rollback',
  'down-command',
  'require-reversible',
  'require-down',
  'comment-key',
  'base-ref',
  'fail-on-violation',
] as const;

export function readInputs(): RawOptions {
  const raw: RawOptions = {};
  for (const name of INPUT_NAMES) raw[name] = core.getInput(name);
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
    label: (option) => option,
    runId: `${process.env.GITHUB_RUN_ID ?? 'local'}${process.env.GITHUB_RUN_ATTEMPT ?? ''}`,
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
  });
}
