SELECT dictionary_id, dictionary FROM state_dictionaries ORDER BY dictionary_id
