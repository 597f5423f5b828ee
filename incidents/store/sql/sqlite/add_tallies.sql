INSERT INTO mission_tallies (mission, label, count) VALUES (?, ?, ?)
ON CONFLICT (mission, label) DO UPDATE SET count = count + excluded.count
