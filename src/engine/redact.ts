/**
 * One redaction for every command and every output: the run, the snapshot subcommands and
 * the Action pass their log lines, errors and reports through these, given a redact
 * function built from the run's URLs (connection.ts redactSecrets/passwordsOf).
 */
import { CancelledError, ConfigError, SetupError, isProgrammingError } from './errors.js';
import type { Logger } from './logger.js';
import type { Report } from './report.js';
import { mapWording } from './wording.js';

export type Redact = (text: string) => string;

/** A logger that hides secrets in every line it passes on. */
export function redactingLogger(log: Logger, redact: Redact): Logger {
  return {
    info: (message) => log.info(redact(message)),
    warn: (message) => log.warn(redact(message)),
    group: (name, fn) => log.group(redact(name), fn),
  };
}

/** Every string of a JSON-like value (keys too), redacted: reports go to files, comments and outputs. */
export function redactDeep<T>(value: T, redact: Redact): T {
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redact(item);
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [redact(k), walk(v)]));
    }
    return item;
  };
  return walk(value) as T;
}

export function redactReport(report: Report, redact: Redact): Report {
  return redactDeep(report, redact);
}

/** The same error, of the same class, with its message redacted. */
export function redactError(error: unknown, redact: Redact): unknown {
  if (!(error instanceof Error)) return new Error(redact(String(error)));
  const message = redact(error.message);
  if (message === error.message) return error;
  if (error instanceof ConfigError) return new ConfigError(error.option, mapWording(error.wording, redact));
  if (error instanceof SetupError) return new SetupError(mapWording(error.wording, redact));
  if (error instanceof CancelledError) return new CancelledError(message, error.migrations);
  // Same class (a programming error stays one) and the stack, redacted, for the bug report.
  const copy = isProgrammingError(error)
    ? new (error.constructor as ErrorConstructor)(message)
    : new Error(message);
  copy.stack = error.stack === undefined ? undefined : redact(error.stack);
  return copy;
}
