-- Each inline projection's applied migrations, numbered per projection.
CREATE TABLE IF NOT EXISTS projection_versions (
projection TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,
applied_at TEXT NOT NULL, PRIMARY KEY (projection, version)) WITHOUT ROWID
