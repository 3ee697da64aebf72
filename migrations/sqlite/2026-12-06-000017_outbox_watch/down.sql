DROP INDEX outbox_emails_changed;
DROP INDEX outbox_emails_pending;
