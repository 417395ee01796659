import {
  describeGoldenRefresh,
  formatFailure,
  statementLocation,
  statementPlace,
  type MigrationReport,
  type Report,
} from '../engine/report.js';
import { formatBytes, formatDuration, formatSignedBytes } from '../engine/units.js';
import { describeSnapshotData, notCopied } from './snapshot-data.js';
import { adviceMarkdown } from './advice.js';
import { hasRollback, wayBackCell } from './rollback.js';
import { schemaChangesMarkdown } from './schema-changes.js';
import { indexesAndTotal, ownSize } from './sizes.js';
import { renderTimeline } from './timeline.js';
import {
  blockingLocks,
  locksOfMigration,
  rewritesOfMigration,
  strongestPerRelation,
  verdict,
  worstLock,
} from './summary.js';

/** GitHub refuses comments over 65,536 characters; we stay under with room to spare. */
export const COMMENT_LIMIT = 65_536;

export interface MarkdownContext {
  /** Hidden HTML marker that makes the comment sticky (found and updated in place). */
  marker?: string;
  /** Link to the workflow run. */
  runUrl?: string;
  /** Where the complete report lives when the comment had to be shortened. */
  fullReportHint?: string;
  limit?: number;
  /** The commit rehearsed (the PR head), named so a verdict is never read for another one. */
  commit?: string;
  /** What the text is cut to fit, for the note that says so (default `a comment`). */
  cutFor?: string;
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The PR comment and job summary: verdict and breached thresholds first, then one row per
 * migration file, then details collapsed. Pure: the same report gives the same text.
 * When the result would exceed the limit, details go first, then rows, with a pointer to
 * the full report.
 */
export function renderMarkdown(report: Report, context: MarkdownContext = {}): string {
  const limit = (context.limit ?? COMMENT_LIMIT) - 1; // the final newline
  const table = migrationsTable(report);
  const advice = adviceMarkdown(report);
  const timeline = renderTimeline(report);
  const details = [
    schemaChangesMarkdown(report),
    statementDetails(report),
    trafficDetails(report),
    relationDetails(report),
  ]
    .filter(Boolean)
    .join('\n');
  const foot = footer(report, context);
  // What to do instead comes right under the verdict and the breaches it answers.
  const full = [headSection(report, context), advice, table, timeline, details, foot]
    .filter(Boolean)
    .join('\n\n');
  if (full.length <= limit) return `${full}\n`;
  return `${fitted(report, context, { advice, table, timeline, foot, limit })}\n`;
}

/**
 * Cuts in order until the text fits: statement details and relation tables, then the
 * timeline, then per-file rows, then breach rows (grouped, the rest counted). The note says
 * what was cut; the job summary and the JSON report keep everything.
 */
function fitted(
  report: Report,
  context: MarkdownContext,
  parts: { advice: string; table: string; timeline: string; foot: string; limit: number },
): string {
  const { advice, table, timeline, foot, limit } = parts;
  const where = context.fullReportHint ?? 'The job summary and the JSON report have everything.';
  const note = (cut: string[]) =>
    `> [!NOTE]\n> Cut to fit ${context.cutFor ?? 'a comment'}: ${cut.join(', ')}. ${where}`;
  const rows = table.split('\n');
  for (const maxBreaches of [Infinity, 100, 20, 5]) {
    const head = headSection(report, context, maxBreaches);
    const groups = breachGroups(report).length;
    const cutBreaches = groups > maxBreaches ? [`${groups - maxBreaches} of ${groups} breach rows`] : [];
    const base = ['statement details and relation tables', ...cutBreaches];
    const attempts = [
      [head, advice, table, timeline, note(base), foot],
      [head, advice, table, note([...base, 'the timeline']), foot],
      [head, table, note([...base, 'the timeline', 'the advice']), foot],
    ];
    for (const attempt of attempts) {
      const text = attempt.filter(Boolean).join('\n\n');
      if (text.length <= limit) return text;
    }
    // Keep as many per-file rows as fit (the header is the first two rows).
    const budget = limit - head.length - foot.length - 400;
    let kept = rows.slice(0, 2).join('\n');
    let count = 2;
    while (count < rows.length && kept.length + rows[count].length + 1 <= budget)
      kept += `\n${rows[count++]}`;
    if (kept.length > budget) continue;
    const dropped = rows.length - count;
    const text = [
      head,
      `${kept}\n| … ${dropped} more file(s) | | | | | |`,
      note([...base, 'the timeline', 'the advice', `${dropped} of ${rows.length - 2} file rows`]),
      foot,
    ].join('\n\n');
    if (text.length <= limit) return text;
  }
  // Unreachable with real reports; never exceed the limit regardless.
  return `${headSection(report, context, 0).slice(0, limit - 400)}\n\n${note(['nearly everything'])}`;
}

/** Violations of the same rule on the same table, one row each with a count. */
function breachGroups(report: Report): { first: Report['violations'][number]; count: number }[] {
  const groups = new Map<string, { first: Report['violations'][number]; count: number }>();
  for (const v of report.violations) {
    const key = `${v.rule}\u0000${v.subject}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { first: v, count: 1 });
  }
  return [...groups.values()];
}

function headSection(report: Report, context: MarkdownContext, maxBreaches = Infinity): string {
  const lines: string[] = [];
  if (context.marker) lines.push(context.marker);
  const icon = report.cancelled ? '⚠️' : report.passed ? '✅' : '❌';
  lines.push(`### ${icon} pg-rehearsal: ${verdict(report).toLowerCase()}`);
  lines.push('');
  if (report.failure) {
    lines.push(`**Migration failed:** ${cell(formatFailure(report.failure))}`);
    if (report.failure.hint) lines.push(`Hint: ${cell(report.failure.hint)}`);
    lines.push('');
  }
  if (report.violations.length) {
    lines.push(`**${report.violations.length} threshold(s) breached**`);
    lines.push('');
    lines.push('| threshold | limit | measured | on | where |');
    lines.push('|---|---|---|---|---|');
    const groups = breachGroups(report);
    for (const { first: v, count } of groups.slice(0, maxBreaches)) {
      const where = v.path ? code(`${v.path}${v.line ? `:${v.line}` : ''}`) : '';
      const times = count > 1 ? ` (${count} times; first shown)` : '';
      lines.push(
        `| ❌ ${code(v.rule)} | ${v.limit} | **${v.actual}**${times} | ${code(v.subject)} | ${where} |`,
      );
    }
    if (groups.length > maxBreaches)
      lines.push(
        `| … | | | ${groups.length - maxBreaches} more row(s) | in the job summary and the report |`,
      );
    lines.push('');
  }
  if (report.golden_refresh)
    lines.push(`**Golden snapshot** ${describeGoldenRefresh(report.golden_refresh)}.`, '');
  lines.push(contextLine(report));
  const data = describeSnapshotData(report, code);
  if (data) lines.push('', `Data: ${data}.`);
  if (report.migrations_skipped.length) {
    lines.push('');
    lines.push(
      `Not run: ${report.migrations_skipped
        .slice(0, 20)
        .map((s) => `${code(s.path)} (${s.reason})`)
        .join(
          ', ',
        )}${report.migrations_skipped.length > 20 ? `, and ${report.migrations_skipped.length - 20} more` : ''}`,
    );
  }
  return lines.join('\n').trimEnd();
}

function contextLine(report: Report): string {
  const parts: string[] = [];
  const snap = report.snapshot;
  if (snap) {
    const source = snap.source ? ` of ${code(snap.source.database)}` : '';
    const size = snap.size_bytes !== null ? `, ${formatBytes(snap.size_bytes)}` : '';
    parts.push(
      `Rehearsed on a snapshot${source} (${snap.strategy}${size}, ready in ${formatDuration(snap.seconds * 1000)})`,
    );
  }
  if (report.server) parts.push(`PostgreSQL ${report.server.version.split(' ')[0]}`);
  const ran = report.migrations.filter((m) => m.status !== 'not_run').length;
  if (report.runner.kind === 'none') parts.push('a refresh-only run: no migrations');
  else parts.push(`${ran} file(s) in ${formatDuration(report.phases_ms.migrate)}`);
  if (report.metrics?.total_db_size_delta != null)
    parts.push(`database ${formatSignedBytes(report.metrics.total_db_size_delta)}`);
  if (report.runner.lock_capture !== 'off') parts.push(`locks ${report.runner.lock_capture}`);
  if (report.traffic) parts.push(`probe traffic on ${Object.keys(report.traffic.tables).length} table(s)`);
  return parts.join(' · ');
}

/** Longest hold of a lock that blocks reads / writes on a pre-existing table, per file. */
export function blockingTimes(report: Report, migration: MigrationReport): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const lock of locksOfMigration(report, migration)) {
    if (lock.blocks === 'reads+writes') reads = Math.max(reads, lock.held_ms);
    if (lock.blocks !== 'none') writes = Math.max(writes, lock.held_ms);
  }
  return { reads, writes };
}

