/**
 * Migration tools' own bookkeeping tables, in one list for every part that must know them:
 * a focused snapshot copies their rows (the tool reads them to decide what is pending),
 * and the rollback check leaves them out of the schema a down must restore (the first up
 * creates them, a down keeps them).
 */

/** Table names only migration tools use, in whatever schema the tool was told to use. */
const TOOL_TABLES = new Set([
  'flyway_schema_history', // Flyway
  'schema_migrations', // golang-migrate, dbmate, Rails
  'ar_internal_metadata', // Rails
  'alembic_version', // Alembic
  'knex_migrations', // Knex
  'knex_migrations_lock',
  'pgmigrations', // node-pg-migrate
  'goose_db_version', // goose
  'django_migrations', // Django
  '__EFMigrationsHistory', // Entity Framework
  'databasechangelog', // Liquibase
  'databasechangeloglock',
  'SequelizeMeta', // Sequelize
  '_prisma_migrations', // Prisma
  '_sqlx_migrations', // SQLx
  'seaql_migrations', // SeaORM
  'gorp_migrations', // sql-migrate
  'refinery_schema_history', // Refinery
  '__diesel_schema_migrations', // Diesel
  'typeorm_migrations', // TypeORM, when named so
]);

/** sqitch keeps its registry in a schema of its own. */
const TOOL_SCHEMAS = new Set(['sqitch']);

/**
 * Names a tool uses by default that a schema of one's own may use too (`migrations`:
 * TypeORM, Laravel; `schema_version`: Flyway before version 5). A focused snapshot copies
 * their rows anyway (a few rows too many cost nothing); the rollback check still compares
 * them, so that a down that leaves such a table of the user's is caught.
 */
const GENERIC_TABLES = new Set(['migrations', 'schema_version']);

/** A migration tool's own table, for certain. */
export function isToolHistoryTable(schema: string, name: string): boolean {
  return TOOL_TABLES.has(name) || TOOL_SCHEMAS.has(schema);
}

/** A table whose rows a migration tool may read to decide what is pending. */
export function mayBeHistoryTable(schema: string, name: string): boolean {
  return isToolHistoryTable(schema, name) || GENERIC_TABLES.has(name);
}

/**
 * Whether a schema object, named as the schema diff names them (`table`, `table.column`,
 * `table_pkey`, `sqitch.changes`), belongs to a tool's own table.
 */
export function belongsToToolHistoryTable(objectName: string): boolean {
  if ([...TOOL_SCHEMAS].some((schema) => objectName.startsWith(`${schema}.`))) return true;
  return [...TOOL_TABLES].some(
    (t) => objectName === t || objectName.startsWith(`${t}.`) || objectName.startsWith(`${t}_`),
  );
}
