// node-postgres on the extended protocol (named statements), each statement in autocommit.
const pg = require('pg');

(async () => {
  const client = new pg.Client(process.env.DATABASE_URL);
  await client.connect();
  await client.query({ name: 'add-email', text: 'ALTER TABLE accounts ADD COLUMN email text' });
  await client.query({ name: 'name-index', text: 'CREATE INDEX accounts_name_idx ON accounts (name)' });
  await client.end();
})().catch((error) => {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
});
