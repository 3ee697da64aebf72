-- When a participant confirmed their commitment to the four sessions (issue #14), from
-- the link of the `commitment_request` email; NULL while not confirmed.
ALTER TABLE participants ADD COLUMN commitment_confirmed_at TIMESTAMP;
