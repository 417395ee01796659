import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SHOP_V1_SCHEMA, SHOP_V2_MIGRATIONS, shopSeedSql } from '../src/demo/shop.js';
import type { Report } from '../src/engine/report.js';
import { renderJunit } from '../src/render/junit.js';
import { renderSarif } from '../src/render/sarif.js';
import { runAction } from './helpers/action-runner.js';
import { runCli } from './helpers/cli.js';
import { FakeGitHub } from './helpers/fake-github.js';
import { migrationDir, rehearseOn, type RehearsalRun } from './helpers/rehearsal.js';
import { createDatabase, dropDatabase, testServers } from './helpers/servers.js';

const [local] = testServers();
const require = createRequire(import.meta.url);
/** The SARIF 2.1.0 JSON schema (OASIS), as the @microsoft/jest-sarif package ships it. */
const SARIF_SCHEMA = JSON.parse(
  readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
);
// A CommonJS package: its class is the `default` export, which ESM's default import does not unwrap.
type Validator = ((data: unknown) => boolean) & { errors?: unknown };
const Ajv = (
  require('ajv-draft-04') as {
    default: new (options: Record<string, unknown>) => { compile: (schema: unknown) => Validator };
  }
).default;
// The schema's own language-tag pattern is not valid with the `u` flag ajv uses by default.
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
// The schema's `uri` and `date-time` formats are checked too, not just the structure.
(require('ajv-formats') as { default: (ajv: unknown) => void }).default(ajv);
const validateSarif = ajv.compile(SARIF_SCHEMA);
const THRESHOLDS = { 'max-rewrite-size': '0', 'max-duration': '1ms' };
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });

interface SarifResult {
  ruleId: string;
  level: string;
  message: { text: string };
  locations?: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[];
}

function sarifResults(text: string): SarifResult[] {
  const log = JSON.parse(text);
  expect(validateSarif(log) ? [] : validateSarif.errors).toEqual([]);
  return log.runs[0].results;
}

describe('SARIF and JUnit from a failing sample shop upgrade', () => {
  let run: RehearsalRun;
  let report: Report;
  beforeAll(async () => {
    run = await rehearseOn(local, `${SHOP_V1_SCHEMA}${shopSeedSql(2000)}`, SHOP_V2_MIGRATIONS, THRESHOLDS);
    report = run.report;
  });
  afterAll(async () => run.cleanup());

  it('SARIF validates against the 2.1.0 schema, a result per violation at its file and line', () => {
    expect(report.passed).toBe(false);
    const results = sarifResults(renderSarif(report, { uriOf: (f) => `db/${f}` }));
    const rewrite = results.find((r) => r.ruleId === 'max-rewrite-size');
    expect(rewrite).toMatchObject({ level: 'error' });
    expect(rewrite!.locations![0].physicalLocation).toEqual({
      artifactLocation: { uri: 'db/003_price_numeric.sql' },
      region: { startLine: 2 },
    });
    // One result per violation; the run-wide max-duration has no file to point at.
    const errors = results.filter((r) => r.level === 'error');
    expect(errors.map((r) => r.ruleId).sort()).toEqual(report.violations.map((v) => v.rule).sort());
    expect(results.find((r) => r.ruleId === 'max-duration')?.locations).toBeUndefined();
    // And one warning per piece of advice, on the statement's line.
    expect(report.advice.length).toBeGreaterThan(0);
    for (const a of report.advice) {
      expect(results).toContainEqual(
        expect.objectContaining({
          ruleId: a.rule,
          level: 'warning',
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: `db/${a.statement.path}` },
                region: { startLine: a.statement.line },
              },
            },
          ],
        }),
      );
    }
  });

  it('JUnit parses: a test case per file, the rewriting file failed, run-wide limits in their own case', () => {
    const text = renderJunit(report);
    expect(XMLValidator.validate(text)).toBe(true);
    const suite = xml.parse(text).testsuites.testsuite;
    const cases = suite.testcase as { name: string; failure?: unknown }[];
    expect(cases.map((c) => c.name)).toEqual([
      '001_add_product_details.sql',
      '002_backfill_defaults.sql',
      '003_price_numeric.sql',
      'thresholds',
    ]);
    expect(cases[2].failure).toBeDefined();
    expect(cases[0].failure).toBeUndefined();
    expect(JSON.stringify(cases[3].failure)).toContain('max-duration');
    expect(Number(suite.failures)).toBe(cases.filter((c) => c.failure).length);
  });
});

