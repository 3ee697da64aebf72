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
//! emails not yet sent whose time has come — `status IN ('scheduled', 'sending') AND
//! send_after <= now`, a handful while the dispatcher keeps up, whatever the size of the
//! history: for an administrator the instance's range of `outbox_emails_pending (status,
//! send_after)`, for anyone else one range of `outbox_emails_cohort_status (cohort_id,
//! status, send_after)` per cohort they see. When sending has stopped for long, that range
//! grows (30,000 emails after two months at a network's size): the banner reads at most
//! [`BANNER_CAP`] + 1 of them and says « plus de 1 000 », so a staff page costs the same
//! during an outage as when all is well.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::dsl::{count_star, sql};
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

/// Still to send and planned for now or earlier, unboxed (the conditions below build on
/// it). The two statuses as an `IN` list, not as `OR`: with `OR`, SQLite read the
/// instance's whole due range even for a person who sees a few cohorts, where the `IN`
/// lets it take each of their cohorts' ranges (the module).
macro_rules! due {
    ($at:expr) => {
        in_list(outbox_emails::status, PENDING).and(outbox_emails::send_after.le($at))
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
    /// More than [`BANNER_CAP`]: `emails` is the cap, and the other figures are those of
    /// the emails read (the first by planned time for an administrator, cohort after
    /// cohort for anyone else): `since` is then when *some* of them were first due.
    pub more: bool,
}

/// The most emails the banner reads (see the module): past it, it says « plus de 1 000 ».
pub const BANNER_CAP: usize = 1_000;

/// What the banner reads of an email.
#[derive(Clone, Debug, Queryable)]
struct TroubleRow {
    attempts: i32,
    /// Its first claim's moment (`first_due_at`; a resend sets it again).
    first_due: Option<NaiveDateTime>,
    /// Its planned time (`send_after`).
    planned: NaiveDateTime,
    cohort_id: Option<String>,
}

impl Trouble {
    /// The banner's figures from the emails read, at most [`BANNER_CAP`] + 1 of them
    /// (`None`: none).
    fn of(rows: &[TroubleRow]) -> Option<Trouble> {
        let more = rows.len() > BANNER_CAP;
        let rows = &rows[..rows.len().min(BANNER_CAP)];
        // Since it was first due: an email resent by hand, or retried, counts from then
        // (its first claim sets `first_due_at`), not from its planned time.
        let since = rows
            .iter()
            .map(|r| r.first_due.unwrap_or(r.planned))
            .min()?;
        let first_cohort = rows[0].cohort_id.as_ref();
        let one_cohort =
            first_cohort.filter(|c| rows.iter().all(|r| r.cohort_id.as_ref() == Some(*c)));
        Some(Trouble {
            emails: rows.len() as i64,
            retrying: rows.iter().filter(|r| r.attempts > 0).count() as i64,
            since,
            // Past the cap, the emails not read may belong to other cohorts.
            cohort_id: one_cohort.filter(|_| !more).cloned(),
            in_cohorts: more || rows.iter().any(|r| r.cohort_id.is_some()),
            more,
        })
    }
}

/// The emails late or retrying among those of the cohorts `scope` sees — for
/// administrators (`CohortScope::All`) also those of no cohort —, in one query reading at
/// most [`BANNER_CAP`] + 1 index entries and rows: `None` when there are none.
pub fn trouble(
    conn: &mut Conn,
    scope: &CohortScope,
    w: Watch,
) -> Result<Option<Trouble>, AppError> {
    let mut query = outbox_emails::table.filter(in_trouble(w)).into_boxed();
    if let Some(condition) = scope::outbox_condition(scope) {
        query = query.filter(condition);
    }
    let rows: Vec<TroubleRow> = query
        .select((
            outbox_emails::attempts,
            outbox_emails::first_due_at,
            outbox_emails::send_after,
            outbox_emails::cohort_id,
        ))
        .limit(BANNER_CAP as i64 + 1)
        .load(conn)?;
    Ok(Trouble::of(&rows))
}

/// The cohorts that have emails late or retrying (the cohorts list's `?envois=en_retard`),
/// as a condition on `cohorts` (the list puts `scope` in its own `WHERE`). For an
/// administrator, the cohorts of the instance's due emails (one range of
/// `outbox_emails_pending`); for anyone else, each of their cohorts' due range, as the
/// banner reads it: not the instance's, which holds tens of thousands of emails during a
/// long outage.
pub fn cohorts_in_trouble(
    scope: &CohortScope,
    w: Watch,
) -> Box<dyn BoxableExpression<cohorts::table, Backend, SqlType = Bool>> {
    match scope {
        CohortScope::All => Box::new(
            cohorts::id.eq_any(
                outbox_emails::table
                    .filter(in_trouble!(w))
                    .select(outbox_emails::cohort_id.assume_not_null()),
            ),
        ),
        _ => Box::new(diesel::dsl::exists(
            outbox_emails::table
                .filter(outbox_emails::cohort_id.eq(cohorts::id.nullable()))
                .filter(in_trouble!(w)),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2027, 1, 11)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn row(
        attempts: i32,
        first_due: Option<u32>,
        planned: u32,
        cohort: Option<&str>,
    ) -> TroubleRow {
        TroubleRow {
            attempts,
            first_due: first_due.map(at),
            planned: at(planned),
            cohort_id: cohort.map(str::to_string),
        }
    }

    #[test]
    fn the_banner_counts_the_emails_says_since_when_and_which_cohort() {
        assert_eq!(Trouble::of(&[]), None);
        // A resent email counts from its resend (first due at 9), not from its plan (8).
        let t =
            Trouble::of(&[row(2, Some(9), 8, Some("c1")), row(0, None, 10, Some("c1"))]).unwrap();
        assert_eq!(
            t,
            Trouble {
                emails: 2,
                retrying: 1,
                since: at(9),
                cohort_id: Some("c1".into()),
                in_cohorts: true,
                more: false,
            }
        );
        let two = Trouble::of(&[row(0, None, 8, Some("c1")), row(0, None, 7, Some("c2"))]).unwrap();
        assert_eq!(
            (two.since, two.cohort_id, two.in_cohorts),
            (at(7), None, true)
        );
        // Account emails belong to no cohort.
        let accounts = Trouble::of(&[row(1, None, 8, None)]).unwrap();
        assert_eq!((accounts.cohort_id, accounts.in_cohorts), (None, false));
        let mixed = Trouble::of(&[row(0, None, 8, Some("c1")), row(0, None, 8, None)]).unwrap();
        assert_eq!((mixed.cohort_id, mixed.in_cohorts), (None, true));
    }

    #[test]
    fn past_the_cap_the_banner_says_more_and_names_no_cohort() {
        let mut rows = vec![row(0, None, 8, Some("c1")); BANNER_CAP];
        let at_cap = Trouble::of(&rows).unwrap();
        assert_eq!((at_cap.emails, at_cap.more), (BANNER_CAP as i64, false));
        assert_eq!(at_cap.cohort_id.as_deref(), Some("c1"));
        // The one read past the cap says there are more; it is not counted.
        rows.push(row(3, None, 1, Some("c1")));
        let more = Trouble::of(&rows).unwrap();
        assert_eq!(
            (more.emails, more.retrying, more.more),
            (BANNER_CAP as i64, 0, true)
        );
        assert_eq!(more.since, at(8));
        // The emails not read may belong to other cohorts: the list of cohorts concerned.
        assert_eq!((more.cohort_id, more.in_cohorts), (None, true));
    }
}
