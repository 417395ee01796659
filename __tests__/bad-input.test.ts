import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { INPUT_NAMING } from '../src/action/inputs.js';
import { RUN_NAMING } from '../src/cli/run.js';
import { opt, renderWording, say, type Wording } from '../src/engine/wording.js';
import { runAction } from './helpers/action-runner.js';
import { runCli } from './helpers/cli.js';
import { FakeGitHub } from './helpers/fake-github.js';
import { startPasswordServer, type PasswordServer } from './helpers/password-server.js';
import { migrationDir } from './helpers/rehearsal.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  query,
  testServers,
  uniqueName,
  withDatabase,
} from './helpers/servers.js';

/**
 * Every kind of bad input is answered before a snapshot is begun (no "creating snapshot"
 * line before the message, no database after it), with a message that names the input
 * (flag) and says what is allowed, and never with a password in it: through the CLI
 * (exit 2) and through the bundled Action (a failed step).
 * With PG_REHEARSAL_WRITE_DOCS=1 the CLI's messages are written to docs/bad-input.md.
 */
const [local, pg18] = testServers();
/** In every URL (trust auth ignores it); must never be printed. */
const SECRET = `Sec${randomBytes(6).toString('hex')}`;

function withPassword(url: string, password = SECRET): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

interface Case {
  name: string;
  /** Options, as flag/input names; `true` is a boolean flag. */
  options: () => Record<string, string | boolean>;
  /**
   * Fragments every adapter's message contains: text, whose leading `option:` the CLI
   * writes `--option:`, or a wording whose option mentions each adapter writes its way.
   */
  expect: () => (string | Wording)[];
  /** The database a snapshot would get (must not exist after the run), when not `snapshot-name`. */
  server?: () => string;
  only?: 'cli' | 'action';
  /** Lower bound on the time (the connect timeout must really be waited for). */
  minMs?: number;
  /** Secrets that must not be printed besides SECRET. */
  secrets?: () => string[];
}

let sourceUrl: string;
let sourceDb: string;
let pg18SourceUrl: string;
let passwordServer: PasswordServer;
// Not a free port picked at run time: the OS hands such a port out again (to this file's
// listeners, or to another test's server) before the case runs. Nothing listens on port 1.
const refusedPort = 1;
let silent: Server;
let closing: Server;
const sockets: Socket[] = [];
let role: string;
let emptyDir: string;
let workspace: string;
const documented: { name: string; command: string; message: string }[] = [];

/** The log line of a snapshot being made (snapshot.ts): bad input is answered before it. */
const SNAPSHOT_BEGUN = /creating snapshot|snapshot "[^"]*" ready/;

const snapshotName = uniqueName('bad_input');
const base = () => ({
  'source-url': withPassword(sourceUrl),
  migrations: 'db/*.sql',
  'snapshot-name': snapshotName,
});

