/**
 * The CLI's side of the option table (src/engine/options/): which flags take a value,
 * which are switches, how the help lists them, and how a message names an option.
 */
import { optionSpec, type HelpGroup, type OptionSpec } from '../engine/options/index.js';
import { plainNaming, type OptionNaming } from '../engine/wording.js';

export interface FlagSets {
  valueFlags: string[];
  booleanFlags: string[];
  repeatable: string[];
}

/** The flags of the options that have one; `--help` is always a switch. */
export function flagSets(table: readonly OptionSpec[]): FlagSets {
  const flags = table.filter((spec) => spec.cli);
  return {
    valueFlags: flags.filter((spec) => spec.type !== 'boolean').map((spec) => spec.name),
    booleanFlags: [...flags.filter((spec) => spec.type === 'boolean').map((spec) => spec.name), 'help'],
    repeatable: flags.filter((spec) => spec.cli?.repeatable).map((spec) => spec.name),
  };
}

/**
 * Options as flags: `--max-duration`, `--snapshot dump`, `--rollback`, `--no-metrics`. An
 * option the table knows without a flag keeps its own name; one it does not know (a
 * subcommand's own flag) is a flag.
 */
export function cliNaming(table: readonly OptionSpec[]): OptionNaming {
  return (mention) => {
    const spec = optionSpec(mention.option, table);
    if (spec && !spec.cli) return plainNaming(mention);
    const { option, value } = mention;
    if (value === undefined) return `--${option}`;
    if (spec?.type === 'boolean') return value === 'false' ? `--no-${option}` : `--${option}`;
    return `--${option} ${value}`;
  };
}

const HELP_COLUMN = 28;

/** The flag as the help shows it: `--timeout DURATION`, `--no-metrics`, `--keep-snapshot`. */
function usageOf(spec: OptionSpec): string {
  const cli = spec.cli!;
  const negated = cli.negated ?? (spec.type === 'boolean' && spec.default === 'true');
  return `--${negated ? 'no-' : ''}${spec.name}${cli.arg ? ` ${cli.arg}` : ''}`;
}

/** The help's lines for one group, in table order: the flag, then its text, aligned. */
export function helpLines(table: readonly OptionSpec[], group: HelpGroup): string {
  const lines: string[] = [];
  for (const spec of table) {
    if (spec.cli?.group !== group) continue;
    const usage = usageOf(spec);
    const [first, ...rest] = spec.cli.help;
    // A flag too long for the column gets one space, as `--snapshot-max-age DURATION` does.
    lines.push(`  ${usage.padEnd(HELP_COLUMN - 1)} ${first}`);
    for (const line of rest) lines.push(`${' '.repeat(HELP_COLUMN + 2)}${line}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}
