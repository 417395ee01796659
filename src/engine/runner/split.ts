/**
 * Splits a SQL script into statements the way psql does, keeping the line each
 * statement starts on so errors and annotations can point at it.
 *
 * Understands what can hide a semicolon: '-- comments', nested block comments,
 * 'string' and E'string' literals, "quoted identifiers", $tag$ dollar quotes$tag$, and
 * the BEGIN ATOMIC ... END body of a SQL-standard function or procedure (as psql does).
 */

export interface SqlStatement {
  /** The statement text, without the trailing semicolon, trimmed. */
  sql: string;
  /** 1-based line of the statement's first non-blank, non-comment character. */
  line: number;
}

export function splitSqlStatements(script: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let line = 1;
  let start = 0;
  let startLine = 1;
  let hasCode = false; // whether the current statement has anything but comments/space
  let parenDepth = 0;
  let words: string[] = []; // the current statement's first words, to spot CREATE FUNCTION
  let atomicDepth = 0; // BEGIN/CASE ... END nesting inside a routine body
  let i = 0;

  const flush = (end: number) => {
    const text = script.slice(start, end);
    if (hasCode) statements.push({ sql: stripLeadingComments(text).trim(), line: startLine });
    hasCode = false;
  };
  const markCode = () => {
    if (!hasCode) {
      hasCode = true;
      startLine = line;
    }
  };

  while (i < script.length) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (ch === '-' && next === '-') {
      while (i < script.length && script[i] !== '\n') i++;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < script.length && depth > 0) {
        if (script[i] === '\n') line++;
        if (script[i] === '/' && script[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (script[i] === '*' && script[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === ';' && parenDepth === 0 && atomicDepth === 0) {
      flush(i);
      words = [];
      start = i + 1;
      i++;
      continue;
    }
    markCode();
    if (ch === "'") {
      const escapes = i > 0 && /[eE]/.test(script[i - 1]) && !/[\w$]/.test(script[i - 2] ?? ' ');
      i++;
      while (i < script.length) {
        const c = script[i];
        if (c === '\n') line++;
        if (escapes && c === '\\') {
          if (script[i + 1] === '\n') line++;
          i += 2;
          continue;
        }
        if (c === "'") {
          if (script[i + 1] === "'") {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (ch === '"') {
      i++;
      while (i < script.length && !(script[i] === '"' && script[i + 1] !== '"')) {
        if (script[i] === '"') i++; // doubled quote inside an identifier
        if (script[i] === '\n') line++;
        i++;
      }
      i++;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i));
      // A dollar quote cannot follow an identifier character ($1 params, names like a$b).
      if (tag && !/[\w$]/.test(script[i - 1] ?? ' ')) {
        const end = script.indexOf(tag[0], i + tag[0].length);
        const stop = end === -1 ? script.length : end + tag[0].length;
        for (let k = i; k < stop; k++) if (script[k] === '\n') line++;
        i = stop;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(ch) && !/[\w$]/.test(script[i - 1] ?? ' ')) {
      const word = /^[A-Za-z_][\w$]*/.exec(script.slice(i, i + 64))![0].toLowerCase();
      if (words.length < 6) words.push(word);
      const routine =
        words[0] === 'create' && words.slice(1, 5).some((w) => w === 'function' || w === 'procedure');
      if (routine && word === 'begin') atomicDepth++;
      else if (atomicDepth > 0 && word === 'case') atomicDepth++;
      else if (atomicDepth > 0 && word === 'end') atomicDepth--;
      i += word.length;
      continue;
    }
    if (ch === '(') parenDepth++;
    if (ch === ')') parenDepth = Math.max(0, parenDepth - 1);
    i++;
  }
  flush(script.length);
  return statements;
}

function stripLeadingComments(text: string): string {
  let rest = text;
  for (;;) {
    const trimmed = rest.replace(/^\s+/, '');
    if (trimmed.startsWith('--')) {
      const nl = trimmed.indexOf('\n');
      rest = nl === -1 ? '' : trimmed.slice(nl + 1);
    } else if (trimmed.startsWith('/*')) {
      // Block comments nest in PostgreSQL: find the matching close.
      let depth = 0;
      let k = 0;
      do {
        if (trimmed.startsWith('/*', k)) {
          depth++;
          k += 2;
        } else if (trimmed.startsWith('*/', k)) {
          depth--;
          k += 2;
        } else k++;
      } while (depth > 0 && k < trimmed.length);
      rest = trimmed.slice(k);
    } else return trimmed;
  }
}

/** Statements PostgreSQL refuses inside a transaction block. */
const NON_TRANSACTIONAL =
  /^(create\s+(unique\s+)?index\s+concurrently\b|drop\s+index\s+concurrently\b|reindex\b.*\bconcurrently\b|vacuum\b|create\s+database\b|drop\s+database\b|alter\s+system\b|create\s+tablespace\b|drop\s+tablespace\b|alter\s+table\s+.*\bdetach\s+partition\b.*\bconcurrently\b)/is;

export function requiresNoTransaction(sql: string): boolean {
  return NON_TRANSACTIONAL.test(sql.replace(/\s+/g, ' '));
}

const TRANSACTION_CONTROL =
  /^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;

/** BEGIN/COMMIT and friends: a file that has them manages its own transactions. */
export function isTransactionControl(sql: string): boolean {
  return TRANSACTION_CONTROL.test(sql);
}

/** A one-line excerpt for reports: whitespace folded, at most `max` characters. */
export function excerpt(sql: string, max = 160): string {
  const folded = sql.replace(/\s+/g, ' ').trim();
  return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}
