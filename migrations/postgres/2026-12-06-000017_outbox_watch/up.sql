-- Watching the sending (issue #18): the staff banner and GET /api/v1/outbox/status.
-- Emails still to send by planned time: the banner's query on every staff page starts from
-- `status IN ('scheduled', 'sending') AND send_after <= now`, a handful of rows while the
-- dispatcher keeps up, whatever the history (tests/query_plans.rs pins it).
CREATE INDEX outbox_emails_pending ON outbox_emails (status, send_after);
-- Emails by status and last change: the status endpoint's « sent / failed in the last
-- hour » read the last hour's rows only.
CREATE INDEX outbox_emails_changed ON outbox_emails (status, updated_at);
