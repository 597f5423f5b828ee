-- A stream's tallies travel as one array literal each (arrays of arrays must be rectangular).
INSERT INTO {schema}.streams (stream_id, category, version, state, mission, is_open,
last_position, updated_at, tallies)
SELECT stream_id, category, version, state, mission, is_open, last_position, updated_at,
tallies::text[] FROM unnest($1::text[], $2::text[], $3::integer[], $4::bytea[], $5::text[],
$6::boolean[], $7::bigint[], $8::timestamptz[], $9::text[])
AS u (stream_id, category, version, state, mission, is_open, last_position, updated_at, tallies)
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = excluded.state,
mission = excluded.mission, is_open = excluded.is_open, last_position = excluded.last_position,
updated_at = excluded.updated_at, tallies = excluded.tallies
