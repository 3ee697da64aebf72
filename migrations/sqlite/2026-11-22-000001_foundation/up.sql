-- Foundation schema: DLAs, consultants, cohorts, enrolled associations, participants,
-- sessions, intersession tasks and their per-association returns.
-- Portable on purpose: UUIDs as TEXT, UTC timestamps as TIMESTAMP, dates as DATE,
-- enumerations as TEXT checked by the application.

CREATE TABLE dlas (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    area TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE consultants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    firm TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE cohorts (
    id TEXT PRIMARY KEY NOT NULL,
    dla_id TEXT NOT NULL REFERENCES dlas(id),
    name TEXT NOT NULL,
    territory TEXT NOT NULL,
    approach TEXT NOT NULL,
    thematic TEXT,
    start_date DATE NOT NULL,
    status TEXT NOT NULL DEFAULT 'brouillon',
    association_cap INTEGER NOT NULL DEFAULT 8,
    consultant_id TEXT REFERENCES consultants(id),
    programme_template TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cohorts_dla_idx ON cohorts(dla_id);

CREATE TABLE cohort_partners (
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    dla_id TEXT NOT NULL REFERENCES dlas(id),
    PRIMARY KEY (cohort_id, dla_id)
);

CREATE TABLE associations (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    rna TEXT,
    siret TEXT,
    creation_year INTEGER,
    salaried_staff INTEGER,
    sector TEXT NOT NULL DEFAULT '',
    town TEXT NOT NULL DEFAULT '',
    general_interest BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX associations_cohort_idx ON associations(cohort_id);

CREATE TABLE participants (
    id TEXT PRIMARY KEY NOT NULL,
    association_id TEXT NOT NULL REFERENCES associations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    function TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX participants_association_idx ON participants(association_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    association_id TEXT REFERENCES associations(id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    video_link TEXT NOT NULL DEFAULT '',
    agenda TEXT NOT NULL DEFAULT '',
    planned_half_days INTEGER NOT NULL DEFAULT 0,
    sequence INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_cohort_idx ON sessions(cohort_id, starts_at);

CREATE TABLE intersession_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    due_date DATE NOT NULL,
    preparation_half_days INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX intersession_tasks_cohort_idx ON intersession_tasks(cohort_id, due_date);

CREATE TABLE task_returns (
    task_id TEXT NOT NULL REFERENCES intersession_tasks(id) ON DELETE CASCADE,
    association_id TEXT NOT NULL REFERENCES associations(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    returned_on DATE,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, association_id)
);
