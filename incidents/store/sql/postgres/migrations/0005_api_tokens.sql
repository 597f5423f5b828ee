-- API tokens (incidents/tokens.py): the SHA-256 of each secret, never the secret; times in
-- RFC 3339, UTC. IF NOT EXISTS: a log whose tokens came before this migration keeps them.
CREATE TABLE IF NOT EXISTS {schema}.api_tokens (
    token_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
