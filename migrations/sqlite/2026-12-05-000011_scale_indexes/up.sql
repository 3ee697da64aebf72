-- Indexes for the plans that scanned a large table at national size (issue #19): each one
-- is pinned by tests/query_plans.rs, which fails on a full scan of outbox_emails,
-- sessions, participants or cohorts.

-- A participant's emails: anonymisation, and every participant delete (ON DELETE SET NULL).
CREATE INDEX outbox_emails_participant ON outbox_emails (participant_id);
-- A session's notices (session moved / cancelled) when it moves or goes.
CREATE INDEX outbox_emails_item ON outbox_emails (item_id, kind);
-- The dispatcher's deadline pass: drafts and scheduled emails whose `not_after` has come.
CREATE INDEX outbox_emails_deadline ON outbox_emails (status, not_after);

-- The planner's scan after every write: only the marked cohorts are in the index.
CREATE INDEX cohorts_mail_dirty ON cohorts (id) WHERE mail_dirty;
-- The planner's weekly summaries: the published cohorts still running.
CREATE INDEX cohorts_running ON cohorts (status, published_at);
-- The purge's candidates: the cohorts not purged yet.
CREATE INDEX cohorts_not_purged ON cohorts (id) WHERE purged_at IS NULL;
-- The cohorts list's order (most recent start first), paged without sorting every cohort.
CREATE INDEX cohorts_start ON cohorts (start_date DESC, name, id);
-- A consultant's cohorts (their scope), a partner DLA's cohorts (its scope and overview).
CREATE INDEX cohorts_consultant ON cohorts (consultant_id);
CREATE INDEX cohort_partners_dla ON cohort_partners (dla_id);

-- Deleting an association or a session: the rows that point at it (CASCADE / SET NULL).
CREATE INDEX sessions_association ON sessions (association_id);
-- The weekly summaries: cohorts with a session ending in the last week or later.
CREATE INDEX sessions_ends ON sessions (ends_at, cohort_id);
CREATE INDEX intersession_tasks_session ON intersession_tasks (session_id);
CREATE INDEX task_returns_association ON task_returns (association_id);
CREATE INDEX time_entries_session ON time_entries (session_id);
CREATE INDEX time_entries_association ON time_entries (association_id);
CREATE INDEX action_leads_session ON action_leads (session_id);
-- Deleting a participant: their attendance marks and the évaluations they answered.
CREATE INDEX attendances_participant ON attendances (participant_id);
CREATE INDEX evaluations_answered_by ON evaluations (answered_by);
CREATE INDEX evaluations_followup_by ON evaluations (followup_by);
