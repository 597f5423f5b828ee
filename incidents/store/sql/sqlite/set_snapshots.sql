-- ?1..?3: stream_id, state, tallies.
UPDATE streams SET state = ?2, tallies = ?3 WHERE stream_id = ?1
