SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash
FROM events WHERE (stream_id, version) > (?, ?) ORDER BY stream_id, version LIMIT ?
