-- Back to the bodies inside the outbox rows. A body stored compressed cannot be
-- decompressed in SQL: such an email keeps its row but its content reads « Contenu
-- compressé, non restauré ».
ALTER TABLE outbox_emails ADD COLUMN body_text TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_emails ADD COLUMN body_html TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_emails ADD COLUMN ics TEXT;
UPDATE outbox_emails SET
    body_text = COALESCE((SELECT CASE WHEN b.packed IS NULL THEN b.body_text
                                      ELSE 'Contenu compressé, non restauré.' END
                          FROM outbox_bodies b WHERE b.email_id = outbox_emails.id), ''),
    body_html = COALESCE((SELECT CASE WHEN b.packed IS NULL THEN b.body_html
                                      ELSE '<p>Contenu compressé, non restauré.</p>' END
                          FROM outbox_bodies b WHERE b.email_id = outbox_emails.id), ''),
    ics = (SELECT CASE WHEN b.packed IS NULL THEN b.ics END
           FROM outbox_bodies b WHERE b.email_id = outbox_emails.id);
-- An invitation that could not be restored has no method either (they go together).
UPDATE outbox_emails SET ics_method = NULL WHERE ics IS NULL;
DROP TABLE outbox_bodies;
DROP INDEX audit_log_entity_idx;
DROP INDEX action_leads_cohort_idx;
