SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash
FROM events WHERE stream_id = ? AND version <= ? ORDER BY version DESC LIMIT ?
