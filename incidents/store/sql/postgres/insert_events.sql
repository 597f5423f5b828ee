INSERT INTO {schema}.events (position, stream_id, version, event_id, type, category,
data, metadata, occurred_at, recorded_at, hash)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::uuid[], $5::text[], $6::text[],
$7::bytea[], $8::bytea[], $9::timestamptz[], $10::timestamptz[], $11::text[])
