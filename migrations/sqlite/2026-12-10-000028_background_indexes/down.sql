DROP INDEX sessions_cohort_ends;
