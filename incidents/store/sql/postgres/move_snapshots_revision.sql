INSERT INTO {schema}.store_counters (name, value) VALUES ('snapshots_revision', 1)
ON CONFLICT (name) DO UPDATE SET value = store_counters.value + 1
