-- The mission tallies are an inline projection's tables now (incidents.projections.missions
-- keeps them, rebuilt from the streams when it is first registered): the store keeps no
-- labels and no per-mission counts.
DROP TABLE {schema}.mission_tallies;
DROP TABLE {schema}.mission_latest;
ALTER TABLE {schema}.streams DROP COLUMN tallies;
