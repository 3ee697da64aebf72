//! How sending is going, read from `outbox_emails`: the emails late or failing that the
//! staff banner shows (within the person's scope, [`trouble`]) and the sending status the
//! API gives administrators ([`sending_status`]). Read-only: the dispatcher's own queries
//! stay in `models::outbox`.
//!
//! The words, as `docs/guide-utilisateur.md` (§ 16) says them in French:
//! - **due**: still to send (`scheduled` or `sending`) and its planned time (`send_after`)
//!   has come;
//! - **retrying** (« en échec temporaire »): due, with at least one failed attempt
//!   (`attempts > 0`): it waits for its next try;
//! - **late** (« en retard »): due, with its planned time *and* its last change (its
//!   validation, a resend, a retry: `updated_at`) both more than `mail.late_after_minutes`
//!   ago ([`Watch`]) — nothing has sent it in all that time. The last change counts so that
//!   an email validated or resent after its planned time is not late before the dispatcher
//!   has had its chance.
//!
//! The banner shows the emails that are late or retrying. Every query starts from the
//! range `status IN ('scheduled', 'sending') AND send_after <= now` of
//! `outbox_emails_pending (status, send_after)`: the emails not yet sent whose time has
//! come, a handful while the dispatcher keeps up, whatever the size of the history — so the
//! banner costs one index probe on every staff page when all is well.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::dsl::{case_when, count, count_star, max, min, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp};
use serde::Serialize;

use crate::db::in_list;
use crate::db::schema::{cohorts, outbox_emails};
use crate::db::{Backend, Conn};
use crate::domain::outbox::Status;
use crate::error::AppError;
use crate::models::scope::{self, CohortScope};

/// The moment of a check and how long an email may wait past its time before it is late
/// (`mail.late_after_minutes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch {
    pub now: NaiveDateTime,
    pub late_after: Duration,
}

impl Watch {
    pub fn new(now: DateTime<Utc>, late_after: Duration) -> Watch {
        Watch {
            now: now.naive_utc(),
            late_after,
        }
    }

    /// An email planned and last changed before this instant is late.
    pub fn late_before(&self) -> NaiveDateTime {
        self.now - self.late_after
    }
}

/// `outbox_emails` rows, as a condition a query can take.
pub type Condition = Box<dyn BoxableExpression<outbox_emails::table, Backend, SqlType = Bool>>;

const PENDING: [&str; 2] = ["scheduled", "sending"];

/// Still to send and planned for now or earlier (the range of `outbox_emails_pending`),
/// unboxed (it goes under `IN` in [`cohorts_in_trouble`]). The two statuses as `OR`, which
/// SQLite plans as the `IN` it is, with no bound list to read (the banner's query runs on
/// every staff page).
macro_rules! due {
    ($at:expr) => {
        outbox_emails::status
            .eq(PENDING[0])
            .or(outbox_emails::status.eq(PENDING[1]))
            .and(outbox_emails::send_after.le($at))
    };
}

/// The emails the banner shows: due, and either retrying or late (see the module).
macro_rules! in_trouble {
    ($w:expr) => {{
        let late = $w.late_before();
        due!($w.now).and(
            outbox_emails::attempts.gt(0).or(outbox_emails::send_after
                .le(late)
                .and(outbox_emails::updated_at.le(late))),
        )
    }};
}

/// Still to send and planned for now or earlier.
fn due(at: NaiveDateTime) -> Condition {
    debug_assert_eq!(
        PENDING,
        [Status::Scheduled.as_str(), Status::Sending.as_str()]
    );
    Box::new(due!(at))
}

/// The emails the banner shows: due, and either retrying or late (see the module).
pub fn in_trouble(w: Watch) -> Condition {
    Box::new(in_trouble!(w))
}

/// What the banner of a staff page says: how many emails of the person's cohorts are late
/// or retrying, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trouble {
    pub emails: i64,
    /// Among them, those that have failed at least once (the others were never tried).
    pub retrying: i64,
    /// When the oldest of them was first due: its first attempt's moment (a resent email
    /// counts from its resend), else its planned time.
    pub since: NaiveDateTime,
    /// The cohort, when all of them belong to one.
    pub cohort_id: Option<String>,
    /// Whether any of them belongs to a cohort (account emails — sign-in links, password
    /// resets — belong to none, and only administrators see them).
    pub in_cohorts: bool,
}

/// The emails late or retrying among those of the cohorts `scope` sees — for
/// administrators (`CohortScope::All`) also those of no cohort —, in one query: `None`
/// when there are none.
pub fn trouble(
    conn: &mut Conn,
    scope: &CohortScope,
    w: Watch,
) -> Result<Option<Trouble>, AppError> {
    let mut query = outbox_emails::table.filter(in_trouble(w)).into_boxed();
    if let Some(condition) = scope::outbox_condition(scope) {
        query = query.filter(condition);
    }
    let (emails, retrying, since, first, last, with_cohort): (
        i64,
        i64,
        Option<NaiveDateTime>,
        Option<String>,
        Option<String>,
        i64,
    ) = query
        .select((
            count_star(),
            // In diesel's terms, not `sql` literals: SQLite keeps the statement prepared
            // (a literal made every staff page compile it again).
            count(case_when(outbox_emails::attempts.gt(0), outbox_emails::id)),
            // Since it was first due: an email resent by hand, or retried, counts from
            // then (its first claim sets `first_due_at`), not from its planned time.
            min(crate::db::coalesce_timestamp(
                outbox_emails::first_due_at,
                outbox_emails::send_after,
            )),
            min(outbox_emails::cohort_id),
            max(outbox_emails::cohort_id),
            count(outbox_emails::cohort_id),
        ))
        .first(conn)?;
    let Some(since) = since.filter(|_| emails > 0) else {
        return Ok(None);
    };
    let cohort_id = first.filter(|f| with_cohort == emails && last.as_ref() == Some(f));
    Ok(Some(Trouble {
        emails,
        retrying,
        since,
        cohort_id,
        in_cohorts: with_cohort > 0,
    }))
}

