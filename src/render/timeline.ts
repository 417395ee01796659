import type { Report } from '../engine/report.js';
import { blockingLocks } from './summary.js';

const MAX_STATEMENTS = 12;

/** Mermaid task names may not contain `:`, `#` or `;`; keep them short. */
function label(text: string): string {
  const clean = text
    .replace(/[:#;`]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > 48 ? `${clean.slice(0, 47)}…` : clean;
}

function span(from: number, to: number): string {
  const start = Math.max(0, Math.round(from));
  return `${start}, ${Math.max(start + 1, Math.round(to))}`;
}

/**
 * A Mermaid gantt chart (GitHub renders it) of the run: the longest statements, then per
 * table when reads and writes were blocked: measured by probe traffic when it ran, else
 * the holds of locks that block them. Empty when nothing blocked anyone.
 */
export function renderTimeline(report: Report): string {
  const locks = blockingLocks(report);
  const traffic = report.traffic;
  const trafficTables = Object.entries(traffic?.tables ?? {}).filter(
    ([, t]) => t.reads_blocked.length || t.writes_blocked.length,
  );
  if (!locks.length && !trafficTables.length) return '';

  const statements = report.migrations
    .flatMap((m) => m.statements)
    .sort((a, b) => b.duration_ms - a.duration_ms)
    .slice(0, MAX_STATEMENTS)
    .sort((a, b) => a.started_at_ms - b.started_at_ms);
  const lines = ['```mermaid', 'gantt', '  dateFormat x', '  axisFormat %S.%L s', '  section statements'];
  for (const s of statements) {
    const where = s.index ? `#${s.index}` : s.line ? `${s.path.split('/').pop()} ${s.line}` : 'command';
    lines.push(`  ${label(`${where} ${s.sql}`)} :${span(s.started_at_ms, s.started_at_ms + s.duration_ms)}`);
  }
  if (trafficTables.length) {
    for (const [table, t] of trafficTables) {
      lines.push(`  section ${label(table)}`);
      for (const [from, to] of t.reads_blocked) lines.push(`  reads blocked :crit, ${span(from, to)}`);
      for (const [from, to] of t.writes_blocked) lines.push(`  writes blocked :active, ${span(from, to)}`);
    }
  } else {
    for (const table of [...new Set(locks.map((l) => l.relation))]) {
      lines.push(`  section ${label(table)}`);
      for (const l of locks.filter((x) => x.relation === table)) {
        const what = l.blocks === 'reads+writes' ? 'reads and writes blocked' : 'writes blocked';
        lines.push(
          `  ${what} (${l.mode_name}) :${l.blocks === 'reads+writes' ? 'crit, ' : 'active, '}${span(l.started_at_ms, l.started_at_ms + l.held_ms)}`,
        );
      }
    }
  }
  lines.push('```');
  const source = traffic
    ? `Measured by probe traffic: a read and a write on each table every ${traffic.interval_ms} ms; a probe seen waiting for a lock for ${traffic.blocked_threshold_ms} ms or more counts as blocked.`
    : 'From lock hold times (run with `traffic: true` to measure real waits).';
  return `**Timeline** (seconds from the start of the migrations)\n\n${lines.join('\n')}\n\n<sub>${source}</sub>`;
}
