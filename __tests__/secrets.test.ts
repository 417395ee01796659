import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAction } from './helpers/action-runner.js';
import { runCli } from './helpers/cli.js';
import { FakeGitHub } from './helpers/fake-github.js';
import { startPasswordServer, type PasswordServer } from './helpers/password-server.js';
import { migrationDir } from './helpers/rehearsal.js';
import { createDatabase, databasesLike, dropDatabase, query } from './helpers/servers.js';

/**
 * A password never reaches a log line, an error, the PR comment, the job summary, the
 * report, an output file or GITHUB_OUTPUT. The source lives on a server that really needs
 * the password (scram-sha-256), and the migrations do their best to print it: a SQL error
 * that echoes a stored connection string, and a command that prints DATABASE_URL and
 * PGPASSWORD. Every artefact is searched for the password, raw and percent-encoded.
 */
let pw: PasswordServer;
let sourceUrl: string;

/** What may never appear: the password, its URL-encoded form, and its distinctive core alone. */
function forms(): string[] {
  return [pw.password, encodeURIComponent(pw.password), pw.password.slice(0, 14)];
}

function expectNoPassword(artefact: string, text: string): void {
  for (const form of forms()) {
    expect({ artefact, leaked: text.includes(form) }).toEqual({ artefact, leaked: false });
  }
}

/** The runner hides `::add-mask::` commands: they hand it the secret, on purpose. */
function visible(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
}

interface Scenario {
  name: string;
  files?: Record<string, string>;
  command?: string;
  passed: boolean;
  /** Redacted text that must be somewhere in the log (what the run tried to print, masked). */
  redacted?: (snapshotPrefix: string) => RegExp[];
}

const PORT = () => pw.server.port;
const scenarios: Scenario[] = [
  {
    name: 'passing SQL migrations',
    files: { '001_index.sql': 'CREATE INDEX accounts_email_idx ON accounts (email);' },
    passed: true,
  },
  {
    name: 'a SQL error that echoes a stored connection string',
    // The app keeps its DSN in a table; the cast error quotes it, password and all.
    files: { '001_cast.sql': `SELECT ('connect to ' || value)::int FROM app_settings WHERE key = 'dsn';` },
    passed: false,
    redacted: () => [new RegExp(`connect to postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${PORT()}/`)],
  },
  {
    name: 'a passing command that prints DATABASE_URL',
    command: 'echo "migrating $DATABASE_URL"',
    passed: true,
    redacted: (prefix) => [
      // The command connects through the lock-tracing proxy: its port, its password (hidden too).
      new RegExp(`migrating postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/${prefix}`),
    ],
  },
  {
    name: 'a failing command that prints DATABASE_URL and PGPASSWORD',
    command:
      'echo "url=$DATABASE_URL"; echo "password=$PGPASSWORD"; echo "raw=postgres:$PGPASSWORD@$PGHOST"; echo "error: cannot reach $DATABASE_URL" >&2; exit 3',
    passed: false,
    redacted: (prefix) => [
      new RegExp(`url=postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/${prefix}`),
      /password=\*\*\*/,
      /raw=postgres:\*\*\*@127\.0\.0\.1/,
      /error: cannot reach postgresql:\/\/postgres:\*\*\*@/,
    ],
  },
];

beforeAll(async () => {
  pw = await startPasswordServer();
  sourceUrl = await createDatabase(
    pw.url,
    `CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
     INSERT INTO accounts SELECT g, 'a' || g || '@example.com' FROM generate_series(1, 1000) g;
     CREATE TABLE app_settings (key text PRIMARY KEY, value text NOT NULL);`,
    'secrets',
  );
  // Stored as an app would: the raw password, which no URL parser would take apart.
  const dsn = `postgresql://postgres:${pw.password}@127.0.0.1:${PORT()}/app`;
  await query(sourceUrl, `INSERT INTO app_settings VALUES ('dsn', $1)`, [dsn]);
});

afterAll(async () => {
  if (sourceUrl) await dropDatabase(sourceUrl);
  await pw?.server.stop();
});

