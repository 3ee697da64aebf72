-- The rendered bodies leave the outbox rows (issue #19): the dispatcher's and the
-- « Envois » page's scans read `outbox_emails` only, whose rows no longer spill into
-- overflow pages; a body is read where it is needed (sending, preview, export,
-- anonymisation), through models::outbox::bodies, one row by its key.
-- `packed`: once the email has been settled (sent, missed or cancelled) for
-- `[mail] compress_after_days`, its three texts are stored compressed there
-- (models::outbox::pack) and the text columns are emptied. `settled_at`: when it was
-- settled, written with its status, so that the compaction finds its work through the
-- partial index below without visiting the outbox.
CREATE TABLE outbox_bodies (
    email_id TEXT PRIMARY KEY NOT NULL REFERENCES outbox_emails(id) ON DELETE CASCADE,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    ics TEXT,
    packed BLOB,
    settled_at TIMESTAMP
);
INSERT INTO outbox_bodies (email_id, body_text, body_html, ics, packed, settled_at)
    SELECT id, body_text, body_html, ics, NULL,
           CASE WHEN status = 'sent' THEN sent_at
                WHEN status IN ('missed', 'cancelled') THEN updated_at END
    FROM outbox_emails;
-- The bodies still to compress, by when their email was settled.
CREATE INDEX outbox_bodies_unpacked_idx ON outbox_bodies(settled_at) WHERE packed IS NULL;
ALTER TABLE outbox_emails DROP COLUMN body_text;
ALTER TABLE outbox_emails DROP COLUMN body_html;
ALTER TABLE outbox_emails DROP COLUMN ics;
-- What an anonymisation visits once per person, besides what 000011 indexed (a person's
-- emails, an association's homework answers): the audit rows about them, a cohort's
-- pistes d'actions.
CREATE INDEX audit_log_entity_idx ON audit_log(entity_id);
CREATE INDEX action_leads_cohort_idx ON action_leads(cohort_id);
