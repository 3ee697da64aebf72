DROP TABLE action_leads;
DROP TABLE attendances;
DROP TABLE session_logs;
DROP TABLE time_entries;
DROP TABLE cohort_funders;
DROP TABLE cohort_budgets;
