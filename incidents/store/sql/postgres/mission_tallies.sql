SELECT mission, NULL, position, recorded_at FROM {schema}.mission_latest
UNION ALL SELECT mission, label, count, NULL FROM {schema}.mission_tallies WHERE count <> 0
