-- The stream's labels (a JSON array; NULL for none), so that the writer knows what to take
-- away when they change. A file with streams gets them from the rules (the fill run with 3).
ALTER TABLE streams ADD COLUMN tallies TEXT;
CREATE TABLE mission_tallies (
    mission TEXT NOT NULL,
    label TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (mission, label)
) WITHOUT ROWID;
CREATE TABLE mission_latest (
    mission TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
