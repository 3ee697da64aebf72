//! The dispatcher: sends the outbox's due emails, one message per row, and records the
//! fate of each (`models::outbox` holds the queries, `domain::outbox` the rules).
//!
//! One pass ([`Dispatcher::run_once`]):
//! 1. rows claimed more than [`LEASE`] ago and still `sending` go back to `scheduled`
//!    (their dispatcher was killed mid-send);
//! 2. drafts and scheduled rows whose deadline (`not_after`) has come become `missed`;
//! 3. each due row is claimed by an UPDATE that only succeeds from `scheduled` (so two
//!    dispatchers, in threads or on other machines, never both take it), gets its
//!    Message-ID stored *before* the send, is sent, and is marked `sent`, retried later
//!    after a back-off, or `failed`.
//!
//! Each step reads before it writes, and writes in short transactions of its own: a pass
//! with nothing to do (nothing marked, due, stuck or overdue) takes no write lock at all, so
//! the dispatcher never makes a person's change wait, let alone fail, when idle.
//!
//! A dispatcher killed between the send and the mark leaves its row in `sending`; step 1
//! sends it again with the same Message-ID. That is the one possible duplicate, and mail
//! clients that thread or deduplicate by Message-ID recognise it.
//!
//! Everything here blocks (diesel, lettre's blocking SMTP): it runs on its own thread
//! under `cohorte serve`, or in the foreground under `cohorte dispatch`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;

use crate::db::Pool;
use crate::domain::outbox::{self as rules, Attempt, Next};
use crate::error::AppError;
use crate::mail::{
    BuildError, CalendarPart, Email, Headers, Method, Rendered, SendError, Transport,
};
use crate::models::outbox::{self, OutboxEmail};

/// A row claimed longer ago than this and still `sending` belongs to a dead dispatcher.
/// Well above the longest SMTP exchange (a 30 s timeout on each of a few commands).
pub const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// The pause between two passes under `cohorte serve` and `cohorte dispatch`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// How many due rows one query fetches; the pass goes on until none is due.
const BATCH: i64 = 50;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Emails the planner queued at the start of the pass.
    pub planned: usize,
    pub sent: usize,
    /// Temporary failures that will be retried.
    pub retried: usize,
    pub failed: usize,
    pub missed: usize,
    /// Rows taken back from a dispatcher that died mid-send.
    pub recovered: usize,
}

impl Stats {
    pub fn is_empty(&self) -> bool {
        *self == Stats::default()
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} préparé(s), {} envoyé(s), {} à réessayer, {} en échec, {} manqué(s), {} repris après interruption",
            self.planned, self.sent, self.retried, self.failed, self.missed, self.recovered
        )
    }
}

/// What the dispatcher asks of the application (`models::planner::for_dispatcher`).
pub trait Hooks: Send + Sync {
    /// Run first in each pass: queues the emails that time itself causes (the weekly
    /// summary, anything a change could not foresee), given the pass's `now`. Returns how
    /// many it queued.
    fn plan(&self, conn: &mut crate::db::Conn, now: DateTime<Utc>) -> Result<usize, AppError>;

    /// Just before a row is sent: puts what must not rest in the database into the email
    /// (a participant's fresh sign-in link, `models::outbox::personalise`) and returns its
    /// headers: one-click unsubscribe, `Reply-To`, `Auto-Submitted`.
    fn personalise(
        &self,
        _conn: &mut crate::db::Conn,
        _row: &OutboxEmail,
        _email: &mut Email,
        _now: DateTime<Utc>,
    ) -> Result<Headers, AppError> {
        Ok(Headers::automatic())
    }
}

/// The application's hooks. A dispatcher without them sends the rows exactly as stored.
pub type Planner = std::sync::Arc<dyn Hooks>;

/// Sends the outbox through one transport, as one sender.
#[derive(Clone)]
pub struct Dispatcher {
    pub pool: Pool,
    pub transport: Transport,
    pub from: Mailbox,
    /// A row claimed longer ago than this and still `sending` is sent again.
    pub lease: chrono::Duration,
    pub planner: Option<Planner>,
    /// When set, a pass stops between two emails (the rest stays due).
    pub stop: Option<std::sync::Arc<AtomicBool>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("transport", &self.transport)
            .field("from", &self.from)
            .field("lease", &self.lease)
            .field("planner", &self.planner.is_some())
            .finish()
    }
}

impl Dispatcher {
    pub fn new(pool: Pool, transport: Transport, from: Mailbox) -> Dispatcher {
        Dispatcher {
            pool,
            transport,
            from,
            lease: LEASE,
            planner: None,
            stop: None,
        }
    }

