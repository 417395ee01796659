exports.up = (knex) =>
  knex.schema.alterTable('accounts', (table) => {
    table.text('email');
    table.index(['name'], 'accounts_name_idx');
  });

exports.down = (knex) =>
  knex.schema.alterTable('accounts', (table) => {
    table.dropIndex(['name'], 'accounts_name_idx');
    table.dropColumn('email');
  });
