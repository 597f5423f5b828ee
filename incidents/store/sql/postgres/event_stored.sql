SELECT 1 FROM {schema}.events WHERE event_id = $1
