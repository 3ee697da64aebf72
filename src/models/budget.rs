//! The consultant's contract of a cohort (`cohort_budgets`) and its funders (`cohort_funders`); arithmetic in `domain::budget`.
