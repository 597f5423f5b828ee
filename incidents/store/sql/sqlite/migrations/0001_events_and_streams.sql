-- list_streams filters on category, mission and is_open and sorts by stream_id: with
-- stream_id last, the filtered rows come from the index already in order.
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    category TEXT NOT NULL,
    data BLOB NOT NULL,
    metadata BLOB NOT NULL,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX events_by_type ON events (type, position);
CREATE INDEX events_by_category ON events (category, position);
CREATE TABLE streams (
    stream_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    version INTEGER NOT NULL,
    state BLOB NOT NULL,
    mission TEXT,
    is_open INTEGER NOT NULL,
    last_position INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX streams_by_category ON streams (category, is_open, stream_id);
CREATE INDEX streams_by_mission ON streams (mission, category, is_open, stream_id);
