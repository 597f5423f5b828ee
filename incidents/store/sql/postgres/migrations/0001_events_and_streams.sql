-- Text columns that are compared or sorted use the "C" collation, so stream ids sort as
-- they do in Python and in SQLite whatever the database's locale.
CREATE TABLE {schema}.events (
    position bigint PRIMARY KEY,
    stream_id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    event_id uuid NOT NULL,
    type text COLLATE "C" NOT NULL,
    category text COLLATE "C" NOT NULL,
    data bytea NOT NULL,
    metadata bytea NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    hash text NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);
CREATE INDEX events_by_type ON {schema}.events (type, position);
CREATE INDEX events_by_category ON {schema}.events (category, position);
CREATE TABLE {schema}.streams (
    stream_id text COLLATE "C" PRIMARY KEY,
    category text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    state bytea NOT NULL,
    mission text COLLATE "C",
    is_open boolean NOT NULL,
    last_position bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX streams_by_category ON {schema}.streams (category, is_open);
CREATE INDEX streams_by_mission ON {schema}.streams (mission, category);
