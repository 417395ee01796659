import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type pg from 'pg';
import { createReflinkVolume, usedBytes, type ReflinkVolume } from '../../__tests__/helpers/xfs-volume.js';
import { libpqEnvironment, quoteIdent } from '../../src/engine/connection.js';
import { silentLogger } from '../../src/engine/logger.js';
import { findPgTools } from '../../src/engine/snapshot/pg-tools.js';
import { connectMaintenance, inspectServer, type ServerInfo } from '../../src/engine/snapshot/server.js';
import { createSnapshot, type SnapshotRequest } from '../../src/engine/snapshot/snapshot.js';
import {
  alternate,
  databaseBytes,
  dropDatabase,
  embeddedServer,
  goalLine,
  loadAverage,
  localServer,
  on,
  PG15_BIN,
  type BenchServer,
} from '../db.js';
import { formatMs, median, timeMs, type Suite } from '../lib.js';

const run = promisify(execFile);

/**
 * The snapshot strategies on one multi-GB pgbench database, each against what a person
 * would type by hand: the tool's template clone vs a raw CREATE DATABASE ... FILE_COPY,
 * the tool's dump vs `pg_dump -Fc | pg_restore`, and the copy-on-write clone of
 * PostgreSQL 18 on a reflink XFS.
 */
const TEMPLATE_GOAL = 1.15;
const DUMP_GOAL = 0.75;
const CLONE_GOAL_MS = 500;
/** Kept between runs on the local server: generating it takes a minute or more. */
export const CACHED_SOURCE = 'bench_source_3gb';
export const GB = 1e9;

export interface Size {
  scale: number;
  minBytes: number;
}

/** Fills `database` with `pgbench -i` (normal logged tables) unless it is there with the right size. */
export async function ensurePgbenchDatabase(
  server: BenchServer,
  database: string,
  size: Size,
  log: (line: string) => void,
): Promise<number> {
  const existing = await databaseBytes(server, database);
  if (existing !== undefined && existing >= size.minBytes && existing < size.minBytes * 1.5) {
    log(`reusing ${database} (${(existing / GB).toFixed(2)} GB)`);
    return existing;
  }
  await dropDatabase(server, database);
  const env = { ...process.env, ...libpqEnvironment(on(server, database)) };
  await run(`${PG15_BIN}/createdb`, [database], { env });
  log(`generating ${database}: pgbench -i -s ${size.scale}`);
  const ms = await timeMs(() =>
    run(`${PG15_BIN}/pgbench`, ['-i', '-q', '-s', String(size.scale), database], { env }),
  );
  const bytes = (await databaseBytes(server, database)) as number;
  log(`generated ${(bytes / GB).toFixed(2)} GB in ${formatMs(ms)}`);
  if (bytes < size.minBytes)
    throw new Error(`${database} is only ${bytes} bytes; expected at least ${size.minBytes}`);
  return bytes;
}

interface Session {
  server: BenchServer;
  admin: pg.Client;
  info: ServerInfo;
}

async function openSession(server: BenchServer): Promise<Session> {
  const admin = await connectMaintenance(server.info);
  return { server, admin, info: await inspectServer(admin) };
}

/** The tool's own path: createSnapshot as a rehearsal calls it (metadata, locks, ANALYZE after a dump). */
async function toolSnapshot(
  session: Session,
  source: string,
  name: string,
  strategy: 'template' | 'dump',
): Promise<string> {
  const request: SnapshotRequest = {
    source: on(session.server, source),
    server: session.server.info,
    strategy,
    name,
    runId: 'bench',
    ttlMs: 3_600_000,
    log: silentLogger,
    onDatabaseCreated: () => undefined,
  };
  const created = await createSnapshot(request, session.admin, session.info, session.info);
  return created.strategy;
}

async function rawFileCopy(session: Session, source: string, name: string): Promise<void> {
  await session.admin.query(
    `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(source)} STRATEGY FILE_COPY`,
  );
}

/**
 * What one would type: createdb, then `pg_dump -Fc src | pg_restore -d new`; `tuned` is the
 * tool's own pipeline typed by hand (no ANALYZE), to show what the tool adds to it.
 */
