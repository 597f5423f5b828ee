INSERT INTO projection_versions (projection, version, description, applied_at) VALUES (?, ?, ?, ?)
