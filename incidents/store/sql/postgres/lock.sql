-- Every process writing to this schema queues here; NULL: no log version to trust
-- a cache by, so every batch reads what it needs afresh.
SELECT NULL::bigint FROM pg_advisory_xact_lock({append_lock})
