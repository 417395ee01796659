/**
 * Messages that mention options without knowing how the user spells them. The engine
 * writes `say\`${opt('snapshot', 'dump')} copies with pg_dump\``; the CLI renders the mention
 * as `--snapshot dump`, the Action as `snapshot: dump` (each adapter builds its naming from
 * the option table, src/engine/options/). A message nobody renders reads as the option's
 * own name (`plainNaming`), which is also how it appears in the engine's logs.
 */

/** An option named in a message, with the value to set it to when the message says so. */
export interface OptionMention {
  readonly option: string;
  readonly value?: string;
}

/** A message as text and option mentions, in order. */
export type Wording = readonly (string | OptionMention)[];

/** How an adapter writes a mention: `--snapshot dump` (CLI), `snapshot: dump` (Action input). */
export type OptionNaming = (mention: OptionMention) => string;

/** Mention an option (and, optionally, the value to give it). */
export function opt(option: string, value?: string): OptionMention {
  return value === undefined ? { option } : { option, value };
}

function isMention(part: unknown): part is OptionMention {
  return typeof part === 'object' && part !== null && 'option' in part;
}

type Interpolated = string | number | OptionMention | Wording;

/** A tagged template: text, numbers and nested wordings stay text, `opt(...)` stays a mention. */
export function say(strings: TemplateStringsArray, ...values: Interpolated[]): Wording {
  const parts: (string | OptionMention)[] = [];
  strings.forEach((text, i) => {
    parts.push(text);
    if (i >= values.length) return;
    const value = values[i];
    if (isMention(value)) parts.push(value);
    else if (Array.isArray(value)) parts.push(...(value as Wording));
    else parts.push(String(value));
  });
  return parts;
}

/** The wording as text, its mentions written by `naming`. */
export function renderWording(wording: string | Wording, naming: OptionNaming): string {
  if (typeof wording === 'string') return wording;
  return wording.map((part) => (typeof part === 'string' ? part : naming(part))).join('');
}

/** The option's own name: `max-duration`, `snapshot: dump`. */
export const plainNaming: OptionNaming = ({ option, value }) =>
  value === undefined ? option : `${option}: ${value}`;

/** The same wording with every text part (and value) passed through `map`, e.g. redaction. */
export function mapWording(wording: Wording, map: (text: string) => string): Wording {
  return wording.map((part) =>
    typeof part === 'string'
      ? map(part)
      : opt(part.option, part.value === undefined ? undefined : map(part.value)),
  );
}
