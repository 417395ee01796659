import { parseConnectionUrl, redactorFor, withDatabase, type ConnectionInfo } from '../engine/connection.js';
import { redactError, redactingLogger, type Redact } from '../engine/redact.js';
import { ConfigError } from '../engine/errors.js';
import { consoleLogger } from '../engine/logger.js';
import { inspectSource } from '../engine/snapshot/server.js';
import {
  cloneSnapshot,
  createGoldenSnapshot,
  deleteSnapshot,
  listSnapshots,
  restoreSnapshot,
  showSnapshot,
  type GoldenListing,
} from '../engine/snapshot/golden.js';
import { openSnapshotServer } from '../engine/snapshot/golden-on.js';
import { formatBytes } from '../engine/units.js';
import { parseArgs, splitRepeated } from './args.js';

export const SNAPSHOT_HELP = `Usage: pg-rehearsal snapshot <subcommand> [options]

Golden snapshots: create once (say nightly), then clone per rehearsal
(run --snapshot existing --snapshot-name NAME) or restore over a database.

  create --source-url URL --name NAME [--strategy auto|template|dump]
         [--tables PATTERN ...] [--exclude-table-data PATTERN ...] [--replace]
                             snapshot the whole database, or some tables (pg_dump -t
                             patterns; --exclude-table-data keeps only their schema);
                             --replace swaps a new one in for an existing snapshot
                             (the nightly refresh: readers never see it missing)
  list [--format text|json]  every snapshot on the server with its metadata
  show NAME [--format text|json]
  delete NAME                drop a snapshot (only databases pg-rehearsal created)
  clone NAME --to DB         a new database DB from the snapshot
  restore NAME --to DB [--force]
                             replace DB's content with the snapshot's: built aside, then
                             swapped in by renaming in one step; refuses while DB has
                             other connections unless --force disconnects them

Every subcommand takes --snapshot-server-url URL (default: the source's server; a
subcommand without --source-url needs it). The fastest clone is used: copy-on-write on
PostgreSQL 18+ with file_copy_method = clone on XFS/btrfs, else STRATEGY FILE_COPY.
`;

const VALUE_FLAGS = [
  'source-url',
  'snapshot-server-url',
  'name',
  'strategy',
  'tables',
  'exclude-table-data',
  'format',
  'to',
  'pg-bin-dir',
] as const;
const BOOLEAN_FLAGS = ['force', 'replace', 'help'] as const;
const REPEATABLE = ['tables', 'exclude-table-data'];
const SUBCOMMANDS = ['create', 'list', 'show', 'delete', 'clone', 'restore'];

type Options = Record<string, string | boolean>;

function text(options: Options, flag: string): string | undefined {
  const value = options[flag];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function required(options: Options, flag: string, why: string): string {
  const value = text(options, flag);
  if (value === undefined) throw new ConfigError(flag, `--${flag} is required: ${why}`);
  return value;
}

/** --snapshot-server-url, else the source's server (its postgres maintenance database). */
function snapshotServer(options: Options): ConnectionInfo {
  const server = text(options, 'snapshot-server-url');
  if (server) return parseConnectionUrl(server, 'snapshot-server-url');
  const source = text(options, 'source-url');
  if (source) return withDatabase(parseConnectionUrl(source, 'source-url'), 'postgres');
  throw new ConfigError(
    'snapshot-server-url',
    '--snapshot-server-url is required (or --source-url): the server that holds the snapshots',
  );
}

function format(options: Options): 'text' | 'json' {
  const value = text(options, 'format') ?? 'text';
  if (value !== 'text' && value !== 'json') {
    throw new ConfigError('format', `--format: "${value}" is not a format; use text or json`);
  }
  return value;
}

function onePositional(positionals: string[], subcommand: string): string {
  if (positionals.length !== 1) {
    throw new ConfigError(
      undefined,
      `pg-rehearsal snapshot ${subcommand} takes one snapshot name (got ${positionals.length}); see pg-rehearsal snapshot --help`,
    );
  }
  return positionals[0];
}

function describe(s: GoldenListing): string {
  const source = s.source ? `${s.source.host}:${s.source.port}/${s.source.database}` : 'unknown source';
  const size = s.size_bytes === null ? 'size unknown' : formatBytes(s.size_bytes);
  const kind = s.golden ? 'golden' : `throwaway (ttl ${s.ttl_seconds} s)`;
  const subset = s.level === 'tables' ? ` tables ${s.tables.join(', ') || 'all'}` : '';
  const noData = s.exclude_table_data.length ? ` (no data: ${s.exclude_table_data.join(', ')})` : '';
  return `${s.name.padEnd(32)} ${s.created_at}  ${size.padStart(10)}  ${s.strategy.padEnd(8)} ${kind}  from ${source}${subset}${noData}`;
}

/** `pg-rehearsal snapshot ...`; returns the exit code. */
export async function snapshotCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (!subcommand || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    process.stdout.write(SNAPSHOT_HELP);
    return subcommand ? 0 : 2;
  }
  if (!SUBCOMMANDS.includes(subcommand)) {
    throw new ConfigError(
      undefined,
      `unknown snapshot subcommand "${subcommand}"; use one of ${SUBCOMMANDS.join(', ')} (see pg-rehearsal snapshot --help)`,
    );
  }
  const { options, positionals } = parseArgs(rest, VALUE_FLAGS, BOOLEAN_FLAGS, REPEATABLE);
  if (options.help) {
    process.stdout.write(SNAPSHOT_HELP);
    return 0;
  }
  const redact = redactorFor(...knownUrls(options));
  try {
    return await subcommandBody(subcommand, options, positionals, signal, redact);
  } catch (error) {
    throw redactError(error, redact);
  }
}

