#!/usr/bin/env node
import { ConfigError, errorText, isProgrammingError, isUsageOrSetupError } from '../engine/errors.js';
import { redactUrlString } from '../engine/connection.js';
import { cancelOnSignals } from '../signals.js';
import { VERSION } from '../version.js';
import { parseArgs } from './args.js';
import { DEMO_HELP, demoCommand } from './demo.js';
import { snapshotCommand } from './snapshot.js';
import { flagSets } from './flags.js';
import { RUN_HELP, RUN_NAMING, RUN_OPTIONS, runCommand } from './run.js';

const HELP = `pg-rehearsal ${VERSION}: rehearse PostgreSQL migrations on a snapshot before they ship.

Usage:
  pg-rehearsal run --source-url URL --migrations GLOB [options]   rehearse migrations
  pg-rehearsal snapshot create|list|show|delete|clone|restore     manage golden snapshots
  pg-rehearsal demo                                               the sample shop upgrade on an embedded PostgreSQL 18
  pg-rehearsal <command> --help                                   options of a command
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const signal = cancelOnSignals((name) =>
    process.stderr.write(`\n${name}: cancelling the run and dropping the snapshot...\n`),
  );
  switch (command) {
    case 'run': {
      const { valueFlags, booleanFlags, repeatable } = flagSets(RUN_OPTIONS);
      const { options, positionals } = parseArgs(rest, valueFlags, booleanFlags, repeatable);
      if (options.help) {
        process.stdout.write(RUN_HELP);
        return 0;
      }
      if (positionals.length)
        throw usage(`unexpected argument "${positionals[0]}"; see pg-rehearsal run --help`);
      return (await runCommand(options, signal)).exitCode;
    }
    case 'snapshot':
      return snapshotCommand(rest, signal);
    case 'demo': {
      const { options } = parseArgs(rest, ['rows'], ['help']);
      if (options.help) {
        process.stdout.write(DEMO_HELP);
        return 0;
      }
      const rows = options.rows === undefined ? 500_000 : Number(options.rows);
      if (!Number.isInteger(rows) || rows < 1)
        throw usage(`--rows: "${options.rows}" is not a positive whole number`);
      return demoCommand(rows, signal);
    }
    default:
      throw usage(`unknown command "${command}"; commands: run, snapshot, demo (see pg-rehearsal --help)`);
  }
}

function usage(message: string): ConfigError {
  return new ConfigError(undefined, message);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isProgrammingError(error)) {
      // A bug, not bad usage: say so, with the stack (redacted) for the report.
      process.stderr.write(
        `pg-rehearsal: internal error (a bug in pg-rehearsal; please report it with this output):\n${redactUrlString(error.stack ?? error.message)}\n`,
      );
      process.exit(3);
    }
    // The engine mentions options by name; here they are flags (`--snapshot-name`).
    const message = redactUrlString(errorText(error, RUN_NAMING));
    process.stderr.write(`pg-rehearsal: ${message}\n`);
    process.exit(isUsageOrSetupError(error) ? 2 : 1);
  },
);
