-- The whole of each stream whose append folds with its history (a correction).
SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash
FROM events WHERE stream_id IN (SELECT value FROM json_each(?))
ORDER BY stream_id, version
