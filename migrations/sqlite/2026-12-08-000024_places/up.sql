-- Issue #17: the places a DLA holds its sessions in (name, address), picked by a session
-- instead of — or beside — its free-text location; archived rather than deleted, so that
-- past sessions keep theirs.
CREATE TABLE places (
    id TEXT PRIMARY KEY NOT NULL,
    dla_id TEXT NOT NULL REFERENCES dlas(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    archived_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX places_dla ON places (dla_id, name);

-- No REFERENCES here (PostgreSQL has one): SQLite could not drop the column again in
-- down.sql. The app checks that the place is one of the cohort's DLA's.
ALTER TABLE sessions ADD COLUMN place_id TEXT;
-- The place's other sessions of a day (conflicts: the same place taken twice).
CREATE INDEX sessions_place ON sessions (place_id, starts_at);
-- An administrator's feed: every session of a date range.
CREATE INDEX sessions_starts ON sessions (starts_at);

-- A staff member's private calendar feed: its address is signed like a participant's
-- (`models::feed`); raising the generation revokes the address given so far. No row =
-- generation 0.
CREATE TABLE staff_feeds (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
