SELECT event_id, stream_id, type, data, position, version FROM events
WHERE event_id IN (SELECT value FROM json_each(?))
