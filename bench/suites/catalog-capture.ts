import { captureCatalog } from '../../src/engine/catalog.js';
import {
  alternate,
  createDatabase,
  dropDatabase,
  goalLine,
  loadAverage,
  forEachServer,
  on,
  sql,
  withClient,
  type BenchServer,
} from '../db.js';
import { formatMs, median, timeMs, type Suite } from '../lib.js';

/** captureCatalog runs twice per rehearsal; on a schema with many tables it must stay cheap. */
const GOAL_MS = 2_000;

/** Creates `count` tables with a primary key and one more index each, in batches of one transaction. */
async function createTables(server: BenchServer, database: string, count: number): Promise<void> {
  const batch = 500;
  for (let low = 0; low < count; low += batch) {
    await sql(
      on(server, database),
      `DO $$ BEGIN
         FOR i IN ${low}..${Math.min(low + batch, count) - 1} LOOP
           EXECUTE format('CREATE TABLE t_%s (id integer PRIMARY KEY, name text, created_at timestamptz)', i);
           EXECUTE format('CREATE INDEX t_%s_name_idx ON t_%s (name)', i, i);
         END LOOP;
       END $$`,
    );
  }
}

export const catalogCaptureSuite: Suite = {
  name: 'catalog-capture',
  title: 'Catalog capture on 10,000 tables',
  async run({ quick, log }) {
    const tables = quick ? 1_000 : 10_000;
    const repetitions = quick ? 2 : 5;
    const loadBefore = loadAverage();
    const figures: Record<string, unknown> = { tables, repetitions, loadBefore };
    const rows: string[] = [];
    const goals: string[] = [];
    const database = 'bench_catalog';
    await forEachServer(async (server) => {
      log(`${server.label}: creating ${tables} tables with 2 indexes each`);
      await createDatabase(server, database);
      try {
        await createTables(server, database, tables);
        const runs: number[] = [];
        let relations = 0;
        await withClient(on(server, database), async (client) => {
          await captureCatalog(client); // first call plans the query and warms the catalog caches
          await alternate([0], repetitions, async () => {
            runs.push(
              await timeMs(async () => {
                relations = (await captureCatalog(client)).relations.length;
              }),
            );
          });
        });
        const ms = median(runs);
        figures[server.label] = { runsMs: runs, medianMs: ms, relations };
        log(`${server.label}: ${relations} relations in ${formatMs(ms)}`);
        rows.push(
          `| ${server.label} | ${tables.toLocaleString('en')} | ${relations.toLocaleString('en')} | ${formatMs(ms)} | ${formatMs(Math.max(...runs))} |`,
        );
        goals.push(
          goalLine(ms < GOAL_MS, `${server.label}: ${formatMs(ms)} (goal under ${formatMs(GOAL_MS)})`),
        );
      } finally {
        await dropDatabase(server, database);
      }
    });
    figures.loadAfter = loadAverage();
    const markdown = [
      `\`captureCatalog\` (one query: every user relation with its size, filenode and row estimate) on a ` +
        `database of ${tables.toLocaleString('en')} tables, each with a primary key, a second index and a TOAST table; ` +
        `median of ${repetitions} captures after one warm-up. Load average (1 min) ${loadBefore} before, ${figures.loadAfter} after.`,
      '',
      '| server | tables | relations captured | median | slowest |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      ...goals,
    ].join('\n');
    return { markdown, figures };
  },
};
