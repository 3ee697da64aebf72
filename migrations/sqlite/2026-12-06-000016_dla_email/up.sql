-- A DLA's contact address (issue #18): replies to a cohort's emails and the invites'
-- ORGANIZER reach it when the cohort names no chargé·e de mission.
ALTER TABLE dlas ADD COLUMN email TEXT NOT NULL DEFAULT '';