function migrationsTable(report: Report): string {
  if (!report.migrations.length) return '';
  const wayBack = hasRollback(report.migrations);
  const lines = [
    `| migration | time | worst lock | blocks reads | blocks writes | rewritten | size |${wayBack ? ' way back |' : ''}`,
    `|---|--:|---|--:|--:|---|--:|${wayBack ? '---|' : ''}`,
  ];
  for (const m of report.migrations) {
    const status = m.status === 'failed' ? '❌ ' : m.status === 'not_run' ? '⏭️ ' : '';
    const worst = worstLock(report, m);
    const times = blockingTimes(report, m);
    const rewrites = rewritesOfMigration(m).filter(
      (r) => report.metrics?.tables[r] !== undefined || !report.metrics,
    );
    lines.push(
      `| ${status}${code(m.path)} | ${m.status === 'not_run' ? 'not run' : formatDuration(m.duration_ms)} | ${
        worst ? `${worst.mode_name} on ${code(worst.relation)}` : '–'
      } | ${times.reads ? `**${formatDuration(times.reads)}**` : '–'} | ${times.writes ? formatDuration(times.writes) : '–'} | ${
        rewrites.length ? rewrites.map(code).join(', ') : '–'
      } | ${m.size_delta_bytes != null ? formatSignedBytes(m.size_delta_bytes) : '–'} |${wayBack ? ` ${cell(wayBackCell(m))} |` : ''}`,
    );
  }
  return lines.join('\n');
}

