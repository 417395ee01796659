// pg-rehearsal points DATABASE_URL at the snapshot.
module.exports = {
  client: 'pg',
  connection: process.env.DATABASE_URL,
  migrations: { directory: './migrations', loadExtensions: ['.cjs'] },
};
