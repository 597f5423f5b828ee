INSERT INTO mission_latest (mission, position, recorded_at)
SELECT mission, last_position, updated_at FROM streams
WHERE mission = ? AND tallies IS NOT NULL ORDER BY last_position DESC LIMIT 1
