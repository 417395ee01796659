import { describe, expect, it } from '@jest/globals';
import {
  committingProcedures,
  excerpt,
  requiresNoTransaction,
  ScriptError,
  splitSqlStatements,
} from '../src/engine/runner/split.js';

describe('statements psql keeps whole', () => {
  it('keeps a BEGIN ATOMIC routine body, with CASE ... END inside, as one statement', () => {
    const script = `CREATE FUNCTION grade(p int) RETURNS text LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN p > 50 THEN 'high' ELSE 'low' END;
  SELECT 'unreached';
END;
CREATE PROCEDURE touch() LANGUAGE sql BEGIN ATOMIC UPDATE t SET v = v; END;
SELECT grade(1);`;
    const statements = splitSqlStatements(script);
    expect(statements.map((s) => s.line)).toEqual([1, 6, 7]);
    expect(statements[0].sql).toMatch(/^CREATE FUNCTION[\s\S]*SELECT 'unreached';\nEND$/);
    expect(statements[2].sql).toBe('SELECT grade(1)');
  });

  it('does not treat BEGIN/END outside a routine as a block', () => {
    expect(splitSqlStatements('BEGIN;\nSELECT 1;\nEND;').map((s) => s.sql)).toEqual([
      'BEGIN',
      'SELECT 1',
      'END',
    ]);
  });

  it('recognises CONCURRENTLY as a keyword only', () => {
    expect(requiresNoTransaction('CREATE INDEX CONCURRENTLY i ON t (x)')).toBe(true);
    expect(requiresNoTransaction('CREATE INDEX concurrently_idx ON t (x)')).toBe(false);
    expect(requiresNoTransaction('VACUUM ANALYZE t')).toBe(true);
    expect(requiresNoTransaction('vacuumed_at_idx')).toBe(false);
  });
});

describe('psql rules the splitter follows (issue 12)', () => {
  it('counts BEGIN only at parenthesis depth 0 of CREATE FUNCTION|PROCEDURE', () => {
    const script = `CREATE FUNCTION span(begin timestamptz, finish timestamptz) RETURNS interval
LANGUAGE sql AS $$ SELECT finish - begin $$;
CREATE FUNCTION r() RETURNS TABLE (begin int) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE procedure (id int);
CREATE INDEX CONCURRENTLY i ON procedure (id);`;
    expect(splitSqlStatements(script).map((s) => s.line)).toEqual([1, 3, 4, 5]);
  });

  it('reads a dollar tag with a non-ASCII letter as one string', () => {
    expect(splitSqlStatements('SELECT $é$ a;b $é$;\nSELECT 2;').map((s) => s.sql)).toEqual([
      'SELECT $é$ a;b $é$',
      'SELECT 2',
    ]);
  });

  it('takes the lines after COPY FROM stdin up to \\. as its data and goes on after them', () => {
    const statements = splitSqlStatements('COPY t FROM stdin;\n1\ta;b\n2\tc\n\\.\nSELECT 3;');
    expect(statements).toEqual([
      { sql: 'COPY t FROM stdin', line: 1, copyData: '1\ta;b\n2\tc\n' },
      { sql: 'SELECT 3', line: 5 },
    ]);
  });

  it('skips \\restrict and output-only meta-commands, honours \\g and \\;, refuses the rest with its line', () => {
    expect(
      splitSqlStatements('\\restrict K\nSELECT 1 \\; SELECT 2\n\\g\n\\echo hi\nSELECT 3;\n\\unrestrict K\n'),
    ).toEqual([
      { sql: 'SELECT 1 ; SELECT 2', line: 2 },
      { sql: 'SELECT 3', line: 5 },
    ]);
    for (const command of ['\\gexec', '\\set x 1', '\\i other.sql', '\\copy t from f.csv']) {
      const run = () => splitSqlStatements(`SELECT 1;\n\n${command}\n`);
      expect(run).toThrow(ScriptError);
      expect(run).toThrow(`psql meta-command ${command.split(' ')[0]} cannot be run`);
      try {
        run();
      } catch (error) {
        expect((error as ScriptError).line).toBe(3);
      }
    }
  });

  it.each([
    'CREATE /* c */ INDEX CONCURRENTLY i ON t (a)',
    'CREATE INDEX\n-- why\nCONCURRENTLY i ON t (a)',
    'REINDEX DATABASE app',
    'reindex (verbose) system app',
    'ALTER DATABASE app SET TABLESPACE fast',
    'DO $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$',
    "DO LANGUAGE plpgsql 'BEGIN ROLLBACK; END'",
  ])('must run outside a transaction: %j', (sql) => {
    expect(requiresNoTransaction(sql)).toBe(true);
  });

  it.each([
    'ALTER DATABASE app SET search_path = app',
    'DO $$ BEGIN CREATE TEMP TABLE x (a int) ON COMMIT DROP; END $$',
    'DO $$ BEGIN UPDATE t SET a = 1; -- COMMIT;\nEND $$',
    'REINDEX TABLE t',
    'CALL refresh_all()',
  ])('may run inside a transaction: %j', (sql) => {
    expect(requiresNoTransaction(sql)).toBe(false);
  });

  it('runs a CALL outside a transaction when the procedure commits, created in the run or before', () => {
    const committing = committingProcedures(
      [
        'CREATE OR REPLACE PROCEDURE app.backfill() LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$',
        'CREATE PROCEDURE quiet() LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET a = 1; END $$',
      ],
      [{ name: 'Archive', body: 'BEGIN DELETE FROM t; COMMIT AND CHAIN; END' }],
    );
    expect(requiresNoTransaction('CALL app.backfill()', committing)).toBe(true);
    expect(requiresNoTransaction('call /* x */ archive(1)', committing)).toBe(true);
    expect(requiresNoTransaction('CALL quiet()', committing)).toBe(false);
  });

  it('strips comments from excerpts, so an inline comment cannot hide the rest', () => {
    expect(excerpt('create index i on purchase (item) -- partial\n  where item = 1 /* one */')).toBe(
      'create index i on purchase (item) where item = 1',
    );
    expect(excerpt("SELECT '-- kept' AS a")).toBe("SELECT '-- kept' AS a");
  });
});
