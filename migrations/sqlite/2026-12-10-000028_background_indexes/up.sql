-- The privacy purge asks, at the start of every dispatcher pass, which cohorts not purged yet
-- have no session ending after the limit (issue #19): one probe of this index per cohort,
-- instead of reading every session row of every cohort not purged.
CREATE INDEX sessions_cohort_ends ON sessions (cohort_id, ends_at);
