import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { runAction, type ActionEnvironment } from './helpers/action-runner.js';
import { FakeGitHub } from './helpers/fake-github.js';
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
 * A scheduled workflow refreshes a golden snapshot with the Action alone: no migrations, no
 * command. The bundle as a child process, the fake GitHub API, a real server.
 */
const [local] = testServers();
const SOURCE = `CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL);
INSERT INTO orders SELECT g, g % 50 FROM generate_series(1, 1000) g;`;

describe('a refresh-only run on schedule', () => {
  const github = new FakeGitHub();
  const golden = uniqueName('test_golden_e2e');
  let sourceUrl: string;
  beforeAll(async () => {
    await github.start();
    sourceUrl = await createDatabase(local.url, SOURCE);
  });
  afterAll(async () => {
    await github.stop();
    await dropDatabase(withDatabase(local.url, golden));
    await dropDatabase(sourceUrl);
  });
  afterEach(async () => {
    // A refresh builds aside (pg_rehearsal_build_*) and swaps the old one out
    // (pg_rehearsal_old_*): none of this source's may be left. Other tests' are their own.
    const source = new URL(sourceUrl).pathname.slice(1);
    const leftovers = await query<{ datname: string }>(
      local.url,
      `SELECT datname FROM pg_database d
        WHERE (datname LIKE 'pg_rehearsal_build_%' OR datname LIKE 'pg_rehearsal_old_%')
          AND shobj_description(d.oid, 'pg_database') LIKE '%' || $1 || '%'`,
      [`"database":"${source}"`],
    );
    expect(leftovers).toEqual([]);
    expect(await databasesLike(local.url, 'pg_rehearsal_717171%')).toEqual([]);
  });

  const workspace = migrationDir({});
  const schedule = (): ActionEnvironment => ({
    workspace,
    apiUrl: github.url,
    event: { name: 'schedule', payload: { schedule: '0 3 * * *' } },
    env: { GITHUB_RUN_ID: '717171' },
  });
  const refresh = (maxAge: string) =>
    runAction(
      { 'source-url': sourceUrl, snapshot: 'existing', 'snapshot-name': golden, 'snapshot-max-age': maxAge },
      schedule(),
    );
  const createdAt = async () => {
    const [row] = await query<{ c: string }>(
      local.url,
      `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
      [golden],
    );
    return (JSON.parse(row.c) as { created_at: string }).created_at;
  };
  const goldenRefresh = (run: { outputs: Record<string, string> }) =>
    JSON.parse(readFileSync(run.outputs['report-path'], 'utf8')).golden_refresh;

  it('creates the missing golden snapshot, leaves a fresh one, rebuilds a stale one, and passes', async () => {
    const created = await refresh('24h');
    expect(created.code).toBe(0);
    expect(created.outputs.passed).toBe('true');
    const first = await createdAt();
    expect(goldenRefresh(created)).toMatchObject({ name: golden, outcome: 'created', created_at: first });
    expect(await query(withDatabase(local.url, golden), 'SELECT count(*)::int AS n FROM orders')).toEqual([
      { n: 1000 },
    ]);
    expect(created.summary).toMatch(
      new RegExp(`Golden snapshot\\*\\* "${golden}" created: it did not exist \\(max age 24 h\\)`),
    );
    expect(created.summary).toMatch(/a refresh-only run: no migrations/);
    // No pull request on schedule: no comment, no API call for one.
    expect(github.comments).toHaveLength(0);

    const fresh = await refresh('1000h');
    expect(fresh.code).toBe(0);
    expect(await createdAt()).toBe(first);
    expect(goldenRefresh(fresh)).toMatchObject({ outcome: 'fresh', created_at: first });
    expect(fresh.summary).toMatch(/still fresh: [\w ]+ old \(max age 41 d 16 h\)/);

    const stale = await refresh('0');
    expect(stale.code).toBe(0);
    const second = await createdAt();
    expect(second).not.toBe(first);
    expect(goldenRefresh(stale)).toMatchObject({ outcome: 'refreshed', created_at: second });
    expect(goldenRefresh(stale).found_age_ms).toEqual(expect.any(Number));
  });

  it('without migrations or command, any other combination is an error that says what to set', async () => {
    const run = await runAction(
      { 'source-url': sourceUrl, snapshot: 'existing', 'snapshot-name': golden },
      schedule(),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::pg-rehearsal: invalid input migrations: is required \(or command\): .*for a run that only refreshes a golden snapshot, set snapshot: existing with snapshot-name, snapshot-max-age and source-url/,
    );
  });
});
