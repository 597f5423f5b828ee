-- snapshots_revision: moved by every replace_snapshots (a repair), which leaves no event
-- behind, so that readers holding states know to read them again.
CREATE TABLE store_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
