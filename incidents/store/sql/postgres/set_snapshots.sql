UPDATE {schema}.streams AS t SET state = u.state, tallies = u.tallies
FROM (SELECT unnest($1::text[]) AS stream_id, unnest($2::bytea[]) AS state,
unnest($3::text[])::text[] AS tallies) AS u WHERE t.stream_id = u.stream_id
