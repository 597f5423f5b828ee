-- (dictionary_id, dictionary): a dictionary two writers may both have read as missing
INSERT INTO state_dictionaries (dictionary_id, dictionary) VALUES (?1, ?2)
ON CONFLICT (dictionary_id) DO NOTHING
