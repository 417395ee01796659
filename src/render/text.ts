import {
  describeGoldenRefresh,
  formatFailure,
  statementLocation,
  statementPlace,
  type Report,
} from '../engine/report.js';
import { formatBytes, formatDuration, formatSignedBytes } from '../engine/units.js';
import { describeSnapshotData, notCopied } from './snapshot-data.js';
import { adviceText } from './advice.js';
import { wayBackText } from './rollback.js';
import { schemaChangesText } from './schema-changes.js';
import { indexesAndTotal, ownSize } from './sizes.js';
import {
  blockingLocks,
  describeLockCapture,
  rewritesOfMigration,
  strongestPerRelation,
  verdict,
  worstLock,
} from './summary.js';

/** The terminal rendering: the verdict first, then what each file did, then the numbers. */
export function renderText(report: Report): string {
  const lines = [
    ...verdictSection(report),
    ...headerSection(report),
    ...migrationsSection(report),
    ...blockingSection(report),
    ...trafficSection(report),
    ...[adviceText(report), schemaChangesText(report)].flatMap((section) =>
      section.length ? [...section, ''] : [],
    ),
    ...sizeSection(report),
    ...(report.runner.kind === 'none' ? [] : [phasesLine(report)]),
  ];
  return `${lines.join('\n')}\n`;
}

function verdictSection(report: Report): string[] {
  const lines = [`pg-rehearsal ${report.tool.version}: ${verdict(report)}`];
  for (const v of report.violations) {
    lines.push(`  x ${v.rule}: ${v.message}${v.path ? ` (${v.path}${v.line ? `:${v.line}` : ''})` : ''}`);
  }
  if (report.failure) lines.push(`  x migration failed: ${formatFailure(report.failure)}`);
  if (report.failure?.hint) lines.push(`    hint: ${report.failure.hint}`);
  lines.push('');
  return lines;
}

/** The snapshot, the server and how locks were captured. */
function headerSection(report: Report): string[] {
  const lines: string[] = [];
  const snap = report.snapshot;
  if (snap) {
    const size = snap.size_bytes !== null ? `, ${formatBytes(snap.size_bytes)}` : '';
    lines.push(
      `Snapshot   ${snap.name} on ${snap.server.host}:${snap.server.port} (${snap.strategy}, ${snap.seconds.toFixed(2)} s${size})`,
    );
    lines.push(`           ${snap.reason}${snap.kept ? '; kept' : '; dropped after the run'}`);
    const data = describeSnapshotData(report);
    if (data) lines.push(`Data       ${data}`);
  }
  if (report.golden_refresh) lines.push(`Golden     ${describeGoldenRefresh(report.golden_refresh)}`);
  if (report.server) lines.push(`Server     PostgreSQL ${report.server.version}`);
  if (report.runner.kind !== 'none') lines.push(`Locks      ${describeLockCapture(report)}`);
  lines.push('');
  return lines;
}

/** One line per file, then one per statement with its blocking locks, rewrites and error. */
function migrationsSection(report: Report): string[] {
  if (report.runner.kind === 'none') return ['Migrations none: a refresh-only run', ''];
  const lines = [
    `Migrations (${report.migrations.length} file(s), ${formatDuration(report.phases_ms.migrate)})`,
  ];
  for (const migration of report.migrations) {
    const mark = migration.status === 'applied' ? 'ok ' : migration.status === 'failed' ? 'ERR' : ' - ';
    const worst = worstLock(report, migration);
    const rewrites = rewritesOfMigration(migration);
    const facts = [
      migration.status === 'not_run' ? 'not run' : formatDuration(migration.duration_ms),
      worst ? `${worst.mode_name} on ${worst.relation} for ${formatDuration(worst.held_ms)}` : undefined,
      rewrites.length ? `rewrote ${rewrites.join(', ')}` : undefined,
    ].filter(Boolean);
    lines.push(`  ${mark} ${migration.path}  ${facts.join('  |  ')}`);
    const wayBack = wayBackText(migration);
    if (wayBack) lines.push(`      ${wayBack}`);
    for (const s of migration.statements) {
      const locks = strongestPerRelation(
        s.locks.filter((l) => l.blocks !== 'none' && l.relation_kind !== 'index'),
      ).map((l) => `${l.mode_name} ${l.relation}`);
      const detail = [
        locks.length ? locks.join(', ') : undefined,
        s.rewrites.length ? `rewrites ${s.rewrites.join(', ')}` : undefined,
        s.error ? `ERROR ${s.error}` : undefined,
      ]
        .filter(Boolean)
        .join('; ');
      lines.push(
        `      ${statementPlace(s).padStart(4)}  ${formatDuration(s.duration_ms).padStart(9)}  ${truncate(s.sql, 70)}${detail ? `  [${detail}]` : ''}`,
      );
    }
  }
  lines.push('');
  return lines;
}

