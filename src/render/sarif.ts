import type { Report } from '../engine/report.js';
import { renderFindings } from './annotations.js';

/**
 * SARIF 2.1.0, the format GitHub code scanning (and other tools) read: one result per
 * finding (a breached threshold, a failed migration, a notable rewrite or lock), at the
 * migration file and line responsible. Pure: the report in, the log out.
 */
export interface SarifContext {
  /** Turns a report path (relative to the working directory) into the URI code scanning expects. */
  uriOf?: (file: string) => string;
}

const RULE_TEXT: Record<string, string> = {
  'migration-error': 'A migration failed on the snapshot',
  'max-duration': 'The migrations took longer than max-duration',
  'max-read-block': 'A table was locked against reads longer than max-read-block',
  'max-write-block': 'A table was locked against writes longer than max-write-block',
  'max-size-increase': 'The database grew more than max-size-increase',
  'max-rewrite-size': 'A table of at least max-rewrite-size was rewritten',
  'table-rewritten': 'A table is rewritten under an ACCESS EXCLUSIVE lock',
  'long-access-exclusive': 'A table is locked ACCESS EXCLUSIVE for a second or more',
  'modified-after-release':
    'A migration production has already run was edited: the edit never runs there; add a new migration',
  'create-index-concurrently': 'CREATE INDEX on a table with rows blocks writes: build it CONCURRENTLY',
  'foreign-key-not-valid':
    'A validated FOREIGN KEY scans under a write-blocking lock: add it NOT VALID, validate later',
  'set-not-null-via-check':
    'SET NOT NULL scans under ACCESS EXCLUSIVE: prove it with a validated CHECK first',
  'unique-via-index':
    'ADD UNIQUE / PRIMARY KEY builds its index under ACCESS EXCLUSIVE: build it CONCURRENTLY, then attach',
  'rewrite-expand-contract': 'A table rewrite blocks reads and writes: expand and contract instead',
  'lock-timeout': 'A blocking lock taken without lock_timeout can queue every query behind it',
  'batch-large-dml': 'Many rows changed in one transaction: batch it',
};

const INFORMATION_URI = 'https://github.com/pg-rehearsal/pg-rehearsal';

export function renderSarif(report: Report, context: SarifContext = {}): string {
  const uriOf = context.uriOf ?? ((file: string) => file);
  // A command's failure names the command, not a file: such findings get no location.
  const hasFiles = report.runner.kind === 'sql';
  const findings = renderFindings(report);
  const ruleIds = [...new Set(findings.map((f) => f.rule))];
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pg-rehearsal',
            version: report.tool.version,
            informationUri: INFORMATION_URI,
            rules: ruleIds.map((id) => ({
              id,
              shortDescription: { text: RULE_TEXT[id] ?? id },
            })),
          },
        },
        invocations: [{ executionSuccessful: report.success && !report.cancelled }],
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIds.indexOf(f.rule),
          level: f.level,
          message: { text: f.message },
          ...(hasFiles && f.file
            ? {
                locations: [
                  {
                    physicalLocation: {
                      artifactLocation: { uri: uriOf(f.file) },
                      ...(f.line ? { region: { startLine: f.line } } : {}),
                    },
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
