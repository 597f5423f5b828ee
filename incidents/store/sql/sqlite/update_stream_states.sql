-- mission and is_open as they were: naming them only when they change spares their
-- index upkeep. Same row as insert_streams (?2, ?5, ?6 unused).
UPDATE streams SET version = ?3, state = ?4, last_position = ?7, updated_at = ?8
WHERE stream_id = ?1
