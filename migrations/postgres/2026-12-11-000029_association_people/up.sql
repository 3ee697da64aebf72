-- The DLA overview reads a page of cohorts' associations at once (issue #19).
--
-- Two facts about each association's people, which its warnings need, kept on its row
-- (`association::note_roles`, called by every write of a participant) instead of two
-- probes of `participants` for each association on every overview: one of its
-- participants is its director, one sits on its board.
ALTER TABLE associations ADD COLUMN has_director BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE associations ADD COLUMN has_governance BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE associations SET
    has_director = EXISTS (SELECT 1 FROM participants
        WHERE participants.association_id = associations.id AND participants.role = 'direction'),
    has_governance = EXISTS (SELECT 1 FROM participants
        WHERE participants.association_id = associations.id AND participants.role = 'gouvernance');
-- A cohort's associations are read in enrolment order (`created_at`, then `name`): on the
-- cohort's pages one cohort, on the DLA overview a page of cohorts (`ORDER BY cohort_id,
-- created_at, name`). With the order in the cohort's index both come from the index in
-- order, without a sort.
DROP INDEX associations_cohort_idx;
CREATE INDEX associations_cohort_idx ON associations (cohort_id, created_at, name);
