/**
 * Errors the engine raises on purpose. Each carries a message written for the person
 * running the tool: what went wrong and what to do about it. Adapters map them to exit
 * codes (CLI: 2) or a failed step (Action).
 */
import type { MigrationReport } from './report.js';
import { plainNaming, renderWording, type OptionNaming, type Wording } from './wording.js';

/**
 * A value the user gave is invalid. `option` is the option's name in the table
 * (src/engine/options/), e.g. `max-duration`; the adapters say `--max-duration` or
 * `max-duration` by rendering `wording` (errorText).
 */
export class ConfigError extends Error {
  readonly wording: Wording;
  constructor(
    readonly option: string | undefined,
    message: string | Wording,
  ) {
    super(renderWording(message, plainNaming));
    this.name = 'ConfigError';
    this.wording = typeof message === 'string' ? [message] : message;
  }
}

/** The environment is not ready: a server unreachable, a tool missing, a privilege lacking. */
export class SetupError extends Error {
  readonly wording: Wording;
  constructor(message: string | Wording) {
    super(renderWording(message, plainNaming));
    this.name = 'SetupError';
    this.wording = typeof message === 'string' ? [message] : message;
  }
}

/** An error's wording: its own when it mentions options, else its message as text. */
export function wordingOf(error: unknown): Wording {
  if (error instanceof ConfigError || error instanceof SetupError) return error.wording;
  return [errorMessage(error)];
}

/** The error's message with its option mentions written the adapter's way. */
export function errorText(error: unknown, naming: OptionNaming): string {
  return renderWording(wordingOf(error), naming);
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

/** A state the code never means to reach (a broken invariant): a bug, reported as one. */
export class InternalError extends Error {
  override name = 'InternalError';
}

/**
 * A bug in pg-rehearsal rather than a problem with the input, the environment or the
 * migration: JavaScript's own errors (a property of undefined, a bad call) and our
 * InternalError. Reported as an internal error with its stack, never as bad usage or a
 * setup problem.
 */
export function isProgrammingError(error: unknown): error is Error {
  return (
    error instanceof InternalError ||
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
