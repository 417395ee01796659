/**
 * Splits a SQL script into statements the way psql does, keeping the line each
 * statement starts on so errors and annotations can point at it.
 *
 * Follows psql's lexer (psqlscan.l): a semicolon ends a statement outside quotes,
 * comments, parentheses and the BEGIN ATOMIC ... END body of CREATE [OR REPLACE]
 * FUNCTION|PROCEDURE (BEGIN counted only outside parentheses, so a parameter named
 * `begin` is no body). psql meta-commands: `\;` is a semicolon that does not end the
 * statement (the parts go to the server as one query, as psql sends them), `\g` ends
 * one, those that only change psql's output are skipped, the rest are a ScriptError.
 * `COPY ... FROM stdin` takes the lines after it, up to `\.`, as its data.
 */
import { stripComments, tokenAt } from './sql-lexer.js';

export {
  committingProcedures,
  endsTransaction,
  isTransactionControl,
  requiresNoTransaction,
} from './transactions.js';

export interface SqlStatement {
  /** The statement text, without the trailing semicolon, trimmed. */
  sql: string;
  /** 1-based line of the statement's first non-blank, non-comment character. */
  line: number;
  /** COPY ... FROM stdin: the data lines that followed it in the script. */
  copyData?: string;
}

/** A script that cannot be run as psql would run it; `line` is 1-based. */
export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** Meta-commands that only change what psql prints: nothing to send, nothing lost. */
const OUTPUT_ONLY = new Set(['restrict', 'unrestrict', 'echo', 'qecho', 'warn', 'timing', 'pset', 'x']);
/** The words psql tracks at the head of a statement to spot CREATE [OR REPLACE] FUNCTION|PROCEDURE. */
const ROUTINE_WORDS = new Set(['create', 'or', 'replace', 'function', 'procedure']);

// One function on purpose (the one exception to the 80-line rule): psql's lexer is one state
// machine whose state (buffer, line, paren and BEGIN depth, routine head) every branch shares.
export function splitSqlStatements(script: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let line = 1;
  let buffer = '';
  let startLine = 1;
  let parenDepth = 0;
  let beginDepth = 0;
  let heads: string[] = []; // first letters of the statement's first four words, if tracked
  let wordCount = 0;
  let i = 0;

  const reset = () => {
    buffer = '';
    parenDepth = 0;
    beginDepth = 0;
    wordCount = 0;
  };
  // Ends the statement at `i` (just past its terminator); returns where scanning resumes.
  const flush = (at: number): number => {
    const sql = buffer.trim();
    reset();
    if (!sql) return at;
    const statement: SqlStatement = { sql, line: startLine };
    statements.push(statement);
    if (!/^copy\b[\s\S]*\bfrom\s+stdin\b/i.test(stripComments(sql).replace(/\s+/g, ' '))) return at;
    const copy = readCopyData(script, at, line);
    statement.copyData = copy.data;
    line = copy.line;
    return copy.end;
  };

  while (i < script.length) {
    const ch = script[i];
    if (ch === '\\') {
      const meta = readMetaCommand(script, i, line);
      if (meta.insert !== undefined) {
        if (!buffer) startLine = line;
        buffer += meta.insert;
        if (meta.insert === ';') wordCount = 0;
        i = meta.end;
      } else i = meta.send ? flushMeta(meta.end) : meta.end;
      continue;
    }
    if (ch === ';' && parenDepth === 0 && beginDepth === 0) {
      i = flush(i + 1);
      continue;
    }
    const token = tokenAt(script, i);
    const text = script.slice(i, token.end);
    if (token.kind === 'space' || token.kind === 'comment') {
      // Like psql, nothing before the statement's first code character is kept.
      if (buffer) buffer += text;
    } else {
      if (!buffer) startLine = line;
      buffer += text;
    }
    if (token.kind === 'word') {
      if (wordCount === 0) heads = [];
      if (wordCount < 4 && ROUTINE_WORDS.has(token.word)) heads[wordCount] = token.word[0];
      wordCount++;
      if (parenDepth === 0 && isRoutineHead(heads)) {
        if (token.word === 'begin') beginDepth++;
        else if (token.word === 'case' && beginDepth > 0) beginDepth++;
        else if (token.word === 'end' && beginDepth > 0) beginDepth--;
      }
    } else if (token.kind === 'other') {
      if (ch === '(') parenDepth++;
      if (ch === ')') parenDepth = Math.max(0, parenDepth - 1);
    }
    line += countNewlines(text);
    i = token.end;
  }
  flush(script.length);
  return statements;

  function flushMeta(end: number): number {
    if (!buffer.trim()) throw new ScriptError(line, '\\g with no statement before it: remove it');
    return flush(end);
  }
}

