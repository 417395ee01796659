/**
 * Which statements cannot run inside a transaction block, judged on the statement's text
 * with comments removed and whitespace folded (so `CREATE /* c *\/ INDEX CONCURRENTLY`
 * is seen for what it is). Pure and self-contained: the built-in runner uses it to leave
 * a file's transaction, and a proxy that sees statements one by one can use it as well.
 */
import { stringLiterals, stripComments } from './sql-lexer.js';

const NON_TRANSACTIONAL = new RegExp(
  `^(?:${[
    'create (?:unique )?index concurrently\\b',
    'drop index concurrently\\b',
    'reindex\\b.*\\bconcurrently\\b',
    'reindex ?(?:\\([^)]*\\) ?)?(?:database|system)\\b',
    'vacuum\\b',
    'create database\\b',
    'drop database\\b',
    'alter database\\b.*\\bset tablespace\\b',
    'alter system\\b',
    'create tablespace\\b',
    'drop tablespace\\b',
    'alter table\\b.*\\bdetach partition\\b.*\\bconcurrently\\b',
  ].join('|')})`,
);

/** Lower-case text without comments, whitespace folded to single spaces. */
function normalize(sql: string): string {
  return stripComments(sql).replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * Whether `sql` must run outside a transaction block, as psql in autocommit runs it:
 * statements PostgreSQL refuses in one (CREATE INDEX CONCURRENTLY, VACUUM, REINDEX
 * DATABASE, ALTER DATABASE ... SET TABLESPACE, ...), a DO block whose body commits or
 * rolls back, and a CALL of a procedure in `committing` (see committingProcedures),
 * which would fail with "invalid transaction termination" inside one.
 */
export function requiresNoTransaction(sql: string, committing: ReadonlySet<string> = new Set()): boolean {
  const text = normalize(sql);
  if (NON_TRANSACTIONAL.test(text)) return true;
  if (/^do\b/.test(text)) return stringLiterals(sql).some(endsTransactions);
  const call = /^call ((?:"(?:[^"]|"")+"|[^\s(."]+)(?: ?\. ?(?:"(?:[^"]|"")+"|[^\s(."]+))*)/.exec(text);
  return call !== null && committing.has(routineName(call[1]));
}

/**
 * Procedures that commit or roll back, from the statements that create them (by
 * unqualified, lower-case name) and from `existing` bodies read from the database.
 */
export function committingProcedures(
  statements: string[],
  existing: { name: string; body: string }[] = [],
): Set<string> {
  const names = new Set(existing.filter((p) => endsTransactions(p.body)).map((p) => p.name.toLowerCase()));
  for (const sql of statements) {
    const create = /^create (?:or replace )?procedure ((?:"(?:[^"]|"")+"|[^\s(]+))/.exec(normalize(sql));
    if (create && stringLiterals(sql).some(endsTransactions)) names.add(routineName(create[1]));
  }
  return names;
}

/** A PL/pgSQL body with a COMMIT or ROLLBACK statement of its own. */
export function endsTransactions(body: string): boolean {
  return /(?:^|[;\s])(?:commit|rollback)(?: and(?: no)? chain)? ?;/.test(normalize(body));
}

function routineName(qualified: string): string {
  const last = qualified.split(/ ?\. ?/).pop() ?? qualified;
  return last.replace(/^"|"$/g, '').replace(/""/g, '"');
}

const TRANSACTION_CONTROL =
  /^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;

/** BEGIN/COMMIT and friends: a file that has them manages its own transactions. */
export function isTransactionControl(sql: string): boolean {
  return TRANSACTION_CONTROL.test(sql);
}

/** COMMIT, END, ROLLBACK (but not ROLLBACK TO a savepoint), ABORT: the statement ends the transaction, AND CHAIN or not. */
export function endsTransaction(sql: string): boolean {
  return /^(commit|end|abort|rollback)\b(?!\s+(?:work\s+|transaction\s+)?to\b)/i.test(sql.trim());
}
