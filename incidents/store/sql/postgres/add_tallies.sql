INSERT INTO {schema}.mission_tallies AS t (mission, label, count)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (mission, label) DO UPDATE SET count = t.count + excluded.count
