import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What one benchmark suite produced: its figures as a markdown section, plus raw numbers. */
export interface SuiteResult {
  suite: string;
  title: string;
  /** Markdown body (tables, goals met or missed); no top-level heading. */
  markdown: string;
  /** Raw figures, kept in bench/results/<suite>.json for comparison between runs. */
  figures: Record<string, unknown>;
  measuredAt: string;
  machine: string;
}

export interface Suite {
  name: string;
  title: string;
  run(options: {
    quick: boolean;
    log: (line: string) => void;
  }): Promise<Omit<SuiteResult, 'measuredAt' | 'machine' | 'suite' | 'title'>>;
}

// From npm's environment, not process.cwd(): ncc's asset relocator rewrites paths built from
// process.cwd() that exist at build time, which sent results into .tmp/bench once
// bench/results existed.
export const ROOT = path.dirname(
  process.env.npm_package_json ?? path.join(process.env.PWD ?? '.', 'package.json'),
);
export const RESULTS_DIR = path.join(ROOT, 'bench/results');
export const BENCHMARKS_DOC = path.join(ROOT, 'docs/benchmarks.md');

export function describeMachine(): string {
  const cpus = os.cpus();
  const cpu = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  let disk: string;
  try {
    disk =
      execFileSync('df', ['-h', '--output=fstype', os.tmpdir()], { encoding: 'utf8' })
        .split('\n')[1]
        ?.trim() ?? 'unknown';
  } catch {
    disk = 'unknown';
  }
  return `${cpus.length} x ${cpu}, ${memory} RAM, ${os.type()} ${os.release()}, Node.js ${process.version}, temp dir on ${disk}`;
}

/** Times `fn` once, in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

export function saveResult(result: SuiteResult): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, `${result.suite}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

/** Rewrites docs/benchmarks.md from every saved suite result, so suites can be re-run one at a time. */
export function writeBenchmarksDoc(): void {
  const results = readdirSync(RESULTS_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(path.join(RESULTS_DIR, file), 'utf8')) as SuiteResult);
  const sections = results.map(
    (r) =>
      `## ${r.title}\n\nMeasured ${r.measuredAt} on ${r.machine}.\nReproduce: \`npm run bench -- ${r.suite}\`.\n\n${r.markdown.trim()}\n`,
  );
  const doc = [
    '# Benchmarks',
    '',
    'All figures come from `npm run bench` (every suite) or `npm run bench -- <suite>` (one suite),',
    'run against real PostgreSQL servers on the machine named in each section. The raw numbers',
    'are in `bench/results/<suite>.json`. Timings are medians unless a table says otherwise.',
    '',
    ...sections,
  ].join('\n');
  writeFileSync(BENCHMARKS_DOC, doc);
}
