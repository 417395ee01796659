import type { RawOptions } from '../engine/config.js';
import type { ActionSettings } from './settings.js';

/** The sticky comment after a setup error or cancel: the verdict it replaces no longer holds. */
export function setupErrorMarkdown(settings: ActionSettings, kind: string, message: string): string {
  const commit = settings.headSha ? ` on \`${settings.headSha.slice(0, 12)}\`` : '';
  return [
    settings.marker,
    `### ⚠️ pg-rehearsal: ${kind}${commit}`,
    '',
    `**${kind === 'cancelled' ? 'Cancelled' : 'Setup error'}:** ${message.replace(/\n/g, ' ')}`,
    '',
    'No verdict for this commit: an earlier result on this pull request no longer applies.',
    '',
    `<sub>[workflow run](${settings.runUrl})</sub>`,
    '',
  ].join('\n');
}

/**
 * A pull request from a fork gets no secrets: source-url is empty. Say so instead of
 * "source-url is required", and never pass.
 */
export function skippedForFork(raw: RawOptions, payload: Record<string, unknown>): string | undefined {
  const pr = payload.pull_request as
    | {
        head?: { repo?: { full_name?: string; fork?: boolean } | null };
        base?: { repo?: { full_name?: string } };
      }
    | undefined;
  if (!pr || String(raw['source-url'] ?? '').trim() || String(raw.snapshot ?? '').trim() === 'existing')
    return undefined;
  const head = pr.head?.repo;
  const fromFork = head?.fork === true || (head?.full_name && head.full_name !== pr.base?.repo?.full_name);
  if (!fromFork) return undefined;
  return (
    'the rehearsal was skipped: source-url is empty because GitHub does not give secrets to pull requests from forks. ' +
    'Rehearse fork PRs from a trusted workflow (pull_request_target checking out the PR head, after review), or against a snapshot server the workflow can reach without a secret'
  );
}
