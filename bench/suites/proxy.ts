import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig, type RawOptions } from '../../src/engine/config.js';
import { connectionUrl } from '../../src/engine/connection.js';
import { rehearse } from '../../src/engine/rehearse.js';
import type { Report } from '../../src/engine/report.js';
import {
  alternate,
  createDatabase,
  dropDatabase,
  forEachServer,
  goalLine,
  loadAverage,
  on,
  percent,
  sql,
  type BenchServer,
} from '../db.js';
import { formatMs, median, type Suite } from '../lib.js';
import { realisticMigration, realisticRows, sourceSql } from './observe.js';

/**
 * What the lock-tracing proxy costs a command: the same psql run connected directly (no
 * observation) and through the proxy. Inside the tool's transaction a statement's lock read
 * goes out as the tool is told ReadyForQuery, so it costs the server's time for the read and
 * the hop through the proxy; an autocommit statement waits for its read and the proxy's
 * COMMIT (its BEGIN travels with the statement). Tiny autocommit statements are its worst case.
 */
const GOAL_PERCENT = 5;

interface Run {
  migrateMs: number;
  tracingMs: number;
  /** Statements the proxy reported (psql's BEGIN and COMMIT included). */
  statements: number;
  /**
   * The statements' own time, without psql's BEGIN and COMMIT: psql's `\timing` when
   * connected directly, the proxy's measure (from the statement reaching the server, or the
   * lock read before it finishing, to its ReadyForQuery) through the proxy.
   */
  statementMs: number;
  /** psql's own `\\timing` of the same statements, in both variants (through the proxy, the hops and any wait behind a lock read included). */
  psqlMs: number;
}

/** Where psql's `\timing` lines go, in the run's working directory. */
const TIMING_FILE = 'timing.out';

