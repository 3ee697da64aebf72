ALTER TABLE participants DROP COLUMN version;
ALTER TABLE consultants DROP COLUMN version;
ALTER TABLE dlas DROP COLUMN version;
