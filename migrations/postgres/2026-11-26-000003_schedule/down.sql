DROP TABLE instance_secrets;
ALTER TABLE outbox_emails DROP COLUMN note;
ALTER TABLE participants DROP COLUMN feed_generation;
ALTER TABLE participants DROP COLUMN reminders;
ALTER TABLE cohorts DROP COLUMN mail_dirty;
ALTER TABLE cohorts DROP COLUMN officer_email;
ALTER TABLE cohorts DROP COLUMN officer_name;
ALTER TABLE cohorts DROP COLUMN mail_settings;
ALTER TABLE cohorts DROP COLUMN published_at;