/** psql's `\timing` lines ("Time: 1.234 ms"), summed; the file is removed for the next run. */
function psqlTimingMs(dir: string): number {
  const file = path.join(dir, TIMING_FILE);
  if (!existsSync(file)) return 0;
  const total = [...readFileSync(file, 'utf8').matchAll(/^Time: ([\d.]+) ms/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  rmSync(file);
  return total;
}

/** The statements psql sends from the files (and times), one per non-empty line. */
function psqlStatementCount(files: Record<string, string>): number {
  return Object.values(files).reduce((sum, text) => sum + text.split('\n').filter((l) => l.trim()).length, 0);
}

function proxiedStatementMs(report: Report): number {
  return report.migrations
    .flatMap((m) => m.statements)
    .filter((s) => !/^(BEGIN|COMMIT)$/.test(s.sql))
    .reduce((sum, s) => sum + s.duration_ms, 0);
}

async function runBoth(
  server: BenchServer,
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
      // The previous round's snapshot copy is written out now, not during this round's migration.
      await sql(server.info, 'CHECKPOINT');
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
      const timed = psqlTimingMs(dir);
      runs[variant].push({
        migrateMs: report.phases_ms.migrate,
        tracingMs: report.runner.tracing_ms ?? 0,
        statements: report.migrations.reduce((sum, m) => sum + m.statements.length, 0),
        statementMs: variant === 'direct' ? timed : proxiedStatementMs(report),
        psqlMs: timed,
      });
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
    // The same migration at the same size as the lock tracer's goal: the goal is the same.
    const rows = realisticRows(quick);
    const tiny = quick ? 200 : 1_000;
    const repetitions = quick ? 1 : 9;
    const figures: Record<string, unknown> = { rows, tiny, repetitions };
    const lines: string[] = [];
    const goals: string[] = [];
    const whereItGoes: string[] = [];
    const loadBefore = loadAverage();
    await forEachServer(async (server) => {
      const source = 'bench_proxy_source';
      await createDatabase(server, source, sourceSql(rows));
      await sql(on(server, source), 'VACUUM ANALYZE');
      try {
        const url = connectionUrl({ ...server.info, database: source });
        const realistic = realisticMigration(rows);
        const psql = Object.keys(realistic)
          .sort()
          .map(
            (f) =>
              `psql -X -q -v ON_ERROR_STOP=1 --single-transaction -c '\\timing on' -f ${f} >>${TIMING_FILE}`,
          )
          .join(' && ');
        const real = await runBoth(server, url, realistic, psql, repetitions, log);
        const tinyFiles = {
          'tiny.sql': Array.from(
            { length: tiny },
            (_, i) => `UPDATE orders SET amount = amount WHERE id = ${i + 1};`,
          ).join('\n'),
        };
        const tinyRun = (flags: string) =>
          runBoth(
            server,
            url,
            tinyFiles,
            `psql -X -q -v ON_ERROR_STOP=1 ${flags}-f tiny.sql >/dev/null`,
            repetitions,
            log,
          );
        const small = await tinyRun('');
        const inTransaction = await tinyRun('--single-transaction ');
        const med = (r: Run[], key: keyof Run) => median(r.map((x) => x[key]));
        // Each proxy run against the direct run of the same round: the load of the moment weighs on both.
        const wallOverhead = median(
          real.proxy.map((run, round) => percent(run.migrateMs, real.direct[round].migrateMs)),
        );
        // What the proxy adds, without the statements' own time: how long a statement runs
        // varies from run to run by more than the whole overhead, and would drown it.
        const added = median(
          real.proxy.map((run, round) => {
            const direct = real.direct[round];
            return run.migrateMs - run.statementMs - (direct.migrateMs - direct.statementMs);
          }),
        );
        const overhead = Math.round((added / med(real.direct, 'migrateMs')) * 1000) / 10;
        // Of that, what psql itself sees inside its statements (the hops through the proxy, and
        // the waits behind lock reads): its own timing against the proxy's, in the same runs.
        const inStatements = median(real.proxy.map((run) => run.psqlMs - run.statementMs));
        const timedStatements = psqlStatementCount(realistic);
        whereItGoes.push(
          `${server.label}: ${formatMs(inStatements)} inside the ${timedStatements} statements psql times (${(inStatements / timedStatements).toFixed(2)} ms each), ${formatMs(added - inStatements)} outside them (connecting, BEGIN and COMMIT).`,
        );
        const share = Math.round((med(real.proxy, 'tracingMs') / med(real.proxy, 'migrateMs')) * 1000) / 10;
        const perStatement = (med(small.proxy, 'migrateMs') - med(small.direct, 'migrateMs')) / tiny;
        const perInside =
          (med(inTransaction.proxy, 'migrateMs') - med(inTransaction.direct, 'migrateMs')) / tiny;
        const statements = med(real.proxy, 'statements');
        const perRead = med(real.proxy, 'tracingMs') / statements;
        figures[server.label] = {
          real,
          small,
          inTransaction,
          added,
          overhead,
          wallOverhead,
          share,
          perStatement,
          perInside,
          statements,
          perRead,
        };
        lines.push(
          `| ${server.label} | ${formatMs(med(real.direct, 'migrateMs'))} | ${formatMs(med(real.proxy, 'migrateMs'))} | ${formatMs(added)}, ${overhead}% | ${wallOverhead}% | ${share}% (${statements} statements, ${perRead.toFixed(2)} ms each) | ${perStatement.toFixed(2)} ms | ${perInside.toFixed(2)} ms |`,
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
      `psql on the realistic migration of the observe suite (${rows.toLocaleString('en')} orders, three files, each --single-transaction) and on ${tiny} tiny UPDATEs (psql -f, autocommit and --single-transaction), ` +
        `connected directly (no observation) and through the lock-tracing proxy; ${repetitions} alternating repetitions, a CHECKPOINT before each run, medians. ` +
        "Inside the tool's transaction a statement's lock read leaves as the tool is told ReadyForQuery, and the tool's next statement waits behind it in the server: it costs the read's server time and the hop through the proxy's process both ways. " +
        "An autocommit statement waits for its read and the proxy's COMMIT (its BEGIN travels with it): one round trip more. " +
        "Overhead: what the proxy adds to the migrate phase, the statements' own time taken out of both runs of a round (psql's `\\timing` connected directly; through the proxy, each statement's time from reaching the server, or from the lock read before it finishing, to its ReadyForQuery, so that the wait behind a read counts as overhead); the median over rounds, as a share of the direct run's migrate phase. " +
        'Wall-clock difference: the median over rounds of each run through the proxy against the direct run of the same round; how long the same statements run varies from run to run here by more than the whole overhead (±10-40% per round), so this figure moves by as much between runs of the bench. ' +
        "Lock reads: how long the proxy's reads were in flight (`runner.tracing_ms`) as a share of the migrate phase, and per statement; inside a transaction they overlap the tool's own round trip, so this is more than they add. " +
        `Load average (1 min) ${loadBefore} before, ${loadAverage()} after: other jobs share the cores, so every round trip also waits its turn on them.`,
      '',
      '| server | direct | through the proxy | overhead | wall-clock difference | lock reads in flight | cost per tiny autocommit statement | cost per tiny statement in a transaction |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...lines,
      '',
      `Where the overhead goes (medians; psql's own \\timing through the proxy against the proxy's measure of the same statements): ${whereItGoes.join(' ')}`,
      '',
      ...goals,
    ].join('\n');
    return { markdown, figures };
  },
};
