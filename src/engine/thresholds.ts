import type { Thresholds } from './config.js';
import type { LockRecord, Report, SchemaChange, Violation } from './report.js';
import { formatBytes, formatDuration } from './units.js';

/**
 * Judges a finished report against the configured limits. Pure: the report in,
 * violations out. One violation per rule and subject (the worst case), so a comment
 * does not repeat itself for every lock on the same table.
 */
export function evaluateThresholds(report: Report, thresholds: Thresholds): Violation[] {
  return [
    ...durationViolations(report, thresholds),
    ...blockingViolations(
      report,
      'max-read-block',
      thresholds.maxReadBlockMs,
      (l) => l.blocks === 'reads+writes',
      'reads and writes',
    ),
    ...blockingViolations(
      report,
      'max-write-block',
      thresholds.maxWriteBlockMs,
      (l) => l.blocks !== 'none',
      'writes',
    ),
    ...sizeIncreaseViolations(report, thresholds),
    ...rewriteSizeViolations(report, thresholds),
    ...rollbackViolations(report, thresholds),
  ];
}

/** max-duration: the migrate phase as a whole. */
function durationViolations(report: Report, thresholds: Thresholds): Violation[] {
  const migrateMs = report.phases_ms.migrate;
  if (thresholds.maxDurationMs === undefined || migrateMs <= thresholds.maxDurationMs) return [];
  return [
    {
      rule: 'max-duration',
      limit: formatDuration(thresholds.maxDurationMs),
      actual: formatDuration(migrateMs),
      subject: 'migrations',
      message: `the migrations took ${formatDuration(migrateMs)}, over the ${formatDuration(thresholds.maxDurationMs)} limit`,
    },
  ];
}

/**
 * max-read-block / max-write-block. With probe traffic, the limits judge how long real
 * queries waited, not lock hold times.
 */
function blockingViolations(
  report: Report,
  rule: string,
  limitMs: number | undefined,
  applies: (lock: LockRecord) => boolean,
  what: string,
): Violation[] {
  if (limitMs === undefined) return [];
  if (report.traffic) return measuredWaitViolations(report, rule, limitMs, applies);
  const worstByRelation = new Map<string, LockRecord>();
  for (const lock of report.locks) {
    // Nobody can be waiting on a relation the migration itself created; an index's
    // lock comes with its table's, which is the one reported.
    if (
      !lock.granted ||
      lock.new_relation ||
      lock.relation_kind === 'index' ||
      !applies(lock) ||
      lock.held_ms <= limitMs
    )
      continue;
    const current = worstByRelation.get(lock.relation);
    if (!current || lock.held_ms > current.held_ms) worstByRelation.set(lock.relation, lock);
  }
  return [...worstByRelation.values()].map((lock) => ({
    rule,
    limit: formatDuration(limitMs),
    actual: formatDuration(lock.held_ms),
    subject: lock.relation,
    message: `${lock.relation} was locked ${lock.mode_name} for ${formatDuration(lock.held_ms)}, blocking ${what}, over the ${formatDuration(limitMs)} limit`,
    path: lock.statement.path,
    line: lock.statement.line,
  }));
}

/** The blocking rules when probe traffic measured the waits: one violation per table. */
function measuredWaitViolations(
  report: Report,
  rule: string,
  limitMs: number,
  applies: (lock: LockRecord) => boolean,
): Violation[] {
  const violations: Violation[] = [];
  const kind = rule === 'max-read-block' ? 'reads' : 'writes';
  for (const [table, measured] of Object.entries(report.traffic?.tables ?? {})) {
    const waited = kind === 'reads' ? measured.judged_read_wait_ms : measured.judged_write_wait_ms;
    if (waited <= limitMs) continue;
    const culprit = report.locks
      .filter((l) => l.relation === table && l.granted && !l.new_relation && applies(l))
      .sort((a, b) => b.held_ms - a.held_ms)[0];
    violations.push({
      rule,
      limit: formatDuration(limitMs),
      actual: formatDuration(waited),
      subject: table,
      message: `${kind} on ${table} waited up to ${formatDuration(waited)} (measured by probe traffic)${
        culprit ? ` behind ${culprit.mode_name}` : ''
      }, over the ${formatDuration(limitMs)} limit`,
      path: culprit?.statement.path,
      line: culprit?.statement.line,
    });
  }
  return violations;
}

/** max-size-increase: the whole database's growth, in bytes or percent of its size before. */
function sizeIncreaseViolations(report: Report, thresholds: Thresholds): Violation[] {
  const metrics = report.metrics;
  const limit = thresholds.maxSizeIncrease;
  if (!limit || !metrics || metrics.total_db_size_delta === null || metrics.total_db_size_before === null)
    return [];
  const delta = metrics.total_db_size_delta;
  const limitBytes =
    limit.kind === 'bytes' ? limit.bytes : (metrics.total_db_size_before * limit.percent) / 100;
  if (delta <= limitBytes) return [];
  const described =
    limit.kind === 'bytes' ? formatBytes(limit.bytes) : `${limit.percent}% (${formatBytes(limitBytes)})`;
  return [
    {
      rule: 'max-size-increase',
      limit: limit.kind === 'bytes' ? formatBytes(limit.bytes) : `${limit.percent}%`,
      actual: formatBytes(delta),
      subject: 'database',
      message: `the database grew by ${formatBytes(delta)}, over the ${described} limit`,
    },
  ];
}

