-- ?1, ?2: stream_id, state.
UPDATE streams SET state = ?2 WHERE stream_id = ?1
