import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { FAKE_TOKEN, parseCommandFile, prepareRun, runAction, startAction } from './helpers/action-runner.js';
import { FakeGitHub } from './helpers/fake-github.js';
import { migrationDir } from './helpers/rehearsal.js';
import { SHOP_V1_SCHEMA, SHOP_V2_MIGRATIONS, shopSeedSql } from '../src/demo/shop.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  query,
  testServers,
  uniqueName,
} from './helpers/servers.js';

const [local] = testServers();
const PASSWORD = 'Pw-Unique-7f3a9c';
const SOURCE = `
CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL);
INSERT INTO orders SELECT g, g % 500 FROM generate_series(1, 20000) g;
ANALYZE;`;

/** The source URL as a user would put it in a secret: with a password (trust auth ignores it). */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

describe('the bundled Action (dist/index.js) with a fake GitHub API', () => {
  const github = new FakeGitHub();
  let sourceUrl: string;
  beforeAll(async () => {
    await github.start();
    sourceUrl = await createDatabase(local.url, SOURCE);
  });
  afterAll(async () => {
    await github.stop();
    await dropDatabase(sourceUrl);
  });
  beforeEach(() => {
    github.comments.length = 0;
    github.requests.length = 0;
    github.commentWriteStatus = undefined;
    github.prFiles = [];
  });
  afterEach(async () => {
    expect(await databasesLike(local.url, 'pg_rehearsal_424242%')).toEqual([]);
  });

  const workspaceWith = (files: Record<string, string>) => {
    const workspace = migrationDir(
      Object.fromEntries(Object.entries(files).map(([f, sql]) => [`db/migrations/${f}`, sql])),
    );
    github.prFiles = Object.keys(files).map((f) => ({ filename: `db/migrations/${f}`, status: 'added' }));
    return workspace;
  };
  const inputs = (extra: Record<string, string> = {}) => ({
    'source-url': withPassword(sourceUrl),
    migrations: 'db/migrations/*.sql',
    ...extra,
  });

  it('passes: exits 0, sets every output, writes the report, summary and one sticky comment; a second run updates it', async () => {
    const workspace = workspaceWith({ '001_index.sql': 'CREATE INDEX orders_total_idx ON orders (total);' });
    const first = await runAction(inputs({ 'max-read-block': '5s' }), { workspace, apiUrl: github.url });
    expect(first.code).toBe(0);
    expect(first.outputs).toMatchObject({ passed: 'true', violations: '0' });
    expect(Number(first.outputs['duration-ms'])).toBeGreaterThanOrEqual(0);
    expect(first.outputs['snapshot-name']).toMatch(/^pg_rehearsal_4242421_[0-9a-f]{8}$/);
    const report = JSON.parse(readFileSync(first.outputs['report-path'], 'utf8'));
    expect(report.metrics.indexes.orders_total_idx.status).toBe('new');
    expect(path.dirname(first.outputs['report-path'])).toBe(path.join(first.runnerTemp, 'pg-rehearsal'));
    expect(first.summary).toMatch(/✅ pg-rehearsal: passed/);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0].body).toMatch(/^<!-- pg-rehearsal:migrations:rehearse:[0-9a-f]{8} -->\n/);
    expect(github.comments[0].body).toContain(`commit \`${'b'.repeat(12)}\``);
    expect(first.outputs['comment-id']).toBe(String(github.comments[0].id));
    expect(first.outputs['comment-url']).toBe(github.comments[0].html_url);
    expect(github.requests.find((r) => r.method === 'POST')?.authorization).toBe(`token ${FAKE_TOKEN}`);

    const second = await runAction(inputs(), { workspace, apiUrl: github.url });
    expect(second.code).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(second.outputs['comment-url']).toBe(first.outputs['comment-url']);
  });

  it('fails on a breach: exit 1, passed=false, an error annotation at the file and line', async () => {
    const workspace = workspaceWith({
      '002_type.sql': '-- widen totals\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\n',
    });
    const run = await runAction(inputs({ 'max-rewrite-size': '0' }), { workspace, apiUrl: github.url });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ passed: 'false', violations: '1' });
    expect(run.stdout).toMatch(
      /::error title=pg-rehearsal%3A max-rewrite-size breached,file=db\/migrations\/002_type\.sql,line=2::/,
    );
    expect(run.stdout).toMatch(/::error::pg-rehearsal: 1 threshold\(s\) breached: max-rewrite-size/);
    expect(github.comments[0].body).toMatch(/❌ pg-rehearsal: failed/);
    expect(github.comments[0].body).toMatch(/max-rewrite-size/);
  });

  it('a 403 on the comment is a warning, not a failure', async () => {
    github.commentWriteStatus = 403;
    const workspace = workspaceWith({ '001.sql': 'CREATE TABLE notes (id int);' });
    const run = await runAction(inputs(), { workspace, apiUrl: github.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /::warning::could not write the PR comment \(HTTP 403\): the token needs `permissions: pull-requests: write`/,
    );
    expect(run.outputs).toMatchObject({ passed: 'true', 'comment-url': '' });
    expect(run.summary).toMatch(/pg-rehearsal: passed/);
  });

  it('runs only the migration the PR adds, even when an older one would fail if re-run', async () => {
    const workspace = workspaceWith({
      '001_create_orders.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY);', // already in production
      '002_add_note.sql': 'ALTER TABLE orders ADD COLUMN note text;',
    });
    github.prFiles = [
      { filename: 'db/migrations/002_add_note.sql', status: 'added' },
      { filename: 'README.md', status: 'modified' },
    ];
    const run = await runAction(inputs(), { workspace, apiUrl: github.url });
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(run.outputs['report-path'], 'utf8'));
    expect(report.migrations.map((m: { path: string }) => m.path)).toEqual([
      'db/migrations/002_add_note.sql',
    ]);
    expect(report.migrations_skipped).toEqual([
      { path: 'db/migrations/001_create_orders.sql', reason: 'not changed in PR #7' },
    ]);
    expect(github.comments[0].body).toMatch(
      /Not run: `db\/migrations\/001_create_orders.sql` \(not changed in PR #7\)/,
    );
  });

  it('bad input fails the step with the input named, and still sets the outputs', async () => {
    const workspace = workspaceWith({ '001.sql': 'SELECT 1;' });
    const run = await runAction(inputs({ 'max-duration': '5 sekunds' }), { workspace, apiUrl: github.url });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::pg-rehearsal: invalid input max-duration: "5 sekunds" is not a duration/,
    );
    expect(run.outputs).toMatchObject({ passed: 'false', violations: '0' });
    // No earlier comment: nothing stale to correct, so none is written.
    expect(github.comments).toHaveLength(0);
    expect(run.outputs['comment-url']).toBe('');
  });

  it('never lets the token or the password reach a log, summary, comment, report or output', async () => {
    const workspace = workspaceWith({ '001.sql': 'ALTER TABLE orders ADD COLUMN x int;\nSELECT 1/0;' });
    const run = await runAction(inputs(), { workspace, apiUrl: github.url });
    expect(run.code).toBe(1);
    // ::add-mask:: is how the runner learns what to mask; the runner consumes those lines.
    const log = (run.stdout + run.stderr)
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(run.stdout).toContain(`::add-mask::${PASSWORD}`);
    const artefacts = [
      log,
      run.summary,
      JSON.stringify(run.outputs),
      readFileSync(run.outputs['report-path'], 'utf8'),
      ...github.comments.map((c) => c.body),
    ];
    for (const text of artefacts) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(FAKE_TOKEN);
    }
  });

  it('the post step drops the snapshot a killed main step left behind', async () => {
    const workspace = workspaceWith({ '001_slow.sql': 'SELECT pg_sleep(60);' });
    const { env, files } = prepareRun(inputs(), { workspace, apiUrl: github.url });
    const main = startAction('dist/index.js', env, workspace);
    let snapshot: string[] = [];
    for (let i = 0; i < 100 && snapshot.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      snapshot = await databasesLike(local.url, 'pg_rehearsal_424242%');
    }
    expect(snapshot).toHaveLength(1);
    main.child.kill('SIGKILL');
    await main.done;
    const state = parseCommandFile(readFileSync(files.state, 'utf8'));
    expect(state['snapshot-name']).toBe(snapshot[0]);
    expect(await databasesLike(local.url, 'pg_rehearsal_424242%')).toEqual(snapshot);

    const postEnv = { ...env };
    for (const [name, value] of Object.entries(state)) postEnv[`STATE_${name}`] = value;
    const post = await startAction('dist/post/index.js', postEnv, workspace).done;
    expect(post.code).toBe(0);
    expect(post.stdout).toMatch(/dropped snapshot "pg_rehearsal_424242/);
    expect(await databasesLike(local.url, 'pg_rehearsal_424242%')).toEqual([]);
  });

  it("the post step drops a focused snapshot's dry-pass copy that a killed main step left behind", async () => {
    const workspace = workspaceWith({ '001_slow.sql': 'SELECT pg_sleep(60);' });
    const { env, files } = prepareRun(inputs({ snapshot: 'dump', 'snapshot-data': 'touched' }), {
      workspace,
      apiUrl: github.url,
    });
    const main = startAction('dist/index.js', env, workspace);
    // The dry pass runs the migrations on a schema-only copy: the sleep holds it there.
    let copy: string[] = [];
    for (let i = 0; i < 150 && copy.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const sleeping = await query<{ datname: string }>(
        local.url,
        `SELECT datname FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND datname LIKE 'pg_rehearsal_424242%'`,
      );
      copy = sleeping.map((r) => r.datname);
    }
    expect(copy).toHaveLength(1);
    main.child.kill('SIGKILL');
    await main.done;
    const state = parseCommandFile(readFileSync(files.state, 'utf8'));
    expect(JSON.parse(state['scratch-databases'])).toEqual(copy);
    expect(state['snapshot-name']).toBeUndefined(); // the real snapshot is made after the dry pass

    const postEnv = { ...env };
    for (const [name, value] of Object.entries(state)) postEnv[`STATE_${name}`] = value;
    const post = await startAction('dist/post/index.js', postEnv, workspace).done;
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`dropped copy "${copy[0]}" left by the main step`);
    expect(await databasesLike(local.url, 'pg_rehearsal_424242%')).toEqual([]);
  });

  it('the post step is a no-op after a main step that cleaned up', async () => {
    const workspace = workspaceWith({ '001.sql': 'SELECT 1;' });
    const { env } = prepareRun(inputs(), { workspace, apiUrl: github.url });
    const post = await startAction(
      'dist/post/index.js',
      { ...env, 'STATE_snapshot-name': uniqueName('gone'), 'STATE_snapshot-dropped': 'true' },
      workspace,
    ).done;
    expect(post.code).toBe(0);
    expect(post.stdout).toBe('');
  });

  it('comment: on-failure stays silent on success and deletes its earlier failure comment once the PR passes', async () => {
    const workspace = workspaceWith({ '001.sql': 'CREATE TABLE t1 (id int);' });
    const quiet = await runAction(inputs({ comment: 'on-failure' }), { workspace, apiUrl: github.url });
    expect(quiet.code).toBe(0);
    expect(github.comments).toHaveLength(0);
    writeFileSync(path.join(workspace, 'db/migrations/001.sql'), 'SELECT 1/0;');
    const failed = await runAction(inputs({ comment: 'on-failure' }), { workspace, apiUrl: github.url });
    expect(failed.code).toBe(1);
    expect(github.comments).toHaveLength(1);
    writeFileSync(path.join(workspace, 'db/migrations/001.sql'), 'CREATE TABLE t1 (id int);');
    const fixed = await runAction(inputs({ comment: 'on-failure' }), { workspace, apiUrl: github.url });
    expect(fixed.code).toBe(0);
    expect(github.comments).toHaveLength(0);
    expect(github.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(fixed.stdout).toContain('deleted the earlier failure comment');
  });

  it('rehearses the sample shop upgrade and renders the comment a reviewer sees', async () => {
    const shopUrl = await createDatabase(local.url, `${SHOP_V1_SCHEMA}\n${shopSeedSql(200_000)}`, 'shop');
    try {
      const workspace = workspaceWith(SHOP_V2_MIGRATIONS);
      const run = await runAction(
        {
          'source-url': withPassword(shopUrl),
          migrations: 'db/migrations/*.sql',
          'max-read-block': '100ms',
          'max-rewrite-size': '5MB',
        },
        { workspace, apiUrl: github.url },
      );
      expect(run.code).toBe(1);
      const body = github.comments[0].body;
      expect(body).toMatch(/❌ pg-rehearsal: failed/);
      expect(body).toMatch(
        /\| ❌ `max-read-block` \| 100 ms \| \*\*[\d.]+ (s|ms)\*\* \| `products` \| `db\/migrations\/003_price_numeric.sql:2` \|/,
      );
      expect(body).toMatch(
        /`db\/migrations\/003_price_numeric.sql` \| [\d.]+ (s|ms) \| ACCESS EXCLUSIVE on `products`/,
      );
      expect(body).toMatch(/table `products` \| changed, \*\*rewritten\*\*/);
      expect(body).toContain('[workflow run](https://github.test/acme/shop/actions/runs/424242)');
      expect(body.length).toBeLessThan(65_536);
      // Kept for the docs: a real comment, produced by this test (docs/comment-example.md is a copy).
      mkdirSync('.tmp', { recursive: true });
      writeFileSync('.tmp/comment-example.md', body);
    } finally {
      await dropDatabase(shopUrl);
    }
  });

  it('runs a migration tool command with probe traffic, and the comment says how locks were captured', async () => {
    const workspace = workspaceWith({ 'unused.sql': 'SELECT 1;' });
    const run = await runAction(
      {
        'source-url': withPassword(sourceUrl),
        command:
          'psql -v ON_ERROR_STOP=1 -c "BEGIN; ALTER TABLE orders ADD COLUMN c int; SELECT pg_sleep(0.4); COMMIT;"',
        traffic: 'true',
        'max-read-block': '100ms',
      },
      { workspace, apiUrl: github.url },
    );
    expect(run.code).toBe(1);
    const report = JSON.parse(readFileSync(run.outputs['report-path'], 'utf8'));
    // The default for a command: through the lock-tracing proxy.
    expect(report.runner).toMatchObject({ kind: 'command', lock_capture: 'exact' });
    expect(report.traffic.tables.orders.reads.max_wait_ms).toBeGreaterThan(300);
    expect(report.violations[0]).toMatchObject({ rule: 'max-read-block', subject: 'orders' });
    const body = github.comments[0].body;
    expect(body).toMatch(/locks exact · probe traffic on \d+ table\(s\)/);
    expect(body).toMatch(/```mermaid/);
    expect(body).not.toContain(PASSWORD);
  });
});
