-- The mission tallies are an inline projection's tables now (incidents.projections.missions
-- keeps them, rebuilt from the streams when it is first registered): the store keeps no
-- labels and no per-mission counts.
DROP TABLE mission_tallies;
DROP TABLE mission_latest;
ALTER TABLE streams DROP COLUMN tallies;
