import { MODIFIED_AFTER_RELEASE, type Report } from '../engine/report.js';
import { formatBytes, formatDuration } from '../engine/units.js';
import { adviceOneLiner } from './advice.js';
import { blockingLocks } from './summary.js';

export interface Annotation {
  level: 'error' | 'warning';
  /** What kind of finding: a threshold's name, `migration-error`, `table-rewritten`, `long-access-exclusive`. */
  rule: string;
  title: string;
  message: string;
  /** Path relative to the working directory the migrations were resolved in. */
  file?: string;
  line?: number;
}

/** GitHub shows at most 10 annotations of each kind per step; we choose which. */
export const MAX_ANNOTATIONS_PER_KIND = 10;

/**
 * The annotations GitHub will show: the first of each kind from `renderFindings`, leaving
 * room for the step's own final messages (the failure, an error, and up to two warnings).
 */
export function renderAnnotations(report: Report): Annotation[] {
  const findings = renderFindings(report);
  return [
    ...findings.filter((f) => f.level === 'error').slice(0, MAX_ANNOTATIONS_PER_KIND - 1),
    ...findings.filter((f) => f.level === 'warning').slice(0, MAX_ANNOTATIONS_PER_KIND - 2),
  ];
}

/**
 * Errors for each violation and for a failed migration, at the file and line of the
 * statement responsible; warnings for notable findings that did not breach a threshold
 * (a rewrite, a long ACCESS EXCLUSIVE hold). Pure: the report in, every finding out.
 */
export function renderFindings(report: Report): Annotation[] {
  const errors: Annotation[] = [];
  const warnings: Annotation[] = [];
  if (report.failure) {
    errors.push({
      level: 'error',
      rule: 'migration-error',
      title: `pg-rehearsal: migration failed${report.failure.sqlstate ? ` (SQLSTATE ${report.failure.sqlstate})` : ''}`,
      message: report.failure.message,
      file: report.failure.path,
      line: report.failure.line,
    });
  }
  for (const v of report.violations) {
    errors.push({
      level: 'error',
      rule: v.rule,
      title: `pg-rehearsal: ${v.rule} breached`,
      message: v.message,
      file: v.path,
      line: v.line,
    });
  }

  const violated = new Set(report.violations.map((v) => `${v.subject}:${v.path}:${v.line}`));
  warnings.push(...modifiedAfterRelease(report), ...rewriteWarnings(report, violated));
  for (const lock of blockingLocks(report)) {
    if (lock.blocks !== 'reads+writes' || lock.held_ms < 1000) continue;
    if (violated.has(`${lock.relation}:${lock.statement.path}:${lock.statement.line}`)) continue;
    warnings.push({
      level: 'warning',
      rule: 'long-access-exclusive',
      title: 'pg-rehearsal: long ACCESS EXCLUSIVE lock',
      message: `${lock.relation} is locked ACCESS EXCLUSIVE for ${formatDuration(lock.held_ms)}: reads and writes on it wait that long`,
      file: lock.statement.path,
      line: lock.statement.line,
    });
  }
  for (const advice of report.advice) {
    warnings.push({
      level: 'warning',
      rule: advice.rule,
      title: `pg-rehearsal advice: ${advice.rule}`,
      message: adviceOneLiner(advice),
      file: advice.statement.path,
      line: advice.statement.line,
    });
  }
  return [...errors, ...warnings];
}

/** A released file the change edited and that did not run: production has the old version. */
function modifiedAfterRelease(report: Report): Annotation[] {
  return report.migrations_skipped
    .filter((s) => s.reason === MODIFIED_AFTER_RELEASE)
    .map((s) => ({
      level: 'warning',
      rule: 'modified-after-release',
      title: 'pg-rehearsal: migration modified after release',
      message: `${s.path} is ${MODIFIED_AFTER_RELEASE}; it is not re-run. Add a new migration instead of editing a released one`,
      file: s.path,
    }));
}

/** A rewrite that breached no threshold, once per table. */
function rewriteWarnings(report: Report, violated: Set<string>): Annotation[] {
  const warnings: Annotation[] = [];
  const seenRewrites = new Set<string>();
  for (const m of report.migrations) {
    for (const s of m.statements) {
      for (const table of s.rewrites) {
        const metrics = report.metrics?.tables[table];
        if (!metrics || seenRewrites.has(table) || violated.has(`${table}:${s.path}:${s.line}`)) continue;
        seenRewrites.add(table);
        warnings.push({
          level: 'warning',
          rule: 'table-rewritten',
          title: 'pg-rehearsal: table rewritten',
          message: `${table} (${formatBytes(metrics.size_before ?? 0)}) is rewritten by this statement, under an ACCESS EXCLUSIVE lock`,
          file: s.path,
          line: s.line,
        });
      }
    }
  }
  return warnings;
}
