INSERT INTO mission_latest (mission, position, recorded_at) VALUES (?, ?, ?)
ON CONFLICT (mission) DO UPDATE SET position = excluded.position,
recorded_at = excluded.recorded_at WHERE excluded.position > mission_latest.position