/** max-rewrite-size: one violation per rewritten table at or over the limit. */
function rewriteSizeViolations(report: Report, thresholds: Thresholds): Violation[] {
  const metrics = report.metrics;
  const limitBytes = thresholds.maxRewriteSizeBytes;
  if (limitBytes === undefined || !metrics) return [];
  const violations: Violation[] = [];
  for (const [name, table] of Object.entries(metrics.tables)) {
    // The rule (README, max-rewrite-size): only tables that existed before the run count.
    // A table the PR creates has no production traffic to block yet; its rewrites are
    // still listed per statement.
    if (table.status === 'new' || !table.rewritten) continue;
    if ((table.size_before ?? 0) < limitBytes) continue;
    const statement = report.migrations.flatMap((m) => m.statements).find((s) => s.rewrites.includes(name));
    violations.push({
      rule: 'max-rewrite-size',
      limit: formatBytes(limitBytes),
      actual: formatBytes(table.size_before ?? 0),
      subject: name,
      message:
        limitBytes === 0
          ? `${name} (${formatBytes(table.size_before ?? 0)}) was rewritten; no rewrite is allowed (max-rewrite-size 0)`
          : `${name} (${formatBytes(table.size_before ?? 0)}) was rewritten; tables of ${formatBytes(limitBytes)} or more may not be`,
      path: statement?.path,
      line: statement?.line,
    });
  }
  return violations;
}

/** require-reversible: a down that fails or does not restore the schema; require-down: no down at all. */
function rollbackViolations(report: Report, thresholds: Thresholds): Violation[] {
  const violations: Violation[] = [];
  for (const migration of report.migrations) {
    const rollback = migration.rollback;
    if (!rollback) continue;
    const broken = rollback.status === 'irreversible' || rollback.status === 'failed';
    if (thresholds.requireReversible && broken) {
      const why =
        rollback.status === 'failed'
          ? `its down failed: ${rollback.error?.message ?? 'error'}`
          : rollback.differences.length
            ? `after its down, the schema differs: ${rollback.differences.map(describeDifference).join('; ')}`
            : `it could not run again after its down: ${rollback.error?.message ?? 'error'}`;
      const where = rollback.status === 'failed' ? rollback.error : undefined;
      violations.push({
        rule: 'require-reversible',
        limit: 'reversible',
        actual: rollback.status,
        subject: migration.path,
        message: `${migration.path} is not reversible: ${why}`,
        path: where?.path ?? rollback.down?.path ?? migration.path,
        line: where?.line,
      });
    }
    if (thresholds.requireDown && rollback.status === 'absent') {
      violations.push({
        rule: 'require-down',
        limit: 'a down migration',
        actual: 'none',
        subject: migration.path,
        message: `${migration.path} has no down migration`,
        path: migration.path,
      });
    }
  }
  return violations;
}

/** `index products_category_idx left behind by the down`, ... */
export function describeDifference(change: SchemaChange): string {
  const what = `${change.object} ${change.name}`;
  if (change.change === 'added') return `${what} left behind by the down`;
  if (change.change === 'dropped') return `${what} not restored (was ${change.before})`;
  return `${what} restored as ${change.after} (was ${change.before})`;
}

/** The thresholds as the user wrote them, for the report's `thresholds` section. */
export function describeThresholds(thresholds: Thresholds): Record<string, string> {
  const described: Record<string, string> = {};
  if (thresholds.maxDurationMs !== undefined)
    described['max-duration'] = formatDuration(thresholds.maxDurationMs);
  if (thresholds.maxReadBlockMs !== undefined)
    described['max-read-block'] = formatDuration(thresholds.maxReadBlockMs);
  if (thresholds.maxWriteBlockMs !== undefined)
    described['max-write-block'] = formatDuration(thresholds.maxWriteBlockMs);
  if (thresholds.maxSizeIncrease) {
    described['max-size-increase'] =
      thresholds.maxSizeIncrease.kind === 'bytes'
        ? formatBytes(thresholds.maxSizeIncrease.bytes)
        : `${thresholds.maxSizeIncrease.percent}%`;
  }
  if (thresholds.maxRewriteSizeBytes !== undefined)
    described['max-rewrite-size'] = formatBytes(thresholds.maxRewriteSizeBytes);
  if (thresholds.requireReversible) described['require-reversible'] = 'true';
  if (thresholds.requireDown) described['require-down'] = 'true';
  return described;
}
