SELECT stream_id, category, version, state, mission, is_open, last_position, updated_at
FROM streams WHERE stream_id > ? ORDER BY stream_id LIMIT 1000
