SELECT coalesce(max(position), 0) FROM {schema}.events
