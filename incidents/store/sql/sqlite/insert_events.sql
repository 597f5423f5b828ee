INSERT INTO events (position, stream_id, version, event_id, type, category, data, metadata,
occurred_at, recorded_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
