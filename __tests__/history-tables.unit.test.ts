import { describe, expect, it } from '@jest/globals';
import type { SchemaChange } from '../src/engine/report.js';
import { withoutHistoryTables } from '../src/engine/schema.js';
import { historyTables, type SourceTables } from '../src/engine/snapshot/focus.js';

function sourceWith(tables: [schema: string, name: string][]): SourceTables {
  return {
    tables: new Map(
      tables.map(([schema, name]) => [
        schema === 'public' ? name : `${schema}.${name}`,
        { schema, name, bytes: 1 },
      ]),
    ),
    indexTable: new Map(),
    references: new Map(),
    children: new Map(),
    catalog: { databaseBytes: 1, relations: [] },
  };
}

function added(name: string, object: SchemaChange['object'] = 'table'): SchemaChange {
  return { object, change: 'added', name, before: null, after: 'x' };
}

/** One list of migration tools' tables serves the focused snapshot and the rollback check alike. */
describe('migration tools history tables', () => {
  it("a focused snapshot copies the rows of every tool's table, in any schema, and of tables named as tools name them", () => {
    const source = sourceWith([
      ['public', 'orders'],
      ['public', 'goose_db_version'],
      ['app', 'flyway_schema_history'],
      ['sqitch', 'changes'],
      ['sqitch', 'tags'],
      ['public', 'migrations'],
      ['public', 'schema_migrations'],
    ]);
    expect(historyTables(source).sort()).toEqual([
      'app.flyway_schema_history',
      'goose_db_version',
      'migrations',
      'schema_migrations',
      'sqitch.changes',
      'sqitch.tags',
    ]);
  });

  it("the rollback check ignores a tool's own table and its parts, but still compares a user's table named like a default", () => {
    const changes = [
      added('goose_db_version'),
      added('goose_db_version_pkey', 'index'),
      added('alembic_version.version_num', 'column'),
      added('alembic_version.alembic_version_pkc', 'constraint'),
      added('sqitch.changes'),
      added('databasechangelog'),
      // Flyway told to keep its table in a schema of the app's own.
      added('app.flyway_schema_history'),
      added('app.flyway_schema_history.installed_rank', 'column'),
      added('app.flyway_schema_history_pk', 'index'),
      added('migrations'),
      added('schema_migrations_archive'),
      added('orders.priority', 'column'),
      // A user's column that happens to carry a tool's table name is still compared.
      added('orders.schema_migrations', 'column'),
    ];
    expect(withoutHistoryTables(changes).map((c) => c.name)).toEqual([
      'migrations',
      'schema_migrations_archive',
      'orders.priority',
      'orders.schema_migrations',
    ]);
  });
});