const cases: Case[] = [
  {
    name: 'malformed URL',
    options: () => ({ ...base(), 'source-url': `postgres://postgres:${SECRET}@db host:5432/app` }),
    expect: () => [
      'source-url: "postgres://postgres:***@db host:5432/app" is not a valid URL',
      'postgresql://user@host:5432/database',
    ],
  },
  {
    name: 'not a PostgreSQL URL',
    options: () => ({ ...base(), 'source-url': `mysql://root:${SECRET}@127.0.0.1:3306/app` }),
    expect: () => ['source-url: scheme "mysql" is not supported', 'postgresql://user@host:5432/database'],
  },
  {
    name: 'refused port',
    options: () => ({
      ...base(),
      'source-url': `postgresql://postgres:${SECRET}@127.0.0.1:${refusedPort}/app`,
    }),
    expect: () => [
      `source-url: could not connect to 127.0.0.1:${refusedPort} (ECONNREFUSED)`,
      'is the server running',
    ],
  },
  {
    name: 'host that never answers',
    options: () => ({
      ...base(),
      'source-url': `postgresql://postgres:${SECRET}@127.0.0.1:${portOf(silent)}/app`,
    }),
    expect: () => [`source-url: could not connect to 127.0.0.1:${portOf(silent)}: no answer within 5 s`],
    minMs: 4_500,
  },
  {
    name: 'port that is not PostgreSQL',
    options: () => ({
      ...base(),
      'source-url': `postgresql://postgres:${SECRET}@127.0.0.1:${portOf(closing)}/app`,
    }),
    expect: () => [
      `source-url: could not connect to 127.0.0.1:${portOf(closing)}: the connection was closed before the server answered`,
    ],
  },
  {
    name: 'missing database',
    options: () => ({
      ...base(),
      'source-url': withPassword(withDatabase(local.url, `${snapshotName}_missing`)),
    }),
    expect: () => [`source-url: database "${snapshotName}_missing" does not exist on 127.0.0.1:5432`],
  },
  {
    name: 'wrong password',
    options: () => ({ ...base(), 'source-url': passwordServer.wrongPasswordUrl }),
    expect: () => [
      `source-url: could not connect to 127.0.0.1:${passwordServer.server.port} as "postgres": authentication failed`,
    ],
    server: () => passwordServer.url,
    secrets: () => [passwordServer.password, new URL(passwordServer.wrongPasswordUrl).password],
  },
  {
    name: 'duration that does not parse',
    options: () => ({ ...base(), 'max-duration': '5 sekunds' }),
    expect: () => ['max-duration: "5 sekunds" is not a duration', '500ms, 30s, 5m, 1h'],
  },
  {
    name: 'size that does not parse',
    options: () => ({ ...base(), 'max-size-increase': 'ten percent' }),
    expect: () => ['max-size-increase: "ten percent" is not a size', '500MB, 2GB or 10%'],
  },
  {
    name: 'migrations glob that matches nothing',
    options: () => ({ ...base(), migrations: 'db/*.sqll' }),
    expect: () => [
      'migrations: no file matches "db/*.sqll"',
      say`check the glob and ${opt('working-directory')}`,
    ],
  },
  {
    name: 'both migrations and command',
    options: () => ({ ...base(), command: 'npx knex migrate:latest' }),
    expect: () => [say`${opt('migrations')}: and ${opt('command')} are both set`, 'give one'],
  },
  {
    name: 'neither migrations nor command',
    options: () => ({ 'source-url': withPassword(sourceUrl), 'snapshot-name': snapshotName }),
    expect: () => [say`${opt('migrations')}: is required (or ${opt('command')})`],
  },
  {
    name: 'snapshot name that is not a safe identifier',
    options: () => ({ ...base(), 'snapshot-name': 'app"; DROP DATABASE app; --' }),
    expect: () => [
      'snapshot-name: "app"; DROP DATABASE app; --" is not a safe database name',
      'letters, digits and underscores',
    ],
  },
  {
    name: 'focused snapshot with a file copy',
    options: () => ({ ...base(), snapshot: 'template', 'snapshot-data': 'touched' }),
    expect: () => [
      say`${opt('snapshot-data')}: touched does not apply to ${opt('snapshot', 'template')}`,
      'a file copy is already the whole database in one step',
      say`use ${opt('snapshot', 'dump')}`,
    ],
  },
  {
    name: 'snapshot name that is the source',
    options: () => ({ ...base(), 'snapshot-name': sourceDb }),
    expect: () => [`snapshot-name: "${sourceDb}" is the source database itself`, 'Choose another name'],
  },
  {
    name: 'reusing the source as the snapshot (--no-create-snapshot)',
    options: () => ({ ...base(), 'snapshot-name': sourceDb, 'create-snapshot': false }),
    expect: () => [`snapshot-name: "${sourceDb}" is the source database itself`],
    only: 'cli',
  },
  {
    name: 'role without CREATEDB',
    options: () => {
      const u = new URL(withPassword(sourceUrl));
      u.username = role;
      return { ...base(), 'source-url': u.toString() };
    },
    expect: () => [
      `snapshot-server-url: role "${role}" cannot create databases`,
      `ALTER ROLE "${role}" CREATEDB`,
    ],
  },
  {
    name: 'pg_dump missing',
    options: () => ({ ...base(), snapshot: 'dump', 'pg-bin-dir': emptyDir }),
    expect: () => [
      `pg-bin-dir: the dump snapshot needs pg_dump 15 or newer`,
      `found no pg_dump in ${emptyDir}`,
    ],
  },
  {
    name: 'pg_dump older than the server',
    options: () => ({
      ...base(),
      'source-url': withPassword(pg18SourceUrl),
      snapshot: 'dump',
      'pg-bin-dir': '/usr/lib/postgresql/15/bin',
    }),
    expect: () => [
      'pg-bin-dir: the dump snapshot needs pg_dump 18 or newer (the source runs PostgreSQL 18); found only pg_dump 15 in /usr/lib/postgresql/15/bin',
      'Fix: install the client tools, e.g. `apt-get install postgresql-client-18`',
      'pg-bin-dir',
    ],
    server: () => pg18.url,
  },
];

