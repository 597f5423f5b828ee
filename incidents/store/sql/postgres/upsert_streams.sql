INSERT INTO {schema}.streams (stream_id, category, version, state, mission, is_open,
last_position, updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::bytea[], $5::text[],
$6::boolean[], $7::bigint[], $8::timestamptz[])
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = excluded.state,
mission = excluded.mission, is_open = excluded.is_open, last_position = excluded.last_position,
updated_at = excluded.updated_at
