SELECT position, hash, recorded_at FROM {schema}.events ORDER BY position DESC LIMIT 1
