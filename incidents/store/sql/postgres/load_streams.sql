SELECT stream_id, category, version, state, mission, is_open, last_position, updated_at
FROM {schema}.streams WHERE stream_id = ANY($1::text[])
