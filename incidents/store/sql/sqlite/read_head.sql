SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1
