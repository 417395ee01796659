import type { OptionSpec } from './spec.js';

/** What is rehearsed and observed: the migrations or the command, locks, metrics, traffic, the way back. */
export const WHAT_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'migrations',
    type: 'globs',
    description:
      'Newline-separated globs of SQL migration files for the built-in runner, e.g. migrations/*.sql.',
    cli: {
      group: 'what',
      arg: 'GLOB',
      repeatable: true,
      help: ["SQL files, e.g. 'migrations/*.sql' (repeatable)"],
    },
    input: true,
  },
  {
    name: 'layout',
    type: 'choice',
    default: 'auto',
    description: 'How the SQL files are laid out: auto (detected), plain, flyway, golang-migrate, dbmate.',
    cli: {
      group: 'what',
      arg: 'NAME',
      help: ['auto | plain | flyway | golang-migrate | dbmate (default auto)'],
    },
    input: true,
  },
  {
    name: 'command',
    type: 'text',
    description:
      'Shell command that applies the migrations (alembic upgrade head, npx prisma migrate deploy, ...); DATABASE_URL and PG* point at the snapshot.',
    cli: {
      group: 'what',
      arg: 'CMD',
      help: ["or: your migration tool's command, run with DATABASE_URL", 'and PG* pointing at the snapshot'],
    },
    input: true,
  },
  {
    name: 'lock-sample-interval',
    type: 'duration',
    default: '50ms',
    description: 'With command: how often the lock sampler reads pg_locks (the precision of hold times).',
    cli: {
      group: 'what',
      arg: 'DUR',
      help: ['how often locks are sampled during --command (default 50ms)'],
    },
    input: true,
  },
  {
    name: 'lock-capture',
    type: 'choice',
    default: 'exact',
    description:
      "With command: exact (the tool connects through a lock-tracing proxy; every statement's locks are read in its own session) or sampled (pg_locks polled every lock-sample-interval, for a tool that cannot go through a proxy).",
    cli: {
      group: 'what',
      arg: 'MODE',
      help: ["--command's locks: exact (through a tracing proxy, default) or sampled"],
    },
    input: true,
  },
  {
    name: 'working-directory',
    type: 'text',
    default: '.',
    description: 'Where migrations and command are resolved.',
    cli: { group: 'what', arg: 'DIR', help: ['where globs are resolved (default .)'] },
    input: true,
  },
  {
    name: 'lock-monitoring',
    type: 'boolean',
    default: 'true',
    description: 'Observe locks.',
    cli: { group: 'what', help: ['do not trace locks'] },
    input: true,
  },
  {
    name: 'metrics',
    type: 'boolean',
    default: 'true',
    description: 'Capture sizes, rows and rewrites.',
    cli: { group: 'what', help: ['do not capture sizes, rows and rewrites'] },
    input: true,
  },
  {
    name: 'traffic',
    type: 'boolean',
    default: 'false',
    description:
      'Probe reads and writes on the touched tables while the migrations run, to measure who would really wait (max-read-block/max-write-block then judge measured waits).',
    cli: {
      group: 'what',
      help: [
        'probe reads and writes on the touched tables while the',
        'migrations run: measure who would really wait',
      ],
    },
    input: true,
  },
  {
    name: 'timeout',
    type: 'duration',
    default: '30m',
    description: 'Limit on the migration run; past it the run is cancelled and reported.',
    cli: { group: 'what', arg: 'DURATION', help: ['cancel the migrations after this long (default 30m)'] },
    input: true,
  },
  {
    name: 'rollback',
    type: 'boolean',
    default: 'false',
    description:
      'Rehearse the way back: each migration up, then its down (golang-migrate .down.sql, dbmate migrate:down, Flyway U files, plain <name>.down.sql; or down-command), then up again; the schema after the down must equal the schema before the up.',
    cli: {
      group: 'what',
      help: [
        'rehearse the way back: each migration up, down, up again;',
        'the schema after the down must equal the one before the up',
      ],
    },
    input: true,
  },
  {
    name: 'down-command',
    type: 'text',
    description:
      'With command and rollback: the command that undoes everything command applied (e.g. alembic downgrade -1), run with the same environment.',
    cli: {
      group: 'what',
      arg: 'CMD',
      help: ['with --command and --rollback: undoes what CMD applied,', "e.g. 'alembic downgrade -1'"],
    },
    input: true,
  },
  {
    name: 'advice',
    type: 'choice',
    default: 'auto',
    description:
      'Safer forms of risky statements (CREATE INDEX without CONCURRENTLY, a validated foreign key, ...): measured (each rehearsed on a fresh copy of the data, both costs shown), text, or off. Default auto: measured when the snapshot is a file copy or clone, text after a dump.',
    cli: {
      group: 'what',
      arg: 'MODE',
      help: [
        'safer forms of risky statements: measured (rehearsed on a',
        'fresh copy), text, off; default auto: measured after a',
        'file copy or clone, text after a dump',
      ],
    },
    input: true,
  },
];