function statementDetails(report: Report): string {
  const ran = report.migrations.filter((m) => m.statements.length);
  if (!ran.length) return '';
  const lines = ['<details><summary>Statements</summary>', ''];
  for (const m of ran) {
    lines.push(`**${code(m.path)}**${m.transactional ? '' : ' (run outside a single transaction)'}`, '');
    // A tool's statements have no line: their order across its sessions is shown instead.
    const place = m.statements.some((s) => s.index) ? 'order' : 'line';
    lines.push(`| ${place} | time | statement | locks taken | rewrites |`, '|--:|--:|---|---|---|');
    for (const s of m.statements) {
      const locks = strongestPerRelation(s.locks.filter((l) => l.relation_kind !== 'index'))
        .map((l) => `${l.mode_name} ${code(l.relation)}`)
        .join(', ');
      lines.push(
        `| ${statementPlace(s)} | ${formatDuration(s.duration_ms)} | ${code(cell(s.sql))}${s.error ? ` ❌ ${cell(s.error)}` : ''} | ${
          locks || '–'
        } | ${s.rewrites.length ? s.rewrites.map(code).join(', ') : '–'} |`,
      );
    }
    lines.push('');
  }
  const blocking = blockingLocks(report);
  if (blocking.length) {
    lines.push('**Locks that block other sessions** (held until the end of their transaction)', '');
    lines.push('| table | mode | held | blocks | taken by |', '|---|---|--:|---|---|');
    for (const l of blocking) {
      lines.push(
        `| ${code(l.relation)} | ${l.mode_name} | ${formatDuration(l.held_ms)} | ${l.blocks} | ${code(statementLocation(l.statement))} |`,
      );
    }
    lines.push('');
  }
  lines.push('</details>');
  return lines.join('\n');
}

