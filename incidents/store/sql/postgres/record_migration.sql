INSERT INTO {schema}.schema_version (version, description, applied_at) VALUES ($1, $2, $3)
