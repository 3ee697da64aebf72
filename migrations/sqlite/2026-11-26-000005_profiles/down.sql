ALTER TABLE associations DROP COLUMN mirror_named;
DROP TABLE association_profiles;
