SELECT event_id, stream_id, type, data, position, version FROM {schema}.events
WHERE event_id = ANY($1::uuid[])
