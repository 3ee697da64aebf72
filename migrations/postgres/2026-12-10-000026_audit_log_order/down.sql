DROP INDEX audit_log_cohort;
CREATE INDEX audit_log_cohort ON audit_log (cohort_id, at);
