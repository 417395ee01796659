import * as core from '@actions/core';
import { errorMessage } from '../engine/errors.js';
import type { Logger } from '../engine/logger.js';
import type { Report } from '../engine/report.js';
import { renderMarkdown } from '../render/markdown.js';

/** GitHub refuses a job summary over 1 MiB, counted in bytes. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

/** The summary at most `limitBytes` in UTF-8: re-rendered with fewer characters until it fits. */
export function summaryMarkdown(report: Report, runUrl: string, limitBytes = SUMMARY_LIMIT_BYTES): string {
  let limit = limitBytes - 4096;
  for (let attempt = 0; attempt < 8; attempt++) {
    const text = renderMarkdown(report, {
      runUrl,
      limit,
      cutFor: 'the job summary',
      fullReportHint: 'The JSON report (the report-path output) has everything.',
    });
    const bytes = Buffer.byteLength(text);
    if (bytes <= limitBytes) return text;
    limit = Math.floor((limit * (limitBytes - 4096)) / bytes);
  }
  // Only reached with pathological text: cut at a character boundary.
  const cut = Buffer.from(renderMarkdown(report, { runUrl, limit }))
    .subarray(0, limitBytes - 100)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}\n\n_(cut to fit the job summary; the JSON report has everything)_\n`;
}

export async function publishSummary(report: Report, runUrl: string, log: Logger): Promise<void> {
  try {
    await core.summary.addRaw(summaryMarkdown(report, runUrl)).write();
  } catch (error) {
    log.warn(`could not write the job summary: ${errorMessage(error)}`);
  }
}
