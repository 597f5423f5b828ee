CREATE TABLE IF NOT EXISTS {schema}.schema_version (
version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL)
