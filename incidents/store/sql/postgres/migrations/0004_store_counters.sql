-- snapshots_revision: moved by every replace_snapshots (a repair), which leaves no event
-- behind, so that readers holding states read them again.
CREATE TABLE {schema}.store_counters (
    name text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
);
