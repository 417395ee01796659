import { describe, expect, it } from '@jest/globals';
import {
  CancelledError,
  ConfigError,
  InternalError,
  SetupError,
  errorText,
  isProgrammingError,
} from '../src/engine/errors.js';
import { redactError } from '../src/engine/redact.js';
import { opt, say } from '../src/engine/wording.js';

const redact = (text: string) => text.replaceAll('hunter2', '***');

describe('programming errors are told apart from usage and setup errors', () => {
  it('classes JavaScript errors as programming errors, ours not', () => {
    expect(isProgrammingError(new TypeError('x is undefined'))).toBe(true);
    expect(isProgrammingError(new RangeError('bad length'))).toBe(true);
    expect(isProgrammingError(new ConfigError('timeout', 'timeout: bad'))).toBe(false);
    expect(isProgrammingError(new SetupError('no server'))).toBe(false);
    expect(isProgrammingError(new CancelledError('cancelled'))).toBe(false);
    expect(isProgrammingError(new Error('connection refused'))).toBe(false);
    // A broken invariant of our own is a bug too, and stays one once redacted.
    const internal = new InternalError('a reused database is not created hunter2');
    expect(isProgrammingError(internal)).toBe(true);
    const redacted = redactError(internal, redact) as Error;
    expect(redacted).toBeInstanceOf(InternalError);
    expect(redacted.message).toBe('a reused database is not created ***');
  });

  it('keeps a redacted programming error a programming error, with its stack redacted', () => {
    const error = new TypeError('cannot read "hunter2"');
    const redacted = redactError(error, redact) as Error;
    expect(redacted).toBeInstanceOf(TypeError);
    expect(redacted.message).toBe('cannot read "***"');
    expect(redacted.stack).toContain('errors.unit.test');
    expect(redacted.stack).not.toContain('hunter2');
  });

  it('keeps the option of a redacted ConfigError', () => {
    const redacted = redactError(new ConfigError('source-url', 'source-url: hunter2 is bad'), redact);
    expect(redacted).toBeInstanceOf(ConfigError);
    expect(redacted).toMatchObject({ option: 'source-url', message: 'source-url: *** is bad' });
  });
});

describe('worded errors: the option mentions survive redaction', () => {
  it('redacts the text and the values of a mention, and keeps the mentions for the adapters', () => {
    const error = new ConfigError(
      'source-url',
      say`${opt('source-url')}: hunter2 is bad; see ${opt('snapshot', 'hunter2')}`,
    );
    const redacted = redactError(error, redact) as ConfigError;
    expect(redacted.message).toBe('source-url: *** is bad; see snapshot: ***');
    const asFlags = errorText(redacted, ({ option, value }) => `--${option}${value ? ` ${value}` : ''}`);
    expect(asFlags).toBe('--source-url: *** is bad; see --snapshot ***');
  });
});
