-- What each email carrying an invite told its recipient's calendar (issue #18, point 4):
-- one row per outbox email with an invite (convocation, notice, cancellation). What an
-- address holds of a session is the last of these delivered to it (the outbox row's
-- status and ics_method say sent or not, REQUEST or CANCEL), so that a notice describes
-- the change from what that person received, never from a notice replaced before it left
-- (domain::invite). The title and the agenda are SHA-256 digests: only whether they
-- changed matters, and a digest keeps no name after an anonymisation.
CREATE TABLE invite_copies (
    email_id TEXT PRIMARY KEY NOT NULL REFERENCES outbox_emails(id) ON DELETE CASCADE,
    -- The session whose event it is (a guest's convocation names the guest as its item).
    session_id TEXT NOT NULL,
    -- The invite's SEQUENCE.
    sequence INTEGER NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    location TEXT NOT NULL,
    video_link TEXT NOT NULL,
    -- '' when unknown (the rows below): compares as unchanged.
    title_digest TEXT NOT NULL,
    agenda_digest TEXT NOT NULL
);
CREATE INDEX invite_copies_session ON invite_copies (session_id);

-- The invites queued before this table: the session as it is now stands for what they
-- said (every change so far queued a notice carrying it), at the SEQUENCE they carried.
INSERT INTO invite_copies (email_id, session_id, sequence, starts_at, ends_at, location,
                           video_link, title_digest, agenda_digest)
    SELECT o.id, s.id,
           CASE WHEN o.kind IN ('session_moved', 'session_cancelled') THEN o.revision
                ELSE s.sequence END,
           s.starts_at, s.ends_at, TRIM(s.location), TRIM(s.video_link), '', ''
    FROM outbox_emails o
    JOIN sessions s ON s.id = o.item_id
    WHERE o.ics_method IS NOT NULL
      AND o.kind IN ('convocation', 'session_moved', 'session_cancelled');
INSERT INTO invite_copies (email_id, session_id, sequence, starts_at, ends_at, location,
                           video_link, title_digest, agenda_digest)
    SELECT o.id, s.id, s.sequence, s.starts_at, s.ends_at, TRIM(s.location),
           TRIM(s.video_link), '', ''
    FROM outbox_emails o
    JOIN session_guests g ON g.id = o.item_id
    JOIN sessions s ON s.id = g.session_id
    WHERE o.ics_method IS NOT NULL
      AND o.kind = 'guest_convocation';
