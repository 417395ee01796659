import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { runAction, type ActionEnvironment } from './helpers/action-runner.js';
import { FAKE_COMMENT_LIMIT, FakeGitHub } from './helpers/fake-github.js';
import { migrationDir } from './helpers/rehearsal.js';
import { createDatabase, databasesLike, dropDatabase, testServers } from './helpers/servers.js';

/** One comment per invocation, never stale, always within GitHub's limit. */
const [local] = testServers();
const PARTITIONS = 410;
const SOURCE = `CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL);
INSERT INTO orders SELECT g, g % 50 FROM generate_series(1, 1000) g;`;
// 410 partitions locked at once: a source of its own, so the other runs copy a small one.
const PARTITIONED = `CREATE TABLE événements (id bigint NOT NULL, at int NOT NULL) PARTITION BY RANGE (at);
DO $$ BEGIN FOR g IN 1..${PARTITIONS} LOOP
  EXECUTE format('CREATE TABLE événements_été_%s PARTITION OF événements FOR VALUES FROM (%s) TO (%s)', g, g, g + 1);
END LOOP; END $$;`;

describe('the sticky comment: one per invocation, never stale, always fits', () => {
  const github = new FakeGitHub();
  let sourceUrl: string;
  beforeAll(async () => {
    await github.start();
    sourceUrl = await createDatabase(local.url, SOURCE);
  });
  afterAll(async () => {
    await github.stop();
    if (sourceUrl) await dropDatabase(sourceUrl);
  });
  beforeEach(() => {
    github.comments.length = 0;
    github.requests.length = 0;
    github.tokenUser = undefined;
  });
  afterEach(async () => {
    expect(await databasesLike(local.url, 'pg_rehearsal_616161%')).toEqual([]);
  });

  const workspace = migrationDir({ 'db/001_note.sql': 'ALTER TABLE orders ADD COLUMN note text;' });
  const inputs = (extra: Record<string, string> = {}) => ({
    'source-url': sourceUrl,
    migrations: 'db/*.sql',
    'changed-only': 'false',
    ...extra,
  });
  const env = (extra: Record<string, string> = {}): ActionEnvironment => ({
    workspace,
    apiUrl: github.url,
    env: { GITHUB_RUN_ID: '616161', ...extra },
  });

  it('two steps in one job and two matrix legs with comment-key each keep their own comment and report', async () => {
    const first = await runAction(inputs(), env({ GITHUB_ACTION: '__run' }));
    const second = await runAction(
      inputs({ 'working-directory': 'db', migrations: '*.sql' }),
      env({ GITHUB_ACTION: '__run_2' }),
    );
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(github.comments).toHaveLength(2);
    expect(first.outputs['report-path']).not.toBe(second.outputs['report-path']);
    expect(first.outputs['comment-id']).not.toBe(second.outputs['comment-id']);

    github.comments.length = 0;
    const pg15 = await runAction(inputs({ 'comment-key': 'pg15' }), env());
    await runAction(inputs({ 'comment-key': 'pg16' }), env());
    const again = await runAction(inputs({ 'comment-key': 'pg15' }), env());
    expect(github.comments.map((c) => c.body.split('\n')[0])).toEqual([
      '<!-- pg-rehearsal:pg15 -->',
      '<!-- pg-rehearsal:pg16 -->',
    ]);
    expect(again.outputs['comment-id']).toBe(pg15.outputs['comment-id']);
  });

  it("another account's comment with the marker is left alone; the token's own user (GET /user) is recognised", async () => {
    const planted = github.addComment('<!-- pg-rehearsal:shared -->\nfake green', 'mallory');
    const run = await runAction(inputs({ 'comment-key': 'shared' }), env());
    expect(run.code).toBe(0);
    expect(planted.body).toBe('<!-- pg-rehearsal:shared -->\nfake green');
    expect(github.comments).toHaveLength(2);

    github.comments.length = 0;
    github.tokenUser = 'alice';
    const own = github.addComment('<!-- pg-rehearsal:shared -->\nold', 'alice');
    await runAction(inputs({ 'comment-key': 'shared' }), env());
    expect(github.comments).toHaveLength(1);
    expect(own.body).toMatch(/✅ pg-rehearsal: passed/);
  });

  it('a setup error after a green comment turns it into "could not run" on the commit', async () => {
    const green = await runAction(inputs(), env());
    expect(github.comments[0].body).toMatch(/✅ pg-rehearsal: passed/);
    const broken = await runAction(
      inputs({ 'snapshot-server-url': 'postgres://postgres@127.0.0.1:1/postgres' }),
      env(),
    );
    expect(broken.code).toBe(1);
    expect(github.comments).toHaveLength(1);
    expect(broken.outputs['comment-id']).toBe(green.outputs['comment-id']);
    expect(github.comments[0].body).toMatch(/⚠️ pg-rehearsal: could not run on `b{12}`/);
    expect(github.comments[0].body).toMatch(/snapshot-server-url/);
  });

  it('800+ violations: the comment is posted within 65,536 characters, grouped, saying what was cut', async () => {
    const many = migrationDir({
      'db/001_lock.sql': 'LOCK TABLE événements IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.3);',
    });
    const partitionedUrl = await createDatabase(local.url, PARTITIONED);
    const run = await runAction(
      inputs({ 'source-url': partitionedUrl, 'max-read-block': '50ms', 'max-write-block': '50ms' }),
      { ...env(), workspace: many },
    ).finally(() => dropDatabase(partitionedUrl));
    expect(run.code).toBe(1);
    expect(Number(run.outputs.violations)).toBeGreaterThan(800);
    expect(github.comments).toHaveLength(1);
    const body = github.comments[0].body;
    expect(body.length).toBeLessThanOrEqual(FAKE_COMMENT_LIMIT);
    expect(body).toMatch(/Cut to fit a comment: /);
    expect(Buffer.byteLength(run.summary)).toBeLessThanOrEqual(1024 * 1024);
    expect(run.summary).toContain('événements_été_410');
  });

  it('a multibyte summary over 1 MiB in bytes (not in characters) is cut to 1 MiB of valid UTF-8, saying so', async () => {
    // 3,000 statements of three-byte characters; the report keeps 160 characters of each
    // (~480,000 characters, ~1.4 MB in UTF-8).
    const notes = Array.from({ length: 3000 }, (_, i) => `SELECT '${'日'.repeat(200)}' AS note_${i};`);
    const run = await runAction(inputs(), {
      ...env(),
      workspace: migrationDir({ 'db/001_notes.sql': notes.join('\n') }),
    });
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(run.outputs['report-path'], 'utf8'));
    const statements = report.migrations[0].statements as { sql: string }[];
    expect(statements).toHaveLength(3000);
    // Uncut, the statement details alone are over the limit in bytes, under it in characters.
    const sqlBytes = statements.reduce((sum, s) => sum + Buffer.byteLength(s.sql), 0);
    expect(sqlBytes).toBeGreaterThan(1024 * 1024);
    expect(statements.reduce((sum, s) => sum + s.sql.length, 0)).toBeLessThan(1024 * 1024);
    const raw = readFileSync(path.join(run.runnerTemp, 'summary.md'));
    expect(raw.length).toBeLessThanOrEqual(1024 * 1024);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    expect(text).toMatch(/✅ pg-rehearsal: passed/);
    expect(text).toMatch(
      /Cut to fit the job summary: statement details and relation tables.*The JSON report \(the report-path output\) has everything\./,
    );
    expect(text).toContain('`db/001_notes.sql`');
  });

  it('fail-on-violation: false reports the breach without failing', async () => {
    const rewrite = migrationDir({ 'db/001_type.sql': 'ALTER TABLE orders ALTER COLUMN total TYPE bigint;' });
    const run = await runAction(inputs({ 'max-rewrite-size': '0', 'fail-on-violation': 'false' }), {
      ...env(),
      workspace: rewrite,
    });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ passed: 'true', violations: '1' });
    expect(github.comments[0].body).toMatch(
      /pg-rehearsal: passed \(1 threshold\(s\) breached, fail-on-violation off\)/,
    );
  });

  it('command runs annotate no file; comment: onfailure lists on-failure; a fork PR without the secret says why it was skipped', async () => {
    const command = await runAction(
      {
        'source-url': sourceUrl,
        command: 'psql -v ON_ERROR_STOP=1 -c "ALTER TABLE orders ALTER COLUMN total TYPE bigint"',
        'max-rewrite-size': '0',
      },
      env(),
    );
    expect(command.code).toBe(1);
    expect(command.stdout).toMatch(/::error title=pg-rehearsal%3A max-rewrite-size breached::/);

    const typo = await runAction(inputs({ comment: 'onfailure' }), env());
    expect(typo.stdout).toMatch(/comment: "onfailure" is not valid; use true, false or on-failure/);

    const fork = await runAction(inputs({ 'source-url': '' }), {
      ...env(),
      event: {
        name: 'pull_request',
        payload: {
          number: 7,
          pull_request: {
            number: 7,
            base: { sha: 'a'.repeat(40), repo: { full_name: 'acme/shop' } },
            head: { sha: 'b'.repeat(40), repo: { full_name: 'eve/shop', fork: true } },
          },
        },
      },
    });
    expect(fork.code).toBe(1);
    expect(fork.stdout).toMatch(
      /the rehearsal was skipped: source-url is empty because GitHub does not give secrets to pull requests from forks/,
    );
  });
});
