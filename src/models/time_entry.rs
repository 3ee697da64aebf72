//! Consultant time entries (`time_entries`).
