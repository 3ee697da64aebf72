-- The outbox's deduplication keys become digests (issue #19). A key was its text,
-- `kind|item|address|revision`; it is now the first 128 bits of that text's SHA-256 in hex
-- (`domain::outbox::key_digest`). The unique index of the keys then holds no address, and
-- no longer needs a rebuild after each erasure.

-- The bilans' guests' convocations in cohorts purged already kept their guest's address
-- (the purge anonymised the guests, not their emails): addressed to the guest's
-- placeholder, as the purge now does.
UPDATE outbox_emails SET
    recipient_email = 'invite-' || item_id || '@anonyme.invalid',
    recipient_name = 'Invité·e anonymisé·e',
    last_error = NULL,
    last_error_detail = NULL
WHERE kind = 'guest_convocation'
  AND cohort_id IN (SELECT id FROM cohorts WHERE purged_at IS NOT NULL);

-- An erased recipient's email gets a key of its own row (`domain::outbox::erased_key`);
-- every other key, the digest of its text.
UPDATE outbox_emails SET dedup_key = left(encode(sha256(convert_to(CASE
    WHEN recipient_email LIKE '%@anonyme.invalid' THEN 'erased|' || id
    ELSE dedup_key
END, 'UTF8')), 'hex'), 32);
