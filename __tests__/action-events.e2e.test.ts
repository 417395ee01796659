import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { runAction, type ActionEnvironment } from './helpers/action-runner.js';
import { FakeGitHub } from './helpers/fake-github.js';
import { GitRepo } from './helpers/git-repo.js';
import {
  createDatabase,
  databasesLike,
  dropDatabase,
  query,
  testServers,
  withDatabase,
} from './helpers/servers.js';

/**
 * The Action finds the change's migrations on every event and checkout, or fails loudly:
 * real git repositories, the bundle as a child process, the fake GitHub API.
 */
const [local] = testServers();
// Production already ran 001: re-running it fails ("relation orders already exists").
const SOURCE = `CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL);
INSERT INTO orders SELECT g, g % 50 FROM generate_series(1, 1000) g;`;
const OLD = {
  'db/migrations/001_orders.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL);',
};
const NEW = { 'db/migrations/002_note.sql': 'ALTER TABLE orders ADD COLUMN note text;' };
const ran = (run: { outputs: Record<string, string> }) =>
  JSON.parse(readFileSync(run.outputs['report-path'], 'utf8')).migrations.map(
    (m: { path: string }) => m.path,
  );

describe('the Action finds the change on every event and checkout', () => {
  const github = new FakeGitHub();
  const cleanup: GitRepo[] = [];
  let sourceUrl: string;
  let repo: GitRepo;
  let base: string;
  let head: string;
  beforeAll(async () => {
    await github.start();
    sourceUrl = await createDatabase(local.url, SOURCE);
    repo = GitRepo.create();
    cleanup.push(repo);
    base = repo.commit(OLD, 'release 1');
    repo.git('checkout', '-q', '-b', 'feature');
    head = repo.commit(NEW, 'add a note');
  });
  afterAll(async () => {
    await github.stop();
    await dropDatabase(sourceUrl);
    for (const r of cleanup) r.remove();
  });
  beforeEach(() => {
    github.comments.length = 0;
    github.requests.length = 0;
    github.prFiles = [];
  });
  afterEach(async () => {
    expect(await databasesLike(local.url, 'pg_rehearsal_515151%')).toEqual([]);
  });

  const inputs = (extra: Record<string, string> = {}) => ({
    'source-url': sourceUrl,
    migrations: 'db/migrations/*.sql',
    ...extra,
  });
  const env = (extra: Partial<ActionEnvironment> = {}): ActionEnvironment => ({
    workspace: repo.dir,
    apiUrl: github.url,
    ...extra,
    // A run id of this file's own: other files' snapshots are not ours to check.
    env: { GITHUB_RUN_ID: '515151', ...extra.env },
  });
  const prEvent = (name = 'pull_request', extra: Record<string, unknown> = {}) => ({
    name,
    payload: { number: 7, pull_request: { number: 7, base: { sha: base }, head: { sha: head }, ...extra } },
  });

  it('checkout with path: and working-directory: resolves the PR paths from the repository root', async () => {
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-workspace-'));
    cleanup.push(new GitRepo(workspace));
    const app = GitRepo.create(workspace, 'app');
    app.commit(OLD);
    app.commit({
      'db/migrations/002_lock.sql': 'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.6);',
    });
    github.prFiles = [{ filename: 'db/migrations/002_lock.sql', status: 'added' }];
    const run = await runAction(
      inputs({ 'working-directory': 'app', 'max-read-block': '200ms' }),
      env({ workspace }),
    );
    expect(run.code).toBe(1);
    expect(ran(run)).toEqual(['db/migrations/002_lock.sql']);
    expect(run.outputs.violations).toBe('1');
    expect(run.stdout).toMatch(
      /::error title=pg-rehearsal%3A max-read-block breached,file=app\/db\/migrations\/002_lock\.sql,line=1::/,
    );
    expect(github.comments[0].body).toMatch(/❌ pg-rehearsal: failed/);
  });

  it('a changed migration that is not in the checkout is an error naming it, never a pass', async () => {
    github.prFiles = [{ filename: 'db/migrations/003_missing.sql', status: 'added' }];
    const run = await runAction(inputs(), env({ event: prEvent() }));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::pg-rehearsal: the change adds or modifies 1 migration\(s\) that are not in this checkout: db\/migrations\/003_missing\.sql/,
    );
    expect(run.outputs.passed).toBe('false');
  });

  it('pull_request_target on the base checkout refuses and says how to check out the head', async () => {
    repo.git('checkout', '-q', 'main');
    try {
      github.prFiles = [{ filename: 'db/migrations/002_note.sql', status: 'added' }];
      const run = await runAction(inputs(), env({ event: prEvent('pull_request_target') }));
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/pull_request_target runs on a checkout of the base branch/);
      expect(run.stdout).toContain('ref: ${{ github.event.pull_request.head.sha }}');
    } finally {
      repo.git('checkout', '-q', 'feature');
    }
    github.prFiles = [{ filename: 'db/migrations/002_note.sql', status: 'added' }];
    const onHead = await runAction(inputs(), env({ event: prEvent('pull_request_target') }));
    expect(onHead.code).toBe(0);
    expect(ran(onHead)).toEqual(['db/migrations/002_note.sql']);
  });

  it('a PR of 3,001 files: the API stops at 3,000, so git diff finds the migration', async () => {
    github.prFiles = Array.from({ length: 3001 }, (_, i) => ({
      filename: `docs/page-${i}.md`,
      status: 'added',
    }));
    const run = await runAction(inputs(), env({ event: prEvent('pull_request', { changed_files: 3001 }) }));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /::warning::the API listed 3000 of the PR's 3001 files \(it stops at 3,000\): reading the PR's files with git diff/,
    );
    expect(ran(run)).toEqual(['db/migrations/002_note.sql']);
  });

  it('push rehearses before..after only', async () => {
    const run = await runAction(
      inputs(),
      env({ event: { name: 'push', payload: { before: base, after: head } } }),
    );
    expect(run.code).toBe(0);
    expect(ran(run)).toEqual(['db/migrations/002_note.sql']);
    const report = JSON.parse(readFileSync(run.outputs['report-path'], 'utf8'));
    expect(report.migrations_skipped[0].reason).toMatch(
      /^not changed by the push [0-9a-f]{7}\.\.[0-9a-f]{7}$/,
    );
    expect(github.comments).toHaveLength(0);
  });

  it('merge_group rehearses base_sha..head_sha only', async () => {
    const run = await runAction(
      inputs(),
      env({ event: { name: 'merge_group', payload: { merge_group: { base_sha: base, head_sha: head } } } }),
    );
    expect(run.code).toBe(0);
    expect(ran(run)).toEqual(['db/migrations/002_note.sql']);
  });

  it('workflow_dispatch diffs against base-ref, and against the default branch without it', async () => {
    const dispatch = { name: 'workflow_dispatch', payload: { inputs: {} } };
    const withRef = await runAction(inputs({ 'base-ref': 'main' }), env({ event: dispatch }));
    expect(withRef.code).toBe(0);
    expect(ran(withRef)).toEqual(['db/migrations/002_note.sql']);
    const byDefault = await runAction(inputs(), env({ event: { name: 'schedule', payload: {} } }));
    expect(byDefault.code).toBe(0);
    expect(ran(byDefault)).toEqual(['db/migrations/002_note.sql']);
    const unknown = await runAction(inputs({ 'base-ref': 'release-9' }), env({ event: dispatch }));
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/base-ref: "release-9" is not in the clone; set `fetch-depth: 0`/);
  });

  it('an event with no base and no base-ref is an error that says what to set', async () => {
    const run = await runAction(
      inputs(),
      env({
        event: {
          name: 'repository_dispatch',
          payload: { repository: { name: 'shop', owner: { login: 'acme' } } },
        },
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /changed-only: a repository_dispatch event names no base to compare with; set base-ref/,
    );
  });

  it('a shallow clone that lacks the push base names fetch-depth: 0', async () => {
    const shallow = repo.shallowClone();
    cleanup.push(shallow);
    const run = await runAction(
      inputs(),
      env({ workspace: shallow.dir, event: { name: 'push', payload: { before: base, after: head } } }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/The clone is shallow: set `fetch-depth: 0` on actions\/checkout/);
  });

  it('a PR that edits a released migration does not re-run it, and says it was modified after release', async () => {
    github.prFiles = [
      { filename: 'db/migrations/001_orders.sql', status: 'modified' },
      { filename: 'db/migrations/002_note.sql', status: 'added' },
    ];
    const run = await runAction(inputs(), env({ event: prEvent() }));
    expect(run.code).toBe(0);
    expect(ran(run)).toEqual(['db/migrations/002_note.sql']);
    expect(run.stdout).toMatch(
      /::warning title=pg-rehearsal%3A migration modified after release,file=db\/migrations\/001_orders\.sql::db\/migrations\/001_orders\.sql is modified after release/,
    );
    expect(github.comments[0].body).toMatch(/`db\/migrations\/001_orders.sql` \(modified after release/);
  });
});

describe('history tables: pending as the tool sees it, on every event', () => {
  const github = new FakeGitHub();
  const repos: GitRepo[] = [];
  let sourceUrl: string;
  beforeAll(async () => {
    await github.start();
    // Production ran version 1 with Flyway and with golang-migrate (one table each).
    sourceUrl = await createDatabase(
      local.url,
      `${SOURCE}
CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
  type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
  installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
INSERT INTO flyway_schema_history VALUES (1, '1', 'orders', 'SQL', 'V1__orders.sql', NULL, 'flyway', now(), 5, true);
CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO schema_migrations VALUES (1, false);`,
    );
  });
  afterAll(async () => {
    await github.stop();
    await dropDatabase(sourceUrl);
    for (const r of repos) r.remove();
  });
  afterEach(async () => {
    expect(await databasesLike(local.url, 'pg_rehearsal_515151%')).toEqual([]);
  });

  /**
   * Runs the Action keeping the snapshot, returns what ran and the snapshot's history rows.
   * The base commit has `base`, the head commit adds or changes `files`.
   */
  async function rehearseKept(
    files: Record<string, string>,
    sql: string,
    event: ActionEnvironment['event'],
    extra: Record<string, string> = {},
    base: Record<string, string> = { 'README.md': 'shop' },
  ) {
    const repo = GitRepo.create();
    repos.push(repo);
    const first = repo.commit(base);
    const head = repo.commit(files);
    const payloads: Record<string, Record<string, unknown>> = {
      push: { before: first, after: head },
      pull_request: { number: 7, pull_request: { number: 7, base: { sha: first }, head: { sha: head } } },
    };
    const payload = payloads[event?.name ?? ''] ?? event?.payload ?? {};
    const run = await runAction(
      {
        'source-url': extra['source-url'] ?? sourceUrl,
        migrations: 'db/*.sql',
        'keep-snapshot': 'true',
        ...extra,
      },
      {
        workspace: repo.dir,
        apiUrl: github.url,
        event: event && { name: event.name, payload },
        env: { GITHUB_RUN_ID: '515151' },
      },
    );
    const snapshot = withDatabase(local.url, run.outputs['snapshot-name']);
    try {
      return { run, rows: await query(snapshot, sql) };
    } finally {
      await dropDatabase(snapshot);
    }
  }

  it('Flyway on workflow_dispatch: only the version flyway_schema_history lacks runs, and is recorded', async () => {
    const { run, rows } = await rehearseKept(
      {
        'db/V1__orders.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY);',
        'db/V2__add_note.sql': 'ALTER TABLE orders ADD COLUMN note text;',
      },
      'SELECT version, script, success FROM flyway_schema_history ORDER BY installed_rank',
      { name: 'workflow_dispatch', payload: {} },
      { 'changed-only': 'false' },
    );
    expect(run.code).toBe(0);
    expect(ran(run)).toEqual(['db/V2__add_note.sql']);
    expect(run.stdout).toContain('flyway_schema_history: 1 migration(s) already applied, 1 pending');
    expect(rows).toEqual([
      { version: '1', script: 'V1__orders.sql', success: true },
      { version: '2', script: 'V2__add_note.sql', success: true },
    ]);
  });

  it('golang-migrate on push: a push that adds 1 and 2 runs only 2, and schema_migrations moves to 2', async () => {
    const { run, rows } = await rehearseKept(
      {
        'db/1_orders.up.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY);',
        'db/1_orders.down.sql': 'DROP TABLE orders;',
        'db/2_note.up.sql': 'ALTER TABLE orders ADD COLUMN note text;',
      },
      'SELECT version::int AS version, dirty FROM schema_migrations',
      { name: 'push', payload: {} },
    );
    expect(run.code).toBe(0);
    expect(ran(run)).toEqual(['db/2_note.up.sql']);
    expect(rows).toEqual([{ version: 2, dirty: false }]);
  });

  it('a PR that edits a released Flyway file the history table says is pending runs it; one it lists is reported', async () => {
    github.prFiles = [{ filename: 'db/V2__add_note.sql', status: 'modified' }];
    const released = {
      'db/V1__orders.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY);',
      'db/V2__add_note.sql': 'ALTER TABLE orders ADD COLUMN note text;',
    };
    const pending = await rehearseKept(
      { 'db/V2__add_note.sql': "ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '';" },
      'SELECT version FROM flyway_schema_history ORDER BY installed_rank',
      { name: 'pull_request', payload: {} },
      {},
      released,
    );
    expect(pending.run.code).toBe(0);
    expect(ran(pending.run)).toEqual(['db/V2__add_note.sql']);
    expect(pending.rows).toEqual([{ version: '1' }, { version: '2' }]);
    expect(pending.run.stdout).not.toMatch(/modified after release/);
    expect(github.comments.at(-1)!.body).not.toMatch(/modified after release/);

    // V1 is listed: production ran the old version, the edit never runs there. Said so.
    github.prFiles = [{ filename: 'db/V1__orders.sql', status: 'modified' }];
    const listed = await rehearseKept(
      { 'db/V1__orders.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY, total int);' },
      'SELECT version FROM flyway_schema_history ORDER BY installed_rank',
      { name: 'pull_request', payload: {} },
      {},
      released,
    );
    expect(listed.run.code).toBe(0);
    expect(ran(listed.run)).toEqual(['db/V2__add_note.sql']);
    expect(listed.run.stdout).toMatch(
      /::warning title=pg-rehearsal%3A migration modified after release,file=db\/V1__orders\.sql::db\/V1__orders\.sql is modified after release/,
    );
  });

  it('dbmate on push: the versions schema_migrations lists are not re-run, the new one is recorded', async () => {
    const dbmateSource = await createDatabase(
      local.url,
      `${SOURCE}
CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
INSERT INTO schema_migrations VALUES ('20240101000000');`,
    );
    try {
      const { run, rows } = await rehearseKept(
        {
          'db/20240101000000_orders.sql':
            '-- migrate:up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE orders;\n',
          'db/20240201000000_note.sql':
            '-- migrate:up\nALTER TABLE orders ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE orders DROP COLUMN note;\n',
        },
        'SELECT version FROM schema_migrations ORDER BY version',
        { name: 'push', payload: {} },
        { 'source-url': dbmateSource },
      );
      expect(run.code).toBe(0);
      expect(ran(run)).toEqual(['db/20240201000000_note.sql']);
      expect(run.stdout).toContain('schema_migrations: 1 migration(s) already applied, 1 pending');
      expect(rows).toEqual([{ version: '20240101000000' }, { version: '20240201000000' }]);
    } finally {
      await dropDatabase(dbmateSource);
    }
  });
});