function inputsOf(s: Scenario): Record<string, string> {
  return s.command ? { command: s.command } : { migrations: 'db/*.sql' };
}

function workspaceOf(s: Scenario): string {
  return migrationDir(
    Object.fromEntries(
      Object.entries(s.files ?? { 'README.md': 'no SQL here' }).map(([f, t]) => [`db/${f}`, t]),
    ),
  );
}

describe('the CLI never prints or writes the password', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const workspace = workspaceOf(s);
    const output = path.join(workspace, 'out', 'report.json');
    const run = await runCli([
      'run',
      '--source-url',
      sourceUrl,
      '--working-directory',
      workspace,
      '--output',
      output,
      '--max-read-block',
      '10s',
      ...Object.entries(inputsOf(s)).flatMap(([k, v]) => [`--${k}`, v]),
    ]);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: s.passed ? 0 : 1 });
    const report = readFileSync(output, 'utf8');
    for (const [artefact, text] of [
      ['stdout', run.stdout],
      ['stderr', run.stderr],
      ['report file', report],
    ] as const) {
      expectNoPassword(artefact, text);
    }
    const parsed = JSON.parse(report);
    expect(parsed.passed).toBe(s.passed);
    const prefix = parsed.snapshot.name;
    for (const pattern of s.redacted?.(prefix) ?? []) {
      expect(run.stderr + run.stdout).toMatch(pattern);
      // The failure's own text (error line, last output lines) is in the report, masked too.
      if (!s.passed) expect(JSON.stringify(parsed.failure) + parsed.error).toMatch(pattern);
    }
    expect(await databasesLike(pw.url, `${prefix}%`)).toEqual([]);
  });
});

describe('the Action never puts the password in a log, comment, summary, output or report', () => {
  const github = new FakeGitHub();
  beforeAll(async () => {
    await github.start();
  });
  afterAll(() => github.stop());

  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    github.comments.length = 0;
    github.requests.length = 0;
    github.prFiles = Object.keys(s.files ?? {}).map((f) => ({ filename: `db/${f}`, status: 'added' }));
    const workspace = workspaceOf(s);
    const runId = String(Math.floor(Math.random() * 1e6));
    const run = await runAction(
      { 'source-url': sourceUrl, 'max-read-block': '10s', ...inputsOf(s) },
      { workspace, apiUrl: github.url, env: { GITHUB_RUN_ID: runId } },
    );
    expect({ code: run.code, stdout: run.stdout }).toMatchObject({ code: s.passed ? 0 : 1 });
    // The Action does register the password with the runner, which masks it in the log.
    expect(run.stdout).toContain(`::add-mask::${pw.password}`);
    expect(github.comments).toHaveLength(1);
    const reportPath = run.outputs['report-path'];
    expect(existsSync(reportPath)).toBe(true);
    const artefacts: [string, string][] = [
      ['stdout', visible(run.stdout)],
      ['stderr', run.stderr],
      ['GITHUB_OUTPUT', readFileSync(path.join(run.runnerTemp, 'output.txt'), 'utf8')],
      ['GITHUB_STATE', readFileSync(path.join(run.runnerTemp, 'state.txt'), 'utf8')],
      ['GITHUB_STEP_SUMMARY', run.summary],
      ['PR comment', github.comments[0].body],
      ['report', readFileSync(reportPath, 'utf8')],
      ['API requests', JSON.stringify(github.requests)],
    ];
    for (const [artefact, text] of artefacts) expectNoPassword(artefact, text);
    expect(run.outputs.passed).toBe(String(s.passed));
    const prefix = run.outputs['snapshot-name'];
    for (const pattern of s.redacted?.(prefix) ?? []) expect(visible(run.stdout)).toMatch(pattern);
    if (!s.passed) {
      // The failure's error line is shown in the comment and the summary, redacted.
      const errorLine = s.redacted?.(prefix).at(-1) as RegExp;
      expect(github.comments[0].body).toMatch(errorLine);
      expect(run.summary).toMatch(errorLine);
    }
    expect(await databasesLike(pw.url, `pg_rehearsal_${runId}%`)).toEqual([]);
  });
});