    /// One pass: sends everything due at `now`, and returns what happened. An error means
    /// the database failed; the rows already handled keep their recorded state.
    pub fn run_once(&self, now: DateTime<Utc>) -> Result<Stats, AppError> {
        let mut conn = crate::db::checkout(&self.pool)?;
        let planned = match &self.planner {
            Some(hooks) => hooks.plan(&mut conn, now)?,
            None => 0,
        };
        let mut stats = Stats {
            planned,
            // The lease is about processes, so it runs on the wall clock, not on `now`.
            recovered: outbox::recover_stuck(&mut conn, (Utc::now() - self.lease).naive_utc())?,
            missed: outbox::mark_overdue_missed(&mut conn, now)?,
            ..Stats::default()
        };
        loop {
            let due = outbox::due_ids(&mut conn, now, BATCH)?;
            if due.is_empty() {
                break;
            }
            for id in due {
                if self
                    .stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::Relaxed))
                {
                    // Shutting down: the rest stays due for the next pass.
                    return Ok(stats);
                }
                let Some(row) =
                    outbox::claim(&mut conn, &id, || crate::mail::new_message_id(&self.from))?
                else {
                    continue; // another dispatcher took it
                };
                let next = self.attempt(&mut conn, &row, now)?;
                match next {
                    Next::Sent => stats.sent += 1,
                    Next::Retry { .. } => stats.retried += 1,
                    Next::Failed => stats.failed += 1,
                    Next::Missed => stats.missed += 1,
                }
            }
        }
        if !stats.is_empty() {
            tracing::info!(?stats, "outbox pass");
        }
        Ok(stats)
    }

    /// Sends one claimed row (or marks it missed) and records the outcome.
    fn attempt(
        &self,
        conn: &mut crate::db::Conn,
        row: &OutboxEmail,
        now: DateTime<Utc>,
    ) -> Result<Next, AppError> {
        if rules::is_missed(now, row.not_after_utc()) {
            outbox::record(conn, &row.id, Next::Missed, row.attempts, None, now)?;
            return Ok(Next::Missed);
        }
        let attempts = row.attempts + 1;
        let result = self.send(conn, row, now);
        let (attempt, error) = match &result {
            Ok(()) => (Attempt::Sent, None),
            Err(e) if e.is_permanent() => (Attempt::Permanent, Some(e.to_string())),
            Err(e) => (Attempt::Temporary, Some(e.to_string())),
        };
        let next = rules::decide(now, attempts, row.not_after_utc(), attempt);
        match (&next, &error) {
            (Next::Sent, _) => {
                tracing::info!(id = %row.id, kind = %row.kind, message_id = ?row.message_id, "email sent")
            }
            (_, Some(error)) => {
                tracing::warn!(id = %row.id, kind = %row.kind, attempts, %error, ?next, "email not sent")
            }
            _ => {}
        }
        if !outbox::record(conn, &row.id, next, attempts, error.as_deref(), now)? {
            tracing::warn!(id = %row.id, "outbox row taken over while it was being sent");
        }
        Ok(next)
    }

    fn send(
        &self,
        conn: &mut crate::db::Conn,
        row: &OutboxEmail,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let message_id = row
            .message_id
            .as_deref()
            .ok_or_else(|| SendError::Permanent {
                code: None,
                message: "ligne réclamée sans Message-ID".into(),
            })?;
        let bodies = outbox::bodies(conn, &row.id).map_err(|e| SendError::Temporary {
            code: None,
            message: format!("lecture du message : {e}"),
        })?;
        let mut email = to_email(row, bodies)?;
        let headers =
            match &self.planner {
                Some(hooks) => hooks.personalise(conn, row, &mut email, now).map_err(|e| {
                    SendError::Temporary {
                        code: None,
                        message: format!("préparation du message : {e}"),
                    }
                })?,
                None => Headers::automatic(),
            };
        let message = email.to_message_with(&self.from, message_id, &headers)?;
        self.transport.send(&message).map(|_| ())
    }

    /// Passes every `interval` until `stop` is set; a database error is logged and the
    /// next pass tries again.
    pub fn run_forever(&self, interval: Duration, stop: &AtomicBool) {
        const TICK: Duration = Duration::from_millis(200);
        while !stop.load(Ordering::Relaxed) {
            match self.run_once(Utc::now()) {
                Ok(_) => {}
                // Another connection held the write lock past the budget: not a failure,
                // the next pass takes up where this one stopped.
                Err(AppError::Busy) => {
                    tracing::warn!("outbox pass stopped: database busy, the next pass resumes")
                }
                Err(e) => tracing::error!(error = %e, "outbox pass failed"),
            }
            let mut waited = Duration::ZERO;
            while waited < interval && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK.min(interval - waited));
                waited += TICK;
            }
        }
    }
}

/// The stored row and its bodies as the email it was rendered from.
fn to_email(row: &OutboxEmail, bodies: outbox::Bodies) -> Result<Email, BuildError> {
    let calendar = match (bodies.ics, row.ics_method.as_deref()) {
        (None, _) => None,
        (Some(ics), method) => {
            let method = match method {
                Some("REQUEST") => Method::Request,
                Some("CANCEL") => Method::Cancel,
                other => {
                    return Err(BuildError::Message(format!(
                        "méthode d'invitation inconnue : {other:?}"
                    )));
                }
            };
            Some(CalendarPart { method, ics })
        }
    };
    Ok(Email {
        to_name: row.recipient_name.clone(),
        to_address: row.recipient_email.clone(),
        rendered: Rendered {
            subject: row.subject.clone(),
            text: bodies.body_text,
            html: bodies.body_html,
        },
        calendar,
    })
}
