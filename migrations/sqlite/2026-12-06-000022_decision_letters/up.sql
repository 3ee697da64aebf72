-- Issue #14: the decision emails of a call (retenue, liste d'attente, non retenue), as the
-- chargé·e de mission wrote them for this cohort. No row: the French default of the
-- status (`models::application::default_letter`). The texts hold only placeholders the
-- staff's data fills ({cohorte}, {dla}, {date_debut}, {signature}): nothing the applicant
-- typed is repeated in an email.
CREATE TABLE decision_letters (
    cohort_id TEXT NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (cohort_id, status)
);
