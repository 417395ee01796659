import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig, type RawOptions } from '../../src/engine/config.js';
import { connectionUrl } from '../../src/engine/connection.js';
import { rehearse } from '../../src/engine/rehearse.js';
import { alternate, createDatabase, dropDatabase, forEachServer, goalLine, on, percent, sql } from '../db.js';
import { formatMs, median, type Suite } from '../lib.js';
import { realisticMigration, sourceSql } from './observe.js';

/**
 * What the lock-tracing proxy costs a command: the same psql run connected directly (no
 * observation) and through the proxy. Tiny autocommit statements are its worst case: each
 * gets the proxy's BEGIN, lock read and COMMIT, three round trips more.
 */
const GOAL_PERCENT = 5;

interface Run {
  migrateMs: number;
  tracingMs: number;
}

async function runBoth(
  sourceUrl: string,
  files: Record<string, string>,
  command: string,
  repetitions: number,
  log: (line: string) => void,
): Promise<Record<'direct' | 'proxy', Run[]>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-bench-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), `${text}\n`);
  const runs: Record<'direct' | 'proxy', Run[]> = { direct: [], proxy: [] };
  const options: Record<'direct' | 'proxy', RawOptions> = {
    direct: { 'lock-monitoring': false },
    proxy: { 'lock-capture': 'exact' },
  };
  try {
    await alternate(['direct', 'proxy'] as const, repetitions, async (variant, round) => {
      const config = buildConfig(
        {
          'source-url': sourceUrl,
          'working-directory': dir,
          snapshot: 'template',
          command,
          ...options[variant],
        },
        { runId: `benchproxy${variant}` },
      );
      const report = await rehearse(config);
      if (!report.passed) throw new Error(`proxy bench ${variant}: rehearsal failed: ${report.error ?? ''}`);
      runs[variant].push({ migrateMs: report.phases_ms.migrate, tracingMs: report.runner.tracing_ms ?? 0 });
      log(`round ${round + 1} ${variant}: migrate ${formatMs(report.phases_ms.migrate)}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return runs;
}

export const proxySuite: Suite = {
  name: 'proxy',
  title: 'Lock-tracing proxy overhead (command runs)',
  async run({ quick, log }) {
    const rows = quick ? 50_000 : 200_000;
    const tiny = quick ? 200 : 1_000;
    const repetitions = quick ? 1 : 5;
    const figures: Record<string, unknown> = { rows, tiny, repetitions };
    const lines: string[] = [];
    const goals: string[] = [];
    await forEachServer(async (server) => {
      const source = 'bench_proxy_source';
      await createDatabase(server, source, sourceSql(rows));
      await sql(on(server, source), 'VACUUM ANALYZE');
      try {
        const url = connectionUrl({ ...server.info, database: source });
        const realistic = realisticMigration(rows);
        const psql = Object.keys(realistic)
          .sort()
          .map((f) => `psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f ${f} >/dev/null`)
          .join(' && ');
        const real = await runBoth(url, realistic, psql, repetitions, log);
        const tinyFiles = {
          'tiny.sql': Array.from(
            { length: tiny },
            (_, i) => `UPDATE orders SET amount = amount WHERE id = ${i + 1};`,
          ).join('\n'),
        };
        const small = await runBoth(
          url,
          tinyFiles,
          'psql -X -q -v ON_ERROR_STOP=1 -f tiny.sql >/dev/null',
          repetitions,
          log,
        );
        const med = (r: Run[], key: keyof Run) => median(r.map((x) => x[key]));
        const overhead = percent(med(real.proxy, 'migrateMs'), med(real.direct, 'migrateMs'));
        const share = Math.round((med(real.proxy, 'tracingMs') / med(real.proxy, 'migrateMs')) * 1000) / 10;
        const perStatement = (med(small.proxy, 'migrateMs') - med(small.direct, 'migrateMs')) / tiny;
        figures[server.label] = { real, small, overhead, share, perStatement };
        lines.push(
          `| ${server.label} | ${formatMs(med(real.direct, 'migrateMs'))} | ${formatMs(med(real.proxy, 'migrateMs'))} | ${overhead}% | ${share}% | ${perStatement.toFixed(2)} ms |`,
        );
        goals.push(
          goalLine(
            overhead < GOAL_PERCENT,
            `${server.label}: proxy ${overhead}% of the migrate phase on the realistic migration (goal under ${GOAL_PERCENT}%)`,
          ),
        );
      } finally {
        await dropDatabase(server, source);
      }
    });
    const markdown = [
      `psql on the realistic migration of the observe suite (${rows.toLocaleString('en')} orders, --single-transaction) and on ${tiny} tiny autocommit UPDATEs (psql -f), ` +
        `connected directly (no observation) and through the lock-tracing proxy; ${repetitions} alternating repetitions, medians. ` +
        'Lock reads: the share of the migrate phase the proxy spent reading locks (`runner.tracing_ms`).',
      '',
      '| server | direct | through the proxy | overhead | lock reads | cost per tiny autocommit statement |',
      '|---|---:|---:|---:|---:|---:|',
      ...lines,
      '',
      ...goals,
    ].join('\n');
    return { markdown, figures };
  },
};