/** The URLs a subcommand was given, parsed where they parse: their passwords are what to hide. */
function knownUrls(options: Options): ConnectionInfo[] {
  const infos: ConnectionInfo[] = [];
  for (const flag of ['source-url', 'snapshot-server-url']) {
    const value = text(options, flag);
    if (!value) continue;
    try {
      infos.push(parseConnectionUrl(value, flag));
    } catch {
      // Reported by the subcommand itself, with the unparsed URL redacted.
    }
  }
  return infos;
}

async function subcommandBody(
  subcommand: string,
  options: Options,
  positionals: string[],
  signal: AbortSignal,
  redact: Redact,
): Promise<number> {
  const log = redactingLogger(consoleLogger(), redact);
  const stdout = { write: (output: string) => process.stdout.write(redact(output)) };
  const server = snapshotServer(options);
  const { admin, serverInfo, close } = await openSnapshotServer(server);
  try {
    switch (subcommand) {
      case 'create':
        return await createCommand(options, positionals, { admin, server, serverInfo, log, signal, stdout });
      case 'list': {
        const snapshots = await listSnapshots(admin);
        if (format(options) === 'json') stdout.write(`${JSON.stringify(snapshots, null, 2)}\n`);
        else if (snapshots.length === 0) stdout.write('no snapshots\n');
        else stdout.write(snapshots.map((s) => `${describe(s)}\n`).join(''));
        return 0;
      }
      case 'show': {
        const shown = await showSnapshot(admin, onePositional(positionals, 'show'));
        stdout.write(
          format(options) === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : `${describe(shown)}\n`,
        );
        return 0;
      }
      case 'delete': {
        const name = onePositional(positionals, 'delete');
        await deleteSnapshot(admin, serverInfo, name);
        stdout.write(`deleted snapshot "${name}"\n`);
        return 0;
      }
      case 'clone': {
        const name = onePositional(positionals, 'clone');
        const to = required(options, 'to', 'the name of the new database');
        const result = await cloneSnapshot(admin, serverInfo, name, to);
        stdout.write(
          `cloned "${name}" into "${to}" in ${result.seconds.toFixed(2)} s (${result.method.description})\n`,
        );
        return 0;
      }
      case 'restore': {
        const name = onePositional(positionals, 'restore');
        const to = required(options, 'to', 'the database to replace with the snapshot');
        const result = await restoreSnapshot(admin, serverInfo, name, to, {
          force: options.force === true,
          log,
        });
        stdout.write(
          `restored "${to}" from snapshot "${name}" in ${result.seconds.toFixed(2)} s (${result.method.description})\n`,
        );
        return 0;
      }
    }
    return 2;
  } finally {
    await close();
  }
}

type ServerSession = Awaited<ReturnType<typeof openSnapshotServer>>;

interface CreateContext {
  admin: ServerSession['admin'];
  server: ConnectionInfo;
  serverInfo: ServerSession['serverInfo'];
  log: ReturnType<typeof redactingLogger>;
  signal: AbortSignal;
  stdout: { write: (output: string) => unknown };
}

/** `snapshot create`: the options checked, the source inspected, the golden snapshot made. */
async function createCommand(
  options: Options,
  positionals: string[],
  context: CreateContext,
): Promise<number> {
  const { admin, server, serverInfo, log, signal, stdout } = context;
  if (positionals.length)
    throw new ConfigError(undefined, `unexpected argument "${positionals[0]}"; give the name with --name`);
  const source = parseConnectionUrl(
    required(options, 'source-url', 'the database to snapshot (it is only read)'),
    'source-url',
  );
  const name = required(options, 'name', 'the name of the snapshot database');
  const strategy = text(options, 'strategy') ?? 'auto';
  if (strategy !== 'auto' && strategy !== 'template' && strategy !== 'dump') {
    throw new ConfigError(
      'strategy',
      `--strategy: "${strategy}" is not a strategy; use auto, template or dump`,
    );
  }
  const sourceInfo = await inspectSource(source);
  const made = await createGoldenSnapshot(admin, server, serverInfo, sourceInfo, {
    source,
    name,
    strategy,
    tables: splitRepeated(options.tables),
    excludeTableData: splitRepeated(options['exclude-table-data']),
    replace: options.replace === true,
    pgBinDir: text(options, 'pg-bin-dir'),
    log,
    signal,
  });
  stdout.write(
    format(options) === 'json'
      ? `${JSON.stringify({ name: made.name, ...made.metadata, reason: made.reason, seconds: made.seconds }, null, 2)}\n`
      : `created snapshot "${made.name}" (${made.metadata.strategy}, ${formatBytes(made.metadata.size_bytes ?? 0)}) in ${made.seconds.toFixed(2)} s\n`,
  );
  return 0;
}
