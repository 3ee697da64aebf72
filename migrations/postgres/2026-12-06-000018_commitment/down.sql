ALTER TABLE participants DROP COLUMN commitment_confirmed_at;
