SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash
FROM {schema}.events WHERE stream_id = $1 AND version <= $2::bigint ORDER BY version DESC
LIMIT $3::bigint
