-- Same row as insert_streams (?2 unused).
UPDATE streams SET version = ?3, state = ?4, mission = ?5, is_open = ?6, last_position = ?7,
updated_at = ?8 WHERE stream_id = ?1
