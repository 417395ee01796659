import { ConfigError } from './errors.js';
import { opt, say } from './wording.js';

/** A database name we create, clone or drop: no quoting surprises, within PostgreSQL's 63 bytes. */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The one check for names the user gives us (snapshot-name, a golden snapshot's name or target). */
export function assertSafeName(name: string, option: string): void {
  if (!SAFE_NAME.test(name)) {
    throw new ConfigError(
      option,
      say`${opt(option)}: "${name}" is not a safe database name; use letters, digits and underscores, starting with a letter or underscore, at most 63 characters`,
    );
  }
}
