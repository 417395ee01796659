/**
 * Parsing and printing of the human units used in options and reports.
 * Sizes follow PostgreSQL's own convention (pg_size_pretty): 1 kB = 1024 bytes.
 */

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** `500ms`, `30s`, `1.5s`, `5m`, `1h`, or `0`. Returns milliseconds, or undefined when it does not parse. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  if (!match[2]) return value === 0 ? 0 : undefined;
  return Math.round(value * DURATION_UNITS_MS[match[2].toLowerCase()]);
}

/** `500MB`, `1.5GB`, `1024` (bytes), `0`. Returns bytes, or undefined. */
export function parseSizeBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(text.trim());
  if (!match) return undefined;
  const factor = match[2] ? SIZE_UNITS[match[2].toLowerCase()] : 1;
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** `10%` -> 10, or undefined. */
export function parsePercent(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
  return match ? Number(match[1]) : undefined;
}

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${sign}${value.toFixed(digits)} ${units[unit]}`;
}

export function formatSignedBytes(bytes: number): string {
  return bytes > 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}

export function formatDuration(ms: number): string {
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  const digits = seconds < 10 ? 2 : 1;
  // Decide on the rounded value, so 59.99 s prints as 1 min 0 s, never "60.0 s".
  if (Number(seconds.toFixed(digits)) < 60) return `${seconds.toFixed(digits)} s`;
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)} min ${total % 60} s`;
}

/** A long span, as for a snapshot's age or max age: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`. */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.floor(ms / 1000)} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return hours % 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h` : `${Math.floor(hours / 24)} d`;
}
