-- Accounts, sessions, one-time links, API tokens, the audit log and personal-data
-- housekeeping (issue #5). Secrets are never stored: sessions, links and API tokens are
-- kept as the SHA-256 of the value handed out; passwords as argon2id PHC strings.

-- Staff accounts. A chargé·e de mission belongs to one DLA; a consultant·e account is tied
-- to a consultant record (the cohorts assigned to that record are theirs).
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    -- Lower-case.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- admin | officer | consultant
    role TEXT NOT NULL,
    dla_id TEXT REFERENCES dlas(id),
    consultant_id TEXT REFERENCES consultants(id),
    -- NULL until the person chooses one (first-admin or reset link).
    password_hash TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Signed-in browsers: a staff member or a participant.
CREATE TABLE auth_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    participant_id TEXT REFERENCES participants(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- Absolute limit, whatever the activity.
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_participant ON auth_sessions (participant_id);

-- Single-use links: participant sign-in, password reset, first administrator.
CREATE TABLE auth_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    -- participant_sign_in | password_reset | first_admin
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    participant_id TEXT REFERENCES participants(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX auth_links_participant ON auth_links (participant_id);

-- Failed sign-ins, for throttling per account and per address.
CREATE TABLE sign_in_failures (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The first characters, to recognise a token in the list.
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Who changed what, when: before/after as JSON snapshots.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    -- As shown: the person's name and role.
    actor TEXT NOT NULL,
    actor_user_id TEXT,
    -- For reading by DLA: the cohort the change belongs to, if any.
    cohort_id TEXT,
    -- cohort | association | participant | session | task | time_entry …
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    -- create | update | delete | anonymise
    action TEXT NOT NULL,
    before_data TEXT,
    after_data TEXT
);
CREATE INDEX audit_log_cohort ON audit_log (cohort_id, at);

-- A homework's answer from the portal (text or link).
ALTER TABLE task_returns ADD COLUMN answer TEXT NOT NULL DEFAULT '';
-- Anonymised people keep their attendance and time totals, not their identity.
ALTER TABLE participants ADD COLUMN anonymised_at TIMESTAMP;
ALTER TABLE associations ADD COLUMN anonymised_at TIMESTAMP;
-- When the personal data of an ended cohort was purged.
ALTER TABLE cohorts ADD COLUMN purged_at TIMESTAMP;
