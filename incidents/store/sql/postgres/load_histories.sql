-- The whole of each stream whose append folds with its history (a correction).
SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash
FROM {schema}.events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version
