-- Every mission's tallies and latest counted afresh from the streams (a repair).
DELETE FROM {schema}.mission_tallies;
INSERT INTO {schema}.mission_tallies (mission, label, count)
SELECT mission, label, count(*) FROM {schema}.streams, unnest(tallies) AS label
WHERE mission IS NOT NULL AND tallies IS NOT NULL GROUP BY mission, label;
DELETE FROM {schema}.mission_latest;
INSERT INTO {schema}.mission_latest (mission, position, recorded_at)
SELECT DISTINCT ON (mission) mission, last_position, updated_at FROM {schema}.streams
WHERE mission IS NOT NULL AND tallies IS NOT NULL ORDER BY mission, last_position DESC;
