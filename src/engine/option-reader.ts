/**
 * Typed access to the raw option values, the table's defaults filled in; every failure is a
 * ConfigError naming its option, worded so that each adapter spells the option its own way.
 */
import { parseConnectionUrl, type ConnectionInfo } from './connection.js';
import { ConfigError } from './errors.js';
import { optionDefault } from './options/index.js';
import { parseDurationMs } from './units.js';
import { opt, say, type Wording } from './wording.js';

/**
 * Raw option values, keyed by the option's name in the table (`max-duration`, `source-url`).
 * Empty strings mean "not given": the Action runner passes every input, defaults included.
 */
export type RawOptions = Record<string, string | boolean | undefined>;

export interface OptionReader {
  /** Throws the ConfigError `<option>: <message>`. */
  fail(option: string, message: string | Wording): never;
  /** The value given, trimmed, else the table's default; undefined when neither. */
  text(option: string): string | undefined;
  /** The value given, else `fallback`, else the table's default (false when it has none). */
  bool(option: string, fallback?: boolean): boolean;
  /** In milliseconds: the value given, else the table's default. */
  duration(option: string): number | undefined;
  url(option: string): ConnectionInfo | undefined;
}

/** The value given, trimmed; undefined when absent or empty. */
function givenText(raw: RawOptions, option: string): string | undefined {
  const value = raw[option];
  if (value === undefined || value === false) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

export function optionReader(raw: RawOptions): OptionReader {
  const fail = (option: string, message: string | Wording): never => {
    throw new ConfigError(option, say`${opt(option)}: ${typeof message === 'string' ? [message] : message}`);
  };
  const text = (option: string) => givenText(raw, option) ?? optionDefault(option);
  return {
    fail,
    text,
    bool: (option, fallback) => {
      const tableDefault = optionDefault(option);
      return parseBooleanOption(raw, option, fallback ?? tableDefault === 'true');
    },
    duration: (option) => {
      const given = text(option);
      if (given === undefined) return undefined;
      const ms = parseDurationMs(given);
      if (ms === undefined)
        fail(option, `"${given}" is not a duration; use a number with a unit: 500ms, 30s, 5m, 1h`);
      return ms;
    },
    url: (option) => {
      const given = givenText(raw, option);
      return given === undefined ? undefined : parseConnectionUrl(given, option);
    },
  };
}

/** `true/false` (also yes/no, on/off, 1/0); empty or absent means `fallback`. */
export function parseBooleanOption(raw: RawOptions, option: string, fallback: boolean): boolean {
  const value = raw[option];
  if (typeof value === 'boolean') return value;
  const given = value === undefined ? '' : String(value).trim();
  if (given === '') return fallback;
  if (/^(true|yes|on|1)$/i.test(given)) return true;
  if (/^(false|no|off|0)$/i.test(given)) return false;
  throw new ConfigError(option, say`${opt(option)}: "${given}" is not a boolean; use true or false`);
}
