-- Every mission's tallies and latest counted afresh from the streams (a repair).
DELETE FROM mission_tallies;
INSERT INTO mission_tallies (mission, label, count)
SELECT s.mission, j.value, count(*) FROM streams AS s, json_each(s.tallies) AS j
WHERE s.mission IS NOT NULL AND s.tallies IS NOT NULL GROUP BY s.mission, j.value;
DELETE FROM mission_latest;
-- SQLite takes the bare updated_at from the row that has the max(last_position).
INSERT INTO mission_latest (mission, position, recorded_at)
SELECT mission, max(last_position), updated_at FROM streams
WHERE mission IS NOT NULL AND tallies IS NOT NULL GROUP BY mission;
