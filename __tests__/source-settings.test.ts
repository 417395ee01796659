import { describe, expect, it } from '@jest/globals';
import { buildConfig } from '../src/engine/config.js';
import { rehearse } from '../src/engine/rehearse.js';
import { splitSettingList, settingValueSql } from '../src/engine/snapshot/db-settings.js';
import { migrationDir } from './helpers/rehearsal.js';
import { dropDatabase, query, testServers, uniqueName, withDatabase } from './helpers/servers.js';

const [local] = testServers();

/** A source whose behaviour depends on its settings: search_path puts `app` first. */
async function createSource(create = ''): Promise<{ url: string; name: string }> {
  const name = uniqueName('test_settings');
  await query(local.url, `CREATE DATABASE ${name} ${create}`);
  await query(local.url, `ALTER DATABASE ${name} SET search_path = app, public`);
  await query(local.url, `ALTER ROLE postgres IN DATABASE ${name} SET lock_timeout = '7s'`);
  const url = withDatabase(local.url, name);
  await query(
    url,
    `CREATE SCHEMA app; CREATE SCHEMA other;
     CREATE TABLE app.items (id int PRIMARY KEY, name text);
     CREATE INDEX items_name_idx ON app.items (name);`,
  );
  return { url, name };
}

async function settingsOf(database: string): Promise<string[]> {
  const rows = await query<{ s: string }>(
    local.url,
    `SELECT coalesce(r.rolname, '*') || ':' || unnest(setconfig) AS s
       FROM pg_db_role_setting JOIN pg_database d ON d.oid = setdatabase
       LEFT JOIN pg_roles r ON r.oid = setrole WHERE d.datname = $1 ORDER BY 1`,
    [database],
  );
  return rows.map((r) => r.s);
}

// The real project's case: an unqualified DROP INDEX IF EXISTS that production resolves
// through the database's search_path. Then a file that SETs search_path elsewhere, and a
// next file that must not inherit it (psql runs each file in a fresh session).
const FILES = {
  '001_drop_index.sql': 'DROP INDEX IF EXISTS items_name_idx;',
  '002_set_path.sql': 'SET search_path = other; CREATE TABLE moved (id int);',
  '003_create.sql': 'CREATE TABLE created_after (id int);',
};

describe('the snapshot behaves like the source', () => {
  it.each(['template', 'dump'] as const)(
    'copies ALTER DATABASE / ROLE IN DATABASE settings (%s), and each file starts from a clean session',
    async (strategy) => {
      const source = await createSource();
      const runId = uniqueName('t').replace(/_/g, '');
      try {
        const report = await rehearse(
          buildConfig(
            {
              'source-url': source.url,
              migrations: '*.sql',
              'working-directory': migrationDir(FILES),
              snapshot: strategy,
              'keep-snapshot': 'true',
            },
            { runId },
          ),
        );
        expect(report.failure).toBeNull();
        expect(report.snapshot!.strategy).toBe(strategy);
        // The index in `app` was dropped, as in production.
        expect(report.metrics!.indexes['app.items_name_idx'].status).toBe('dropped');
        expect(report.metrics!.tables['other.moved'].status).toBe('new');
        // File 3 ran with the database's search_path, not file 2's SET.
        expect(report.metrics!.tables['app.created_after'].status).toBe('new');
        expect(report.metrics!.tables['other.created_after']).toBeUndefined();
        expect(await settingsOf(report.snapshot!.name)).toEqual([
          '*:search_path=app, public',
          'postgres:lock_timeout=7s',
        ]);
        await dropDatabase(withDatabase(local.url, report.snapshot!.name));
      } finally {
        await dropDatabase(source.url);
      }
    },
  );

  it("a dump creates the snapshot with the source's encoding, collation, ctype and locale provider", async () => {
    const source = await createSource(
      `TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'`,
    );
    try {
      const report = await rehearse(
        buildConfig({
          'source-url': source.url,
          migrations: '*.sql',
          'working-directory': migrationDir({ '001.sql': 'SELECT 1;' }),
          snapshot: 'dump',
          'keep-snapshot': 'true',
        }),
      );
      expect(report.failure).toBeNull();
      const [db] = await query(
        local.url,
        `SELECT pg_encoding_to_char(encoding) AS encoding, datcollate, datctype, datlocprovider, daticulocale
           FROM pg_database WHERE datname = $1`,
        [report.snapshot!.name],
      );
      expect(db).toEqual({
        encoding: 'UTF8',
        datcollate: 'C',
        datctype: 'C',
        datlocprovider: 'i',
        daticulocale: 'de-DE',
      });
      await dropDatabase(withDatabase(local.url, report.snapshot!.name));
    } finally {
      await dropDatabase(source.url);
    }
  });

  it('writes list settings element by element, as the server stored them', () => {
    expect(splitSettingList('app, "my ""odd"" schema", public')).toEqual([
      'app',
      'my "odd" schema',
      'public',
    ]);
    expect(settingValueSql('search_path', 'app, "$user"')).toBe(`'app', '$user'`);
    expect(settingValueSql('work_mem', '64MB')).toBe(`'64MB'`);
  });
});
