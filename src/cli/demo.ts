import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SHOP_V1_SCHEMA, SHOP_V2_MIGRATIONS, shopSeedSql } from '../demo/shop.js';
import { startEmbeddedPostgres } from '../embedded/postgres.js';
import { buildConfig } from '../engine/config.js';
import { consoleLogger } from '../engine/logger.js';
import { rehearse } from '../engine/rehearse.js';
import { formatDuration } from '../engine/units.js';
import { renderText } from '../render/text.js';

export const DEMO_HELP = `Usage: pg-rehearsal demo [--rows N]

Starts an embedded PostgreSQL 18, builds the sample shop (v1, 500,000 products),
and rehearses its v2 upgrade, whose price change rewrites the products table under
an ACCESS EXCLUSIVE lock. Prints the report; removes everything it created.
`;

/**
 * `pg-rehearsal demo`: the whole product in one command, on a server it starts itself.
 * Exits 0 when the rehearsal ran (its verdict on the upgrade is part of the output).
 */
export async function demoCommand(rows: number, signal: AbortSignal): Promise<number> {
  const log = consoleLogger();
  const timings: [string, number][] = [];
  const time = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      timings.push([phase, performance.now() - started]);
    }
  };
  const server = await time('start embedded PostgreSQL', () => startEmbeddedPostgres({ log: log.info }));
  const migrationsDir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-demo-'));
  try {
    await time(`build shop v1 with ${rows.toLocaleString('en-US')} products`, async () => {
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query('CREATE DATABASE shop');
      await admin.end();
      const shop = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, '/shop') });
      await shop.connect();
      await shop.query(SHOP_V1_SCHEMA);
      await shop.query(shopSeedSql(rows));
      await shop.end();
    });
    for (const [file, sql] of Object.entries(SHOP_V2_MIGRATIONS))
      writeFileSync(path.join(migrationsDir, file), sql);

    const config = buildConfig(
      {
        'source-url': server.url.replace(/\/postgres$/, '/shop'),
        migrations: '*.sql',
        'working-directory': migrationsDir,
        'max-read-block': '500ms',
        'max-rewrite-size': '10MB',
      },
      { runId: 'demo' },
    );
    log.info(`rehearsing the v2 upgrade (${Object.keys(SHOP_V2_MIGRATIONS).join(', ')})`);
    log.info('thresholds: --max-read-block 500ms --max-rewrite-size 10MB');
    const report = await time('rehearse v2 upgrade', () => rehearse(config, { log, signal }));
    process.stdout.write(`\n${renderText(report)}`);
    const p = report.phases_ms;
    timings.push(
      ['  of which: snapshot', p.snapshot],
      ['  of which: catalog before + after', p.catalog_before + p.catalog_after],
      ['  of which: migrations', p.migrate],
      ['  of which: drop snapshot', p.cleanup],
    );
    if (p.advice !== undefined) timings.push(['  of which: safer forms rehearsed', p.advice]);
    return report.cancelled ? 1 : 0;
  } finally {
    await time('stop embedded PostgreSQL', () => server.stop());
    rmSync(migrationsDir, { recursive: true, force: true });
    process.stdout.write('\nDemo phases\n');
    for (const [phase, ms] of timings) process.stdout.write(`  ${phase.padEnd(40)} ${formatDuration(ms)}\n`);
  }
}
