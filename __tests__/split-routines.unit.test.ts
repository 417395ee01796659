import { describe, expect, it } from '@jest/globals';
import { requiresNoTransaction, splitSqlStatements } from '../src/engine/runner/split.js';

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
