/**
 * Errors the engine raises on purpose. Each carries a message written for the person
 * running the tool: what went wrong and what to do about it. Adapters map them to exit
 * codes (CLI: 2) or a failed step (Action).
 */
import type { MigrationReport } from './report.js';

/** A value the user gave is invalid. `option` is the input/flag name, e.g. `max-duration`. */
export class ConfigError extends Error {
  constructor(
    readonly option: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The environment is not ready: a server unreachable, a tool missing, a privilege lacking. */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

/** The run was cancelled (signal or timeout). */
export class CancelledError extends Error {
  constructor(
    message: string,
    /** What the runner had done when the cancel came, for the report. */
    readonly migrations?: MigrationReport[],
  ) {
    super(message);
    this.name = 'CancelledError';
  }
}

/** True for the errors that mean "bad usage or setup" rather than "the migration failed". */
export function isUsageOrSetupError(error: unknown): error is ConfigError | SetupError {
  return error instanceof ConfigError || error instanceof SetupError;
}

/**
 * A bug in pg-rehearsal rather than a problem with the input, the environment or the
 * migration: JavaScript's own errors (a property of undefined, a bad call). Reported as an
 * internal error with its stack, never as bad usage or a setup problem.
 */
export function isProgrammingError(error: unknown): error is Error {
  return (
    error instanceof TypeError ||
    error instanceof ReferenceError ||
    error instanceof RangeError ||
    error instanceof SyntaxError
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
