-- The activity report counts each session's attendance marks by status (issue #17): with
-- the status in the index, the count reads the index alone, not every mark's row.
CREATE INDEX attendances_session_status ON attendances (session_id, status);
