import { CancelledError, ConfigError, SetupError, isProgrammingError } from './errors.js';
import type { Logger } from './logger.js';
import type { Report } from './report.js';

/*
 * Redaction: no password leaves a rehearsal. The orchestrator wraps its logger, its report
 * and its errors with these, given a redact function built from the run's URLs
 * (connection.ts redactSecrets/passwordsOf).
 */

/** A logger that hides secrets in every line it passes on. */
export function redactingLogger(log: Logger, redact: (text: string) => string): Logger {
  return {
    info: (message) => log.info(redact(message)),
    warn: (message) => log.warn(redact(message)),
    group: (name, fn) => log.group(redact(name), fn),
  };
}

/** Every string of the report (keys too), redacted: it goes to files, comments and outputs. */
export function redactReport(report: Report, redact: (text: string) => string): Report {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), walk(v)]));
    }
    return value;
  };
  return walk(report) as Report;
}

/** The same error, of the same class, with its message redacted. */
export function redactError(error: unknown, redact: (text: string) => string): unknown {
  if (!(error instanceof Error)) return new Error(redact(String(error)));
  const message = redact(error.message);
  if (message === error.message) return error;
  if (error instanceof ConfigError) return new ConfigError(error.option, message);
  if (error instanceof SetupError) return new SetupError(message);
  if (error instanceof CancelledError) return new CancelledError(message);
  // Same class (a programming error stays one) and the stack, redacted, for the bug report.
  const copy = isProgrammingError(error)
    ? new (error.constructor as ErrorConstructor)(message)
    : new Error(message);
  copy.stack = error.stack === undefined ? undefined : redact(error.stack);
  return copy;
}
