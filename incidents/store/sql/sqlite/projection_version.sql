SELECT max(version) FROM projection_versions WHERE projection = ?
