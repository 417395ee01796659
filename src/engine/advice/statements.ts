import type { MigrationLayout } from '../runner/layouts.js';
import { loadMigrationScript } from '../runner/layouts.js';
import { splitSqlStatements } from '../runner/split.js';
import type { Report } from '../report.js';
import type { FullStatement } from './rules.js';

/**
 * The full text of every statement the report lists: the report keeps a one-line excerpt,
 * rules need the whole statement to rewrite it. SQL files are read again and split the
 * way the runner split them (matched by line); a command's statements only have their
 * excerpt, which is what the tool sent, folded.
 */
export function readFullStatements(
  report: Report,
  layout: MigrationLayout | undefined,
  workingDirectory: string,
): FullStatement[] {
  const statements: FullStatement[] = [];
  for (const migration of report.migrations) {
    const byLine = new Map<number, string>();
    if (report.runner.kind === 'sql' && layout && migration.statements.length) {
      const { script, lineOffset } = loadMigrationScript(migration.path, layout, workingDirectory);
      for (const s of splitSqlStatements(script)) byLine.set(s.line + lineOffset, s.sql);
    }
    const siblings = migration.statements.map((s) => byLine.get(s.line) ?? s.sql);
    migration.statements.forEach((report, index) => {
      const raw = siblings[index];
      statements.push({ report, raw, sql: stripSqlComments(raw).trim(), index, siblings });
    });
  }
  return statements;
}

/**
 * The statement without its comments (each replaced by a space), string literals, quoted
 * identifiers and dollar quotes left exactly as they are.
 */
export function stripSqlComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const quoted = /^(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|(\$[A-Za-z_]*\$)[\s\S]*?\1)/.exec(rest);
    if (quoted) {
      out += quoted[0];
      i += quoted[0].length;
    } else if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      out += ' ';
    } else if (rest.startsWith('/*')) {
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
      out += ' ';
    } else {
      out += sql[i];
      i++;
    }
  }
  return out;
}
