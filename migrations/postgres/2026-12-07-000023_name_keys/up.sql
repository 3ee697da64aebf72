-- Issue #15: what must be unique is held by UNIQUE indexes, not by a read before the write
-- (which two writers pass together at READ COMMITTED). The app maps a refusal of these
-- indexes to the field's French message.

-- An association's name within its cohort, compared in Unicode lower case without the
-- spaces around it: the app writes the key (`domain::fr::name_key`) on every insert and
-- update. An anonymised association has no key (they all bear the same name). Existing
-- rows are keyed here with lower(trim(name)), which folds letters by the database's
-- LC_CTYPE: all of Unicode under a UTF-8 locale, ASCII only under C. A key that differs
-- from the app's is rewritten when the association is next saved.
ALTER TABLE associations ADD COLUMN name_key TEXT;
UPDATE associations SET name_key = lower(trim(name)) WHERE anonymised_at IS NULL;
CREATE UNIQUE INDEX associations_name_key ON associations (cohort_id, name_key);

-- A participant's address within the association, stored normalised already
-- (`account::normalise_email`).
UPDATE participants SET email = lower(trim(email));
CREATE UNIQUE INDEX participants_email_key ON participants (association_id, email);
-- The sign-in link's request finds a person by address alone (`portal::request_link`).
CREATE INDEX participants_email ON participants (email);

-- A bilan's guest's address within the session. The purge gave every guest one
-- placeholder: each gets its own first, as anonymised participants do.
UPDATE session_guests SET email = 'invite-' || id || '@anonyme.invalid'
    WHERE email = 'invite@anonyme.invalid';
UPDATE session_guests SET email = lower(trim(email));
CREATE UNIQUE INDEX session_guests_email_key ON session_guests (session_id, email);
