//! Each session's log (`session_logs`) and attendance per participant and half-day (`attendances`).
