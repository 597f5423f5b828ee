SELECT stream_id, category, version, state, mission, is_open, last_position, updated_at
FROM streams WHERE stream_id IN (SELECT value FROM json_each(?))
