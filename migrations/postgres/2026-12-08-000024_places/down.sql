DROP TABLE staff_feeds;
DROP INDEX sessions_starts;
DROP INDEX sessions_place;
ALTER TABLE sessions DROP COLUMN place_id;
DROP TABLE places;
