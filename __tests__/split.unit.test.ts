import { describe, expect, it } from '@jest/globals';
import {
  excerpt,
  isTransactionControl,
  requiresNoTransaction,
  splitSqlStatements,
} from '../src/engine/runner/split.js';

/** Just the statement texts. */
const sqls = (script: string) => splitSqlStatements(script).map((s) => s.sql);

describe('splitSqlStatements', () => {
  it('splits on semicolons and keeps 1-based start lines', () => {
    const script = [
      'CREATE TABLE a (id int);', // 1
      '', // 2
      'ALTER TABLE a', // 3
      '  ADD COLUMN b text;', // 4
      '   INSERT INTO a VALUES (1); SELECT 2;', // 5
    ].join('\n');
    expect(splitSqlStatements(script)).toEqual([
      { sql: 'CREATE TABLE a (id int)', line: 1 },
      { sql: 'ALTER TABLE a\n  ADD COLUMN b text', line: 3 },
      { sql: 'INSERT INTO a VALUES (1)', line: 5 },
      { sql: 'SELECT 2', line: 5 },
    ]);
  });

  it('returns nothing for an empty, blank or comment-only script', () => {
    expect(splitSqlStatements('')).toEqual([]);
    expect(splitSqlStatements('  \n\t\n')).toEqual([]);
    expect(splitSqlStatements('-- only a comment\n/* and ; another */\n')).toEqual([]);
  });

  // Regression (was a bug): markCode() runs before the ';' check, so a bare ';' counts as code and each empty
  // statement is returned as { sql: '' } (and then executed and counted by the SQL runner).
  it('ignores empty statements', () => {
    expect(splitSqlStatements(';;\n ; SELECT 1;;\n;')).toEqual([{ sql: 'SELECT 1', line: 2 }]);
  });

  it('keeps a trailing statement without a semicolon', () => {
    expect(splitSqlStatements('SELECT 1;\nSELECT 2\n')).toEqual([
      { sql: 'SELECT 1', line: 1 },
      { sql: 'SELECT 2', line: 2 },
    ]);
  });

  it('ignores semicolons in -- comments', () => {
    const script = 'SELECT 1 -- not; the end\n, 2;\nSELECT 3; -- trailing; comment\n';
    expect(splitSqlStatements(script)).toEqual([
      { sql: 'SELECT 1 -- not; the end\n, 2', line: 1 },
      { sql: 'SELECT 3', line: 3 },
    ]);
  });

  it('ignores semicolons in nested block comments and counts their lines', () => {
    const script = 'SELECT /* outer; /* inner;\n */ still; comment\n */ 1;\nSELECT 2;';
    expect(splitSqlStatements(script)).toEqual([
      { sql: 'SELECT /* outer; /* inner;\n */ still; comment\n */ 1', line: 1 },
      { sql: 'SELECT 2', line: 4 },
    ]);
  });

  it("ignores semicolons in 'string;literals' with '' escapes", () => {
    const script = "INSERT INTO t VALUES ('a;b', 'it''s; fine', '');\nSELECT ';';";
    expect(splitSqlStatements(script)).toEqual([
      { sql: "INSERT INTO t VALUES ('a;b', 'it''s; fine', '')", line: 1 },
      { sql: "SELECT ';'", line: 2 },
    ]);
  });

  it("understands backslash escapes in E'' strings only", () => {
    expect(sqls("SELECT E'\\'; still string';\nSELECT 2;")).toEqual([
      "SELECT E'\\'; still string'",
      'SELECT 2',
    ]);
    expect(sqls("SELECT e'a\\\\';SELECT 2;")).toEqual(["SELECT e'a\\\\'", 'SELECT 2']);
    // In a standard string a backslash is an ordinary character: the quote ends it.
    expect(sqls("SELECT 'C:\\';SELECT 2;")).toEqual(["SELECT 'C:\\'", 'SELECT 2']);
    // An identifier ending in e before a quote is not an E'' prefix.
    expect(sqls("SELECT some'\\';SELECT 2;")).toEqual(["SELECT some'\\'", 'SELECT 2']);
  });

  it('counts lines inside multi-line string literals', () => {
    expect(splitSqlStatements("SELECT 'a;\nb;\nc';\nSELECT 2;")).toEqual([
      { sql: "SELECT 'a;\nb;\nc'", line: 1 },
      { sql: 'SELECT 2', line: 4 },
    ]);
  });

  it('ignores semicolons in "quoted;identifiers", including doubled quotes', () => {
    const script = 'CREATE TABLE "a;b" ("x"";y" int);\nSELECT "c\n;d" FROM "a;b";\nSELECT 3;';
    expect(splitSqlStatements(script)).toEqual([
      { sql: 'CREATE TABLE "a;b" ("x"";y" int)', line: 1 },
      { sql: 'SELECT "c\n;d" FROM "a;b"', line: 2 },
      { sql: 'SELECT 3', line: 4 },
    ]);
  });

  it('ignores semicolons in $$dollar;quotes$$', () => {
    expect(sqls("DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;\nSELECT '$$';")).toEqual([
      'DO $$ BEGIN PERFORM 1; PERFORM 2; END $$',
      "SELECT '$$'",
    ]);
  });

  it('keeps a CREATE FUNCTION with a multi-line $fn$ body as one statement', () => {
    const script = [
      '-- a function', // 1
      'CREATE FUNCTION f() RETURNS trigger', // 2
      'LANGUAGE plpgsql AS $fn$', // 3
      'BEGIN', // 4
      "  RAISE NOTICE 'x;y $$ not the end';", // 5
      '  RETURN NEW;', // 6
      'END;', // 7
      '$fn$;', // 8
      '', // 9
      'CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f();', // 10
    ].join('\n');
    const statements = splitSqlStatements(script);
    expect(statements).toHaveLength(2);
    expect(statements[0].line).toBe(2);
    expect(statements[0].sql.startsWith('CREATE FUNCTION f()')).toBe(true);
    expect(statements[0].sql.endsWith('END;\n$fn$')).toBe(true);
    expect(statements[1]).toEqual({
      sql: 'CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f()',
      line: 10,
    });
  });

  it('does not take $1 parameters or a$b names for dollar quotes', () => {
    expect(sqls('PREPARE p AS SELECT $1;\nSELECT a$b$ FROM t;SELECT 3;')).toEqual([
      'PREPARE p AS SELECT $1',
      'SELECT a$b$ FROM t',
      'SELECT 3',
    ]);
  });

  it('does not split on semicolons inside parentheses', () => {
    expect(sqls('CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);SELECT 1;')).toEqual([
      'CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b)',
      'SELECT 1',
    ]);
  });

  it('strips leading comments from the sql and starts the line at the first code character', () => {
    const script = 'SELECT 1;\n-- about the next one\n/* block\n   comment */\n\n  ALTER TABLE a ADD b int;';
    expect(splitSqlStatements(script)).toEqual([
      { sql: 'SELECT 1', line: 1 },
      { sql: 'ALTER TABLE a ADD b int', line: 6 },
    ]);
  });

  it('starts the line after a comment on the same line', () => {
    expect(splitSqlStatements('\n\n/* x */ SELECT 1;')).toEqual([{ sql: 'SELECT 1', line: 3 }]);
  });

  it('keeps comments that are inside or after the code', () => {
    expect(sqls('SELECT 1 /* inline */ + 2 -- tail\n;')).toEqual(['SELECT 1 /* inline */ + 2 -- tail']);
  });

  it('handles Windows line endings', () => {
    expect(splitSqlStatements('SELECT 1;\r\n\r\nSELECT 2;\r\n')).toEqual([
      { sql: 'SELECT 1', line: 1 },
      { sql: 'SELECT 2', line: 3 },
    ]);
  });

  it('does not hang on unterminated quotes and comments', () => {
    expect(sqls("SELECT 'open;")).toEqual(["SELECT 'open;"]);
    expect(sqls('SELECT $$open;')).toEqual(['SELECT $$open;']);
    expect(sqls('SELECT "open;')).toEqual(['SELECT "open;']);
    expect(sqls('SELECT 1 /* open;')).toEqual(['SELECT 1 /* open;']);
  });

  // Regression (was a bug): stripLeadingComments ends a leading block comment at the first "*/", ignoring
  // nesting, so "/* a /* b */ c */ SELECT 1" yields the sql "c */ SELECT 1".
  it('strips a nested leading block comment completely', () => {
    expect(splitSqlStatements('/* a /* b */ c */ SELECT 1;')).toEqual([{ sql: 'SELECT 1', line: 1 }]);
  });

  it('keeps a BEGIN ATOMIC function body as one statement, as psql does', () => {
    expect(
      sqls('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;'),
    ).toEqual([
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END',
      'SELECT 3',
    ]);
  });
});

