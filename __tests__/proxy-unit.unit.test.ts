import { describe, expect, it } from '@jest/globals';
import { openUnit } from '../src/engine/proxy/unit.js';
import { cstring, message, MessageReader } from '../src/engine/proxy/wire.js';

function query(sql: string) {
  return new MessageReader().push(message('Q', cstring(sql)))[0];
}

/** What the proxy may send on before classifying, against what the classification says. */
/** How the proxy treats a unit: inside the tool's transaction, wrapped in one of its own, or polled. */
describe('proxy units: the kind of a unit', () => {
  const polledInsideTransaction = [
    'CREATE INDEX CONCURRENTLY items_a_idx ON items (a)',
    'create unique index  concurrently items_b_idx on items (b)',
    'DROP INDEX CONCURRENTLY items_a_idx',
    'REINDEX TABLE CONCURRENTLY items',
    'REINDEX (VERBOSE) DATABASE app',
    'VACUUM items',
    'CREATE DATABASE other',
    'ALTER DATABASE app SET TABLESPACE fast',
    'ALTER SYSTEM SET work_mem = 1',
    'DROP TABLESPACE fast',
    'ALTER TABLE t DETACH PARTITION t1 CONCURRENTLY',
    'CREATE /* a comment */ INDEX CONCURRENTLY i ON t (a)',
    'DO $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$',
    'COMMIT; CREATE TABLE t (a int)',
    'LOCK TABLE t; END',
    'SAVEPOINT s; LOCK TABLE t',
  ];

  it.each(polledInsideTransaction)(
    "watches from another connection what cannot run in the tool's transaction: %s",
    (sql) => {
      expect(openUnit(query(sql), sql, 'T', 0).mode).toBe('polled');
    },
  );

  it("runs an ordinary statement inside the tool's transaction, or wraps it in its own in autocommit", () => {
    const ordinary = [
      'ALTER TABLE orders ADD COLUMN priority integer',
      'CREATE TABLE audit_1 (id bigserial PRIMARY KEY, order_id bigint REFERENCES orders (id))',
      'UPDATE orders SET priority = amount % 5 WHERE id > 0 AND id <= 5000',
      "COMMENT ON TABLE audit_1 IS 'audit trail'",
    ];
    for (const sql of ordinary) {
      expect(openUnit(query(sql), sql, 'T', 0).mode).toBe('inside');
      // Autocommit: the proxy's BEGIN goes first.
      expect(openUnit(query(sql), sql, 'I', 0).mode).toBe('wrap');
    }
  });

  it('reads a word in a string as a string: an UPDATE that mentions vacuum is an ordinary statement', () => {
    const sql = "UPDATE settings SET value = 'vacuum nightly' WHERE name = 'maintenance'";
    expect(openUnit(query(sql), sql, 'T', 0).mode).toBe('inside');
    expect(openUnit(query(sql), sql, 'E', 0).mode).toBe('inside');
  });
});
