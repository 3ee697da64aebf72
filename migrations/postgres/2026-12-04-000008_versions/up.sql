-- Every record the API can update carries a version: a PUT must send the version it read
-- (409 when stale), so that two people editing the same DLA, consultant record or
-- participant cannot overwrite each other silently.
ALTER TABLE dlas ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE consultants ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE participants ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