const ports = new Map<Server, number>();
function portOf(server: Server): number {
  return ports.get(server) ?? 0;
}

async function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  ports.set(server, typeof address === 'object' && address ? address.port : 0);
  return server;
}

function cliArgs(options: Record<string, string | boolean>): string[] {
  const args = ['run'];
  for (const [name, value] of Object.entries(options)) {
    if (value === true) args.push(`--${name}`);
    else if (value === false) args.push(`--no-${name}`);
    else args.push(`--${name}`, value);
  }
  return args;
}

/** What `::error::` carries, decoded the way the runner decodes it. */
function errorCommand(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return line.slice('::error::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** Output a person would see: the runner hides `::add-mask::` commands (they carry the secret on purpose). */
function visible(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
}

beforeAll(async () => {
  sourceUrl = await createDatabase(local.url, 'CREATE TABLE t (id int PRIMARY KEY);', 'bad_input');
  sourceDb = new URL(sourceUrl).pathname.slice(1);
  pg18SourceUrl = await createDatabase(pg18.url, 'CREATE TABLE t (id int PRIMARY KEY);', 'bad_input');
  passwordServer = await startPasswordServer();
  silent = await listen((socket) => sockets.push(socket)); // accepts, never answers
  closing = await listen((socket) => socket.destroy());
  role = uniqueName('bad_input_nocreatedb');
  await query(local.url, `CREATE ROLE ${role} LOGIN NOCREATEDB NOSUPERUSER`);
  emptyDir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-empty-bin-'));
  workspace = migrationDir({ 'db/001_add.sql': 'ALTER TABLE t ADD COLUMN note text;' });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await new Promise((resolve) => closing?.close(resolve));
  await passwordServer?.server.stop();
  await dropDatabase(sourceUrl);
  await dropDatabase(pg18SourceUrl);
  await query(local.url, `DROP ROLE IF EXISTS ${role}`);
  if (process.env.PG_REHEARSAL_WRITE_DOCS === '1') writeDoc();
});

async function noSnapshotLeft(c: Case, runId?: string): Promise<void> {
  const server = c.server?.() ?? local.url;
  const name = String(c.options()['snapshot-name'] ?? snapshotName);
  const seen = await query<{ datname: string }>(
    server,
    'SELECT datname FROM pg_database WHERE datname = $1',
    [name],
  );
  // The source itself exists, of course; any other name must not.
  if (name !== sourceDb) expect(seen).toEqual([]);
  if (runId) expect(await databasesLike(server, `pg_rehearsal_${runId}%`)).toEqual([]);
}

function assertNoSecret(c: Case, ...texts: string[]): void {
  for (const secret of [SECRET, ...(c.secrets?.() ?? [])]) {
    for (const form of [secret, encodeURIComponent(secret)]) {
      for (const text of texts) expect(text).not.toContain(form);
    }
  }
}

describe('bad input through the CLI: exit 2, the flag named, no password, no database', () => {
  it.each(cases.filter((c) => c.only !== 'action').map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const started = performance.now();
      const run = await runCli([...cliArgs(c.options()), '--working-directory', workspace]);
      const elapsed = performance.now() - started;
      const output = run.stdout + run.stderr;
      expect({ code: run.code, output }).toMatchObject({ code: 2 });
      const message = run.stderr.trim().split('\n').pop() ?? '';
      expect(message.startsWith('pg-rehearsal: --')).toBe(true);
      for (const fragment of c.expect()) {
        expect(message).toContain(
          typeof fragment === 'string'
            ? fragment.replace(/^([a-z-]+): /, '--$1: ')
            : renderWording(fragment, RUN_NAMING),
        );
      }
      expect(output).not.toMatch(SNAPSHOT_BEGUN);
      if (c.minMs) expect(elapsed).toBeGreaterThan(c.minMs);
      assertNoSecret(c, output);
      await noSnapshotLeft(c);
      documented.push({
        name: c.name,
        command: describeCommand({ ...c.options(), 'working-directory': workspace }),
        message,
      });
    },
  );
});

describe('bad input through the Action: a failed step with the same message', () => {
  const github = new FakeGitHub();
  beforeAll(async () => {
    await github.start();
    github.prFiles = [{ filename: 'db/001_add.sql', status: 'added' }];
  });
  afterAll(() => github.stop());

  it.each(cases.filter((c) => c.only !== 'cli').map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const runId = `9${randomBytes(4).readUInt32BE() % 1_000_000}`;
    const inputs = Object.fromEntries(
      Object.entries(c.options()).map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : v]),
    );
    const started = performance.now();
    const run = await runAction(
      { ...inputs, 'working-directory': workspace },
      { workspace, apiUrl: github.url, env: { GITHUB_RUN_ID: runId } },
    );
    const elapsed = performance.now() - started;
    expect(run.code).toBe(1);
    const message = errorCommand(run.stdout);
    expect(message.startsWith('pg-rehearsal: ')).toBe(true);
    for (const fragment of c.expect()) expect(message).toContain(renderWording(fragment, INPUT_NAMING));
    expect(run.outputs).toMatchObject({ passed: 'false', 'snapshot-name': '' });
    expect(run.stdout).not.toMatch(SNAPSHOT_BEGUN);
    if (c.minMs) expect(elapsed).toBeGreaterThan(c.minMs);
    assertNoSecret(
      c,
      visible(run.stdout),
      run.stderr,
      readFileSync(path.join(run.runnerTemp, 'output.txt'), 'utf8'),
      run.summary,
    );
    expect(github.comments).toEqual([]);
    await noSnapshotLeft(c, runId);
  });
});

