import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ACTION_INPUTS, INPUT_NAMING } from '../src/action/inputs.js';
import { flagSets } from '../src/cli/flags.js';
import { RUN_HELP, RUN_NAMING, RUN_OPTIONS } from '../src/cli/run.js';
import { buildConfig, type RawOptions } from '../src/engine/config.js';
import { ConfigError, errorText } from '../src/engine/errors.js';
import { OPTIONS } from '../src/engine/options/index.js';
import { opt, say } from '../src/engine/wording.js';

interface YamlInput {
  description?: string;
  required?: string;
  default?: string;
}

/** A YAML scalar as action.yml writes them: 'single' ('' escapes a quote), "double", or bare. */
function scalar(text: string): string {
  if (text.startsWith("'")) return text.slice(1, -1).replaceAll("''", "'");
  if (text.startsWith('"')) return JSON.parse(text) as string;
  return text;
}

/**
 * The `inputs:` block of action.yml: two-space-indented names, four-space-indented keys.
 * action.yml keeps to that shape; anything else in the block fails the test rather than
 * being skipped.
 */
function actionYmlInputs(): Map<string, YamlInput> {
  const lines = readFileSync(path.resolve('action.yml'), 'utf8').split('\n');
  const inputs = new Map<string, YamlInput>();
  let current: YamlInput | undefined;
  for (const line of lines.slice(lines.indexOf('inputs:') + 1)) {
    if (line.trim() === '') continue;
    if (!line.startsWith(' ')) break;
    const name = /^ {2}([a-z-]+):$/.exec(line);
    const key = /^ {4}(description|required|default): (.*)$/.exec(line);
    if (name) inputs.set(name[1], (current = {}));
    else if (key && current) current[key[1] as keyof YamlInput] = scalar(key[2]);
    else throw new Error(`action.yml: unexpected line in inputs: ${line}`);
  }
  return inputs;
}

describe('the option table and action.yml', () => {
  const yml = actionYmlInputs();

  it('has the same inputs as the table (engine options with an input, and the Action’s own)', () => {
    expect([...yml.keys()].sort()).toEqual(ACTION_INPUTS.map((spec) => spec.name).sort());
    // Sanity: the parser found the file's inputs, not an empty block.
    expect(yml.size).toBeGreaterThan(30);
  });

  it.each(ACTION_INPUTS.map((spec) => [spec.name, spec] as const))(
    'agrees on %s: description, default, not required',
    (name, spec) => {
      const input = yml.get(name);
      expect(input).toBeDefined();
      expect(input?.description).toBe(spec.description);
      expect(input?.default).toBe(spec.default ?? '');
      expect(input?.required).toBe('false');
    },
  );
});

/** The README's "Inputs" table: one row per input, `name` then its default. */
function readmeInputs(): Map<string, string> {
  const readme = readFileSync(path.resolve('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Inputs'));
  const rows = section.slice(0, section.indexOf('\n\n', section.indexOf('|')));
  const inputs = new Map<string, string>();
  for (const row of rows.split('\n')) {
    const cells = /^\| `([a-z-]+)` \|([^|]*)\|/.exec(row);
    if (cells) inputs.set(cells[1], cells[2].trim());
  }
  return inputs;
}