function trafficDetails(report: Report): string {
  const traffic = report.traffic;
  if (!traffic) return '';
  const lines = [
    '<details><summary>Probe traffic: who would have waited</summary>',
    '',
    `A primary-key read and a one-row write (rolled back) on each table every ${traffic.interval_ms} ms, each on its own connection, for the whole run.`,
    '',
    '| table | reads blocked | longest read wait | writes blocked | longest write wait | behind a long reader |',
    '|---|--:|--:|--:|--:|---|',
  ];
  const queue = {
    queued: '⚠️ migration queued, everyone queued behind it',
    failed_fast: '✅ failed fast (lock_timeout)',
    no_conflict: 'no conflict',
  };
  for (const [table, t] of Object.entries(traffic.tables)) {
    const outcome = traffic.lock_queue[table];
    lines.push(
      `| ${code(table)} | ${t.reads.blocked}/${t.reads.probes} | ${formatDuration(t.reads.max_wait_ms)} | ${t.writes.blocked}/${t.writes.probes} | ${formatDuration(t.writes.max_wait_ms)} | ${outcome ? queue[outcome.outcome] : '–'} |`,
    );
  }
  lines.push(
    '',
    `"Behind a long reader": a session held each table for ${traffic.long_reader_ms} ms as the migration started, like a slow report; thresholds count only the waiting after it let go.`,
    '',
    '</details>',
  );
  return lines.join('\n');
}

function relationDetails(report: Report): string {
  const metrics = report.metrics;
  if (!metrics) return '';
  const changed = [
    ...Object.entries(metrics.tables).map(([name, m]) => ({ name, kind: 'table' as const, m })),
    ...Object.entries(metrics.indexes).map(([name, m]) => ({ name, kind: 'index' as const, m })),
  ].filter((r) => r.m.status !== 'unchanged');
  if (!changed.length) return '';
  const lines = [
    `<details><summary>Tables and indexes (${changed.length} changed)</summary>`,
    '',
    "A table's sizes are its own data (heap + TOAST); its indexes are on their own rows.",
    '',
    '| relation | status | before | after | change | rows |',
    '|---|---|--:|--:|--:|--:|',
  ];
  for (const { name, kind, m } of changed) {
    const status = m.rewritten ? `${m.status}, **rewritten**` : m.status;
    const rows =
      kind === 'table' && m.rows_after !== null
        ? `~${m.rows_after.toLocaleString('en-US')}${notCopied(m)}`
        : '';
    const own = ownSize(kind, m);
    lines.push(
      `| ${kind} ${code(name)} | ${status} | ${own.before !== null ? formatBytes(own.before) : '–'} | ${
        own.after !== null ? formatBytes(own.after) : '–'
      } | ${formatSignedBytes(own.delta)}${indexesAndTotal(kind, m)} | ${rows} |`,
    );
  }
  lines.push('', '</details>');
  return lines.join('\n');
}

function footer(report: Report, context: MarkdownContext): string {
  const parts = [`<sub>pg-rehearsal ${report.tool.version}`];
  if (context.commit) parts.push(`commit ${code(context.commit.slice(0, 12))}`);
  if (context.runUrl) parts.push(`[workflow run](${context.runUrl})`);
  parts.push(`${report.completed_at.replace('T', ' ').replace(/\..*$/, ' UTC')}</sub>`);
  return parts.join(' · ');
}
