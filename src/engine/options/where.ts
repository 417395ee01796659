import type { OptionSpec } from './spec.js';

/** Where the rehearsal happens: the source, the snapshot server, the snapshot itself. */
export const WHERE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'source-url',
    type: 'url',
    description:
      'URL of the database the migrations are meant for (production, a replica, staging). Only read, to copy it. Not needed with snapshot: existing.',
    cli: { group: 'where', arg: 'URL', help: ['database the migrations are meant for (read-only)'] },
    input: true,
  },
  {
    name: 'snapshot-server-url',
    type: 'url',
    description:
      "URL of the server where the throwaway snapshot database is created (a CI service container, a rehearsal server). Default: the source's server, where `auto` refuses a source that others are connected to (set this, or snapshot: dump to accept the load).",
    cli: { group: 'where', arg: 'URL', help: ["server for the snapshot (default: the source's server)"] },
    input: true,
  },
  {
    name: 'snapshot',
    type: 'choice',
    default: 'auto',
    description:
      'How to make the snapshot: auto, template (file copy on the same server), dump (pg_dump | pg_restore), existing (clone the golden snapshot named by snapshot-name).',
    cli: { group: 'where', arg: 'STRATEGY', help: ['auto | template | dump | existing   (default auto)'] },
    input: true,
  },
  {
    name: 'snapshot-data',
    type: 'choice',
    default: 'all',
    description:
      "Which rows the snapshot gets: all (default), or touched: with a dump snapshot, every table's schema but only the rows of the tables the migrations lock and the tables they reference by foreign key; found by a dry pass on an empty copy, widened and rerun (at most 3 passes) if the real run locks a table without rows.",
    cli: {
      group: 'where',
      arg: 'WHICH',
      help: [
        "all | touched: with a dump, copy every table's schema but only",
        'the rows of the tables the migrations touch (default all)',
      ],
    },
    input: true,
  },
  {
    name: 'snapshot-name',
    type: 'text',
    description:
      'Name of the snapshot database (default: generated pg_rehearsal_<run>_<random>); with snapshot: existing, the golden snapshot to clone.',
    cli: {
      group: 'where',
      arg: 'NAME',
      help: ['name of the snapshot (with existing: the golden one to clone)'],
    },
    input: true,
  },
  {
    name: 'snapshot-max-age',
    type: 'duration',
    description:
      'With snapshot: existing, create the golden snapshot afresh from source-url when it is older than this (e.g. 24h) or missing; built aside and renamed into place. Without migrations and command, that is all the run does (a scheduled refresh).',
    cli: {
      group: 'where',
      arg: 'DURATION',
      help: [
        'with existing: create the golden snapshot afresh from',
        '--source-url when it is older than this (or missing), e.g. 24h',
        '(without --migrations and --command, that is all the run does)',
      ],
    },
    input: true,
  },
  {
    name: 'snapshot-ttl',
    type: 'duration',
    default: '6h',
    description:
      'How long a snapshot left behind (a crashed run, keep-snapshot) lives before a later run sweeps it.',
    cli: {
      group: 'where',
      arg: 'DURATION',
      help: ['a snapshot left behind is swept by a later run after', 'this long (default 6h)'],
    },
  },
  {
    name: 'keep-snapshot',
    type: 'boolean',
    default: 'false',
    description: 'Leave the snapshot database in place after the run, to inspect it.',
    cli: { group: 'where', help: ['leave the snapshot database in place'] },
    input: true,
  },
  {
    name: 'create-snapshot',
    type: 'boolean',
    default: 'true',
    description: 'Create the snapshot; false runs on the existing database snapshot-name as it is.',
    cli: { group: 'where', help: ['run on the existing database --snapshot-name as it is'] },
  },
  {
    name: 'pg-bin-dir',
    type: 'text',
    description:
      'Directory holding pg_dump and pg_restore for the dump snapshot (default: found on the runner).',
    cli: { group: 'where', arg: 'DIR', help: ['directory with pg_dump/pg_restore for the dump strategy'] },
    input: true,
  },
];