describe('the README and the option table', () => {
  const readme = readmeInputs();

  it('lists every Action input once in its Inputs table, and nothing else', () => {
    expect([...readme.keys()].sort()).toEqual(ACTION_INPUTS.map((spec) => spec.name).sort());
  });

  it('gives each input the default the table gives it, where it names a value', () => {
    for (const spec of ACTION_INPUTS) {
      const written = readme.get(spec.name) ?? '';
      // A default the README describes in words (`source's server`, `generated`) names no value.
      const literal = /^`([^`]*)`$/.exec(written);
      // Without one in the table, the README may still say what the option amounts to (require-down: `false`).
      if (literal && spec.default !== undefined)
        expect([spec.name, literal[1]]).toEqual([spec.name, spec.default]);
    }
  });
});

describe('the option table', () => {
  it('names each option once, across the engine, the CLI and the Action', () => {
    const names = [...RUN_OPTIONS, ...ACTION_INPUTS.filter((s) => !OPTIONS.includes(s))].map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every engine option a way in: a CLI flag, an Action input, or both', () => {
    expect(OPTIONS.filter((spec) => !spec.cli && !spec.input).map((spec) => spec.name)).toEqual([]);
  });

  it('builds the CLI parser from it: every flag, switches apart from values, --migrations repeatable', () => {
    const { valueFlags, booleanFlags, repeatable } = flagSets(RUN_OPTIONS);
    for (const spec of RUN_OPTIONS.filter((s) => s.cli)) {
      expect(spec.type === 'boolean' ? booleanFlags : valueFlags).toContain(spec.name);
    }
    expect(booleanFlags).toContain('fail-on-violation');
    expect(valueFlags).not.toContain('fail-on-violation');
    expect(repeatable).toEqual(['migrations']);
  });

  it('builds the CLI help from it: every flag once, in its negated form when it is on by default', () => {
    for (const spec of RUN_OPTIONS.filter((s) => s.cli)) {
      const negated = spec.cli?.negated ?? (spec.type === 'boolean' && spec.default === 'true');
      const usage = `--${negated ? 'no-' : ''}${spec.name}${spec.cli?.arg ? ` ${spec.cli.arg}` : ''}`;
      expect(RUN_HELP.split('\n').filter((line) => line.startsWith(`  ${usage} `))).toHaveLength(1);
    }
    expect(RUN_HELP).toMatch(/^ {2}--no-fail-on-violation +a breached threshold is reported/m);
  });

  it('takes buildConfig’s defaults from the table', () => {
    const config = buildConfig({ 'source-url': 'postgresql://h/db', migrations: 'm.sql' });
    expect(config.timeoutMs).toBe(30 * 60_000);
    expect(config.lockSampleIntervalMs).toBe(50);
    expect(config.failOnViolation).toBe(true);
    expect(config.snapshot).toMatchObject({ kind: 'copy', strategy: 'auto', ttlMs: 6 * 3_600_000 });
    expect([config.layout, config.lockCapture, config.advice]).toEqual(['auto', 'exact', 'auto']);
  });
});

/** The message of buildConfig's ConfigError, as the CLI and as the Action word it. */
function wordings(raw: RawOptions): { option?: string; cli: string; action: string } {
  try {
    buildConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const { option } = error as ConfigError;
    return { option, cli: errorText(error, RUN_NAMING), action: errorText(error, INPUT_NAMING) };
  }
  throw new Error(`buildConfig accepted ${JSON.stringify(raw)}`);
}

describe('errors carry the option; each adapter names it its way', () => {
  const source = 'postgresql://h/db';

  it('says --flag on the CLI and input on the Action, for the option and the ones it mentions', () => {
    const down = wordings({ 'source-url': source, migrations: 'm.sql', 'require-down': 'true' });
    expect(down.option).toBe('require-down');
    expect(down.cli).toBe('--require-down: applies to the way back; set --rollback');
    expect(down.action).toBe('require-down: applies to the way back; set rollback: true');

    const age = wordings({ 'source-url': source, migrations: 'm.sql', 'snapshot-max-age': '1h' });
    expect(age.cli).toMatch(/^--snapshot-max-age: .* of --snapshot existing; set --snapshot existing$/);
    expect(age.action).toMatch(/^snapshot-max-age: .* of snapshot: existing; set snapshot: existing$/);
  });

  it('names a switch turned off as --no-<flag> on the CLI', () => {
    const wording = say`see ${opt('fail-on-error', 'false')} and ${opt('metrics', 'true')}`;
    expect(errorText(new ConfigError(undefined, wording), RUN_NAMING)).toBe(
      'see --no-fail-on-error and --metrics',
    );
    expect(errorText(new ConfigError(undefined, wording), INPUT_NAMING)).toBe(
      'see fail-on-error: false and metrics: true',
    );
  });

  it('words a bad URL with the option, not a label baked in by the engine', () => {
    const bad = wordings({ 'source-url': 'mysql://h/db', migrations: 'm.sql' });
    expect(bad.option).toBe('source-url');
    expect(bad.cli).toMatch(/^--source-url: scheme "mysql" is not supported/);
    expect(bad.action).toMatch(/^source-url: scheme "mysql" is not supported/);
  });
});
