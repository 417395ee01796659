/**
 * The option table: every option of a rehearsal once, with its type, default, description,
 * and whether the CLI has a flag for it and the Action an input. The CLI's parser and help
 * (src/cli/run.ts) and the Action's input reader (src/action/inputs.ts) are built from it,
 * buildConfig takes its defaults from it, and a unit test holds action.yml to it. Options
 * only one adapter knows (the Action's comment, the CLI's --format) are kept by that adapter
 * in the same shape. See docs/architecture.md, "Configuration".
 *
 * The entries live by the CLI help's groups (where.ts, what.ts, thresholds.ts), in help
 * order; this module puts them together.
 *
 * To add an option: one entry in the group it belongs to (with `cli` and/or `input`), its
 * reading in buildConfig (config-sections.ts; its default comes from the entry), and, when
 * it is an Action input, its block in action.yml with the same description and default
 * (options.unit.test.ts fails until they agree).
 */
import type { OptionSpec } from './spec.js';
import { THRESHOLD_OPTIONS } from './thresholds.js';
import { WHAT_OPTIONS } from './what.js';
import { WHERE_OPTIONS } from './where.js';

export type { CliFlag, HelpGroup, OptionSpec, OptionType } from './spec.js';

/** Every option of a rehearsal, in the order of the CLI's help. */
export const OPTIONS: readonly OptionSpec[] = [...WHERE_OPTIONS, ...WHAT_OPTIONS, ...THRESHOLD_OPTIONS];

/** The entry of `name` in `table` (the engine's by default). */
export function optionSpec(name: string, table: readonly OptionSpec[] = OPTIONS): OptionSpec | undefined {
  return table.find((spec) => spec.name === name);
}

/** The table's default for `name`; absent when it has none (or the option is not in the table). */
export function optionDefault(name: string): string | undefined {
  return optionSpec(name)?.default;
}
