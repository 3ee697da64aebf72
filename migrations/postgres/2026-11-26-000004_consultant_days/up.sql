-- Consultant days and session logs (issue #4): the consultant's contract and its funders,
-- time entries, each session's log (attendance per participant and half-day, the third
-- party of the effet miroir, notes) and the pistes d'actions of each association.
-- Portable on purpose: UUIDs as TEXT, UTC timestamps, dates as DATE, money in cents
-- (BIGINT), shares in basis points (10 000 = 100 %), time in half-days or minutes.

CREATE TABLE cohort_budgets (
    cohort_id TEXT PRIMARY KEY NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    contracted_half_days INTEGER NOT NULL,
    day_rate_cents BIGINT NOT NULL,
    -- Length of a consultant day, for time entered in hours (420 = 7 h).
    day_minutes INTEGER NOT NULL DEFAULT 420,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE cohort_funders (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- Set when the funder is one of the DLAs of the instance.
    dla_id TEXT REFERENCES dlas(id) ON DELETE SET NULL,
    share_bp INTEGER NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cohort_funders_cohort_idx ON cohort_funders(cohort_id, position);

CREATE TABLE time_entries (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    entry_date DATE NOT NULL,
    -- animation_collective, preparation, appui_individuel, bilan_individuel,
    -- coordination, deplacement (domain::budget::TimeKind)
    kind TEXT NOT NULL,
    -- Exactly one of the two: half-days (1 or 2), or minutes when typed in hours.
    half_days INTEGER,
    minutes INTEGER,
    session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    association_id TEXT REFERENCES associations(id) ON DELETE SET NULL,
    comment TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX time_entries_cohort_idx ON time_entries(cohort_id, entry_date);

CREATE TABLE session_logs (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    -- Who brought the outside view of the effet miroir: '' (nobody), partenaire,
    -- charge_de_mission, consultant (another consultant), autre.
    third_party_kind TEXT NOT NULL DEFAULT '',
    third_party_name TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE attendances (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    -- 1 (morning, or the only half-day) or 2 (afternoon).
    half_day INTEGER NOT NULL,
    -- present, excuse, absent
    status TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, participant_id, half_day)
);

CREATE TABLE action_leads (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    association_id TEXT NOT NULL REFERENCES associations(id) ON DELETE CASCADE,
    -- The session it came out of.
    session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    text TEXT NOT NULL,
    -- Who carries it (free text: « la directrice », « le bureau »).
    owner TEXT NOT NULL DEFAULT '',
    due_date DATE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX action_leads_association_idx ON action_leads(association_id, created_at);
