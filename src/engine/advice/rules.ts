import { displayName } from '../catalog.js';
import { lockStrength } from '../observe/lock-modes.js';
import type { Advice, AdviceMeasurement, LockRecord, Report, StatementReport } from '../report.js';
import { formatDuration } from '../units.js';

/**
 * Advice: rules over what the rehearsal measured, each naming the safer way to write a
 * statement. A rule fires only on a table that existed before the run and has rows
 * (a table the migration created has no traffic to block), and never on a statement
 * already in its safe form. Where the safe form is a mechanical rewrite of the one
 * statement, `alternative` holds it, to be rehearsed on the same data (advice/measure.ts);
 * where none exists (a rewrite, a batched backfill) the advice is words only.
 * See docs/advice.md for each rule with an example.
 */

/** A statement with its full text (the report keeps a one-line excerpt only). */
export interface FullStatement {
  report: StatementReport;
  /** The whole statement as the file has it. */
  raw: string;
  /** The whole statement without comments, trimmed: what rules read and rewrite. */
  sql: string;
  /** Its position in its file: the statements before it ran first. */
  index: number;
  /** Every statement of its file as a script holds it (with `;`, a COPY with its data), in order. */
  siblings: string[];
}

/** The safe form: statements run one by one, each in its own transaction (or none). */
export interface Alternative {
  statements: string[];
}

export interface AdviceCandidate {
  advice: Advice;
  alternative: Alternative | null;
  statement: FullStatement;
}