function blockingSection(report: Report): string[] {
  const blocking = blockingLocks(report);
  if (!blocking.length) return [];
  return [
    'Blocking locks (held until the end of their transaction)',
    ...blocking.map(
      (l) =>
        `  ${l.relation.padEnd(28)} ${l.mode_name.padEnd(22)} ${formatDuration(l.held_ms).padStart(9)}  blocks ${l.blocks.padEnd(12)} ${statementLocation(l.statement)}`,
    ),
    '',
  ];
}

function trafficSection(report: Report): string[] {
  const traffic = report.traffic;
  if (!traffic) return [];
  return [
    `Probe traffic (a read and a write per table every ${traffic.interval_ms} ms)`,
    ...Object.entries(traffic.tables).map(([table, t]) => {
      const queue = traffic.lock_queue[table]?.outcome ?? '-';
      return `  ${table.padEnd(28)} reads blocked ${t.reads.blocked}/${t.reads.probes} (max ${formatDuration(t.reads.max_wait_ms)})  writes blocked ${t.writes.blocked}/${t.writes.probes} (max ${formatDuration(t.writes.max_wait_ms)})  behind a long reader: ${queue}`;
    }),
    '',
  ];
}

/** The database's size, then every table and index that changed. */
function sizeSection(report: Report): string[] {
  const metrics = report.metrics;
  if (!metrics) return [];
  const after = metrics.total_db_size_after;
  const lines = [
    `Size       database ${formatBytes(metrics.total_db_size_before ?? 0)}${after !== null ? ` -> ${formatBytes(after)} (${formatSignedBytes(metrics.total_db_size_delta ?? 0)})` : ''}`,
  ];
  const relations = [
    ...Object.entries(metrics.tables).map(([name, m]) => ({ name, kind: 'table' as const, m })),
    ...Object.entries(metrics.indexes).map(([name, m]) => ({ name, kind: 'index' as const, m })),
  ].filter((r) => r.m.status !== 'unchanged');
  for (const { name, kind, m } of relations) {
    const own = ownSize(kind, m);
    const sizes =
      m.status === 'new'
        ? formatBytes(own.after ?? 0)
        : m.status === 'dropped'
          ? `was ${formatBytes(own.before ?? 0)}`
          : `${formatBytes(own.before ?? 0)} -> ${formatBytes(own.after ?? 0)} (${formatSignedBytes(own.delta)})`;
    const rows =
      m.rows_after !== null ? `  ~${m.rows_after.toLocaleString('en-US')} rows${notCopied(m)}` : '';
    lines.push(
      `  ${kind.padEnd(5)} ${name.padEnd(32)} ${m.status.padEnd(9)} ${m.rewritten ? 'REWRITTEN ' : ''}${sizes}${indexesAndTotal(kind, m)}${kind === 'table' ? rows : ''}`,
    );
  }
  lines.push('');
  return lines;
}

function phasesLine(report: Report): string {
  const p = report.phases_ms;
  return `Phases     snapshot ${formatDuration(p.snapshot)}, catalog ${formatDuration(p.catalog_before)} + ${formatDuration(p.catalog_after)}, migrations ${formatDuration(p.migrate)}, cleanup ${formatDuration(p.cleanup)}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
