SELECT value FROM store_counters WHERE name = 'snapshots_revision'
