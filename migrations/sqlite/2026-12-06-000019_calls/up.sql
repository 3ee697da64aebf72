-- Issue #14: the call for applications of a cohort and the applications it receives.
--
-- One call per cohort. Its public link carries `token` (unguessable; NULL when the link is
-- revoked, a new one is drawn when it is opened again). Applications are accepted until the
-- end of `closes_on` in Europe/Paris. The optional information meeting (réunion
-- d'information) belongs to the call, not to the programme: it is not a session, has its own
-- invite to every applicant (SEQUENCE `meeting_sequence`) and no consultant time.
CREATE TABLE calls (
    cohort_id TEXT PRIMARY KEY NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    token TEXT UNIQUE,
    closes_on DATE NOT NULL,
    presentation TEXT NOT NULL DEFAULT '',
    meeting_starts_at TIMESTAMP,
    meeting_ends_at TIMESTAMP,
    meeting_location TEXT NOT NULL DEFAULT '',
    meeting_video_link TEXT NOT NULL DEFAULT '',
    meeting_sequence INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One application of an association to a cohort's call, typed by the association on the
-- public form (no account). `edit_token_hash` is the SHA-256 of the private link sent in the
-- acknowledgement (edit or withdraw until the closing date). Status: 'recue', 'retenue',
-- 'attente' (liste d'attente), 'non_retenue', 'desistee'. `association_id` is set when the
-- application became an enrolled association; `decided_at` / `decided_by` tell the last
-- status change (a withdrawal by the association names it). Applications not retained are deleted a configured
-- time after the closing date; the others go with the cohort's purge.
CREATE TABLE applications (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    edit_token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'recue',
    -- The association.
    name TEXT NOT NULL,
    rna TEXT,
    siret TEXT,
    town TEXT NOT NULL DEFAULT '',
    creation_date DATE,
    creation_year INTEGER,
    salaried_staff INTEGER,
    -- Full-time equivalents in hundredths (2,5 ETP = 250).
    fte_hundredths INTEGER,
    volunteers INTEGER,
    sector TEXT NOT NULL DEFAULT '',
    general_interest BOOLEAN NOT NULL DEFAULT FALSE,
    -- Its two participants: the salaried director and a board member.
    director_name TEXT NOT NULL DEFAULT '',
    director_function TEXT NOT NULL DEFAULT '',
    director_email TEXT NOT NULL DEFAULT '',
    board_name TEXT NOT NULL DEFAULT '',
    board_function TEXT NOT NULL DEFAULT '',
    board_email TEXT NOT NULL DEFAULT '',
    -- Why it applies, and whether both can come to every planned session.
    motivation TEXT NOT NULL DEFAULT '',
    available_all BOOLEAN NOT NULL DEFAULT FALSE,
    availability_note TEXT NOT NULL DEFAULT '',
    -- Consents: the processing of the data for the call (required), and the association's
    -- name shown to the other associations of the cohort (associations.mirror_named).
    consent_data BOOLEAN NOT NULL DEFAULT FALSE,
    consent_named BOOLEAN NOT NULL DEFAULT FALSE,
    submitted_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by TEXT NOT NULL DEFAULT '',
    association_id TEXT REFERENCES associations(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX applications_cohort_status ON applications (cohort_id, status, submitted_at);
CREATE INDEX applications_association ON applications (association_id);
-- « Déjà accompagnée » looks associations up by identifier across the instance.
CREATE INDEX associations_rna ON associations (rna) WHERE rna IS NOT NULL;
CREATE INDEX associations_siret ON associations (siret) WHERE siret IS NOT NULL;
