import type { Report, SchemaChange } from '../engine/report.js';

/**
 * The schema changes of a report, for the text report and the comment: one line per
 * object, `+` added, `-` dropped, `~` altered with its definition before and after.
 */
const MARK: Record<SchemaChange['change'], string> = { added: '+', dropped: '-', altered: '~' };

/** Shown open in the comment up to this many changes; longer lists are collapsed. */
const OPEN_LIMIT = 8;

export function describeSchemaChange(change: SchemaChange): string {
  const definition =
    change.change === 'altered'
      ? `${change.before} -> ${change.after}`
      : change.change === 'added'
        ? change.after
        : `was ${change.before}`;
  return `${change.object} ${change.name}: ${definition}`;
}

export function schemaChangesText(report: Report): string[] {
  const changes = report.schema_changes;
  if (!changes?.length) return [];
  return [
    `Schema changes (${changes.length})`,
    ...changes.map((c) => `  ${MARK[c.change]} ${describeSchemaChange(c)}`),
  ];
}

export function schemaChangesMarkdown(report: Report): string {
  const changes = report.schema_changes;
  if (!changes?.length) return '';
  const code = (text: string | null) => (text ? `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|')}\`` : '–');
  const rows = [
    '| change | object | before | after |',
    '|---|---|---|---|',
    ...changes.map(
      (c) =>
        `| ${MARK[c.change]} ${c.change} | ${c.object} ${code(c.name)} | ${code(c.before)} | ${code(c.after)} |`,
    ),
  ];
  const title = `Schema changes (${changes.length})`;
  if (changes.length <= OPEN_LIMIT) return [`**${title}**`, '', ...rows].join('\n');
  return [`<details><summary>${title}</summary>`, '', ...rows, '', '</details>'].join('\n');
}
