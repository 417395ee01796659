import type { MigrationLayout } from '../runner/layouts.js';
import { loadMigrationScript } from '../runner/layouts.js';
import { splitSqlStatements, type SqlStatement } from '../runner/split.js';
import { stripComments } from '../runner/sql-lexer.js';
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
    const byLine = new Map<number, SqlStatement>();
    if (report.runner.kind === 'sql' && layout && migration.statements.length) {
      const { script, lineOffset } = loadMigrationScript(migration.path, layout, workingDirectory);
      for (const s of splitSqlStatements(script)) byLine.set(s.line + lineOffset, s);
    }
    const written = migration.statements.map((s) => byLine.get(s.line) ?? { sql: s.sql, line: s.line });
    const siblings = written.map(asScript);
    written.forEach((statement, index) => {
      const report = migration.statements[index];
      statements.push({
        report,
        raw: statement.sql,
        sql: stripComments(statement.sql).trim(),
        index,
        siblings,
      });
    });
  }
  return statements;
}

/** A statement as a script holds it: with `;`, and a COPY's data lines up to `\.`. */
function asScript(statement: SqlStatement): string {
  return statement.copyData === undefined
    ? `${statement.sql};\n`
    : `${statement.sql};\n${statement.copyData}\\.\n`;
}
