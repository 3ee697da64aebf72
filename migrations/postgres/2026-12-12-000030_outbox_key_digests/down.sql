-- The keys' text again, computed from each row as the app before 000030 did
-- (`kind|item|address[#participant]|revision`, the address trimmed and lower-cased); an
-- erased recipient's email keeps its row's id at the end, the placeholders of one person
-- being the same. The guests' convocations of purged cohorts stay anonymised.
UPDATE outbox_emails SET dedup_key = kind || '|' || item_id || '|'
    || lower(trim(CASE WHEN participant_id IS NULL THEN trim(recipient_email)
                       ELSE trim(recipient_email) || '#' || participant_id END))
    || '|' || revision
    || CASE WHEN recipient_email LIKE '%@anonyme.invalid' THEN '|' || id ELSE '' END;