describe('a failed migration in SARIF and JUnit', () => {
  it('is an error result and an <error> test case with its SQLSTATE; later files are skipped', async () => {
    const run = await rehearseOn(local, 'CREATE TABLE t (id int);', {
      '001_ok.sql': 'ALTER TABLE t ADD COLUMN v int;',
      '002_bad.sql': 'SELECT 1;\nALTER TABLE missing ADD COLUMN x int; -- <&\'"> in a comment',
      '003_later.sql': 'ALTER TABLE t ADD COLUMN w int;',
    });
    try {
      const results = sarifResults(renderSarif(run.report));
      expect(results).toEqual([
        expect.objectContaining({
          ruleId: 'migration-error',
          locations: [
            { physicalLocation: { artifactLocation: { uri: '002_bad.sql' }, region: { startLine: 2 } } },
          ],
        }),
      ]);
      const text = renderJunit(run.report);
      expect(XMLValidator.validate(text)).toBe(true);
      const cases = xml.parse(text).testsuites.testsuite.testcase;
      expect(cases[1].error).toMatchObject({ type: 'SQLSTATE 42P01' });
      expect(cases[2].skipped).toBeDefined();
    } finally {
      await run.cleanup();
    }
  });
});

describe('--format sarif|junit and the sarif-path input', () => {
  const github = new FakeGitHub();
  let sourceUrl: string;
  let workspace: string;
  beforeAll(async () => {
    await github.start();
    sourceUrl = await createDatabase(local.url, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    workspace = migrationDir({ 'db/001_type.sql': 'ALTER TABLE t ALTER COLUMN id TYPE bigint;' });
    github.prFiles = [{ filename: 'db/001_type.sql', status: 'added' }];
  });
  afterAll(async () => {
    await github.stop();
    await dropDatabase(sourceUrl);
  });

  it('the CLI prints valid SARIF with paths from the current directory, and JUnit; an unknown format is exit 2', async () => {
    const args = ['run', '--source-url', sourceUrl, '--working-directory', path.join(workspace, 'db')];
    const flags = ['--migrations', '*.sql', '--max-rewrite-size', '0'];
    const sarif = await runCli([...args, ...flags, '--format', 'sarif']);
    expect(sarif.code).toBe(1);
    const [result] = sarifResults(sarif.stdout);
    expect(result.locations![0].physicalLocation.artifactLocation.uri).toBe(
      path.relative(process.cwd(), path.join(workspace, 'db/001_type.sql')),
    );
    const junit = await runCli([...args, ...flags, '--format', 'junit']);
    expect(XMLValidator.validate(junit.stdout)).toBe(true);
    const bad = await runCli([...args, ...flags, '--format', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('use text, json, sarif, junit');
  });

  it('the Action writes SARIF to sarif-path with repository-relative paths', async () => {
    const run = await runAction(
      {
        'source-url': sourceUrl,
        migrations: 'db/*.sql',
        'max-rewrite-size': '0',
        'sarif-path': 'out/pg.sarif',
      },
      { workspace, apiUrl: github.url },
    );
    expect(run.code).toBe(1);
    const [result] = sarifResults(readFileSync(path.join(workspace, 'out/pg.sarif'), 'utf8'));
    expect(result).toMatchObject({ ruleId: 'max-rewrite-size', level: 'error' });
    expect(result.locations![0].physicalLocation).toEqual({
      artifactLocation: { uri: 'db/001_type.sql' },
      region: { startLine: 1 },
    });
  });
});
