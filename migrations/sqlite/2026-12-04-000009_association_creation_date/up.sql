-- A known creation date beside the year (issue #13): the method's « créée depuis au moins
-- 3 ans » is then compared by date.
ALTER TABLE associations ADD COLUMN creation_date DATE NULL;
