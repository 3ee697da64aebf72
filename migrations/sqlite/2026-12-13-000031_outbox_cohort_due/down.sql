DROP INDEX outbox_emails_cohort_status;
CREATE INDEX outbox_emails_cohort_status ON outbox_emails (cohort_id, status);
