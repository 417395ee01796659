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

/** Kinds the schema diff names `relation.part` (schema.ts captureSchema). */
const OWNED_KINDS = new Set(['column', 'constraint', 'trigger']);
/** Kinds named after the table they belong to (`alembic_version_pkc`, `flyway_schema_history_pk_seq`). */
const NAMED_AFTER_TABLE = new Set(['index', 'sequence', 'type']);

/**
 * Whether a schema object, as the schema diff names it (`table`, `schema.table`,
 * `table.column`, `schema.table_pkey`), belongs to a tool's own table, in whatever schema.
 */
export function belongsToToolHistoryTable(change: { object: string; name: string }): boolean {
  const relation = OWNED_KINDS.has(change.object)
    ? change.name.slice(0, change.name.lastIndexOf('.'))
    : change.name;
  const dot = relation.indexOf('.');
  const schema = dot === -1 ? 'public' : relation.slice(0, dot);
  const name = relation.slice(dot + 1);
  if (isToolHistoryTable(schema, name)) return true;
  return NAMED_AFTER_TABLE.has(change.object) && [...TOOL_TABLES].some((t) => name.startsWith(`${t}_`));
}
