import { formatFailure, type MigrationReport, type Report, type Violation } from '../engine/report.js';

/**
 * JUnit XML, which GitLab, Jenkins and most CI systems show as test results: one test
 * case per migration file, failed by a threshold breached at one of its statements and in
 * error when it did not apply; thresholds about the whole run (total time, database
 * growth) are one more test case. Pure: the report in, the XML out.
 */
export function renderJunit(report: Report): string {
  const cases = [
    ...report.migrations.map((m) => migrationCase(report, m)),
    ...report.migrations_skipped.map(
      (s) =>
        `    <testcase classname="pg-rehearsal" name="${xml(s.path)}" time="0"><skipped message="${xml(s.reason)}"/></testcase>`,
    ),
  ];
  const runWide = report.violations.filter(
    (v) => !v.path || !report.migrations.some((m) => m.path === v.path),
  );
  if (report.violations.length || Object.keys(report.thresholds).length) {
    cases.push(testCase('thresholds', 0, runWide.map(failure)));
  }
  const failures = cases.filter((c) => c.includes('<failure')).length;
  const errors = cases.filter((c) => c.includes('<error')).length;
  const skipped = cases.filter((c) => c.includes('<skipped')).length;
  const seconds = (report.phases_ms.migrate / 1000).toFixed(3);
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pg-rehearsal" ${counts}>`,
    `  <testsuite name="pg-rehearsal" ${counts} timestamp="${xml(report.started_at)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function migrationCase(report: Report, migration: MigrationReport): string {
  const body = report.violations.filter((v) => v.path === migration.path).map(failure);
  if (migration.status === 'failed' && report.failure) {
    const code = report.failure.sqlstate ? `SQLSTATE ${report.failure.sqlstate}` : 'migration-error';
    const detail = [report.failure.detail, report.failure.hint, report.failure.output]
      .filter(Boolean)
      .join('\n');
    body.push(
      `<error message="${xml(formatFailure(report.failure))}" type="${xml(code)}">${xml(detail)}</error>`,
    );
  } else if (migration.status === 'not_run') {
    body.push('<skipped message="not run: an earlier migration failed or the run was cancelled"/>');
  }
  return testCase(migration.path, migration.duration_ms, body);
}

function failure(v: Violation): string {
  const where = v.path ? `${v.path}${v.line ? `:${v.line}` : ''}` : v.subject;
  return `<failure message="${xml(`${v.rule}: ${v.message}`)}" type="${xml(v.rule)}">${xml(`${where}: limit ${v.limit}, measured ${v.actual}`)}</failure>`;
}

function testCase(name: string, ms: number, body: string[]): string {
  const open = `    <testcase classname="pg-rehearsal" name="${xml(name)}" time="${(ms / 1000).toFixed(3)}"`;
  return body.length ? `${open}>${body.join('')}</testcase>` : `${open}/>`;
}

/** Escapes text for an XML attribute or element; drops characters XML 1.0 cannot carry. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
