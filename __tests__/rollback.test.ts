import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MigrationReport, Report } from '../src/engine/report.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderText } from '../src/render/text.js';
import { runCli } from './helpers/cli.js';
import { migrationDir, rehearseOn } from './helpers/rehearsal.js';
import { createDatabase, dropDatabase, testServers } from './helpers/servers.js';

const [local] = testServers();
const SOURCE = `
CREATE TABLE items (id bigint PRIMARY KEY, v integer);
INSERT INTO items SELECT g, g % 100 FROM generate_series(1, 10000) g;
ANALYZE;`;

/** Four migrations: a reversible pair, a down that forgets an index, a down that errors, no down. */
const UP = [
  'CREATE INDEX items_v_idx ON items (v);\nALTER TABLE items ADD COLUMN note text;',
  'ALTER TABLE items ADD COLUMN tag text;\nCREATE INDEX items_v_id_idx ON items (v, id);',
  'CREATE TABLE audit (id int);',
  'ALTER TABLE items ADD COLUMN extra int;',
];
const DOWN = [
  'DROP INDEX items_v_idx;\nALTER TABLE items DROP COLUMN note;',
  'ALTER TABLE items DROP COLUMN tag;',
  'SELECT 1;\nDROP TABLE nope;',
  undefined,
];
const NAMES = ['reversible', 'forgetful', 'erroring', 'absent'];

/** The same four migrations laid out the way each tool expects. */
const LAYOUTS: {
  layout: string;
  files: () => Record<string, string>;
  up: (i: number) => string;
  down: (i: number) => string;
}[] = [
  {
    layout: 'plain',
    up: (i) => `00${i + 1}_${NAMES[i]}.sql`,
    down: (i) => `00${i + 1}_${NAMES[i]}.down.sql`,
    files() {
      return Object.fromEntries(
        UP.flatMap((sql, i) => [[this.up(i), sql], ...(DOWN[i] ? [[this.down(i), DOWN[i]!]] : [])]),
      );
    },
  },
  {
    layout: 'golang-migrate',
    up: (i) => `${i + 1}_${NAMES[i]}.up.sql`,
    down: (i) => `${i + 1}_${NAMES[i]}.down.sql`,
    files() {
      return Object.fromEntries(
        UP.flatMap((sql, i) => [[this.up(i), sql], ...(DOWN[i] ? [[this.down(i), DOWN[i]!]] : [])]),
      );
    },
  },
  {
    layout: 'flyway',
    up: (i) => `V${i + 1}__${NAMES[i]}.sql`,
    down: (i) => `U${i + 1}__${NAMES[i]}.sql`,
    files() {
      return Object.fromEntries(
        UP.flatMap((sql, i) => [[this.up(i), sql], ...(DOWN[i] ? [[this.down(i), DOWN[i]!]] : [])]),
      );
    },
  },
  {
    layout: 'dbmate',
    up: (i) => `2024010100000${i + 1}_${NAMES[i]}.sql`,
    down: (i) => `2024010100000${i + 1}_${NAMES[i]}.sql`,
    files() {
      return Object.fromEntries(
        UP.map((sql, i) => [
          this.up(i),
          `-- migrate:up\n${sql}\n\n-- migrate:down\n${DOWN[i] ?? '-- nothing to undo'}\n`,
        ]),
      );
    },
  },
];

const rollbackOf = (report: Report, i: number): MigrationReport['rollback'] => report.migrations[i].rollback;

describe.each(LAYOUTS)('the way back with the $layout layout', (layout) => {
  let report: Report;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const run = await rehearseOn(local, SOURCE, layout.files(), {
      migrations: '*.sql',
      layout: layout.layout,
      rollback: 'true',
      'require-down': 'true',
    });
    expect(await run.leftovers()).toEqual([]);
    report = run.report;
    cleanup = run.cleanup;
  });
  afterAll(async () => cleanup());

  it('runs every up, and judges each down', () => {
    expect(report.success).toBe(true);
    expect(report.migrations.map((m) => [m.path, m.status])).toEqual(
      UP.map((_, i) => [layout.up(i), 'applied']),
    );
    expect(report.migrations.map((m) => m.rollback?.status)).toEqual([
      'reversible',
      'irreversible',
      'failed',
      'absent',
    ]);
  });

  it('a reversible pair: the down is timed, its statements listed and its locks traced, and the up ran again', () => {
    const rollback = rollbackOf(report, 0)!;
    expect(rollback).toMatchObject({ differences: [], reapplied: true });
    expect(rollback.down!.path).toBe(layout.down(0));
    expect(rollback.down!.statements.map((s) => s.sql)).toEqual([
      'DROP INDEX items_v_idx',
      'ALTER TABLE items DROP COLUMN note',
    ]);
    const dropColumn = rollback.down!.locks.find(
      (l) => l.relation === 'items' && l.mode === 'AccessExclusiveLock',
    );
    expect(dropColumn).toMatchObject({ statement: { path: layout.down(0) }, new_relation: false });
    // The down's locks are the run's too, so the lock thresholds judge them.
    expect(report.locks).toContainEqual(dropColumn);
  });

  it('a down that forgets an index: irreversible, the index named', () => {
    const rollback = rollbackOf(report, 1)!;
    expect(rollback.differences).toEqual([
      {
        object: 'index',
        change: 'added',
        name: 'items_v_id_idx',
        before: null,
        after: expect.stringContaining('(v, id)'),
      },
    ]);
    const violation = report.violations.find(
      (v) => v.rule === 'require-reversible' && v.subject === layout.up(1),
    );
    expect(violation?.message).toContain('index items_v_id_idx left behind by the down');
  });

  it('a down that errors: failed, with its error and line', () => {
    const rollback = rollbackOf(report, 2)!;
    expect(rollback.error).toMatchObject({ sqlstate: '42P01', path: layout.down(2) });
    const firstLine = layout.layout === 'dbmate' ? 5 : 1;
    expect(rollback.error!.line).toBe(firstLine + 1);
    expect(report.violations).toContainEqual(
      expect.objectContaining({
        rule: 'require-reversible',
        actual: 'failed',
        path: layout.down(2),
        line: firstLine + 1,
      }),
    );
  });

  it('no down: absent, a breach only because require-down is on', () => {
    expect(rollbackOf(report, 3)).toEqual({
      status: 'absent',
      differences: [],
      down: null,
      reapplied: false,
    });
    expect(report.violations.filter((v) => v.rule === 'require-down').map((v) => v.subject)).toEqual([
      layout.up(3),
    ]);
    expect(report.passed).toBe(false);
  });

  it('the text report has a line per migration, the comment a column for the way back', () => {
    const text = renderText(report);
    expect(text).toContain('way back: reversible');
    expect(text).toContain('way back: IRREVERSIBLE');
    expect(text).toContain('way back: DOWN FAILED');
    expect(text).toContain('way back: no down migration');
    expect(renderMarkdown(report)).toContain('| way back |');
  });
});

