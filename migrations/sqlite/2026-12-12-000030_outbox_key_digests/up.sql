-- The outbox's deduplication keys become digests (issue #19). A key was its text,
-- `kind|item|address|revision`; it is now the first 128 bits of that text's SHA-256 in hex
-- (`domain::outbox::key_digest`; `cohorte_key_digest` is that function, registered on every
-- connection by the app). The unique index of the keys then holds no address, and no longer
-- needs a rebuild after each erasure: at a network's size (858,000 keys) that rebuild held
-- every writer past its wait.

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
UPDATE outbox_emails SET dedup_key = CASE
    WHEN recipient_email LIKE '%@anonyme.invalid' THEN cohorte_key_digest('erased|' || id)
    ELSE cohorte_key_digest(dedup_key)
END;

-- The index rebuilt, so that none of its pages keeps a key's text.
REINDEX outbox_emails;
