-- The durable outbox: one row per email to one recipient, written in the same transaction
-- as the change that causes it, then sent by the dispatcher (src/mail/dispatch.rs).
-- Portable on purpose: UUIDs as TEXT, UTC timestamps as TIMESTAMP, statuses as TEXT
-- checked by the application (domain::outbox::Status).

CREATE TABLE outbox_emails (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT REFERENCES cohorts(id) ON DELETE CASCADE,
    -- convocation, session_moved, session_cancelled, reminder_j7, …
    kind TEXT NOT NULL,
    -- The session or task the email is about.
    item_id TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_name TEXT NOT NULL DEFAULT '',
    participant_id TEXT REFERENCES participants(id) ON DELETE SET NULL,
    -- The item's revision the email speaks of (a session's calendar SEQUENCE).
    revision INTEGER NOT NULL DEFAULT 0,
    -- kind|item|recipient|revision: the same email is never queued twice.
    dedup_key TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    ics TEXT,
    -- REQUEST or CANCEL when ics is set.
    ics_method TEXT,
    -- draft, scheduled, sending, sent, failed, missed, cancelled
    status TEXT NOT NULL,
    send_after TIMESTAMP NOT NULL,
    -- A reminder is never sent at or after this instant (its session's start): missed.
    not_after TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMP NOT NULL,
    -- Chosen before the first attempt and kept for every retry.
    message_id TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    -- Wall clock of the last change; for a row in `sending`, when it was claimed.
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_emails_due_idx ON outbox_emails(status, next_attempt_at);
CREATE INDEX outbox_emails_cohort_idx ON outbox_emails(cohort_id, send_after);
