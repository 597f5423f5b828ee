-- The stream's labels (NULL for none), so the writer knows what to take away when they
-- change; a schema with streams gets them from the rules (the fill run with 3).
ALTER TABLE {schema}.streams ADD COLUMN tallies text[];
CREATE TABLE {schema}.mission_tallies (
    mission text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (mission, label)
);
CREATE TABLE {schema}.mission_latest (
    mission text COLLATE "C" PRIMARY KEY,
    position bigint NOT NULL,
    recorded_at timestamptz NOT NULL
);
