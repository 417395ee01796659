import { describe, expect, it } from '@jest/globals';
import {
  formatAge,
  formatBytes,
  formatDuration,
  formatSignedBytes,
  parseDurationMs,
  parsePercent,
  parseSizeBytes,
} from '../src/engine/units.js';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['5min', 300_000],
    ['1h', 3_600_000],
    ['0', 0],
    ['0ms', 0],
    [' 30s ', 30_000],
    ['30 s', 30_000],
    ['2H', 7_200_000],
    ['1.25s', 1250],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['5 sekunds', '10', '', '   ', 's', '-5s', '1.s', '.5s', '5d', '5s5', 'abc'])(
    'rejects %j',
    (text) => {
      expect(parseDurationMs(text)).toBeUndefined();
    },
  );
});

describe('parseSizeBytes', () => {
  it.each([
    ['500MB', 500 * 1024 ** 2],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['1024', 1024],
    ['0', 0],
    ['1kB', 1024],
    ['1KiB', 1024],
    ['2 mib', 2 * 1024 ** 2],
    ['1TB', 1024 ** 4],
    ['7b', 7],
    ['  3GiB ', 3 * 1024 ** 3],
  ])('parses %j as %d bytes', (text, bytes) => {
    expect(parseSizeBytes(text)).toBe(bytes);
  });

  it('rounds fractional bytes', () => {
    expect(parseSizeBytes('1.5')).toBe(2);
    expect(parseSizeBytes('0.001kB')).toBe(1);
  });

  it.each(['ten percent', '5XB', '', '10%', '-5MB', 'MB', '5 M B'])('rejects %j', (text) => {
    expect(parseSizeBytes(text)).toBeUndefined();
  });
});

describe('parsePercent', () => {
  it.each([
    ['10%', 10],
    ['12.5%', 12.5],
    ['0%', 0],
    [' 50 % ', 50],
  ])('parses %j as %d', (text, percent) => {
    expect(parsePercent(text)).toBe(percent);
  });

  it.each(['10', '', '%', 'ten%', '-5%', '10%%', '500MB'])('rejects %j', (text) => {
    expect(parsePercent(text)).toBeUndefined();
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.00 kB'],
    [1536, '1.50 kB'],
    [10 * 1024, '10.0 kB'],
    [100 * 1024, '100 kB'],
    [500 * 1024 ** 2, '500 MB'],
    [1.5 * 1024 ** 3, '1.50 GB'],
    [2 * 1024 ** 4, '2.00 TB'],
    [2048 * 1024 ** 4, '2048 TB'],
    [-2048, '-2.00 kB'],
    [-5, '-5 B'],
  ])('formats %d as %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('round-trips with parseSizeBytes for whole units', () => {
    expect(parseSizeBytes(formatBytes(500 * 1024 ** 2).replace(' ', ''))).toBe(500 * 1024 ** 2);
  });
});

describe('formatSignedBytes', () => {
  it('prefixes growth with + and leaves shrinkage and zero alone', () => {
    expect(formatSignedBytes(2048)).toBe('+2.00 kB');
    expect(formatSignedBytes(-2048)).toBe('-2.00 kB');
    expect(formatSignedBytes(0)).toBe('0 B');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [1, '1 ms'],
    [999.4, '999 ms'],
    [1000, '1.00 s'],
    [1500, '1.50 s'],
    [9_990, '9.99 s'],
    [10_000, '10.0 s'],
    [12_345, '12.3 s'],
    [60_000, '1 min 0 s'],
    [90_000, '1 min 30 s'],
    [3_600_000, '60 min 0 s'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  // Regression (was a bug): the seconds are rounded after the minutes are taken, so 1 min 59.7 s prints
  // as "1 min 60 s" instead of carrying into the minutes.
  it('never prints 60 seconds (rounding carries into the minutes)', () => {
    expect(formatDuration(119_700)).toBe('2 min 0 s');
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0 s'],
    [59_999, '59 s'],
    [60_000, '1 min'],
    [3_599_999, '59 min'],
    [3_600_000, '1 h'],
    [26 * 3_600_000 + 5 * 60_000, '26 h 5 min'],
    [48 * 3_600_000, '2 d'],
    [1000 * 3_600_000, '41 d 16 h'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
