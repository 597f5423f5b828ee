INSERT INTO {schema}.mission_latest AS t (mission, position, recorded_at)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[])
ON CONFLICT (mission) DO UPDATE SET position = excluded.position,
recorded_at = excluded.recorded_at WHERE excluded.position > t.position