describe('splitSqlStatements: BEGIN ATOMIC routine bodies', () => {
  it('keeps a procedure body with CASE ... END whole and keeps its start line', () => {
    const script = [
      'SELECT 0;', // 1
      'CREATE OR REPLACE PROCEDURE p(x int)', // 2
      'LANGUAGE sql', // 3
      'BEGIN ATOMIC', // 4
      '  INSERT INTO t VALUES (CASE WHEN x > 0 THEN 1 ELSE 2 END);', // 5
      '  UPDATE t SET y = 1;', // 6
      'END;', // 7
      'SELECT 3;', // 8
    ].join('\n');
    const statements = splitSqlStatements(script);
    expect(statements.map((s) => s.line)).toEqual([1, 2, 8]);
    expect(statements[1].sql.endsWith('UPDATE t SET y = 1;\nEND')).toBe(true);
    expect(statements[2].sql).toBe('SELECT 3');
  });

  it('still splits BEGIN; ... COMMIT; outside a routine', () => {
    expect(sqls('BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;')).toEqual([
      'BEGIN',
      'CREATE TABLE t (id int)',
      'COMMIT',
    ]);
  });

  it('is not fooled by BEGIN/END inside a dollar-quoted plpgsql body', () => {
    expect(
      sqls('CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\nSELECT f();'),
    ).toEqual([
      'CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql',
      'SELECT f()',
    ]);
  });

  it('does not treat words such as begin_at or backend as BEGIN/END', () => {
    expect(
      sqls('CREATE FUNCTION f(begin_at int, backend text) RETURNS int LANGUAGE sql RETURN 1;\nSELECT 2;'),
    ).toEqual([
      'CREATE FUNCTION f(begin_at int, backend text) RETURNS int LANGUAGE sql RETURN 1',
      'SELECT 2',
    ]);
  });
});

