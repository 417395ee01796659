import * as core from '@actions/core';
import type { Report } from '../engine/report.js';
import type { PublishedComment } from './publish-comment.js';

/** The step's outputs: every one is set, whatever happened (empty or false when unknown). */
export class ActionOutputs {
  private readonly values: Record<string, string> = {
    passed: 'false',
    'duration-ms': '0',
    violations: '0',
    'report-path': '',
    'snapshot-name': '',
    'comment-url': '',
    'comment-id': '',
  };

  fromReport(report: Report, reportPath: string): void {
    this.values.passed = String(report.passed);
    this.values['duration-ms'] = String(Math.round(report.phases_ms.migrate));
    this.values.violations = String(report.violations.length);
    this.values['report-path'] = reportPath;
    this.values['snapshot-name'] = report.snapshot?.name ?? '';
  }

  comment(published: PublishedComment): void {
    this.values['comment-url'] = published.url;
    this.values['comment-id'] = published.id;
  }

  write(): void {
    for (const [name, value] of Object.entries(this.values)) core.setOutput(name, value);
  }
}