/** The command line as the doc shows it: placeholders for what differs per run. */
function describeCommand(options: Record<string, string | boolean>): string {
  return cliArgs(options)
    .map((a) => (/[\s;"'*]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a))
    .join(' ');
}

function placeholders(text: string): string {
  let out = text
    .split(SECRET)
    .join('SECRET')
    .split(passwordServer.password)
    .join('SECRET')
    .split(encodeURIComponent(passwordServer.password))
    .join('SECRET')
    .split(new URL(passwordServer.wrongPasswordUrl).password)
    .join('WRONG')
    .split(`${snapshotName}_missing`)
    .join('app_missing')
    .split(snapshotName)
    .join('pr_snapshot')
    .split(sourceDb)
    .join('app')
    .split(new URL(pg18SourceUrl).pathname.slice(1))
    .join('app')
    .split(role)
    .join('ci_runner')
    .split(emptyDir)
    .join('/opt/empty')
    .split(workspace)
    .join('/work/repo');
  for (const [port, label] of [
    [passwordServer.server.port, 5433],
    [new URL(pg18.url).port, 5418],
    [refusedPort, 6543],
    [portOf(silent), 6544],
    [portOf(closing), 6545],
  ] as const) {
    out = out.replace(new RegExp(`(127\\.0\\.0\\.1:)${port}\\b`, 'g'), `$1${label}`);
  }
  return out;
}

function writeDoc(): void {
  const rows = documented.map(
    (d) =>
      `### ${d.name}\n\n\`\`\`\n$ pg-rehearsal ${placeholders(d.command)}\n${placeholders(d.message)}\n\`\`\`\n`,
  );
  const file = path.resolve('docs/bad-input.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('<!-- generated:start -->');
  const end = text.indexOf('<!-- generated:end -->');
  writeFileSync(
    file,
    `${text.slice(0, start)}<!-- generated:start -->\n\n${rows.join('\n')}\n${text.slice(end)}`,
  );
}
