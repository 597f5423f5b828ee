INSERT INTO {schema}.projection_versions (projection, version, description, applied_at) VALUES ($1, $2, $3, $4)