function isRoutineHead(heads: string[]): boolean {
  return (
    heads[0] === 'c' &&
    (heads[1] === 'f' ||
      heads[1] === 'p' ||
      (heads[1] === 'o' && heads[2] === 'r' && (heads[3] === 'f' || heads[3] === 'p')))
  );
}

interface MetaCommand {
  end: number;
  /** Text the command puts into the statement (`\;`, `\:`). */
  insert?: string;
  /** The command sends the statement (`\g`). */
  send?: boolean;
}

/** The psql meta-command at `i` (a backslash outside quotes and comments). */
function readMetaCommand(script: string, i: number, line: number): MetaCommand {
  const next = script[i + 1];
  if (next === ';' || next === ':') return { end: i + 2, insert: next };
  const nl = script.indexOf('\n', i);
  const end = nl === -1 ? script.length : nl;
  const text = script.slice(i, end).replace(/\r$/, '');
  const [command, ...args] = text.slice(1).trim().split(/\s+/);
  if (command === 'g' && args.length === 0) return { end, send: true };
  if (OUTPUT_ONLY.has(command)) return { end };
  // Stopping at the first error is what pg-rehearsal always does.
  if (command === 'set' && args[0] === 'ON_ERROR_STOP' && /^(on|true|1|yes)$/i.test(args[1] ?? ''))
    return { end };
  throw new ScriptError(
    line,
    `psql meta-command \\${command} cannot be run by pg-rehearsal (it sends SQL only, without psql's variables, ` +
      `output or files); replace it with plain SQL or run the file with psql as the migration command (the command option)`,
  );
}

/**
 * COPY ... FROM stdin data: psql reads it from the lines after the statement's line up to
 * a line `\.` (or the end of the script). Text after the semicolon on the statement's own
 * line would be read by psql only after the data, an order we do not reproduce.
 */
function readCopyData(script: string, at: number, line: number): { data: string; end: number; line: number } {
  const nl = script.indexOf('\n', at);
  const rest = script.slice(at, nl === -1 ? script.length : nl);
  if (stripComments(rest).trim()) {
    throw new ScriptError(
      line,
      'COPY FROM stdin: put nothing after the semicolon; the data starts on the next line',
    );
  }
  if (nl === -1) return { data: '', end: script.length, line };
  let k = nl + 1;
  let lines = line + 1;
  let data = '';
  while (k < script.length) {
    const lineEnd = script.indexOf('\n', k);
    const stop = lineEnd === -1 ? script.length : lineEnd + 1;
    const text = script.slice(k, stop);
    k = stop;
    lines++;
    if (text.replace(/\r?\n$/, '') === '\\.') break;
    data += text;
  }
  return { data, end: k, line: lines };
}

function countNewlines(text: string): number {
  let count = 0;
  for (let k = text.indexOf('\n'); k !== -1; k = text.indexOf('\n', k + 1)) count++;
  return count;
}

/**
 * A one-line excerpt for reports: comments removed (an inline `-- note` would otherwise
 * swallow everything after it once lines are joined), whitespace folded, at most `max`
 * characters.
 */
export function excerpt(sql: string, max = 160): string {
  const folded = stripComments(sql).replace(/\s+/g, ' ').trim();
  return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}
