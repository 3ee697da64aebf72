-- The banner of late emails on every staff page asks, for the cohorts a person sees, which
-- of their emails still to send are due: one range of this index per cohort and status
-- (issue #19). With `(cohort_id, status)` alone it read every email still to send of those
-- cohorts, and SQLite preferred the instance's whole due range (`outbox_emails_pending`),
-- 30,000 rows after two months without sending at a network's size: 44 ms a staff page.
DROP INDEX outbox_emails_cohort_status;
CREATE INDEX outbox_emails_cohort_status ON outbox_emails (cohort_id, status, send_after);
