-- Every dispatcher pass asks which cohorts not purged yet have no session ending after the
-- purge's limit, and which published cohorts still have a session ending after a week ago
-- (the weekly summaries): one probe of this index per cohort (issue #19), instead of reading
-- every session row of every cohort not purged, or listing every session to come.
CREATE INDEX sessions_cohort_ends ON sessions (cohort_id, ends_at);
