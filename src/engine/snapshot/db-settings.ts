import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../connection.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServerInfo } from './server.js';
import { DATABASE_PROPERTIES_QUERY, DATABASE_SETTINGS_QUERY } from '../queries/databases.js';

/**
 * What makes a database behave as it does beyond its objects: `ALTER DATABASE ... SET` and
 * `ALTER ROLE ... IN DATABASE ... SET` (pg_db_role_setting), and the encoding and locale it
 * was created with. Neither a template copy nor pg_dump without --create carries the
 * settings; a migration relying on the database's search_path would otherwise run
 * differently on the snapshot than in production.
 */
export interface DatabaseSetting {
  /** null: for every role (ALTER DATABASE ... SET). */
  role: string | null;
  name: string;
  value: string;
}

export async function readDatabaseSettings(client: pg.Client, database: string): Promise<DatabaseSetting[]> {
  const { rows } = await client.query<{ role: string | null; setting: string }>(DATABASE_SETTINGS_QUERY, [
    database,
  ]);
  return rows.map(({ role, setting }) => {
    const eq = setting.indexOf('=');
    return { role, name: setting.slice(0, eq), value: setting.slice(eq + 1) };
  });
}

/** The settings whose value is a list of names, stored with identifiers quoted (as pg_dump knows them). */
const LIST_SETTINGS = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'local_preload_libraries',
  'shared_preload_libraries',
  'unix_socket_directories',
]);

/** `app, "my schema"` -> ['app', 'my schema']: a stored list split as the server would. */
export function splitSettingList(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') current += value[++i];
      else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      items.push(current.trim());
      current = '';
    } else current += c;
  }
  items.push(current.trim());
  return items;
}

/** The SET clause's value: each element of a list a literal of its own, else one literal. */
export function settingValueSql(name: string, value: string): string {
  if (!LIST_SETTINGS.has(name.toLowerCase())) return quoteLiteral(value);
  return splitSettingList(value).map(quoteLiteral).join(', ');
}

/**
 * Applies the source's settings to the snapshot. One that cannot be applied (a role missing
 * on another server, a setting only a superuser may set) is a warning naming it: the run
 * goes on, and the log says where the snapshot differs.
 */
export async function applyDatabaseSettings(
  admin: pg.Client,
  database: string,
  settings: DatabaseSetting[],
  log: Logger,
): Promise<void> {
  for (const s of settings) {
    const target = s.role
      ? `ROLE ${quoteIdent(s.role)} IN DATABASE ${quoteIdent(database)}`
      : `DATABASE ${quoteIdent(database)}`;
    try {
      await admin.query(`ALTER ${target} SET ${quoteIdent(s.name)} = ${settingValueSql(s.name, s.value)}`);
    } catch (error) {
      log.warn(
        `could not copy the source's setting ${s.name} = ${s.value}${s.role ? ` for role ${s.role}` : ''} onto the snapshot: ${errorMessage(error)}`,
      );
    }
  }
  if (settings.length) log.info(`copied ${settings.length} database/role setting(s) from the source`);
}

/** The source database's encoding and locale, for the CREATE DATABASE of a dump. */
export async function creationClause(
  source: pg.Client,
  database: string,
  target: ServerInfo,
): Promise<string> {
  const { rows } = await source.query<Record<string, string | null>>(DATABASE_PROPERTIES_QUERY, [database]);
  const d = (rows[0] as unknown as { d: Record<string, string | null> } | undefined)?.d;
  if (!d) return '';
  const parts = [
    `ENCODING ${quoteLiteral(d.encoding_name ?? 'UTF8')}`,
    `LC_COLLATE ${quoteLiteral(d.datcollate ?? 'C')}`,
    `LC_CTYPE ${quoteLiteral(d.datctype ?? 'C')}`,
  ];
  // datlocprovider came with 15 (c libc, i icu) and b builtin with 17; the locale column was
  // daticulocale in 15-16 and datlocale from 17.
  const provider = d.datlocprovider ?? 'c';
  const locale = d.datlocale ?? d.daticulocale ?? null;
  if (provider === 'i' && target.major >= 15 && locale) {
    parts.push(`LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(locale)}`);
    if (d.daticurules && target.major >= 16) parts.push(`ICU_RULES ${quoteLiteral(d.daticurules)}`);
  } else if (provider === 'b' && target.major >= 17 && locale) {
    parts.push(`LOCALE_PROVIDER builtin BUILTIN_LOCALE ${quoteLiteral(locale)}`);
  }
  return ` ${parts.join(' ')}`;
}
