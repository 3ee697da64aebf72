ALTER TABLE associations DROP COLUMN creation_date;
