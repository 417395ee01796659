// One entry point for every benchmark: `npm run bench [-- suite ...] [-- --quick]`.
// A name runs that suite and its family: `snapshot` runs `snapshot` and `snapshot-focused`.
import { describeMachine, saveResult, writeBenchmarksDoc, type Suite } from './lib.js';
import { SUITES } from './suites/index.js';

async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const wanted = argv.filter((arg) => !arg.startsWith('--'));
  const inFamily = (suite: Suite, name: string) => suite.name === name || suite.name.startsWith(`${name}-`);
  const unknown = wanted.filter((name) => !SUITES.some((suite) => inFamily(suite, name)));
  if (unknown.length) {
    throw new Error(`unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  }
  const selected: Suite[] = wanted.length
    ? SUITES.filter((s) => wanted.some((name) => inFamily(s, name)))
    : SUITES;
  const machine = describeMachine();
  for (const suite of selected) {
    const log = (line: string) => process.stdout.write(`[${suite.name}] ${line}\n`);
    log(`running${quick ? ' (quick: smaller sizes, figures not for docs)' : ''}`);
    const outcome = await suite.run({ quick, log });
    const result = {
      ...outcome,
      suite: suite.name,
      title: suite.title,
      machine,
      measuredAt: new Date().toISOString(),
    };
    process.stdout.write(`\n${result.markdown.trim()}\n\n`);
    if (!quick) saveResult(result);
  }
  if (!quick) writeBenchmarksDoc();
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
