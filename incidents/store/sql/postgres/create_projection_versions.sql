-- Each inline projection's applied migrations, numbered per projection.
CREATE TABLE IF NOT EXISTS {schema}.projection_versions (
projection text NOT NULL, version integer NOT NULL, description text NOT NULL,
applied_at timestamptz NOT NULL, PRIMARY KEY (projection, version))
