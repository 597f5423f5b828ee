-- ?1..?8: stream_id, category, version, state, mission, is_open, last_position,
-- updated_at (every stream statement takes the same row).
INSERT INTO streams (stream_id, category, version, state, mission, is_open, last_position,
updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
