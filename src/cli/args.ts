import { ConfigError } from '../engine/errors.js';

/**
 * A small argv parser: `--name value`, `--name=value`, boolean flags alone, and
 * `--no-name` for false. Repeated flags named in `repeatable` (default: `--migrations`)
 * join with newlines, as the Action's multi-line input does; `splitRepeated` takes them
 * apart. Other repeated flags keep the last value. Unknown flags are usage errors.
 */
export interface ParsedArgs {
  options: Record<string, string | boolean>;
  positionals: string[];
}

export function parseArgs(
  argv: string[],
  valueFlags: readonly string[],
  booleanFlags: readonly string[],
  repeatable: readonly string[] = ['migrations'],
): ParsedArgs {
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') {
        if (arg === '-h') {
          options.help = true;
          continue;
        }
        throw new ConfigError(arg, `unknown option ${arg}; see --help`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (name.startsWith('no-') && booleanFlags.includes(name.slice(3)) && inline === undefined) {
      options[name.slice(3)] = false;
      continue;
    }
    if (booleanFlags.includes(name)) {
      options[name] = inline === undefined ? true : inline;
      continue;
    }
    if (!valueFlags.includes(name)) {
      throw new ConfigError(name, `unknown option --${name}; see --help`);
    }
    let value = inline;
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(name, `--${name} needs a value`);
    }
    name = name.trim();
    const previous = options[name];
    options[name] =
      repeatable.includes(name) && typeof previous === 'string' ? `${previous}\n${value}` : value;
  }
  return { options, positionals };
}

/** The values of a repeatable flag, in order; none when absent. */
export function splitRepeated(value: string | boolean | undefined): string[] {
  if (typeof value !== 'string') return [];
  return value
    .split('\n')
    .map((v) => v.trim())
    .filter(Boolean);
}
