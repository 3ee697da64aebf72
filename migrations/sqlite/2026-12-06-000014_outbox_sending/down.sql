ALTER TABLE outbox_emails DROP COLUMN last_error_detail;
ALTER TABLE outbox_emails DROP COLUMN unconfirmed;
ALTER TABLE outbox_emails DROP COLUMN first_due_at;
ALTER TABLE outbox_emails DROP COLUMN claim_token;
