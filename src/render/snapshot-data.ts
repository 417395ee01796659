import type { Report } from '../engine/report.js';
import { formatBytes } from '../engine/units.js';

/**
 * One line on which rows a focused snapshot (`snapshot-data: touched`) copied and which it
 * did not; undefined when every row was copied as usual. Shared by the comment and the text.
 */
export function describeSnapshotData(
  report: Report,
  code: (s: string) => string = (s) => s,
): string | undefined {
  const data = report.snapshot?.data;
  if (!data) return undefined;
  if (data.mode === 'all')
    return `every row copied (snapshot-data: touched not applied: ${data.fallback ?? 'not asked for'})`;
  const notCopied = Object.values(report.metrics?.tables ?? {}).filter((m) => m.copied === false).length;
  const copied = data.tables.map(
    (t) => `${code(t)}${data.reasons[t] === 'touched' ? '' : ` (${data.reasons[t]})`}`,
  );
  const others = report.metrics ? `${notCopied} other table(s)` : 'every other table';
  const passes = `${data.passes} pass${data.passes === 1 ? '' : 'es'}`;
  const missing = data.missing?.length
    ? `; still locked without rows after ${passes}: ${data.missing.map(code).join(', ')}`
    : '';
  return `rows copied for ${copied.join(', ') || 'no table'} (${formatBytes(data.bytes_copied)} of ${formatBytes(data.source_bytes)}); ${others} schema only, their sizes and rows read from the source; ${passes}${missing}`;
}

/** A relation a focused snapshot did not copy: its figures are the source's. */
export function notCopied(m: { copied?: false }): string {
  return m.copied === false ? " (not copied: the source's figures)" : '';
}
