import type pg from 'pg';
import type { ObservedLock } from '../observe/lock-tracer.js';
import type { StatementReport } from '../report.js';
import { isTransactionControl, requiresNoTransaction, splitSqlStatements } from '../runner/split.js';
import { parseBind, parseParse, type Message } from './wire.js';

/**
 * wrap: autocommit, so the proxy opens a transaction around it to read its locks before
 * they are released; inside: the tool's own transaction (or a failed one, status E);
 * polled: cannot run in a transaction block, watched from another connection.
 */
export type Mode = 'wrap' | 'inside' | 'polled';

/** The messages from the tool's first message to its Query or Sync: one round trip. */
export interface Unit {
  mode: Mode;
  simple: boolean;
  parsed: string[];
  executed: string[];
  started: number;
  report?: StatementReport;
  /** The last CommandComplete of a wrapped simple Query, held until our COMMIT succeeded. */
  heldComplete?: Buffer;
  /** Resolved at the unit's ReadyForQuery (stops the polling). */
  finish: () => void;
  finished: Promise<void>;
  /** Resolved once the tool was told ReadyForQuery: the next unit may start. */
  markDone: () => void;
  done: Promise<void>;
  observer?: pg.Client;
  polling?: Promise<ObservedLock[]>;
  /** The proxy's BEGIN of a wrapped unit, sent right before the tool's first message. */
  begun?: Promise<Injection>;
}

/** One query of the proxy's own in the tool's session, answered in order. */
export interface Injection {
  columns: { name: string; typeOid: number }[];
  rows: pg.QueryResultRow[];
  error?: Message;
  /** A lock read the tool was told ReadyForQuery ahead of: its next statement queues behind it. */
  behindReady?: boolean;
  /** The session ended before it was answered. */
  lost?: boolean;
  resolve: () => void;
}

/** The SQL a unit's first message carries (a Bind: its prepared statement's). */
export function firstSql(first: Message, statements: Map<string, string>): string {
  if (first.type === 'Q') return first.body.toString('utf8', 0, first.body.length - 1);
  if (first.type === 'P') return parseParse(first.body).sql;
  if (first.type === 'B') return statements.get(parseBind(first.body).statement) ?? '';
  return '';
}

/** A new unit for the tool's message with `sql`, at the session's transaction `status`. */
export function openUnit(first: Message, sql: string, status: string, started: number): Unit {
  const parts = sql ? splitSqlStatements(sql).map((s) => s.sql) : [];
  const control = parts.some(isTransactionControl);
  let mode: Mode = 'inside';
  if (parts.some((part) => requiresNoTransaction(part)) || (control && parts.length > 1)) mode = 'polled';
  else if (status === 'I' && !control && parts.length > 0) mode = 'wrap';
  let finish = () => undefined as void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let markDone = () => undefined as void;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  return {
    mode,
    simple: first.type === 'Q',
    parsed: first.type === 'Q' ? parts : [],
    executed: first.type === 'Q' ? parts : [],
    started,
    finish,
    finished,
    markDone,
    done,
  };
}

/** The statements a unit ran, as one text. */
export function unitSql(unit: Unit): string {
  return (unit.executed.length ? unit.executed : unit.parsed).join(';\n');
}
