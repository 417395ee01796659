import type { Logger } from '../logger.js';
import type { Advice, Report } from '../report.js';
import type { MigrationLayout } from '../runner/layouts.js';
import { measureAlternatives, type AlternativeRun } from './measure.js';
import { adviseOn } from './rules.js';
import { readFullStatements } from './statements.js';

export type AdviceMode = 'measured' | 'text' | 'off';
export type AdviceOption = AdviceMode | 'auto';

/**
 * `auto` rehearses the safer forms when another copy of the database is cheap: a file
 * copy or copy-on-write clone (template, clone, a golden snapshot). After a dump, each
 * copy would be another dump, so the advice stays in words unless asked for.
 */
export function resolveAdviceMode(option: AdviceOption, strategy: string | undefined): AdviceMode {
  if (option !== 'auto') return option;
  return strategy === 'template' || strategy === 'clone' || strategy === 'existing' ? 'measured' : 'text';
}

export interface AdviceRequest extends Omit<AlternativeRun, 'files' | 'layout'> {
  mode: AdviceMode;
  layout: MigrationLayout | undefined;
  log: Logger;
}

/** The advice for a finished run, its safer forms rehearsed when the mode says so. */
export async function adviseReport(report: Report, request: AdviceRequest): Promise<Advice[]> {
  if (request.mode === 'off' || report.cancelled) return [];
  const candidates = adviseOn(report, readFullStatements(report, request.layout, request.workingDirectory));
  const whyNot = notMeasuredReason(report, request.mode);
  if (whyNot || !request.layout) {
    for (const c of candidates) if (c.alternative) c.advice.not_measured = whyNot ?? 'no SQL files to replay';
    return candidates.map((c) => c.advice);
  }
  const files = report.migrations.filter((m) => m.status !== 'not_run').map((m) => m.path);
  return request.log.group('Advice', () =>
    measureAlternatives(candidates, { ...request, files, layout: request.layout as MigrationLayout }),
  );
}

function notMeasuredReason(report: Report, mode: AdviceMode): string | undefined {
  if (mode === 'text')
    return report.snapshot?.strategy === 'dump'
      ? 'each rehearsal of an alternative would need another dump of the source; set the advice option to measured to run it anyway'
      : 'the advice option is text';
  if (report.runner.kind !== 'sql')
    return 'the statements came from a command; only SQL files can be replayed up to the statement';
  if (report.failure) return 'the migrations failed; alternatives are rehearsed after a run that applied';
  return undefined;
}
