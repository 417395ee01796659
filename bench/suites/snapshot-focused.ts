import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionUrl } from '../../src/engine/connection.js';
import { buildConfig } from '../../src/engine/config.js';
import { rehearse } from '../../src/engine/rehearse.js';
import type { Report } from '../../src/engine/report.js';
import { formatBytes } from '../../src/engine/units.js';
import { alternate, dropDatabase, goalLine, loadAverage, localServer, on } from '../db.js';
import { formatMs, median, timeMs, type Suite } from '../lib.js';
import { ensurePgbenchDatabase, pgbenchSource } from './snapshot.js';

/**
 * Focused snapshots (`snapshot-data: touched`) against a full dump, the same rehearsal
 * otherwise, on the multi-GB pgbench database: a migration of a 200-row table should cost a
 * fraction of the full dump, one of the table holding nearly all the bytes no more than it.
 */
const SMALL_TABLE_GOAL = 0.1;
const LARGE_TABLE_GOAL = 1.1;

const MIGRATIONS = {
  branches: 'ALTER TABLE pgbench_branches ADD COLUMN region integer NOT NULL DEFAULT 0;\n',
  accounts: 'ALTER TABLE pgbench_accounts ADD COLUMN region integer NOT NULL DEFAULT 0;\n',
};

type Target = keyof typeof MIGRATIONS;
type Mode = 'all' | 'touched';

export const focusedSnapshotSuite: Suite = {
  name: 'snapshot-focused',
  title: 'Focused snapshots (snapshot-data: touched) against a full dump',
  async run({ quick, log }) {
    const { size, source } = pgbenchSource(quick);
    const reps = quick ? 1 : 3; // single runs vary by a fifth on a shared machine: a median of three
    const server = localServer();
    const bytes = await ensurePgbenchDatabase(server, source, size, log);
    const sourceUrl = connectionUrl(on(server, source));
    const loadBefore = loadAverage();
    const figures: Record<string, unknown> = { scale: size.scale, sourceBytes: bytes, loadBefore };
    const rows: string[] = [];
    const goals: string[] = [];
    try {
      await measureAll();
    } finally {
      if (quick) await dropDatabase(server, source);
    }
    async function measureAll() {
      for (const target of Object.keys(MIGRATIONS) as Target[]) {
        const times: Record<Mode, number[]> = { all: [], touched: [] };
        const reports: Partial<Record<Mode, Report>> = {};
        await alternate<Mode>(['all', 'touched'], reps, async (mode, round) => {
          let report: Report | undefined;
          const ms = await timeMs(async () => (report = await rehearseOnce(sourceUrl, target, mode)));
          if (!report?.success) throw new Error(`the ${mode} run of ${target} failed: ${report?.error}`);
          times[mode].push(ms);
          reports[mode] = report;
          log(`${target} round ${round + 1} ${mode}: ${formatMs(ms)} (load ${loadAverage()})`);
        });
        const ratio = median(times.touched) / median(times.all);
        const data = reports.touched?.snapshot?.data;
        figures[target] = { times, ratio, data };
        rows.push(
          `| \`pgbench_${target}\` | ${formatMs(median(times.all))} | ${formatMs(median(times.touched))} | ${ratio.toFixed(2)}x | ${data?.tables.join(', ')} (${formatBytes(data?.bytes_copied ?? 0)} of ${formatBytes(data?.source_bytes ?? 0)}), ${data?.passes} pass(es) |`,
        );
        const goal = target === 'branches' ? SMALL_TABLE_GOAL : LARGE_TABLE_GOAL;
        goals.push(
          goalLine(
            target === 'branches' ? ratio < goal : ratio <= goal,
            `altering \`pgbench_${target}\`: touched ${ratio.toFixed(2)}x the full dump (goal ${target === 'branches' ? 'under' : 'at most'} ${goal}x)`,
          ),
        );
      }
    }
    figures.loadAfter = loadAverage();
    const markdown = [
      `The whole rehearsal (\`rehearse()\`: snapshot, dry pass and every pass, migrations, cleanup) with \`snapshot: dump\`, ` +
        `\`snapshot-data\` all against touched, the two alternating (${reps} rounds), on local PostgreSQL 15 dumping into itself, ` +
        `from a ${formatBytes(bytes)} pgbench database (scale ${size.scale}). Load average (1 min) ${loadBefore} before, ` +
        `${figures.loadAfter} after: other jobs shared the 2 cores.`,
      '',
      '| migration alters | full dump | touched | ratio | rows copied |',
      '|---|---:|---:|---:|---|',
      ...rows,
      '',
      ...goals,
    ].join('\n');
    return { markdown, figures };
  },
};

async function rehearseOnce(sourceUrl: string, target: Target, mode: Mode): Promise<Report> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-focused-'));
  try {
    writeFileSync(path.join(dir, '001.sql'), MIGRATIONS[target]);
    const config = buildConfig(
      {
        'source-url': sourceUrl,
        snapshot: 'dump',
        'snapshot-data': mode,
        migrations: '*.sql',
        'working-directory': dir,
        advice: 'off',
      },
      { runId: `benchfocus${mode}` },
    );
    return await rehearse(config);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
