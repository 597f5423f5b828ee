SELECT max(version) FROM {schema}.projection_versions WHERE projection = $1
