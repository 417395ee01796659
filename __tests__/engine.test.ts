import { afterEach, describe, expect, it } from '@jest/globals';
import { rehearseOn, type RehearsalRun } from './helpers/rehearsal.js';
import { fingerprint, query, testServers } from './helpers/servers.js';

const TWO_TABLES = `
CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer NOT NULL);
INSERT INTO accounts SELECT g, g % 1000 FROM generate_series(1, 20000) g;
CREATE TABLE audit_log (id bigint PRIMARY KEY, note text);
INSERT INTO audit_log SELECT g, 'note ' || g FROM generate_series(1, 1000) g;
ANALYZE;`;

describe.each(testServers())('engine on $name', (server) => {
  const runs: RehearsalRun[] = [];
  const run = async (...args: Parameters<typeof rehearseOn>) => {
    const r = await rehearseOn(...args);
    runs.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      expect(await r.leftovers()).toEqual([]);
      await r.cleanup();
    }
  });

  it('measures a 1.5 s ACCESS EXCLUSIVE hold within 1.4-2.0 s', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_lock.sql': 'LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1.5);\n',
    });
    expect(report.success).toBe(true);
    const lock = report.locks.find((l) => l.relation === 'accounts' && l.mode === 'AccessExclusiveLock');
    expect(lock).toBeDefined();
    expect(lock!.held_ms).toBeGreaterThanOrEqual(1400);
    expect(lock!.held_ms).toBeLessThanOrEqual(2000);
    expect(lock!.duration).toBeCloseTo(lock!.held_ms / 1000, 2);
    expect(lock!.blocks).toBe('reads+writes');
    expect(lock!.statement).toMatchObject({ path: '001_lock.sql', line: 1 });
    expect(report.runner.lock_capture).toBe('exact');
    // Two statements, two lock reads: their cost is reported and is part of the migrate phase.
    expect(report.runner.tracing_ms).toBeGreaterThan(0);
    expect(report.runner.tracing_ms).toBeLessThan(report.phases_ms.migrate - 1400);
  });

  it('catches the SHARE lock of a CREATE INDEX on a tiny table', async () => {
    const { report } = await run(
      server,
      'CREATE TABLE tiny (id int, v int); INSERT INTO tiny VALUES (1, 1);',
      {
        '001_index.sql': 'CREATE INDEX tiny_v_idx ON tiny (v);',
      },
    );
    const lock = report.locks.find((l) => l.relation === 'tiny' && l.mode === 'ShareLock');
    expect(lock).toMatchObject({ mode_name: 'SHARE', blocks: 'writes', new_relation: false });
    expect(report.migrations[0].statements[0].locks.map((l) => l.mode_name)).toContain('SHARE');
  });

  it('reports a new table and a new index with their sizes', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_new.sql': `CREATE TABLE invoices (id bigint PRIMARY KEY, amount numeric);
INSERT INTO invoices SELECT g, g FROM generate_series(1, 5000) g;
CREATE INDEX invoices_amount_idx ON invoices (amount);`,
    });
    const table = report.metrics!.tables.invoices;
    expect(table.status).toBe('new');
    expect(table.size_before).toBeNull();
    expect(table.size_after).toBeGreaterThan(100_000);
    const index = report.metrics!.indexes.invoices_amount_idx;
    expect(index).toMatchObject({ status: 'new', table: 'invoices' });
    expect(index.size_after).toBeGreaterThan(50_000);
    expect(report.metrics!.tables.accounts.status).toBe('unchanged');
    expect(report.metrics!.total_db_size_delta).toBeGreaterThan(0);
    // Locks on relations the migration created cannot block anyone and are flagged so.
    expect(report.locks.filter((l) => l.relation === 'invoices').every((l) => l.new_relation)).toBe(true);
  });

  it('reports ALTER COLUMN TYPE as a rewrite and leaves untouched tables alone', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_type.sql': 'ALTER TABLE accounts ALTER COLUMN balance TYPE bigint;',
    });
    expect(report.metrics!.tables.accounts).toMatchObject({ rewritten: true, status: 'changed' });
    expect(report.metrics!.tables.audit_log).toMatchObject({ rewritten: false, status: 'unchanged' });
    expect(report.metrics!.tables.accounts.rows_after).toBeGreaterThan(15_000);
    expect(report.migrations[0].statements[0].rewrites).toContain('accounts');
  });

  it('follows a rename and a rewrite within one transaction, and survives DEALLOCATE ALL', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_rename.sql': `ALTER TABLE audit_log RENAME TO audit_entries;
DEALLOCATE ALL;
ALTER TABLE audit_entries ALTER COLUMN id TYPE numeric;
UPDATE accounts SET balance = balance + 1 WHERE id = 1;`,
    });
    expect(report.success).toBe(true);
    const [rename, , rewrite, update] = report.migrations[0].statements;
    expect(rename.locks).toEqual([
      expect.objectContaining({ relation: 'audit_entries', mode_name: 'ACCESS EXCLUSIVE' }),
    ]);
    expect(rewrite.rewrites).toContain('audit_entries');
    expect(update.locks.map((l) => `${l.relation} ${l.mode_name}`)).toContain('accounts ROW EXCLUSIVE');
  });

  it('reports a syntax error on line 3 as line 3 with its SQLSTATE, and stops there', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_bad.sql':
        '-- a comment\nALTER TABLE accounts ADD COLUMN a int;\nALTER TABLE accounts ADD COLUMN b intt;\n',
      '002_never.sql': 'ALTER TABLE accounts ADD COLUMN c int;',
    });
    expect(report.success).toBe(false);
    expect(report.passed).toBe(false);
    expect(report.failure).toMatchObject({ path: '001_bad.sql', line: 3, sqlstate: '42704' });
    expect(report.error).toContain('001_bad.sql:3');
    expect(report.migrations.map((m) => m.status)).toEqual(['failed', 'not_run']);
  });

  it('points at the right line of an error inside a multi-line statement', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_bad.sql': 'SELECT 1;\nCREATE TABLE t (\n  a int,\n  b int,\n  c notatype\n);\n',
    });
    expect(report.failure).toMatchObject({ line: 5, sqlstate: '42704' });
  });

  it('leaves the source byte-for-byte unchanged, on success and on failure', async () => {
    const { createDatabase, dropDatabase } = await import('./helpers/servers.js');
    const sourceUrl = await createDatabase(server.url, TWO_TABLES);
    try {
      const before = await fingerprint(sourceUrl);
      const { buildConfig } = await import('../src/engine/config.js');
      const { rehearse } = await import('../src/engine/rehearse.js');
      const { migrationDir } = await import('./helpers/rehearsal.js');
      for (const sql of [
        'ALTER TABLE accounts DROP COLUMN balance; DELETE FROM audit_log;',
        'DELETE FROM audit_log; SELECT 1/0;',
      ]) {
        const dir = migrationDir({ '001.sql': sql });
        const report = await rehearse(
          buildConfig({ 'source-url': sourceUrl, migrations: '*.sql', 'working-directory': dir }),
        );
        expect(report.snapshot!.name).not.toBe(new URL(sourceUrl).pathname.slice(1));
      }
      expect(await fingerprint(sourceUrl)).toBe(before);
    } finally {
      await dropDatabase(sourceUrl);
    }
  });

  it('runs a CREATE INDEX CONCURRENTLY file outside a transaction and still sees its lock', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_cic.sql': 'CREATE INDEX CONCURRENTLY accounts_balance_idx ON accounts (balance);\n',
    });
    expect(report.success).toBe(true);
    expect(report.migrations[0].transactional).toBe(false);
    const lock = report.locks.find((l) => l.relation === 'accounts');
    expect(lock).toMatchObject({ mode: 'ShareUpdateExclusiveLock', blocks: 'none' });
    expect(report.metrics!.indexes.accounts_balance_idx.status).toBe('new');
  });

  it('honours BEGIN/COMMIT in a file: the lock is held to the COMMIT, not per statement', async () => {
    const { report } = await run(server, TWO_TABLES, {
      '001_tx.sql': `BEGIN;
ALTER TABLE accounts ADD COLUMN flag boolean;
SELECT pg_sleep(0.4);
COMMIT;
SELECT pg_sleep(0.3);
ALTER TABLE audit_log ADD COLUMN seen boolean;
`,
    });
    expect(report.success).toBe(true);
    expect(report.migrations[0].transactional).toBe(false);
    // The order of events, not durations: held across the first sleep, released at COMMIT
    // before the second sleep began; audit_log's lock came after the second sleep.
    const at = (line: number) => report.migrations[0].statements.find((s) => s.line === line)!;
    const end = (t: { started_at_ms: number }, ms: number) => t.started_at_ms + ms;
    const ROUNDING_MS = 1; // times are rounded for the report
    const accounts = report.locks.find((l) => l.relation === 'accounts' && l.mode === 'AccessExclusiveLock')!;
    expect(end(accounts, accounts.held_ms)).toBeGreaterThanOrEqual(
      end(at(3), at(3).duration_ms) - ROUNDING_MS,
    );
    expect(end(accounts, accounts.held_ms)).toBeLessThanOrEqual(at(5).started_at_ms + ROUNDING_MS);
    const audit = report.locks.find((l) => l.relation === 'audit_log' && l.mode === 'AccessExclusiveLock')!;
    expect(audit.started_at_ms).toBeGreaterThanOrEqual(end(at(5), at(5).duration_ms) - ROUNDING_MS);
  });

  it('turns thresholds into violations that name the rule, the table and the line', async () => {
    const { report } = await run(
      server,
      TWO_TABLES,
      {
        '001_slow.sql':
          'SELECT 1;\nLOCK TABLE audit_log IN SHARE MODE;\nALTER TABLE accounts ALTER COLUMN balance TYPE bigint;\n' +
          "SELECT pg_sleep(0.3);\nCREATE TABLE filler AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 5000) g;\n",
      },
      {
        'max-read-block': '100ms',
        'max-write-block': '100ms',
        'max-rewrite-size': '0',
        'max-duration': '10ms',
        'max-size-increase': '1kB',
      },
    );
    const rules = report.violations.map((v) => `${v.rule}:${v.subject}`).sort();
    expect(rules).toEqual(
      [
        'max-duration:migrations',
        'max-read-block:accounts',
        'max-rewrite-size:accounts',
        'max-size-increase:database',
        'max-write-block:accounts',
        'max-write-block:audit_log',
      ].sort(),
    );
    const read = report.violations.find((v) => v.rule === 'max-read-block')!;
    expect(read).toMatchObject({ path: '001_slow.sql', line: 3 });
    expect(report.passed).toBe(false);
    expect(report.success).toBe(true);
    expect(report.thresholds['max-read-block']).toBe('100 ms');
  });

  it('passes when no threshold is breached', async () => {
    const { report } = await run(
      server,
      TWO_TABLES,
      { '001.sql': 'CREATE TABLE extra (id int);' },
      { 'max-read-block': '5s' },
    );
    expect(report.passed).toBe(true);
    expect(report.violations).toEqual([]);
  });

  it('cancels a migration past the timeout, reports it, and drops the snapshot', async () => {
    const { report } = await run(
      server,
      TWO_TABLES,
      { '001.sql': 'SELECT pg_sleep(30);' },
      { timeout: '1s' },
    );
    expect(report.cancelled).toBe(true);
    expect(report.success).toBe(false);
    expect(report.error).toMatch(/timeout/);
    // Cut short by the timeout while it ran: a pg_sleep(30) left to finish has no error.
    expect(report.migrations[0].statements[0].error).toBe('cancelled');
  });

  it('keeps the snapshot with keep-snapshot', async () => {
    const r = await run(
      server,
      TWO_TABLES,
      { '001.sql': 'CREATE TABLE kept (id int);' },
      { 'keep-snapshot': 'true' },
    );
    expect(r.report.snapshot!.kept).toBe(true);
    expect(await r.leftovers()).toEqual([r.report.snapshot!.name]);
    const rows = await query(
      r.sourceUrl.replace(/\/[^/]+$/, `/${r.report.snapshot!.name}`),
      `SELECT to_regclass('kept') AS t`,
    );
    expect(rows[0].t).toBe('kept');
    await query(server.url, `DROP DATABASE "${r.report.snapshot!.name}"`);
  });
});
