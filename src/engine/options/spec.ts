/** The shape of an entry of the option table (index.ts). */

/** How a value is written: the reader that parses it, and whether the CLI flag takes a value. */
export type OptionType = 'text' | 'url' | 'choice' | 'globs' | 'duration' | 'size' | 'boolean';

/** Where an option's line goes in `pg-rehearsal run --help`. */
export type HelpGroup = 'where' | 'what' | 'thresholds' | 'output';

export interface CliFlag {
  group: HelpGroup;
  /** The value's placeholder in the help (`URL`, `DURATION`); none for a boolean. */
  arg?: string;
  /** The help shows `--no-<name>`: the flag is on unless turned off. */
  negated?: boolean;
  /** Given more than once, the values join with newlines (as a multi-line input). */
  repeatable?: boolean;
  /** The help text, one entry per line. */
  help: readonly string[];
}

export interface OptionSpec {
  /** The key of the raw options, the CLI flag (`--<name>`) and the Action input. */
  name: string;
  type: OptionType;
  /** The value when none is given, as the user would write it; absent: none (or it depends). */
  default?: string;
  /** What it does, as action.yml says it. */
  description: string;
  /** The CLI flag `--<name>`; absent: the CLI has none. */
  cli?: CliFlag;
  /** The Action has an input `<name>`; absent: it has none. */
  input?: true;
}
