-- The bilan as the method describes it (issue #13, point 4).
--
-- A bilan individuel may welcome a third party (the DLA's chargé·e de mission, a partner,
-- another consultant) who crosses perspectives with the association. They are not a
-- participant of any association: a guest of the session, convoked with the invite, listed
-- on the émargement and named in the compte rendu.
CREATE TABLE session_guests (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- Role or organisation, as shown on the émargement (« Chargée de mission, DLA 33 »).
    organisation TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX session_guests_session ON session_guests (session_id);

-- Each association's évaluation of the accompaniment (« à chaud », after its bilan) and
-- its follow-up months later (« à froid »): one row per association, any of its
-- participants may fill and edit it; the last one to do so is kept.
CREATE TABLE evaluations (
    association_id TEXT PRIMARY KEY NOT NULL REFERENCES associations(id) ON DELETE CASCADE,
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    understanding TEXT NOT NULL DEFAULT '',
    pistes TEXT NOT NULL DEFAULT '',
    -- Satisfaction with each session, 1 to 5; NULL when not answered.
    satisfaction_introductive INTEGER,
    satisfaction_etat_des_lieux INTEGER,
    satisfaction_evolution INTEGER,
    satisfaction_bilan INTEGER,
    -- '' (not answered yet), oui, non, peut_etre.
    recommend TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    answered_at TIMESTAMP,
    answered_by TEXT REFERENCES participants(id) ON DELETE SET NULL,
    -- The follow-up: which pistes were implemented.
    followup TEXT NOT NULL DEFAULT '',
    followup_at TIMESTAMP,
    followup_by TEXT REFERENCES participants(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX evaluations_cohort ON evaluations (cohort_id);
