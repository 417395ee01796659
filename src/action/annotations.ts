import path from 'node:path';
import * as core from '@actions/core';
import type { RehearsalConfig } from '../engine/config.js';
import type { Report } from '../engine/report.js';
import { renderAnnotations } from '../render/annotations.js';
import { workspace } from './settings.js';

/**
 * Errors and warnings at the file and line responsible (repository paths, as GitHub wants).
 * A command run has no file of ours: its annotations point at none.
 */
export function publishAnnotations(report: Report, config: RehearsalConfig): void {
  for (const a of renderAnnotations(report)) {
    const file =
      a.file && config.runner.kind === 'sql'
        ? path.relative(workspace(), path.resolve(config.workingDirectory, a.file))
        : undefined;
    const properties = { title: a.title, file, startLine: file ? a.line : undefined };
    if (a.level === 'error') core.error(a.message, properties);
    else core.warning(a.message, properties);
  }
}
