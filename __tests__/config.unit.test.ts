import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { buildConfig, generateSnapshotName, type RawOptions } from '../src/engine/config.js';
import {
  connectionUrl,
  parseConnectionUrl,
  redactedUrl,
  redactSecrets,
  redactUnparsedUrl,
  redactUrlString,
  withDatabase,
} from '../src/engine/connection.js';
import { ConfigError, errorText } from '../src/engine/errors.js';
import { OPTIONS } from '../src/engine/options/index.js';
import { RUN_NAMING } from '../src/cli/run.js';

const SOURCE = 'postgresql://app:s3cret@db.example.com:6543/shop?sslmode=require';
const CWD = path.resolve('/tmp/pg-rehearsal-config-test');
const context = { cwd: CWD, runId: 'run-42' };

function build(overrides: RawOptions = {}) {
  return buildConfig({ 'source-url': SOURCE, migrations: 'migrations/*.sql', ...overrides }, context);
}

/** Runs buildConfig, expecting a ConfigError, and returns it worded as the CLI words it. */
function configError(raw: RawOptions): ConfigError {
  try {
    buildConfig(raw, context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return new ConfigError((error as ConfigError).option, errorText(error, RUN_NAMING));
  }
  throw new Error(`buildConfig accepted ${JSON.stringify(raw)}`);
}

function expectConfigError(overrides: RawOptions, option: string, ...fragments: string[]): ConfigError {
  const error = configError({ 'source-url': SOURCE, migrations: 'migrations/*.sql', ...overrides });
  expect(error.name).toBe('ConfigError');
  expect(error.option).toBe(option);
  expect(error.message.startsWith(`--${option}`)).toBe(true);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

describe('buildConfig: invalid values', () => {
  it.each(['max-duration', 'max-read-block', 'max-write-block', 'timeout', 'snapshot-ttl'])(
    'rejects a bad duration for %s',
    (option) => {
      expectConfigError({ [option]: '5 sekunds' }, option, `--${option}`, '"5 sekunds"', '30s', '500ms');
    },
  );

  it('rejects a unitless non-zero duration', () => {
    expectConfigError({ 'max-duration': '10' }, 'max-duration', '"10"', 'is not a duration');
  });

  it('rejects an unknown layout', () => {
    expectConfigError({ layout: 'rails' }, 'layout', '"rails"', 'flyway');
  });

  it('rejects a lock-sample-interval below 5ms', () => {
    expectConfigError({ 'lock-sample-interval': '1ms' }, 'lock-sample-interval', 'at least 5ms');
    expectConfigError({ 'lock-sample-interval': 'often' }, 'lock-sample-interval', '"often"');
  });

  it('rejects a zero timeout', () => {
    expectConfigError({ timeout: '0' }, 'timeout', 'greater than 0', '30m');
  });

  it('rejects a bad max-size-increase', () => {
    expectConfigError(
      { 'max-size-increase': 'ten percent' },
      'max-size-increase',
      '"ten percent"',
      'is not a size',
      '500MB',
      '10%',
    );
  });

  it('rejects a bad max-rewrite-size (a percent is not allowed there)', () => {
    expectConfigError({ 'max-rewrite-size': 'ten percent' }, 'max-rewrite-size', '"ten percent"', '100MB');
    expectConfigError({ 'max-rewrite-size': '10%' }, 'max-rewrite-size', '"10%"');
    expectConfigError({ 'max-rewrite-size': '5XB' }, 'max-rewrite-size', '"5XB"');
  });

  it('rejects a malformed source-url with a message naming the option', () => {
    const error = configError({ 'source-url': 'not a url', migrations: 'm' });
    expect(error.message.startsWith('--source-url')).toBe(true);
    expect(error.message).toContain('"not a url" is not a valid URL');
    expect(error.message).toContain('postgresql://');
  });

  it('rejects an unsupported scheme', () => {
    const error = configError({ 'source-url': 'mysql://x', migrations: 'm' });
    expect(error.message.startsWith('--source-url')).toBe(true);
    expect(error.message).toContain('scheme "mysql" is not supported');
  });

  it('rejects a malformed snapshot-server-url', () => {
    const error = configError({ 'source-url': SOURCE, 'snapshot-server-url': 'nope', migrations: 'm' });
    expect(error.message.startsWith('--snapshot-server-url')).toBe(true);
  });

  it('does not echo the password of a malformed URL', () => {
    const error = configError({ 'source-url': 'postgresql://bob:s3cret@h:99999/db', migrations: 'm' });
    expect(error.message).not.toContain('s3cret');
  });

  // Regression (was a bug): the flag ("--source-url") once reached ConfigError.option too.
  it('sets .option to the bare option name for URL errors', () => {
    expect(configError({ 'source-url': 'not a url', migrations: 'm' }).option).toBe('source-url');
    expect(configError({ 'source-url': 'mysql://x', migrations: 'm' }).option).toBe('source-url');
  });

  it('rejects migrations and command together', () => {
    expectConfigError({ command: 'npx prisma migrate deploy' }, 'migrations', 'command', 'both set');
  });

  it('requires migrations or command', () => {
    expectConfigError({ migrations: undefined }, 'migrations', 'is required', 'command');
    expectConfigError({ migrations: '', command: '  ' }, 'migrations', 'is required');
  });

  it('without migrations or command, is a refresh-only run only with snapshot: existing and snapshot-max-age', () => {
    const golden = { migrations: undefined, snapshot: 'existing', 'snapshot-name': 'shop_golden' };
    const refresh = build({ ...golden, 'snapshot-max-age': '24h' });
    expect(refresh.runner).toEqual({ kind: 'none' });
    expect(refresh.snapshot).toMatchObject({ kind: 'golden', refresh: { maxAgeMs: 86_400_000 } });
    const says = [
      'is required (or --command)',
      'set --snapshot existing with --snapshot-name, --snapshot-max-age and --source-url',
    ];
    expectConfigError(golden, 'migrations', ...says);
    expectConfigError(
      { ...golden, 'snapshot-max-age': '24h', 'create-snapshot': false },
      'migrations',
      'is required (or --command)',
      '--no-create-snapshot uses a database as it is, so it cannot refresh a golden snapshot',
    );
    expectConfigError({ migrations: undefined, 'snapshot-max-age': '24h' }, 'migrations', ...says);
  });

  // Every threshold in the option table, so that a new max-* is refused there too.
  const thresholds = OPTIONS.filter((o) => o.name.startsWith('max-')).map((o): [string, string] => [
    o.name,
    '0',
  ]);
  it.each([...thresholds, ['rollback', 'true'], ['traffic', 'true']])(
    'refuses %s in a refresh-only run, which rehearses nothing to check it against',
    (option, value) => {
      const refreshOnly = {
        migrations: undefined,
        snapshot: 'existing',
        'snapshot-name': 'shop_golden',
        'snapshot-max-age': '24h',
      };
      expectConfigError(
        { ...refreshOnly, [option]: value },
        option,
        'only refreshes the golden snapshot (no --migrations, no --command)',
        'remove it, or give the migrations to rehearse',
      );
      expect(build({ ...refreshOnly, [option]: value, migrations: 'db/*.sql' }).runner.kind).toBe('sql');
    },
  );

  it.each([
    ['require-down', 'true'],
    ['down-command', 'npx knex migrate:down'],
  ])(
    'refuses %s in a refresh-only run as migrations, not as rollback (which it would refuse next)',
    (option, value) => {
      const refreshOnly = {
        migrations: undefined,
        snapshot: 'existing',
        'snapshot-name': 'shop_golden',
        'snapshot-max-age': '24h',
      };
      const error = expectConfigError(
        { ...refreshOnly, [option]: value },
        option,
        'only refreshes the golden snapshot',
      );
      expect(error.message).not.toContain('set --rollback');
    },
  );

  it.each(['x; drop', '1abc', 'a-b', 'a'.repeat(64), 'name"'])('rejects unsafe snapshot-name %j', (name) => {
    expectConfigError({ 'snapshot-name': name }, 'snapshot-name', `"${name}"`, 'not a safe database name');
  });

  it('accepts a 63-character snapshot-name', () => {
    const name = `_${'a'.repeat(62)}`;
    expect(build({ 'snapshot-name': name }).snapshot).toMatchObject({ kind: 'copy', name });
  });

  it('rejects an unknown snapshot strategy', () => {
    expectConfigError({ snapshot: 'clone' }, 'snapshot', '"clone"', 'auto, template, dump, existing');
  });

  it.each(['keep-snapshot', 'lock-monitoring', 'metrics', 'fail-on-error', 'create-snapshot'])(
    'rejects a bad boolean for %s',
    (option) => {
      expectConfigError({ [option]: 'maybe' }, option, '"maybe"', 'not a boolean', 'true or false');
    },
  );

  it('requires source-url', () => {
    expectConfigError({ 'source-url': undefined }, 'source-url', 'is required');
    expectConfigError({ 'source-url': '' }, 'source-url', 'is required');
  });

  it('requires snapshot-name with snapshot: existing', () => {
    expectConfigError({ snapshot: 'existing' }, 'snapshot-name', 'is required', 'existing');
  });

  it('requires snapshot-name when the snapshot is not created', () => {
    expectConfigError({ 'create-snapshot': 'false' }, 'snapshot-name', 'is required');
  });

  it('requires a server when no source-url is given', () => {
    const error = configError({ snapshot: 'existing', 'snapshot-name': 'golden', migrations: 'm' });
    expect(error.option).toBe('snapshot-server-url');
    expect(error.message.startsWith('--snapshot-server-url')).toBe(true);
  });

  it('names the option plainly in a message no adapter words', () => {
    try {
      buildConfig({ 'source-url': SOURCE, migrations: 'm', 'max-duration': 'soon' });
      throw new Error('not rejected');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message.startsWith('max-duration: "soon"')).toBe(true);
    }
  });
});

describe('buildConfig: empty strings mean "not given"', () => {
  it('treats every empty input like an absent one (as the GitHub runner passes them)', () => {
    const config = build({
      'max-duration': '',
      'max-read-block': '',
      'max-write-block': '',
      'max-size-increase': '',
      'max-rewrite-size': '',
      timeout: '',
      'snapshot-ttl': '',
      snapshot: '',
      'snapshot-name': '',
      'snapshot-server-url': '',
      command: '',
      'keep-snapshot': '',
      'lock-monitoring': '',
      metrics: '',
      'fail-on-error': '',
      'create-snapshot': '',
      'working-directory': '',
      'pg-bin-dir': '',
    });
    expect(config.thresholds.maxDurationMs).toBeUndefined();
    expect(config.thresholds.maxReadBlockMs).toBeUndefined();
    expect(config.thresholds.maxWriteBlockMs).toBeUndefined();
    expect(config.thresholds.maxSizeIncrease).toBeUndefined();
    expect(config.thresholds.maxRewriteSizeBytes).toBeUndefined();
    expect(config.timeoutMs).toBe(30 * 60_000);
    expect(config.snapshot).toEqual({
      kind: 'copy',
      strategy: 'auto',
      source: config.source,
      name: undefined,
      data: 'all',
      keep: false,
      ttlMs: 6 * 3_600_000,
    });
    expect(config.runner).toEqual({ kind: 'sql', patterns: ['migrations/*.sql'] });
    expect(config.lockMonitoring).toBe(true);
    expect(config.metrics).toBe(true);
    expect(config.failOnError).toBe(true);
    expect(config.workingDirectory).toBe(CWD);
    expect(config.pgBinDir).toBeUndefined();
  });

  it('treats whitespace-only values as not given', () => {
    expect(build({ 'max-duration': '   ' }).thresholds.maxDurationMs).toBeUndefined();
  });
});

describe('buildConfig: valid config', () => {
  it('converts thresholds to milliseconds and bytes', () => {
    const config = build({
      'max-duration': '5m',
      'max-read-block': '500ms',
      'max-write-block': '1.5s',
      'max-size-increase': '500MB',
      'max-rewrite-size': '0',
      timeout: '1h',
      'snapshot-ttl': '2h',
    });
    expect(config.thresholds).toEqual({
      maxDurationMs: 300_000,
      maxReadBlockMs: 500,
      maxWriteBlockMs: 1500,
      maxSizeIncrease: { kind: 'bytes', bytes: 500 * 1024 ** 2 },
      maxRewriteSizeBytes: 0,
    });
    expect(config.timeoutMs).toBe(3_600_000);
    expect(config.snapshot).toMatchObject({ ttlMs: 7_200_000 });
  });

  it('accepts a 0 duration threshold (any blocking fails)', () => {
    expect(build({ 'max-write-block': '0' }).thresholds.maxWriteBlockMs).toBe(0);
  });

  it('accepts a percent size increase', () => {
    expect(build({ 'max-size-increase': '10%' }).thresholds.maxSizeIncrease).toEqual({
      kind: 'percent',
      percent: 10,
    });
    expect(build({ 'max-size-increase': '2.5 %' }).thresholds.maxSizeIncrease).toEqual({
      kind: 'percent',
      percent: 2.5,
    });
  });

  it('defaults the timeout to 30 minutes', () => {
    expect(build().timeoutMs).toBe(1_800_000);
  });

  it('defaults the layout to auto and the lock sample interval to 50ms', () => {
    expect(build().layout).toBe('auto');
    expect(build().lockSampleIntervalMs).toBe(50);
    expect(build({ layout: 'flyway', 'lock-sample-interval': '200ms' })).toMatchObject({
      layout: 'flyway',
      lockSampleIntervalMs: 200,
    });
  });

  it('parses the source and defaults the snapshot server to its server, database postgres', () => {
    const config = build();
    expect(config.source).toEqual({
      host: 'db.example.com',
      port: 6543,
      user: 'app',
      password: 's3cret',
      database: 'shop',
      params: { sslmode: 'require' },
    });
    expect(config.snapshotServer).toEqual({ ...config.source, database: 'postgres' });
  });

  it('uses snapshot-server-url as given when set', () => {
    const config = build({ 'snapshot-server-url': 'postgresql://admin@scratch:5433/maint' });
    expect(config.snapshotServer).toMatchObject({
      host: 'scratch',
      port: 5433,
      user: 'admin',
      database: 'maint',
    });
    expect(config.source?.host).toBe('db.example.com');
  });

  it('needs no source with snapshot: existing when a snapshot server is given', () => {
    const config = buildConfig(
      {
        snapshot: 'existing',
        'snapshot-name': 'golden',
        'snapshot-server-url': 'postgresql://u@h/postgres',
        command: 'make migrate',
      },
      context,
    );
    expect(config.source).toBeUndefined();
    expect(config.snapshot).toEqual({ kind: 'golden', golden: 'golden', keep: false, ttlMs: 6 * 3_600_000 });
    expect(config.runner).toEqual({ kind: 'command', command: 'make migrate' });
  });

  it('resolves working-directory against context.cwd', () => {
    expect(build({ 'working-directory': 'db' }).workingDirectory).toBe(path.join(CWD, 'db'));
    expect(build({ 'working-directory': '../other' }).workingDirectory).toBe(path.resolve(CWD, '../other'));
    expect(build({ 'working-directory': '/abs/dir' }).workingDirectory).toBe(path.resolve('/abs/dir'));
    expect(build().workingDirectory).toBe(CWD);
  });

  it('defaults the working directory to process.cwd() without context.cwd', () => {
    const config = buildConfig({ 'source-url': SOURCE, migrations: 'm' });
    expect(config.workingDirectory).toBe(process.cwd());
  });

  it('splits migrations on newlines, trimming and dropping blank lines', () => {
    const config = build({ migrations: 'migrations/*.sql\r\n\n  extra/**/*.sql  \n\nseed.sql\n' });
    expect(config.runner).toEqual({
      kind: 'sql',
      patterns: ['migrations/*.sql', 'extra/**/*.sql', 'seed.sql'],
    });
  });

  it('uses a command runner when command is given', () => {
    const config = buildConfig({ 'source-url': SOURCE, command: 'npm run migrate' }, context);
    expect(config.runner).toEqual({ kind: 'command', command: 'npm run migrate' });
  });

  it.each([
    ['true', true],
    ['YES', true],
    ['on', true],
    ['1', true],
    ['false', false],
    ['No', false],
    ['off', false],
    ['0', false],
  ])('parses boolean %j as %s', (value, expected) => {
    expect(build({ 'keep-snapshot': value }).snapshot).toMatchObject({ keep: expected });
    expect(build({ metrics: value }).metrics).toBe(expected);
  });

  it('accepts real booleans (CLI flags)', () => {
    const config = build({ 'keep-snapshot': true, 'lock-monitoring': false, 'fail-on-error': false });
    expect(config.snapshot).toMatchObject({ keep: true });
    expect(config.lockMonitoring).toBe(false);
    expect(config.failOnError).toBe(false);
  });

  it.each(['auto', 'template', 'dump'])('accepts snapshot strategy %s', (strategy) => {
    expect(build({ snapshot: strategy }).snapshot).toMatchObject({ kind: 'copy', strategy });
  });

  it('reuses an existing database when create-snapshot is false', () => {
    const config = build({ 'create-snapshot': 'false', 'snapshot-name': 'prepared_db' });
    expect(config.snapshot).toEqual({ kind: 'reuse', name: 'prepared_db' });
  });

  it('sanitizes the run id', () => {
    expect(build().runId).toBe('run42');
    expect(buildConfig({ 'source-url': SOURCE, migrations: 'm' }, { runId: '---' }).runId).toBe('run');
    expect(
      buildConfig({ 'source-url': SOURCE, migrations: 'm' }, { runId: 'a'.repeat(30) }).runId,
    ).toHaveLength(20);
    expect(buildConfig({ 'source-url': SOURCE, migrations: 'm' }).runId).toMatch(/^[a-z0-9]+$/);
  });

  it('keeps pg-bin-dir', () => {
    expect(build({ 'pg-bin-dir': ' /usr/lib/postgresql/17/bin ' }).pgBinDir).toBe(
      '/usr/lib/postgresql/17/bin',
    );
  });
});

describe('generateSnapshotName', () => {
  const PATTERN = /^pg_rehearsal_[A-Za-z0-9]+_[0-9a-f]{8}$/;

  it('has the recognisable shape, with the run id sanitized', () => {
    for (const runId of ['12345', 'run-42', 'a b/c', '', '!!!', 'x'.repeat(50)]) {
      const name = generateSnapshotName(runId);
      expect(name).toMatch(PATTERN);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    expect(generateSnapshotName('run-42')).toMatch(/^pg_rehearsal_run42_[0-9a-f]{8}$/);
    expect(generateSnapshotName('')).toMatch(/^pg_rehearsal_run_[0-9a-f]{8}$/);
  });

  it('is unique across calls', () => {
    const names = new Set(Array.from({ length: 200 }, () => generateSnapshotName('42')));
    expect(names.size).toBe(200);
  });

  it('is a safe snapshot-name for buildConfig', () => {
    const name = generateSnapshotName('7');
    expect(build({ 'snapshot-name': name }).snapshot).toMatchObject({ name });
  });
});

describe('parseConnectionUrl', () => {
  it('reads user, password, host, port and database', () => {
    expect(parseConnectionUrl('postgresql://bob:p%40ss@db.internal:6000/app', 'source-url')).toEqual({
      host: 'db.internal',
      port: 6000,
      user: 'bob',
      password: 'p@ss',
      database: 'app',
      params: {},
    });
  });

  it('defaults the port to 5432 and accepts the postgres: scheme', () => {
    const info = parseConnectionUrl('postgres://bob@h/app', 'source-url');
    expect(info.port).toBe(5432);
    expect(info.password).toBeUndefined();
  });

  it('defaults the database to postgres and the host to localhost', () => {
    expect(parseConnectionUrl('postgresql://bob@h', 'x').database).toBe('postgres');
    expect(parseConnectionUrl('postgresql://bob@h/', 'x').database).toBe('postgres');
    expect(parseConnectionUrl('postgresql:///db', 'x').host).toBe('localhost');
  });

  it('honours ?host= for a Unix socket and keeps other params such as sslmode', () => {
    const info = parseConnectionUrl(
      'postgresql://bob:pw@localhost/app?host=/var/run/postgresql&sslmode=disable&application_name=x',
      'x',
    );
    expect(info.host).toBe('/var/run/postgresql');
    expect(info.port).toBe(5432);
    expect(info.database).toBe('app');
    expect(info.params).toEqual({ sslmode: 'disable', application_name: 'x' });
  });

  // Regression (was a bug): libpq accepts user@ with an empty host (postgresql://bob:pw@/app?host=/socket/dir),
  // but WHATWG URL rejects credentials without a host, so it is reported as "not a valid URL".
  it('accepts the libpq socket form with a user and an empty host', () => {
    const info = parseConnectionUrl('postgresql://bob:pw@/app?host=/var/run/postgresql', 'x');
    expect(info).toMatchObject({ host: '/var/run/postgresql', user: 'bob', password: 'pw', database: 'app' });
  });

  it('takes port, user and dbname from the query when absent from the URL', () => {
    const info = parseConnectionUrl('postgresql:///?host=/tmp&port=5499&user=carol&dbname=shop', 'x');
    expect(info).toEqual({
      host: '/tmp',
      port: 5499,
      user: 'carol',
      password: undefined,
      database: 'shop',
      params: {},
    });
  });

  it('strips IPv6 brackets and decodes the database', () => {
    const info = parseConnectionUrl('postgresql://u@[::1]:5433/my%20db', 'x');
    expect(info.host).toBe('::1');
    expect(info.database).toBe('my db');
  });

  it('rejects an invalid port with a ConfigError naming the option', () => {
    expect(() => parseConnectionUrl('postgresql://u@h/db?port=abc', 'source-url')).toThrow(ConfigError);
    expect(() => parseConnectionUrl('postgresql://u@h/db?port=abc', 'source-url')).toThrow(
      /^source-url: port "abc"/,
    );
  });

  it('rejects non-URLs and other schemes with a ConfigError', () => {
    expect(() => parseConnectionUrl('not a url', 'source-url')).toThrow(ConfigError);
    expect(() => parseConnectionUrl('mysql://x', 'source-url')).toThrow(/scheme "mysql" is not supported/);
    expect(() => parseConnectionUrl('https://x/db', 'source-url')).toThrow(ConfigError);
  });
});

describe('redactedUrl', () => {
  it('never contains the password', () => {
    const info = parseConnectionUrl('postgresql://bob:s3cret@h:5432/db?sslmode=require', 'x');
    const text = redactedUrl(info);
    expect(text).toBe('postgresql://bob:***@h:5432/db');
    expect(text).not.toContain('s3cret');
  });

  it('shows no password marker when there is none', () => {
    expect(redactedUrl(parseConnectionUrl('postgresql://bob@h/db', 'x'))).toBe('postgresql://bob@h:5432/db');
  });

  it('prints a socket host as query parameters, and brackets IPv6 hosts', () => {
    expect(redactedUrl(parseConnectionUrl('postgresql://bob:pw@localhost/db?host=/tmp', 'x'))).toBe(
      'postgresql://bob:***@/db?host=/tmp&port=5432',
    );
    expect(redactedUrl(parseConnectionUrl('postgresql://bob:pw@[::1]:5433/db', 'x'))).toBe(
      'postgresql://bob:***@[::1]:5433/db',
    );
  });

  it('hides passwords that would be percent-encoded', () => {
    const info = { ...parseConnectionUrl('postgresql://bob@h/db', 'x'), password: 'p@ss:w/rd' };
    const text = redactedUrl(info);
    expect(text).not.toContain('p@ss');
    expect(text).not.toContain(encodeURIComponent('p@ss:w/rd'));
  });
});

describe('redactUrlString', () => {
  it('replaces passwords in free text', () => {
    const text = redactUrlString('could not connect postgresql://bob:s3cret@h:5432/db');
    expect(text).toBe('could not connect postgresql://bob:***@h:5432/db');
    expect(text).not.toContain('s3cret');
  });

  it('replaces every URL in the text, both schemes', () => {
    const text = redactUrlString('from postgres://a:one@h1/db to postgresql://b:two@h2/db failed');
    expect(text).toBe('from postgres://a:***@h1/db to postgresql://b:***@h2/db failed');
  });

  it('leaves URLs without a password and other text alone', () => {
    expect(redactUrlString('postgresql://bob@h:5432/db')).toBe('postgresql://bob@h:5432/db');
    expect(redactUrlString('host h:5432 refused')).toBe('host h:5432 refused');
  });
});

describe('passwords outside the usual place', () => {
  it('hides a raw password holding @ whole, and ?password= parameters', () => {
    expect(redactUrlString('to postgresql://bob:p@ss@h:5432/db ok')).toBe(
      'to postgresql://bob:***@h:5432/db ok',
    );
    expect(redactUrlString('postgresql://bob@h/db?sslmode=require&password=hunter2')).toBe(
      'postgresql://bob@h/db?sslmode=require&password=***',
    );
  });

  it('takes ?password= as the password, not as a parameter passed on', () => {
    const info = parseConnectionUrl('postgresql://bob@h/db?password=hunter2&sslmode=require', 'source-url');
    expect(info.password).toBe('hunter2');
    expect(info.params).toEqual({ sslmode: 'require' });
    expect(redactedUrl(info)).toBe('postgresql://bob:***@h:5432/db');
  });

  it('never echoes the password of a value that is not a URL', () => {
    expect(redactUnparsedUrl('postgres://bob:my secret@db host/app')).toBe('postgres://bob:***@db host/app');
    expect(redactUnparsedUrl('host=db user=bob password=hunter2 dbname=app')).toBe(
      'host=db user=bob password=*** dbname=app',
    );
    let message = '';
    try {
      parseConnectionUrl('postgresql://bob:my secret@db host/app', 'source-url');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('is not a valid URL');
    expect(message).not.toContain('secret');
  });

  it('redactSecrets hides each password literally and percent-encoded, besides URL passwords', () => {
    const text = redactSecrets('PGPASSWORD=p#ss/1 url=postgresql://u:p%23ss%2F1@h/db raw p%23ss%2F1', [
      'p#ss/1',
    ]);
    expect(text).toBe('PGPASSWORD=*** url=postgresql://u:***@h/db raw ***');
  });
});

describe('connectionUrl', () => {
  it.each([
    'postgresql://bob:s3cret@db.example.com:6543/shop?sslmode=require',
    'postgresql://b%20ob:p%40ss%2F%3A%25@[::1]:6543/my%20db?sslmode=require&application_name=x',
    'postgresql://bob@h/db',
  ])('round-trips %s through parseConnectionUrl', (url) => {
    const info = parseConnectionUrl(url, 'x');
    expect(parseConnectionUrl(connectionUrl(info), 'x')).toEqual(info);
  });

  it('prints a socket host as ?host= and ?port=', () => {
    const info = parseConnectionUrl(
      'postgresql://bob:pw@localhost/app?host=/var/run/postgresql&port=5499',
      'x',
    );
    expect(connectionUrl(info)).toBe('postgresql://bob:pw@/app?host=%2Fvar%2Frun%2Fpostgresql&port=5499');
  });

  // Regression (was a bug): for a socket host connectionUrl emits "postgresql://bob:pw@/app?host=...", which
  // parseConnectionUrl (WHATWG URL) rejects, so the DATABASE_URL it builds does not round-trip.
  it('round-trips a Unix-socket connection through parseConnectionUrl', () => {
    const info = parseConnectionUrl(
      'postgresql://bob:pw@localhost/app?host=/var/run/postgresql&port=5499',
      'x',
    );
    expect(parseConnectionUrl(connectionUrl(info), 'x')).toEqual(info);
  });

  it('includes the password, encoded', () => {
    const info = parseConnectionUrl('postgresql://bob:p%40ss@h/db', 'x');
    expect(connectionUrl(info)).toBe('postgresql://bob:p%40ss@h:5432/db');
  });

  it('withDatabase swaps only the database', () => {
    const info = parseConnectionUrl(SOURCE, 'x');
    const other = withDatabase(info, 'postgres');
    expect(other).toEqual({ ...info, database: 'postgres' });
    expect(info.database).toBe('shop');
  });
});

describe('snapshot-data', () => {
  it('is all by default and touched when asked, on a copy made by dump or auto', () => {
    expect(build().snapshot).toMatchObject({ kind: 'copy', data: 'all' });
    expect(build({ 'snapshot-data': 'touched', snapshot: 'dump' }).snapshot).toMatchObject({
      kind: 'copy',
      strategy: 'dump',
      data: 'touched',
    });
    expect(build({ 'snapshot-data': 'touched' }).snapshot).toMatchObject({
      strategy: 'auto',
      data: 'touched',
    });
  });

  it.each([
    [
      { snapshot: 'template' },
      'does not apply to --snapshot template',
      'a file copy is already the whole database in one step',
    ],
    [
      { snapshot: 'existing', 'snapshot-name': 'golden' },
      'does not apply to --snapshot existing',
      'a file copy',
    ],
    [
      { 'create-snapshot': 'false', 'snapshot-name': 'db' },
      '--no-create-snapshot',
      'reuses the database as it is',
    ],
    [{ 'lock-capture': 'sampled' }, 'traced exactly', '--lock-capture exact'],
    [{ 'lock-monitoring': 'false' }, 'it needs --lock-monitoring and'],
  ])(
    'touched with %j is an error naming --snapshot-data and why',
    (raw: RawOptions, ...fragments: string[]) => {
      expectConfigError({ 'snapshot-data': 'touched', ...raw }, 'snapshot-data', ...fragments);
    },
  );

  it('refuses a value that is not a choice', () => {
    expectConfigError(
      { 'snapshot-data': 'some' },
      'snapshot-data',
      '"some" is not a choice',
      'all (the default) or touched',
    );
  });
});
