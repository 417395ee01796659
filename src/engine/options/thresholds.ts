import type { OptionSpec } from './spec.js';

/** The thresholds, and the switches that decide whether a breach or an error fails the run. */
export const THRESHOLD_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'max-duration',
    type: 'duration',
    description: 'Fail when the migrations take longer than this in total, e.g. 30s, 5m.',
    cli: { group: 'thresholds', arg: 'DURATION', help: ['total migration time, e.g. 30s'] },
    input: true,
  },
  {
    name: 'max-read-block',
    type: 'duration',
    description:
      'Fail when a table is held in a mode that blocks reads (ACCESS EXCLUSIVE) longer than this, e.g. 500ms.',
    cli: {
      group: 'thresholds',
      arg: 'DURATION',
      help: ['longest ACCESS EXCLUSIVE hold on a table, e.g. 500ms'],
    },
    input: true,
  },
  {
    name: 'max-write-block',
    type: 'duration',
    description:
      'Fail when a table is held in a mode that blocks writes (SHARE and stronger) longer than this, e.g. 2s.',
    cli: {
      group: 'thresholds',
      arg: 'DURATION',
      help: ['longest hold of a lock that blocks writes, e.g. 2s'],
    },
    input: true,
  },
  {
    name: 'max-size-increase',
    type: 'size',
    description: 'Fail when the database grows more than this, e.g. 500MB or 10%.',
    cli: { group: 'thresholds', arg: 'SIZE', help: ['e.g. 500MB or 10%'] },
    input: true,
  },
  {
    name: 'max-rewrite-size',
    type: 'size',
    description: 'Fail when a table at least this large is rewritten (0 = any rewrite), e.g. 100MB.',
    cli: {
      group: 'thresholds',
      arg: 'SIZE',
      help: ['fail when a table this large is rewritten (0 = any)'],
    },
    input: true,
  },
  {
    name: 'require-reversible',
    type: 'boolean',
    description:
      'With rollback: a down that fails, or leaves the schema different, or after which the up cannot run again, breaches (default true when rollback is on).',
    cli: {
      group: 'thresholds',
      negated: true,
      help: [
        'with --rollback: a down that fails or leaves the schema',
        'different is reported, not a breach (default: a breach)',
      ],
    },
    input: true,
  },
  {
    name: 'require-down',
    type: 'boolean',
    description: 'With rollback: a migration without a down breaches (default false).',
    cli: { group: 'thresholds', help: ['with --rollback: a migration without a down is a breach'] },
    input: true,
  },
  {
    name: 'fail-on-violation',
    type: 'boolean',
    default: 'true',
    description:
      'A breached threshold fails the check; false reports breaches without failing (migration errors still follow fail-on-error).',
    cli: {
      group: 'thresholds',
      help: [
        'a breached threshold is reported without failing the run',
        '(a migration error still fails it; see --no-fail-on-error)',
      ],
    },
    input: true,
  },
  {
    name: 'fail-on-error',
    type: 'boolean',
    default: 'true',
    description: 'A migration error fails the check.',
    cli: { group: 'thresholds', help: ['a migration error alone does not fail the run'] },
    input: true,
  },
];