describe('requiresNoTransaction', () => {
  it.each([
    'CREATE INDEX CONCURRENTLY i ON t (a)',
    'create unique index concurrently i on t (a)',
    'CREATE  UNIQUE\n  INDEX\tCONCURRENTLY IF NOT EXISTS i ON t (a)',
    'DROP INDEX CONCURRENTLY i',
    'REINDEX INDEX CONCURRENTLY i',
    'REINDEX (VERBOSE) TABLE CONCURRENTLY t',
    'VACUUM',
    'vacuum analyze t',
    'CREATE DATABASE d',
    'DROP DATABASE d',
    'ALTER SYSTEM SET work_mem = 1',
    'CREATE TABLESPACE ts LOCATION $$/x$$',
    'DROP TABLESPACE ts',
    'ALTER TABLE p DETACH PARTITION c CONCURRENTLY',
  ])('is true for %j', (sql) => {
    expect(requiresNoTransaction(sql)).toBe(true);
  });

  it.each([
    'CREATE INDEX i ON t (a)',
    'CREATE UNIQUE INDEX i ON t (a)',
    'DROP INDEX i',
    'REINDEX INDEX i',
    'ALTER TABLE p DETACH PARTITION c',
    'SELECT 1 -- VACUUM',
    "SELECT 'CREATE INDEX CONCURRENTLY'",
    'ANALYZE t',
  ])('is false for %j', (sql) => {
    expect(requiresNoTransaction(sql)).toBe(false);
  });

  it('is false for an index merely named concurrently_*', () => {
    expect(requiresNoTransaction('CREATE INDEX concurrently_idx ON t (a)')).toBe(false);
    expect(requiresNoTransaction('DROP INDEX concurrently_idx')).toBe(false);
  });
});

describe('isTransactionControl', () => {
  it.each([
    'BEGIN',
    'begin',
    'BEGIN ISOLATION LEVEL SERIALIZABLE',
    'COMMIT',
    'commit work',
    'END',
    'START TRANSACTION',
    'start   transaction read only',
    'ROLLBACK',
    'ROLLBACK TO SAVEPOINT s',
    'ABORT',
    'SAVEPOINT s',
    'RELEASE SAVEPOINT s',
    "PREPARE TRANSACTION 'x'",
  ])('is true for %j', (sql) => {
    expect(isTransactionControl(sql)).toBe(true);
  });

  it.each([
    'BEGIN_x',
    'beginning',
    'committed',
    'ENDPOINT',
    'START',
    'PREPARE p AS SELECT 1',
    'SELECT 1',
    'DO $$ BEGIN NULL; END $$',
    'CREATE TABLE begin_log (id int)',
    'UPDATE t SET x = 1 -- COMMIT',
  ])('is false for %j', (sql) => {
    expect(isTransactionControl(sql)).toBe(false);
  });
});

describe('excerpt', () => {
  it('folds whitespace and trims', () => {
    expect(excerpt('  ALTER TABLE a\n\t ADD COLUMN   b int  ')).toBe('ALTER TABLE a ADD COLUMN b int');
  });

  it('keeps text of exactly max characters', () => {
    expect(excerpt('x'.repeat(160))).toBe('x'.repeat(160));
    expect(excerpt('abcde', 5)).toBe('abcde');
  });

  it('truncates longer text to max characters, ending with …', () => {
    const long = excerpt('y'.repeat(500));
    expect(long).toHaveLength(160);
    expect(long).toBe(`${'y'.repeat(159)}…`);
    expect(excerpt('abcdef', 5)).toBe('abcd…');
  });

  it('measures the folded text, not the original', () => {
    expect(excerpt('a\n\n\n\n\nb', 3)).toBe('a b');
  });
});
