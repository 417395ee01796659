/**
 * The lexical pieces of SQL that can hide a semicolon, a keyword or a comment marker, read
 * the way psql's lexer (psqlscan.l) reads them: '-- comments', nested block comments,
 * 'string' and E'string' literals, "quoted identifiers" and $tag$ dollar quotes$tag$.
 * Identifier and tag characters include every non-ASCII character, as in psql.
 */

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export function isIdentStart(ch: string | undefined): boolean {
  return ch !== undefined && IDENT_START.test(ch);
}

export function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && IDENT_CONT.test(ch);
}

export type Token =
  | { kind: 'space' | 'comment' | 'string' | 'quoted' | 'dollar' | 'other'; end: number }
  | { kind: 'word'; end: number; word: string };

/** The token that starts at `i`; `end` is where the next one starts. Never stuck on bad input. */
export function tokenAt(text: string, i: number): Token {
  const ch = text[i];
  const next = text[i + 1];
  if (/\s/.test(ch)) return { kind: 'space', end: i + 1 };
  if (ch === '-' && next === '-') {
    const nl = text.indexOf('\n', i);
    return { kind: 'comment', end: nl === -1 ? text.length : nl };
  }
  if (ch === '/' && next === '*') return { kind: 'comment', end: blockCommentEnd(text, i) };
  if (ch === "'") {
    const escapes = /[eE]/.test(text[i - 1] ?? '') && !isIdentChar(text[i - 2]);
    return { kind: 'string', end: stringEnd(text, i, escapes) };
  }
  if (ch === '"') {
    let k = i + 1;
    while (k < text.length && !(text[k] === '"' && text[k + 1] !== '"')) k += text[k] === '"' ? 2 : 1;
    return { kind: 'quoted', end: Math.min(text.length, k + 1) };
  }
  if (ch === '$' && !isIdentChar(text[i - 1])) {
    const tag = DOLLAR_TAG.exec(text.slice(i, i + 128));
    if (tag) {
      const close = text.indexOf(tag[0], i + tag[0].length);
      return { kind: 'dollar', end: close === -1 ? text.length : close + tag[0].length };
    }
  }
  if (isIdentStart(ch) && !isIdentChar(text[i - 1])) {
    let k = i + 1;
    while (k < text.length && isIdentChar(text[k])) k++;
    return { kind: 'word', end: k, word: text.slice(i, k).toLowerCase() };
  }
  return { kind: 'other', end: i + 1 };
}

function blockCommentEnd(text: string, start: number): number {
  let depth = 0;
  let k = start;
  do {
    if (text.startsWith('/*', k)) {
      depth++;
      k += 2;
    } else if (text.startsWith('*/', k)) {
      depth--;
      k += 2;
    } else k++;
  } while (depth > 0 && k < text.length);
  return Math.min(k, text.length);
}

function stringEnd(text: string, start: number, escapes: boolean): number {
  let k = start + 1;
  while (k < text.length) {
    if (escapes && text[k] === '\\') k += 2;
    else if (text[k] === "'" && text[k + 1] === "'") k += 2;
    else if (text[k] === "'") return k + 1;
    else k++;
  }
  return text.length;
}

/** The text with every comment replaced by a space; strings and quotes untouched. */
export function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const token = tokenAt(sql, i);
    out += token.kind === 'comment' ? ' ' : sql.slice(i, token.end);
    i = token.end;
  }
  return out;
}

/** The contents of every string literal and dollar quote of a statement, in order. */
export function stringLiterals(sql: string): string[] {
  const literals: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const token = tokenAt(sql, i);
    if (token.kind === 'dollar') {
      const tag = DOLLAR_TAG.exec(sql.slice(i))![0];
      literals.push(sql.slice(i + tag.length, Math.max(i + tag.length, token.end - tag.length)));
    } else if (token.kind === 'string') literals.push(sql.slice(i + 1, token.end - 1).replace(/''/g, "'"));
    i = token.end;
  }
  return literals;
}
