-- migrate:up
ALTER TABLE accounts ADD COLUMN email text;
CREATE INDEX accounts_name_idx ON accounts (name);

-- migrate:down
DROP INDEX accounts_name_idx;
ALTER TABLE accounts DROP COLUMN email;
