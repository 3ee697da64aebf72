DROP INDEX audit_log_cohort;
CREATE INDEX audit_log_cohort ON audit_log (cohort_id, at);
DROP INDEX participants_association_idx;
CREATE INDEX participants_association_idx ON participants (association_id);
DROP INDEX time_entries_cohort_kind;
DROP INDEX sessions_cohort_idx;
CREATE INDEX sessions_cohort_idx ON sessions (cohort_id, starts_at);
