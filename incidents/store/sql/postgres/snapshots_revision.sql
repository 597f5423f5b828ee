SELECT value FROM {schema}.store_counters WHERE name = 'snapshots_revision'
