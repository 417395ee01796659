import { mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { renderMarkdown } from '../src/render/markdown.js';
import { rehearseOn, type RehearsalRun } from './helpers/rehearsal.js';
import { query, testServers, withDatabase } from './helpers/servers.js';

const ORDERS = `
CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, total integer NOT NULL);
INSERT INTO orders SELECT g, md5(g::text), g % 1000 FROM generate_series(1, 300000) g;
CREATE TABLE customers (id bigint PRIMARY KEY, name text);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 1000) g;
ANALYZE;`;

describe.each(testServers())('probe traffic on $name', (server) => {
  const runs: RehearsalRun[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      expect(await r.leftovers()).toEqual([]);
      await r.cleanup();
    }
  });
  const run = async (files: Record<string, string>, options: Record<string, string> = {}) => {
    const r = await rehearseOn(server, ORDERS, files, { traffic: 'true', ...options });
    runs.push(r);
    return r.report;
  };

  it('a 1.5 s ACCESS EXCLUSIVE hold blocks reads and writes for at least 1.2 s, with the blocked queries listed', async () => {
    const report = await run(
      { '001.sql': 'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1.5);\n' },
      { 'max-read-block': '1s' },
    );
    const orders = report.traffic!.tables.orders;
    expect(orders.reads.max_wait_ms).toBeGreaterThanOrEqual(1200);
    expect(orders.writes.max_wait_ms).toBeGreaterThanOrEqual(1200);
    expect(orders.reads.blocked).toBeGreaterThan(0);
    const lock = report.locks.find((l) => l.relation === 'orders' && l.mode === 'AccessExclusiveLock')!;
    expect(lock.blocked_queries.length).toBeGreaterThan(0);
    expect(lock.blocked_queries[0].wait_ms).toBeGreaterThanOrEqual(1200);
    expect(lock.blocked_queries.map((q) => q.query).join('\n')).toMatch(
      /SELECT 1 FROM "public"."orders" WHERE "id" = /,
    );
    // Judged on measured waits, and the report says so.
    const violation = report.violations.find((v) => v.rule === 'max-read-block')!;
    expect(violation).toMatchObject({ subject: 'orders', path: '001.sql', line: 1 });
    expect(violation.message).toMatch(/measured by probe traffic/);
    // The untouched table's probes were never blocked.
    expect(report.traffic!.tables.customers.reads.blocked).toBe(0);
    const markdown = renderMarkdown(report);
    expect(markdown).toMatch(/```mermaid\ngantt/);
    expect(markdown).toMatch(/section orders\n {2}reads blocked :crit, \d+, \d+/);
    // Kept for the docs (docs/timeline-example.md is a copy of the local server's).
    mkdirSync('.tmp', { recursive: true });
    writeFileSync(`.tmp/timeline-example-${server.name}.md`, markdown);
  });

  it('a plain CREATE INDEX blocks writes but not reads; the lock queue is shown', async () => {
    const report = await run({ '001.sql': 'CREATE INDEX orders_customer_idx ON orders (customer);' });
    const orders = report.traffic!.tables.orders;
    expect(orders.writes.blocked).toBeGreaterThan(0);
    expect(orders.writes.max_wait_ms).toBeGreaterThan(50);
    expect(orders.reads.max_wait_ms).toBeLessThan(50);
    expect(report.traffic!.lock_queue.orders.outcome).toBe('no_conflict');
  });

  it('CREATE INDEX CONCURRENTLY blocks neither reads nor writes', async () => {
    const report = await run({ '001.sql': 'CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);' });
    const orders = report.traffic!.tables.orders;
    expect(report.success).toBe(true);
    expect(orders.reads.max_wait_ms).toBeLessThan(50);
    expect(orders.writes.max_wait_ms).toBeLessThan(50);
    expect(orders.reads.probes).toBeGreaterThan(1);
  });

  it('an ALTER behind a long reader makes reads queue; with lock_timeout it fails fast', async () => {
    const queued = await run({ '001.sql': 'ALTER TABLE orders ADD COLUMN note text;' });
    expect(queued.traffic!.lock_queue.orders.outcome).toBe('queued');
    const fast = await run({
      '001.sql': "SET lock_timeout = '50ms';\nALTER TABLE orders ADD COLUMN note text;",
    });
    expect(fast.failure?.sqlstate).toBe('55P03');
    expect(fast.traffic!.lock_queue.orders.outcome).toBe('failed_fast');
  });

  it('probes never change the data', async () => {
    const r = await rehearseOn(
      server,
      ORDERS,
      {
        '001.sql': 'CREATE INDEX orders_customer_idx ON orders (customer);',
        '002.sql': 'SELECT pg_sleep(0.5);',
      },
      { traffic: 'true', 'keep-snapshot': 'true' },
    );
    runs.push(r);
    const checksum = `SELECT md5(string_agg(o::text, ',' ORDER BY id)) AS h, count(*) AS n FROM orders o`;
    const snapshotUrl = withDatabase(r.sourceUrl, r.report.snapshot!.name);
    try {
      const [source] = await query(r.sourceUrl, checksum);
      const [snapshot] = await query(snapshotUrl, checksum);
      expect(r.report.traffic!.tables.orders.writes.probes).toBeGreaterThan(2);
      expect(snapshot).toEqual(source);
    } finally {
      await query(server.url, `DROP DATABASE "${r.report.snapshot!.name}" WITH (FORCE)`);
    }
  });
});