/** An UPDATE or DELETE touching at least this many rows in one transaction gets the batching advice. */
export const LARGE_DML_ROWS = 10_000;

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\.${IDENT})?`;

interface RuleContext {
  report: Report;
  statement: FullStatement;
  /** Locks this statement took first. */
  locks: LockRecord[];
  /** A table that existed before the run and has rows, locked by this statement. */
  table: string | undefined;
  original: AdviceMeasurement;
  /** `SET lock_timeout` ran earlier in the same file, or this file was already told. */
  lockTimeoutSet: boolean;
}

type Rule = (context: RuleContext) => Omit<AdviceCandidate, 'statement'> | undefined;

function advice(
  context: RuleContext,
  rule: string,
  finding: string,
  instead: string,
  alternative: string[] | null,
): Omit<AdviceCandidate, 'statement'> {
  const { report: s } = context.statement;
  return {
    advice: {
      rule,
      statement: { path: s.path, line: s.line, sql: s.sql },
      table: context.table ?? null,
      finding,
      instead,
      instead_sql: alternative ? alternative.map((sql) => `${sql};`).join('\n') : null,
      measured: { original: context.original, alternative: null },
    },
    alternative: alternative ? { statements: alternative } : null,
  };
}

const createIndexConcurrently: Rule = (c) => {
  const match = /^CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)(.*)$/is.exec(c.statement.sql);
  if (!match || !c.table) return undefined;
  const safe = `CREATE ${match[1] ?? ''}INDEX CONCURRENTLY ${match[2]}`;
  return advice(
    c,
    'create-index-concurrently',
    `CREATE INDEX without CONCURRENTLY blocks every INSERT, UPDATE and DELETE on ${c.table} while it builds (writes were blocked ${formatDuration(c.original.write_block_ms)} around it here)`,
    'build it with CREATE INDEX CONCURRENTLY, outside a transaction block (its own migration file, or one without a transaction): writes go on while it builds',
    [safe],
  );
};

const foreignKeyNotValid: Rule = (c) => {
  const re = new RegExp(
    String.raw`^ALTER\s+TABLE\s+(?:ONLY\s+)?(${QUALIFIED})\s+ADD\s+CONSTRAINT\s+(${IDENT})\s+(FOREIGN\s+KEY\s.*)$`,
    'is',
  );
  const match = re.exec(c.statement.sql);
  const unnamed = /^ALTER\s+TABLE\s.*\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b/is.test(c.statement.sql);
  if ((!match && !unnamed) || !c.table || /\bNOT\s+VALID\s*$/i.test(c.statement.sql)) return undefined;
  const finding = `adding a validated FOREIGN KEY scans ${c.table} under SHARE ROW EXCLUSIVE (writes blocked ${formatDuration(c.original.write_block_ms)} here)`;
  const instead =
    'add it NOT VALID (instant), then VALIDATE CONSTRAINT in a later transaction: validation takes only SHARE UPDATE EXCLUSIVE, so writes go on';
  if (!match)
    return advice(
      c,
      'foreign-key-not-valid',
      finding,
      `${instead} (name the constraint to have the alternative rehearsed)`,
      null,
    );
  const [, table, name, definition] = match;
  return advice(c, 'foreign-key-not-valid', finding, instead, [
    `ALTER TABLE ${table} ADD CONSTRAINT ${name} ${definition} NOT VALID`,
    `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}`,
  ]);
};

const setNotNullViaCheck: Rule = (c) => {
  const re = new RegExp(
    String.raw`^ALTER\s+TABLE\s+(?:ONLY\s+)?(${QUALIFIED})\s+ALTER\s+(?:COLUMN\s+)?(${IDENT})\s+SET\s+NOT\s+NULL$`,
    'is',
  );
  const match = re.exec(c.statement.sql);
  if (!match || !c.table) return undefined;
  const [, table, column] = match;
  const check = quoteName(`${unquote(table.split('.').pop()!)}_${unquote(column)}_not_null`);
  return advice(
    c,
    'set-not-null-via-check',
    `SET NOT NULL scans ${c.table} under ACCESS EXCLUSIVE (reads and writes blocked ${formatDuration(c.original.read_block_ms)} here)`,
    'add a CHECK (column IS NOT NULL) NOT VALID, VALIDATE it (SHARE UPDATE EXCLUSIVE), then SET NOT NULL, which PostgreSQL 12+ proves from the check without a scan, and drop the check',
    [
      `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID`,
      `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}`,
      `ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`,
      `ALTER TABLE ${table} DROP CONSTRAINT ${check}`,
    ],
  );
};

const uniqueViaIndex: Rule = (c) => {
  const re = new RegExp(
    String.raw`^ALTER\s+TABLE\s+(?:ONLY\s+)?(${QUALIFIED})\s+ADD\s+(?:CONSTRAINT\s+(${IDENT})\s+)?(UNIQUE|PRIMARY\s+KEY)\s*(\([^()]*\))$`,
    'is',
  );
  const match = re.exec(c.statement.sql);
  if (!match || !c.table) return undefined;
  const [, table, givenName, kindText, columns] = match;
  const kind = kindText.toUpperCase().replace(/\s+/g, ' ');
  const bare = unquote(table.split('.').pop()!);
  const name =
    givenName ?? quoteName(kind === 'UNIQUE' ? `${bare}_${columnsSlug(columns)}_key` : `${bare}_pkey`);
  return advice(
    c,
    'unique-via-index',
    `ADD ${kind} builds its index under ACCESS EXCLUSIVE on ${c.table} (reads and writes blocked ${formatDuration(c.original.read_block_ms)} here)`,
    `build the unique index CONCURRENTLY first, then attach it: ADD CONSTRAINT ... ${kind} USING INDEX only takes a brief lock`,
    [
      `CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} ${columns}`,
      `ALTER TABLE ${table} ADD CONSTRAINT ${name} ${kind} USING INDEX ${name}`,
    ],
  );
};

const rewriteExpandContract: Rule = (c) => {
  const rewritten = c.statement.report.rewrites.filter((r) => hasRows(c.report, r));
  if (!rewritten.length) return undefined;
  return advice(
    c,
    'rewrite-expand-contract',
    `this statement rewrote ${rewritten.join(', ')} under ACCESS EXCLUSIVE (reads and writes blocked ${formatDuration(c.original.read_block_ms)} here)`,
    'expand and contract: add a new column, backfill it in batches, switch reads and writes over, then drop the old one; no single statement does this without a rewrite, so there is no alternative to rehearse',
    null,
  );
};

const lockTimeout: Rule = (c) => {
  if (c.lockTimeoutSet || !c.table) return undefined;
  const blocking = c.locks
    .filter((l) => l.relation === c.table && l.blocks !== 'none')
    .sort((a, b) => lockStrength(b.mode) - lockStrength(a.mode))[0];
  if (!blocking) return undefined;
  const queue = c.report.traffic?.lock_queue[c.table];
  const queued = !c.report.traffic
    ? ' (traffic: true runs the lock-queue check and shows it on your data)'
    : queue?.outcome === 'queued'
      ? `; the lock-queue check saw it: behind a reader holding ${c.table} for ${formatDuration(queue.reader_held_ms)}, the migration queued and every query on ${c.table} queued behind it`
      : '';
  return advice(
    c,
    'lock-timeout',
    `takes ${blocking.mode_name} on ${c.table} with no lock_timeout: behind one long query on it, this statement waits, and every other query queues behind it${queued}`,
    "SET lock_timeout = '2s' (or SET LOCAL in the transaction) before it, and retry the migration when it times out",
    null,
  );
};

const batchLargeDml: Rule = (c) => {
  const rows = c.statement.report.rows;
  if (!/^(UPDATE|DELETE)\b/i.test(c.statement.sql) || rows === undefined || rows < LARGE_DML_ROWS)
    return undefined;
  const rowLock = c.locks.find((l) => l.mode === 'RowExclusiveLock' && !l.new_relation);
  const held = rowLock
    ? `, their row locks held ${formatDuration(rowLock.held_ms)} until the transaction ended`
    : '';
  return advice(
    c,
    'batch-large-dml',
    `${rows.toLocaleString('en-US')} rows changed in one transaction${held}: concurrent writes to those rows wait, and autovacuum cannot clean up until it ends`,
    'update in batches of a few thousand rows, each in its own transaction (a loop in the deploy script, or a procedure that COMMITs between batches)',
    null,
  );
};

const RULES: Rule[] = [
  createIndexConcurrently,
  foreignKeyNotValid,
  setNotNullViaCheck,
  uniqueViaIndex,
  rewriteExpandContract,
  lockTimeout,
  batchLargeDml,
];

/** The advice for every statement of a finished run, in statement order. */
export function adviseOn(report: Report, statements: FullStatement[]): AdviceCandidate[] {
  const candidates: AdviceCandidate[] = [];
  // Files that set lock_timeout, or were already told to (once per file is enough).
  const lockTimeoutHandled = new Set<string>();
  for (const statement of statements) {
    const s = statement.report;
    if (/^SET\s+(?:LOCAL\s+|SESSION\s+)?lock_timeout\b/i.test(statement.sql)) lockTimeoutHandled.add(s.path);
    if (s.error) continue;
    const locks = report.locks.filter((l) => l.statement.path === s.path && l.statement.line === s.line);
    const table = targetTable(report, statement, locks);
    const context: RuleContext = {
      report,
      statement,
      locks,
      table,
      original: measureOriginal(report, s, table),
      lockTimeoutSet: lockTimeoutHandled.has(s.path),
    };
    for (const rule of RULES) {
      const found = rule(context);
      if (!found) continue;
      candidates.push({ ...found, statement });
      if (found.advice.rule === 'lock-timeout') lockTimeoutHandled.add(s.path);
    }
  }
  return candidates;
}

/**
 * The table a statement is about: the one its SQL names (`ON t`, `ALTER TABLE t`) when
 * that table existed before the run and has rows, else such a table it locked first. The
 * name counts even without a new lock: a transaction may already hold the table.
 */
function targetTable(report: Report, statement: FullStatement, locks: LockRecord[]): string | undefined {
  const named = new RegExp(
    String.raw`^(?:CREATE\s.*?\sON\s+(?:ONLY\s+)?|ALTER\s+TABLE\s+(?:ONLY\s+)?)(${QUALIFIED})`,
    'is',
  ).exec(statement.sql)?.[1];
  if (named) {
    const parts = named.match(new RegExp(IDENT, 'g'))!.map(unquote);
    const name = parts.length === 2 ? displayName(parts[0], parts[1]) : parts[0];
    if (hasRows(report, name)) return name;
  }
  return locks.find((l) => l.relation_kind === 'table' && !l.new_relation && hasRows(report, l.relation))
    ?.relation;
}

/**
 * What the statement cost in the run: its time, and how long the table stayed blocked
 * around it: the longest hold on the table, by this statement or an earlier one of its
 * transaction, that was in force while it ran.
 */
export function measureOriginal(
  report: Report,
  statement: StatementReport,
  table: string | undefined,
): AdviceMeasurement {
  const start = statement.started_at_ms;
  const end = start + statement.duration_ms;
  const covering = report.locks.filter(
    (l) => l.relation === table && l.started_at_ms <= start + 0.5 && l.started_at_ms + l.held_ms >= end - 0.5,
  );
  return blockMeasurement(statement.duration_ms, covering);
}

export function blockMeasurement(durationMs: number, locks: LockRecord[]): AdviceMeasurement {
  const tables = locks.filter((l) => l.relation_kind === 'table' && !l.new_relation);
  const longest = (pick: (l: LockRecord) => boolean) =>
    Math.max(0, ...tables.filter(pick).map((l) => l.held_ms));
  return {
    duration_ms: durationMs,
    read_block_ms: longest((l) => l.blocks === 'reads+writes'),
    write_block_ms: longest((l) => l.blocks !== 'none'),
  };
}

function hasRows(report: Report, table: string): boolean {
  const metrics = report.metrics?.tables[table];
  return !!metrics && metrics.status !== 'new' && (metrics.rows_before ?? 0) > 0;
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

function quoteName(name: string): string {
  const short = name.slice(0, 63);
  return /^[a-z_][a-z0-9_]*$/.test(short) ? short : `"${short.replace(/"/g, '""')}"`;
}

function columnsSlug(columns: string): string {
  return columns
    .slice(1, -1)
    .split(',')
    .map((c) => unquote(c.trim()))
    .join('_');
}
