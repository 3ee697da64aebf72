DROP INDEX associations_cohort_idx;
CREATE INDEX associations_cohort_idx ON associations (cohort_id);
ALTER TABLE associations DROP COLUMN has_governance;
ALTER TABLE associations DROP COLUMN has_director;
