-- The journals read a page of entries newest first, `at` then `id` (issue #19): with the id
-- in the index, a cohort's page is read from the index in order, and a DLA's page is chosen
-- from the index alone before the 50 entries' rows (and their before/after data) are read.
DROP INDEX audit_log_cohort;
CREATE INDEX audit_log_cohort ON audit_log (cohort_id, at, id);
-- The DLA overview reads its cohorts' participants' roles (their warnings): with the role in
-- the association's index, from the index alone.
DROP INDEX participants_association_idx;
CREATE INDEX participants_association_idx ON participants (association_id, role);
