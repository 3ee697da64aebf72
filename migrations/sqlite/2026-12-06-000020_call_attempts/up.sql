-- Issue #14: what the public application form limits. One row per application sent from a
-- client address (`kind` 'address') and per acknowledgement sent to an address (`kind`
-- 'recipient'). Neither the address nor the email is stored: `digest` is a keyed digest
-- (HMAC-SHA-256 under the instance secret) of it, enough to count and useless to read.
-- Rows older than a day are deleted as new ones come; those of a purged application go
-- with it (`application_id`).
CREATE TABLE call_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    application_id TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX call_attempts_digest ON call_attempts (kind, digest, at);
CREATE INDEX call_attempts_application ON call_attempts (application_id);