describe('rollback off, and the command line', () => {
  let sourceUrl: string;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, SOURCE);
  });
  afterAll(async () => dropDatabase(sourceUrl));

  it('without rollback no down script runs, and no migration carries a way back', async () => {
    const run = await rehearseOn(local, SOURCE, {
      '001_a.sql': UP[0],
      // Would fail the run if it ran.
      '001_a.down.sql': 'SELECT 1/0;',
    });
    try {
      expect(run.report.passed).toBe(true);
      expect(run.report.migrations.map((m) => m.path)).toEqual(['001_a.sql']);
      expect(run.report.migrations_skipped).toEqual([{ path: '001_a.down.sql', reason: 'down migration' }]);
      expect(run.report.migrations[0].rollback).toBeUndefined();
    } finally {
      await run.cleanup();
    }
  });

  it('pg-rehearsal run --rollback exits 1 on a forgetful down and names the index; 0 on a reversible one', async () => {
    const forgetful = migrationDir({ '1_a.up.sql': UP[1], '1_a.down.sql': DOWN[1]! });
    const reversible = migrationDir({ '1_a.up.sql': UP[0], '1_a.down.sql': DOWN[0]! });
    const args = (dir: string) => [
      'run',
      '--source-url',
      sourceUrl,
      '--working-directory',
      dir,
      '--migrations',
      '*.sql',
      '--rollback',
    ];
    const bad = await runCli(args(forgetful));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('x require-reversible: 1_a.up.sql is not reversible');
    expect(bad.stdout).toContain('index items_v_id_idx left behind by the down');
    const good = await runCli(args(reversible));
    expect({ code: good.code, out: good.stdout }).toMatchObject({
      code: 0,
      out: expect.stringContaining('way back: reversible'),
    });
  });

  it('require-down without rollback is a usage error that says to set rollback', async () => {
    const dir = migrationDir({ '001.sql': UP[0] });
    const result = await runCli([
      'run',
      '--source-url',
      sourceUrl,
      '--migrations',
      `${dir}/*.sql`,
      '--require-down',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--require-down: applies to the way back; set --rollback');
  });
});

describe('Alembic with alembic downgrade -1 as down-command', () => {
  const ACCOUNTS =
    'CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO accounts VALUES (1, $$a$$);';
  let project: string;
  beforeAll(() => {
    // The fixture project, and a copy whose downgrade forgets the index.
    project = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-alembic-'));
    cpSync(path.resolve('__fixtures__/tools/alembic'), path.join(project, 'good'), { recursive: true });
    cpSync(path.resolve('__fixtures__/tools/alembic'), path.join(project, 'forgetful'), { recursive: true });
    writeFileSync(
      path.join(project, 'forgetful/versions/0001_account_email.py'),
      `"""accounts get an email, and a name index; the downgrade forgets the index"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.add_column("accounts", sa.Column("email", sa.Text(), nullable=True))
    op.create_index("accounts_name_idx", "accounts", ["name"])


def downgrade():
    op.drop_column("accounts", "email")
`,
    );
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it.each([
    ['good', 'reversible', []],
    ['forgetful', 'irreversible', ['accounts_name_idx']],
  ])('%s downgrade: %s', async (variant, status, left) => {
    const run = await rehearseOn(
      local,
      ACCOUNTS,
      {},
      {
        migrations: '',
        command: 'alembic upgrade head',
        'down-command': 'alembic downgrade -1',
        rollback: 'true',
        'working-directory': path.join(project, variant),
      },
    );
    try {
      expect(run.report.success).toBe(true);
      const rollback = run.report.migrations[0].rollback!;
      // alembic_version, the tool's own table, stays after a downgrade and is not a difference.
      expect({ status: rollback.status, left: rollback.differences.map((d) => d.name) }).toEqual({
        status,
        left,
      });
      expect(rollback.down).toMatchObject({ path: 'alembic downgrade -1' });
      // The forgetful one cannot even run again: its index is still there.
      expect(rollback.reapplied).toBe(status === 'reversible');
      expect(run.report.passed).toBe(status === 'reversible');
    } finally {
      expect(await run.leftovers()).toEqual([]);
      await run.cleanup();
    }
  });
});
