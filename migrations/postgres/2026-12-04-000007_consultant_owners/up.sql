-- Consultant records belong to DLAs (issue #16, point 2). Before this, any chargé·e de
-- mission could edit a record assigned to no cohort. A record is now read and changed by
-- administrators and by the chargé·es de mission of the DLAs listed here; a record with
-- no row here is for administrators only.
CREATE TABLE consultant_dlas (
    consultant_id TEXT NOT NULL REFERENCES consultants(id) ON DELETE CASCADE,
    dla_id TEXT NOT NULL REFERENCES dlas(id) ON DELETE CASCADE,
    PRIMARY KEY (consultant_id, dla_id)
);
CREATE INDEX consultant_dlas_dla ON consultant_dlas (dla_id);

-- Existing records go to the DLAs that could reach them before: the owner DLA and the
-- partner DLAs of each cohort the consultant works on. Records on no cohort get no row.
INSERT INTO consultant_dlas (consultant_id, dla_id)
SELECT consultant_id, dla_id FROM cohorts WHERE consultant_id IS NOT NULL
UNION
SELECT cohorts.consultant_id, cohort_partners.dla_id
FROM cohorts JOIN cohort_partners ON cohort_partners.cohort_id = cohorts.id
WHERE cohorts.consultant_id IS NOT NULL;