async function rawDump(session: Session, source: string, name: string, tuned = false): Promise<void> {
  const tools = findPgTools(session.info.major);
  await session.admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  const env = { ...process.env, ...libpqEnvironment(on(session.server, source)) };
  const dump = tuned ? `"${tools.pgDump}" -Fc -Z0` : `"${tools.pgDump}" -Fc`;
  const restore = tuned
    ? `PGOPTIONS='-c synchronous_commit=off -c maintenance_work_mem=512MB' "${tools.pgRestore}" --single-transaction`
    : `"${tools.pgRestore}"`;
  await run('bash', ['-o', 'pipefail', '-c', `${dump} "${source}" | ${restore} -d "${name}"`], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}

type Timed = Record<string, number[]>;

async function compare(
  session: Session,
  variants: Record<string, (name: string) => Promise<unknown>>,
  repetitions: number,
  log: (line: string) => void,
): Promise<Timed> {
  const times: Timed = {};
  await alternate(Object.keys(variants), repetitions, async (key, round) => {
    const name = `bench_snap_${key.replace(/\W/g, '_')}`;
    await dropDatabase(session.server, name);
    // Start every copy from the same state: no dirty buffers left over from the last one.
    await session.admin.query('CHECKPOINT');
    const ms = await timeMs(() => variants[key](name));
    (times[key] ??= []).push(ms);
    log(`${session.server.label} round ${round + 1} ${key}: ${formatMs(ms)} (load ${loadAverage()})`);
    await dropDatabase(session.server, name);
  });
  return times;
}

const row = (label: string, runs: number[]) =>
  `| ${label} | ${formatMs(median(runs))} | ${runs.map((ms) => formatMs(ms)).join(', ')} |`;

/** The pgbench database the snapshot suites copy: 3 GB, kept between runs; small with --quick. */
export function pgbenchSource(quick: boolean): { size: Size; source: string } {
  return quick
    ? { size: { scale: 10, minBytes: 0.1 * GB }, source: 'bench_source_quick' }
    : { size: { scale: 200, minBytes: 3 * GB }, source: CACHED_SOURCE };
}

export const snapshotSuite: Suite = {
  name: 'snapshot',
  title: 'Snapshot strategies on a multi-GB database',
  async run({ quick, log }) {
    const { size, source } = pgbenchSource(quick);
    const templateReps = quick ? 1 : 4; // even: each variant goes first equally often
    const dumpReps = quick ? 1 : 3; // one round per variant going first
    const loadBefore = loadAverage();
    const figures: Record<string, unknown> = { scale: size.scale, loadBefore };
    const lines: string[] = [];
    const goals: string[] = [];

    // PostgreSQL 15: template clone and dump, tool vs by hand.
    const local = localServer();
    const bytes = await ensurePgbenchDatabase(local, source, size, log);
    figures.sourceBytes = bytes;
    const session = await openSession(local);
    try {
      const template = await compare(
        session,
        {
          tool: (name) => toolSnapshot(session, source, name, 'template'),
          raw: (name) => rawFileCopy(session, source, name),
        },
        templateReps,
        log,
      );
      const dump = await compare(
        session,
        {
          tool: (name) => toolSnapshot(session, source, name, 'dump'),
          raw: (name) => rawDump(session, source, name),
          tuned: (name) => rawDump(session, source, name, true),
        },
        dumpReps,
        log,
      );
      figures.template = template;
      figures.dump = dump;
      const templateRatio = median(template.tool) / median(template.raw);
      const dumpRatio = median(dump.tool) / median(dump.raw);
      lines.push(
        `### ${local.label}: ${(bytes / GB).toFixed(2)} GB pgbench database (scale ${size.scale})`,
        '',
        '| copy | median | runs |',
        '|---|---:|---|',
        row('tool: template clone (`createSnapshot`, strategy template)', template.tool),
        row('raw: `CREATE DATABASE ... TEMPLATE src STRATEGY FILE_COPY`', template.raw),
        row('tool: dump (`createSnapshot`, strategy dump, ANALYZE included)', dump.tool),
        row('raw: `createdb` + `pg_dump -Fc src \\| pg_restore -d new`', dump.raw),
        row(
          "by hand, the tool's pipeline: `pg_dump -Fc -Z0 \\| pg_restore --single-transaction`, same session settings, no ANALYZE",
          dump.tuned,
        ),
        '',
      );
      goals.push(
        goalLine(
          templateRatio <= TEMPLATE_GOAL,
          `template clone ${templateRatio.toFixed(2)}x the raw FILE_COPY (goal at most ${TEMPLATE_GOAL}x)`,
        ),
        goalLine(
          dumpRatio <= DUMP_GOAL,
          `dump ${dumpRatio.toFixed(2)}x the raw pipeline (goal at most ${DUMP_GOAL}x)`,
        ),
      );
      const overTuned = median(dump.tool) / median(dump.tuned);
      lines.push(
        `The tool's dump is ${overTuned.toFixed(2)}x its own pipeline typed by hand: what ANALYZE, the ` +
          'metadata and the progress connection add.',
        '',
      );
      figures.toolOverTuned = overTuned;
      figures.templateRatio = templateRatio;
      figures.dumpRatio = dumpRatio;
    } finally {
      await session.admin.end();
      if (quick) await dropDatabase(local, source);
    }

    // PostgreSQL 18 copy-on-write: the source must live on the reflink volume too.
    let volume: ReflinkVolume | undefined;
    let pg18: BenchServer | undefined;
    try {
      volume = await createReflinkVolume(quick ? 4 * 2 ** 30 : 16 * 2 ** 30);
      pg18 = await embeddedServer({
        baseDir: volume.mountPoint,
        settings: {
          file_copy_method: 'clone',
          // As on a real server: the CHECKPOINT before each copy must reach the disk. With
          // fsync off, gigabytes would stay dirty in the page cache for the first reflink
          // to write back, which is not what copying a database costs.
          fsync: 'on',
        },
      });
      const cowBytes = await ensurePgbenchDatabase(pg18, 'bench_cow_source', size, log);
      const cow = await openSession(pg18);
      const grown: number[] = [];
      let strategy = '';
      try {
        const times = await compare(
          cow,
          {
            clone: async (name) => {
              const used = usedBytes(volume!.mountPoint);
              strategy = await toolSnapshot(cow, 'bench_cow_source', name, 'template');
              grown.push(usedBytes(volume!.mountPoint) - used);
            },
          },
          templateReps,
          log,
        );
        figures.clone = { runsMs: times.clone, bytes: cowBytes, diskGrowthBytes: grown, strategy };
        const ms = median(times.clone);
        lines.push(
          `### ${pg18.label}, \`file_copy_method = clone\`, fsync on, data directory on a loop-mounted XFS with reflink: ${(cowBytes / GB).toFixed(2)} GB pgbench database`,
          '',
          '| copy | median | runs | disk used by the copy |',
          '|---|---:|---|---:|',
          `| tool: template clone (reported strategy \`${strategy}\`) | ${formatMs(ms)} | ${times.clone.map((t) => formatMs(t)).join(', ')} | ${(median(grown) / 2 ** 20).toFixed(1)} MiB |`,
          '',
        );
        goals.push(
          goalLine(
            ms < CLONE_GOAL_MS && strategy === 'clone',
            `copy-on-write clone of ${(cowBytes / GB).toFixed(2)} GB in ${formatMs(ms)} (goal under ${formatMs(CLONE_GOAL_MS)})`,
          ),
        );
      } finally {
        await cow.admin.end();
      }
    } finally {
      await pg18?.stop();
      await volume?.dispose();
    }

    figures.loadAfter = loadAverage();
    const markdown = [
      `Each copy starts after a CHECKPOINT; tool and raw alternate (${templateReps} rounds for file copies, ${dumpReps} for dumps). ` +
        `The dump runs local PostgreSQL 15 into itself. Load average (1 min) ${loadBefore} before, ${figures.loadAfter} after: ` +
        'other jobs shared the 2 cores, so single runs vary; compare the tool with the raw command of the same round.',
      '',
      ...lines,
      ...goals,
    ].join('\n');
    return { markdown, figures };
  },
};
