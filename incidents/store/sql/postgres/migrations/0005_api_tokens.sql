-- API tokens (incidents/tokens.py): the SHA-256 of each secret, never the secret; times in
-- RFC 3339, UTC, as text (the same values on both engines). IF NOT EXISTS: a log whose
-- tokens came before this migration keeps them.
CREATE TABLE IF NOT EXISTS {schema}.api_tokens (
    token_id text COLLATE "C" PRIMARY KEY, name text NOT NULL, role text NOT NULL,
    secret_sha256 text NOT NULL, created_at text NOT NULL, revoked_at text
);
