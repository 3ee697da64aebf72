-- The journals read a page of entries newest first, `at` then `id` (issue #19): with the id
-- in the index, a cohort's page is read from the index in order, and a DLA's page is chosen
-- from the index alone before the 50 entries' rows (and their before/after data) are read.
DROP INDEX audit_log_cohort;
CREATE INDEX audit_log_cohort ON audit_log (cohort_id, at, id);
-- The DLA overview reads its cohorts' participants' roles (their warnings): with the role in
-- the association's index, from the index alone.
DROP INDEX participants_association_idx;
CREATE INDEX participants_association_idx ON participants (association_id, role);
-- Its sessions, read cohort by cohort in order (`ORDER BY cohort_id, starts_at, kind`),
-- come from the index in that order, unsorted; its time entries, summed by cohort and kind
-- (also the activity report's, by date), from the index alone.
DROP INDEX sessions_cohort_idx;
CREATE INDEX sessions_cohort_idx ON sessions (cohort_id, starts_at, kind);
CREATE INDEX time_entries_cohort_kind ON time_entries (cohort_id, kind, entry_date, half_days, minutes);
