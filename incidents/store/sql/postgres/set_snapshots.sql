UPDATE {schema}.streams AS t SET state = u.state
FROM unnest($1::text[], $2::bytea[]) AS u (stream_id, state) WHERE t.stream_id = u.stream_id