/// The cohorts that have emails late or retrying (the cohorts list's `?envois=en_retard`),
/// as a condition on `cohorts`.
pub fn cohorts_in_trouble(
    w: Watch,
) -> Box<dyn BoxableExpression<cohorts::table, Backend, SqlType = Bool>> {
    Box::new(
        cohorts::id.eq_any(
            outbox_emails::table
                .filter(in_trouble!(w))
                .select(outbox_emails::cohort_id.assume_not_null()),
        ),
    )
}

/// The oldest email still to send whose time has come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OldestDue {
    pub email_id: String,
    pub cohort_id: Option<String>,
    /// `convocation`, `reminder_j1`…
    pub kind: String,
    /// Its planned time (`send_after`).
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: NaiveDateTime,
    /// How long ago that was, in seconds.
    pub late_seconds: i64,
    pub attempts: i32,
    /// The error of its last attempt, if any.
    pub last_error: Option<String>,
}

/// How sending is going, for monitoring (`GET /api/v1/outbox/status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SendingStatus {
    /// When these figures were read.
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: NaiveDateTime,
    /// `mail.late_after_minutes`: how long an email may wait past its time before it is
    /// counted in `late`.
    pub late_after_minutes: i64,
    /// Emails still to send (`scheduled` or `sending`) whose planned time has come.
    pub due: i64,
    /// Among `due`, those whose planned time and last change are both more than
    /// `late_after_minutes` old: nothing has sent them in that time.
    pub late: i64,
    /// Among `due`, those with at least one failed attempt, waiting for their next try.
    pub retrying: i64,
    /// The oldest of `due`; `null` when nothing is due.
    pub oldest_due: Option<OldestDue>,
    /// Emails whose last attempt failed within the last hour (still retried, or given up).
    pub failed_last_hour: i64,
    /// Emails sent within the last hour.
    pub sent_last_hour: i64,
}

/// The sending status at `w.now`, from three index reads: the due rows (`outbox_emails_pending`),
/// the oldest of them, and the rows changed in the last hour (`outbox_emails_changed`).
pub fn sending_status(conn: &mut Conn, w: Watch) -> Result<SendingStatus, AppError> {
    let late = w.late_before();
    let (due_count, retrying, late_count): (i64, i64, i64) = outbox_emails::table
        .filter(due(w.now))
        .select((
            count_star(),
            sql::<BigInt>(
                "COALESCE(SUM(CASE WHEN outbox_emails.attempts > 0 THEN 1 ELSE 0 END), 0)",
            ),
            sql::<BigInt>("COALESCE(SUM(CASE WHEN outbox_emails.send_after <= ")
                .bind::<Timestamp, _>(late)
                .sql(" AND outbox_emails.updated_at <= ")
                .bind::<Timestamp, _>(late)
                .sql(" THEN 1 ELSE 0 END), 0)"),
        ))
        .first(conn)?;
    let oldest_due = outbox_emails::table
        .filter(due(w.now))
        .order((outbox_emails::send_after.asc(), outbox_emails::id.asc()))
        .select((
            outbox_emails::id,
            outbox_emails::cohort_id,
            outbox_emails::kind,
            outbox_emails::send_after,
            outbox_emails::attempts,
            outbox_emails::last_error,
        ))
        .first::<(
            String,
            Option<String>,
            String,
            NaiveDateTime,
            i32,
            Option<String>,
        )>(conn)
        .optional()?
        .map(
            |(email_id, cohort_id, kind, due_at, attempts, last_error)| OldestDue {
                email_id,
                cohort_id,
                kind,
                late_seconds: (w.now - due_at).num_seconds().max(0),
                due_at,
                attempts,
                last_error,
            },
        );
    let hour_ago = w.now - Duration::hours(1);
    let (sent_last_hour, failed_last_hour): (i64, i64) = outbox_emails::table
        .filter(in_list(outbox_emails::status, [
            Status::Sent.as_str(),
            Status::Scheduled.as_str(),
            Status::Failed.as_str(),
        ]))
        .filter(outbox_emails::updated_at.ge(hour_ago))
        .select((
            sql::<BigInt>(
                "COALESCE(SUM(CASE WHEN outbox_emails.status = 'sent' AND outbox_emails.sent_at >= ",
            )
            .bind::<Timestamp, _>(hour_ago)
            .sql(" THEN 1 ELSE 0 END), 0)"),
            sql::<BigInt>(
                "COALESCE(SUM(CASE WHEN outbox_emails.status IN ('scheduled', 'failed') \
                 AND outbox_emails.attempts > 0 AND outbox_emails.last_error IS NOT NULL \
                 THEN 1 ELSE 0 END), 0)",
            ),
        ))
        .first(conn)?;
    Ok(SendingStatus {
        checked_at: w.now,
        late_after_minutes: w.late_after.num_minutes(),
        due: due_count,
        late: late_count,
        retrying,
        oldest_due,
        failed_last_hour,
        sent_last_hour,
    })
}
