-- The outbox's deduplication keys become digests (issue #19). A key was its text,
-- `kind|item|address|revision`; it is now the first 128 bits of that text's SHA-256 in hex
-- (`domain::outbox::key_digest`). The unique index of the keys then holds no address, and
-- no longer needs a rebuild after each erasure.

-- The emails of cohorts purged already that were addressed to no participant (the bilans'
-- guests', the applicants', a deleted participant's…) kept their recipient's address and
-- name (the purge anonymised the guests and the participants, not these emails):
-- addressed to a placeholder, as the purge now does (`privacy::anonymise_other_recipients`).
UPDATE outbox_emails SET
    recipient_email = CASE WHEN kind = 'guest_convocation'
        THEN 'invite-' || item_id || '@anonyme.invalid'
        ELSE 'destinataire-' || id || '@anonyme.invalid' END,
    recipient_name = CASE WHEN kind = 'guest_convocation'
        THEN 'Invité·e anonymisé·e' ELSE 'Destinataire anonymisé·e' END,
    last_error = NULL,
    last_error_detail = NULL
WHERE participant_id IS NULL
  AND cohort_id IN (SELECT id FROM cohorts WHERE purged_at IS NOT NULL);

-- An erased recipient's email gets a key of its own row (`domain::outbox::erased_key`);
-- every other key, the digest of its text.
UPDATE outbox_emails SET dedup_key = left(encode(sha256(convert_to(CASE
    WHEN recipient_email LIKE '%@anonyme.invalid' THEN 'erased|' || id
    ELSE dedup_key
END, 'UTF8')), 'hex'), 32);
