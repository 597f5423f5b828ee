INSERT INTO store_counters (name, value) VALUES ('snapshots_revision', 1)
ON CONFLICT (name) DO UPDATE SET value = value + 1
