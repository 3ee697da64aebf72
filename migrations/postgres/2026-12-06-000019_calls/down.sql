DROP INDEX associations_siret;
DROP INDEX associations_rna;
DROP TABLE applications;
DROP TABLE calls;
