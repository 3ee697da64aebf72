-- Sending under real conditions (issue #18).
-- The dispatcher that claimed a `sending` row: each claim draws a new token, and the outcome
-- of an attempt is recorded only by the holder of the row's current token, so a sender
-- that outlived its lease cannot overwrite the outcome of a row recovered and claimed again.
ALTER TABLE outbox_emails ADD COLUMN claim_token TEXT NULL;
-- When the email was first due (the `next_attempt_at` of its first claim): retries give up
-- `mail.give_up_after_hours` after it, unless `not_after` (the session's start) says when.
ALTER TABLE outbox_emails ADD COLUMN first_due_at TIMESTAMP NULL;
-- Sends whose outcome stayed unknown (no reply after the final dot, or a dispatcher that
-- died mid-send): the message may have arrived, so it is sent again at most once.
ALTER TABLE outbox_emails ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;
-- The raw error of the last attempt (the server's reply, the network error); `last_error`
-- holds the French explanation people read.
ALTER TABLE outbox_emails ADD COLUMN last_error_detail TEXT NULL;
