-- zstd dictionaries the stream states are packed with (incidents/store/stored_states.py):
-- a frame names its dictionary by this id (zstd's, a hash of the dictionary). Never
-- deleted: frames made with a dictionary read through it for good. IF NOT EXISTS: a test
-- that takes the schema version back below 7 finds the table kept.
CREATE TABLE IF NOT EXISTS state_dictionaries (
    dictionary_id INTEGER PRIMARY KEY,
    dictionary BLOB NOT NULL
);
