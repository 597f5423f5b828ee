SELECT 1 FROM events WHERE event_id = ?
