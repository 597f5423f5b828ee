DELETE FROM {schema}.mission_latest WHERE mission = ANY($1::text[])
