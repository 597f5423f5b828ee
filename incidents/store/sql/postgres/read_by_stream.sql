SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash
FROM {schema}.events WHERE (stream_id, version) > ($1, $2::bigint) ORDER BY stream_id, version
LIMIT $3::bigint
