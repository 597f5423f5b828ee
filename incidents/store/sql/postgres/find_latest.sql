INSERT INTO {schema}.mission_latest (mission, position, recorded_at)
SELECT DISTINCT ON (mission) mission, last_position, updated_at FROM {schema}.streams
WHERE mission = ANY($1::text[]) AND tallies IS NOT NULL ORDER BY mission, last_position DESC
