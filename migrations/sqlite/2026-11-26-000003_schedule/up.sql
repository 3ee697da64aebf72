-- Automatic emails: publication of a cohort's programme, its per-cohort sending settings,
-- the chargé·e de mission who receives the weekly summary, participants' reminder choice
-- and calendar feed, and the instance secret that signs feed links.
-- Portable on purpose: one ADD COLUMN per statement, UTC timestamps, TEXT for JSON.

-- When the programme was published: convocations and reminders exist from then on.
ALTER TABLE cohorts ADD COLUMN published_at TIMESTAMP;
-- JSON overrides of [mail.schedule] (domain::schedule::ScheduleOverride); NULL = defaults.
ALTER TABLE cohorts ADD COLUMN mail_settings TEXT;
ALTER TABLE cohorts ADD COLUMN officer_name TEXT NOT NULL DEFAULT '';
ALTER TABLE cohorts ADD COLUMN officer_email TEXT NOT NULL DEFAULT '';
-- Set in the transaction of any change that may alter the cohort's automatic emails;
-- cleared when they have been brought up to date (models::planner).
ALTER TABLE cohorts ADD COLUMN mail_dirty BOOLEAN NOT NULL DEFAULT FALSE;

-- Reminders (J-7, J-1, homework) can be turned off; convocations cannot.
ALTER TABLE participants ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT TRUE;
-- Raised to revoke the participant's calendar feed link.
ALTER TABLE participants ADD COLUMN feed_generation INTEGER NOT NULL DEFAULT 0;

-- Why an email was cancelled or replaced, in French, for the outbox page.
ALTER TABLE outbox_emails ADD COLUMN note TEXT;

CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    -- Hex of 32 random bytes.
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
