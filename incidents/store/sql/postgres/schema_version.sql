SELECT version FROM {schema}.schema_version
