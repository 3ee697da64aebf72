-- The keys' text again, computed from each row as the app before 000030 did
-- (`kind|item|address[#participant]|revision`, the address trimmed and lower-cased — by
-- SQL's lower(), which folds ASCII letters only on SQLite). Two rows can then compute the
-- same text (a participant deleted since, whose emails lost their `#participant`; the
-- placeholders of one erased person): the second and later ones, in the order of their
-- ids, keep their id at the end. The emails anonymised by the purge stay anonymised.
WITH texts AS (
    SELECT id, kind || '|' || item_id || '|'
        || lower(trim(CASE WHEN participant_id IS NULL THEN trim(recipient_email)
                           ELSE trim(recipient_email) || '#' || participant_id END))
        || '|' || revision AS k
    FROM outbox_emails
), keyed AS (
    SELECT id, CASE WHEN row_number() OVER (PARTITION BY k ORDER BY id) > 1
                    THEN k || '|' || id ELSE k END AS k
    FROM texts
)
UPDATE outbox_emails SET dedup_key = keyed.k FROM keyed WHERE keyed.id = outbox_emails.id;
