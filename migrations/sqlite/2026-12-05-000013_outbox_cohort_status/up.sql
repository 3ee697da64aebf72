-- A cohort's emails of one status (the « Envois » page's counts and its status filter).
-- Without it the planner took `outbox_emails_deadline (status, not_after)` for
-- `cohort_id = ? AND status = ?` and walked every cohort's emails of that status: the
-- page cost 3 times more at 3,000 cohorts than at 300 (docs/BENCHMARKS.md).
CREATE INDEX outbox_emails_cohort_status ON outbox_emails (cohort_id, status);
