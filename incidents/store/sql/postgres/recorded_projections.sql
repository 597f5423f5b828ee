SELECT DISTINCT projection FROM {schema}.projection_versions
