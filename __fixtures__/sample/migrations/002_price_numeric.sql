-- rewrites products under an ACCESS EXCLUSIVE lock
ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2) USING price / 100.0;
