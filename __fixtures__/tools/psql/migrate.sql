ALTER TABLE accounts ADD COLUMN email text;
CREATE INDEX accounts_name_idx ON accounts (name);
