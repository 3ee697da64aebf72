DROP INDEX session_guests_email_key;
DROP INDEX participants_email;
DROP INDEX participants_email_key;
DROP INDEX associations_name_key;
ALTER TABLE associations DROP COLUMN name_key;
