import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig } from '../../src/engine/config.js';
import { connectionUrl } from '../../src/engine/connection.js';
import { rehearse } from '../../src/engine/rehearse.js';
import {
  alternate,
  createDatabase,
  dropDatabase,
  goalLine,
  loadAverage,
  forEachServer,
  type BenchServer,
} from '../db.js';
import { median, type Suite } from '../lib.js';

/**
 * How close reported hold times are to the truth: a transaction takes ACCESS EXCLUSIVE on a
 * table and sleeps a known time. The exact tracer (built-in runner) should be within a few
 * ms; the sampler (psql command, default 50 ms interval) within about one interval.
 */
const SAMPLE_INTERVAL_MS = 50;

type Method = 'tracer' | 'sampler';

async function heldMs(server: BenchServer, source: string, dir: string, method: Method): Promise<number> {
  const config = buildConfig(
    {
      'source-url': connectionUrl({ ...server.info, database: source }),
      'working-directory': dir,
      snapshot: 'template',
      ...(method === 'tracer'
        ? { migrations: 'hold.sql' }
        : { command: 'psql -X -q -v ON_ERROR_STOP=1 -f hold.sql >/dev/null' }),
    },
    { runId: `benchprecision${method}` },
  );
  const report = await rehearse(config);
  if (!report.passed) throw new Error(`${method}: rehearsal failed: ${report.error ?? ''}`);
  const hold = report.locks.find((l) => l.relation.endsWith('held') && l.mode === 'AccessExclusiveLock');
  if (!hold) throw new Error(`${method}: no ACCESS EXCLUSIVE hold on "held" in the report`);
  return hold.held_ms;
}

export const lockPrecisionSuite: Suite = {
  name: 'lock-precision',
  title: 'Lock hold precision',
  async run({ quick, log }) {
    const sleepsS = quick ? [0.3] : [0.3, 1.0, 2.0];
    const repetitions = quick ? 1 : 3;
    const loadBefore = loadAverage();
    const figures: Record<string, unknown> = {
      sleepsS,
      repetitions,
      sampleIntervalMs: SAMPLE_INTERVAL_MS,
      loadBefore,
    };
    const table: string[] = [];
    const worst: Record<Method, number> = { tracer: 0, sampler: 0 };
    let lowestTracerError = Infinity;
    await forEachServer(async (server) => {
      const source = 'bench_precision_source';
      await createDatabase(
        server,
        source,
        'CREATE TABLE held (id integer PRIMARY KEY); INSERT INTO held VALUES (1);',
      );
      try {
        for (const sleepS of sleepsS) {
          const dir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-bench-'));
          writeFileSync(
            path.join(dir, 'hold.sql'),
            `BEGIN;\nLOCK TABLE held IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(${sleepS});\nCOMMIT;\n`,
          );
          const measured: Record<Method, number[]> = { tracer: [], sampler: [] };
          try {
            await alternate<Method>(['tracer', 'sampler'], repetitions, async (method) => {
              measured[method].push(await heldMs(server, source, dir, method));
            });
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
          const trueMs = sleepS * 1000;
          for (const method of ['tracer', 'sampler'] as Method[]) {
            const errors = measured[method].map((ms) => ms - trueMs);
            const maxAbs = Math.max(...errors.map(Math.abs));
            worst[method] = Math.max(worst[method], maxAbs);
            if (method === 'tracer') lowestTracerError = Math.min(lowestTracerError, ...errors);
            const label = method === 'tracer' ? 'exact tracer' : `sampler (${SAMPLE_INTERVAL_MS} ms)`;
            table.push(
              `| ${server.label} | ${trueMs} ms | ${label} | ${median(measured[method]).toFixed(1)} ms | ` +
                `${median(errors) >= 0 ? '+' : ''}${median(errors).toFixed(1)} ms | ${maxAbs.toFixed(1)} ms |`,
            );
            log(`${server.label} ${trueMs} ms ${method}: ${measured[method].join(', ')}`);
          }
          figures[`${server.label} ${trueMs} ms`] = measured;
        }
      } finally {
        await dropDatabase(server, source);
      }
    });
    figures.loadAfter = loadAverage();
    const markdown = [
      '`BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(s); COMMIT;` rehearsed with the ' +
        'built-in runner (exact tracer) and as `psql -f` (command runner, lock sampler at its default ' +
        `interval), ${repetitions} alternating runs each. "True" is the sleep: the real hold is that plus the ` +
        "round trips of LOCK, COMMIT and the tracer's own lock reads between them (the lock is really held " +
        'through those), so the exact tracer should be a little above the sleep and never below it. ' +
        `Load average (1 min) ${loadBefore} before, ${figures.loadAfter} after.`,
      '',
      '| server | true hold | method | reported held_ms (median) | error (median) | worst error |',
      '|---|---:|---|---:|---:|---:|',
      ...table,
      '',
      goalLine(
        worst.tracer <= 10 && lowestTracerError >= 0,
        `exact tracer error from ${lowestTracerError >= 0 ? '+' : ''}${lowestTracerError.toFixed(1)} to +${worst.tracer.toFixed(1)} ms (goal: never below the sleep, at most 10 ms above)`,
      ),
      goalLine(
        worst.sampler <= SAMPLE_INTERVAL_MS,
        `sampler within ${worst.sampler.toFixed(1)} ms (goal: within one ${SAMPLE_INTERVAL_MS} ms interval)`,
      ),
    ].join('\n');
    return { markdown, figures };
  },
};
