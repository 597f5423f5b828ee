SELECT dictionary_id, dictionary FROM {schema}.state_dictionaries ORDER BY dictionary_id
