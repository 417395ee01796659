import type { Advice, Report } from '../engine/report.js';
import { formatDuration } from '../engine/units.js';

/**
 * The advice of a report, for the comment, the text report and annotations: the rule, a
 * one-line reason, the safer SQL, and what both forms cost on the rehearsed data.
 */
export function measuredLine(advice: Advice): string {
  const { original, alternative } = advice.measured;
  if (!alternative) return advice.not_measured ? `not measured: ${advice.not_measured}` : '';
  const parts: string[] = [];
  if (original.read_block_ms || alternative.read_block_ms)
    parts.push(
      `reads blocked ${formatDuration(original.read_block_ms)} -> ${formatDuration(alternative.read_block_ms)}`,
    );
  parts.push(
    `writes blocked ${formatDuration(original.write_block_ms)} -> ${formatDuration(alternative.write_block_ms)}`,
  );
  parts.push(`total ${formatDuration(original.duration_ms)} -> ${formatDuration(alternative.duration_ms)}`);
  return `measured on your data: ${parts.join(', ')}`;
}

/** One line for an annotation: what happened, what to do, what it would change. */
export function adviceOneLiner(advice: Advice): string {
  const measured = advice.measured.alternative ? `; ${measuredLine(advice)}` : '';
  return `${advice.finding}. Instead: ${advice.instead}${measured}`;
}

function where(advice: Advice): string {
  return `${advice.statement.path}${advice.statement.line ? `:${advice.statement.line}` : ''}`;
}

export function adviceText(report: Report): string[] {
  if (!report.advice.length) return [];
  const lines = [`Advice (${report.advice.length})`];
  for (const a of report.advice) {
    lines.push(`  ${where(a)}  ${a.rule}${a.table ? ` on ${a.table}` : ''}`);
    lines.push(`    ${a.finding}`, `    instead: ${a.instead}`);
    for (const sql of a.instead_sql?.split('\n') ?? []) lines.push(`      ${sql}`);
    const measured = measuredLine(a);
    if (measured) lines.push(`    ${measured}`);
  }
  return lines;
}

export function adviceMarkdown(report: Report): string {
  if (!report.advice.length) return '';
  const blocks = report.advice.map((a) => {
    const lines = [`**💡 \`${a.rule}\`** at \`${where(a)}\`: ${a.finding}.`, '', `Instead: ${a.instead}.`];
    if (a.instead_sql) lines.push('', '```sql', a.instead_sql, '```');
    const measured = measuredLine(a);
    if (measured) lines.push('', a.measured.alternative ? `**${measured}**` : `_${measured}_`);
    return lines.join('\n');
  });
  return [`#### Advice (${report.advice.length})`, '', blocks.join('\n\n')].join('\n');
}
