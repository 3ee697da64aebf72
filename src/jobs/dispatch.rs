//! The dispatcher: sends the outbox's due emails, one message per row, and records the
//! fate of each (`models::outbox` holds the queries, `domain::outbox` the rules).
//!
//! One pass ([`Dispatcher::run_once`]):
//! 1. rows claimed more than [`LEASE`] ago and still `sending` go back to `scheduled`
//!    (their dispatcher was killed mid-send);
//! 2. drafts and scheduled rows whose deadline (`not_after`) has come become `missed`;
//! 3. the due rows are taken by batches ([`outbox::take_due`]): on PostgreSQL, where
//!    several instances share the queue, each batch is selected `FOR UPDATE SKIP LOCKED`
//!    and reserved under an owner token in one short transaction, so that dispatchers take
//!    disjoint batches without waiting for each other; on SQLite the due ids are read.
//!    Each row is then claimed, as its send begins, by an UPDATE that only succeeds from
//!    `scheduled`, **while its next attempt is due at the pass's `now`** and, on
//!    PostgreSQL, while the reservation is still this dispatcher's (so two dispatchers, in
//!    threads or on other machines, never both take it, and one holding a stale list of
//!    due ids cannot send again a row the other has just put back after a failure). The
//!    claim stores the owner token and the Message-ID *before* the send; the row is sent,
//!    and marked `sent`, retried after a back-off, `failed` or `missed`. Only the token's
//!    holder records the outcome: a dispatcher that outlived its lease changes nothing.
//!    Rows of a batch the pass did not reach (it was stopped) are given back at once; a
//!    killed dispatcher's reservations lapse after [`RESERVATION`].
//!
//! The emails of a pass go over one SMTP connection ([`Transport::session`]: RSET between
//! two, a new connection after a connection error, QUIT at the end of the pass). Each SMTP
//! stage has RFC 5321's timeout (`[mail.timeouts]`). Retries come 1, 2, 4, then every 5
//! minutes, until the session's start for an email about a session (`missed`), otherwise
//! until `mail.give_up_after_hours` after it was first due (`failed`). A timeout or a
//! dropped connection after the whole message was written is an unknown outcome: the
//! email is sent once more, with the same Message-ID, then `failed` if that stays
//! unanswered too. Each failure is stored in French for people (`last_error`) with the raw
//! error beside it (`last_error_detail`).
//!
//! Each step reads before it writes, and writes in short transactions of its own: a pass
//! with nothing to do (nothing marked, due, stuck or overdue) takes no write lock at all, so
//! the dispatcher never makes a person's change wait, let alone fail, when idle.
//!
//! A dispatcher killed between the send and the mark leaves its row in `sending`; step 1
//! sends it again with the same Message-ID (and counts it as an unknown outcome). That is
//! the one possible duplicate, and mail clients that thread or deduplicate by Message-ID
//! recognise it. (The rows it had only reserved were never attempted: they are sent once,
//! by whoever takes them after the reservation.)
//!
//! Every dispatcher runs the hooks' planning at the start of its pass; on PostgreSQL the
//! planner's pass and the privacy purge each run on one instance at a time, under an
//! advisory lock (`db::exclusive`): an instance that finds it taken skips that job for
//! this pass.
//!
//! Everything here blocks (diesel, lettre's blocking SMTP): it runs on its own thread
//! under `cohorte serve`, or in the foreground under `cohorte dispatch`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;

use crate::db::{Author, Clock, Pool, Tx, write_with};
use crate::domain::outbox::{self as rules, Attempt, Next};
use crate::error::AppError;
use crate::mail::transport::{Fault, Session, Stage};
use crate::mail::{
    BuildError, CalendarPart, Email, Headers, Method, Rendered, SendError, Transport,
};
use crate::models::outbox::{self, OutboxEmail};

/// A row claimed longer ago than this and still `sending` belongs to a dead dispatcher.
/// Above the longest exchange RFC 5321's timeouts allow one email (32 minutes:
/// `SmtpTimeouts::longest_exchange`), so that a slow server's email is not taken over.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(40);

/// The pause between two passes under `cohorte serve` and `cohorte dispatch`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// How many due rows one query fetches (and, on PostgreSQL, reserves); the pass goes on
/// until none is due.
const BATCH: i64 = 50;

/// How long the rows a dispatcher reserved on PostgreSQL and has not begun sending stay
/// its own ([`outbox::take_due`]). Short, because it is how long another dispatcher waits
/// for them when their owner died; taking over a live owner's rows costs nothing but its
/// failed claims (so a dispatcher held up by a slow server shares out its batch).
pub const RESERVATION: chrono::Duration = chrono::Duration::minutes(1);

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

/// What the dispatcher asks of the application (`jobs::hooks::AppHooks`).
pub trait Hooks: Send + Sync {
    /// Run first in each pass: queues the emails that time itself causes (the weekly
    /// summary, anything a change could not foresee), given the pass's `now`. Returns how
    /// many it queued.
    fn plan(&self, conn: &mut crate::db::Conn, now: DateTime<Utc>) -> Result<usize, AppError>;

    /// Just before a row is sent: puts what must not rest in the database into the email
    /// (a participant's fresh sign-in link, `models::outbox::personalise`) and returns its
    /// headers: one-click unsubscribe, `Reply-To`, `Auto-Submitted`.
    /// Runs in a short write transaction of its own (a link is stored), at the pass's
    /// `now`, before the message goes.
    fn personalise(
        &self,
        _tx: &mut Tx<'_>,
        _row: &OutboxEmail,
        _email: &mut Email,
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
    /// How long an email about no session is retried after it was first due
    /// (`mail.give_up_after_hours`).
    pub give_up_after: chrono::Duration,
    pub planner: Option<Planner>,
    /// When set, a pass stops between two emails (the rest stays due).
    pub stop: Option<std::sync::Arc<AtomicBool>>,
    /// The instant of each pass under [`Dispatcher::run_forever`] (`cohorte dispatch
    /// --now` sets it).
    pub clock: Clock,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("transport", &self.transport)
            .field("from", &self.from)
            .field("lease", &self.lease)
            .field("give_up_after", &self.give_up_after)
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
            give_up_after: rules::GIVE_UP_AFTER,
            planner: None,
            stop: None,
            clock: Clock::system(),
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
            recovered: outbox::recover_stuck(
                &mut conn,
                (Utc::now() - self.lease).naive_utc(),
                now,
            )?,
            missed: outbox::mark_overdue_missed(&mut conn, now)?,
            ..Stats::default()
        };
        // One connection for the pass, closed (QUIT) whatever happens.
        let mut session = self.transport.session();
        let sent = self.send_due(&mut conn, &mut session, now, &mut stats);
        session.close();
        sent?;
        if !stats.is_empty() {
            tracing::info!(?stats, "outbox pass");
        }
        Ok(stats)
    }

    /// Claims and sends every row due at `now`, batch after batch.
    fn send_due(
        &self,
        conn: &mut crate::db::Conn,
        session: &mut Session<'_>,
        now: DateTime<Utc>,
        stats: &mut Stats,
    ) -> Result<(), AppError> {
        loop {
            // Reservations are about processes, so they run on the wall clock.
            let reserved_before = (Utc::now() - self.reservation()).naive_utc();
            let batch = outbox::take_due(conn, now, BATCH, reserved_before)?;
            if batch.ids.is_empty() {
                return Ok(());
            }
            let went_on = self.send_batch(conn, session, &batch, now, stats);
            if let Some(token) = &batch.token {
                // What this pass did not reach is free for the others at once.
                match write_with(conn, Author::system(), now, |tx| {
                    outbox::unreserve(tx, token)
                }) {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "outbox rows not reached given back"),
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox rows not reached left reserved")
                    }
                }
            }
            if !went_on? {
                return Ok(());
            }
        }
    }

    /// Claims and sends the rows of one batch; false when the pass was stopped.
    fn send_batch(
        &self,
        conn: &mut crate::db::Conn,
        session: &mut Session<'_>,
        batch: &outbox::Batch,
        now: DateTime<Utc>,
        stats: &mut Stats,
    ) -> Result<bool, AppError> {
        for id in &batch.ids {
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                // Shutting down: the rest stays due for the next pass.
                return Ok(false);
            }
            let message_id = || crate::mail::new_message_id(&self.from);
            let claimed = write_with(conn, Author::system(), now, |tx| match &batch.token {
                Some(token) => outbox::claim_reserved(tx, id, token, message_id),
                None => outbox::claim(tx, id, message_id),
            })?;
            let Some(row) = claimed else {
                continue; // another dispatcher took it, or it is no longer due
            };
            match self.attempt(conn, session, &row, now)? {
                Next::Sent => stats.sent += 1,
                Next::Retry { .. } => stats.retried += 1,
                Next::Failed(_) => stats.failed += 1,
                Next::Missed => stats.missed += 1,
            }
        }
        Ok(true)
    }

    /// How long the rows a pass reserved ([`outbox::take_due`]) stay its own: a minute, or
    /// the lease if shorter.
    fn reservation(&self) -> chrono::Duration {
        self.lease.min(RESERVATION)
    }

    /// Sends one claimed row (or marks it missed) and records the outcome.
    fn attempt(
        &self,
        conn: &mut crate::db::Conn,
        session: &mut Session<'_>,
        row: &OutboxEmail,
        now: DateTime<Utc>,
    ) -> Result<Next, AppError> {
        if rules::is_missed(now, row.not_after_utc()) {
            let missed = outbox::Outcome {
                next: Next::Missed,
                attempts: row.attempts,
                unconfirmed: row.unconfirmed,
                error: row.last_error.as_deref(),
                detail: row.last_error_detail.as_deref(),
            };
            write_with(conn, Author::system(), now, |tx| {
                outbox::record(tx, row, &missed)
            })?;
            return Ok(Next::Missed);
        }
        let tries = row.tries();
        let result = self.send(conn, session, row, now);
        let attempt = match &result {
            Ok(()) => Attempt::Sent,
            Err(e) => e.attempt(),
        };
        let next = rules::decide(now, &tries, self.give_up_after, attempt);
        let unconfirmed = row.unconfirmed + i32::from(attempt == Attempt::Unconfirmed);
        let error = result.as_ref().err().map(|e| {
            let explanation = e.explanation();
            match next {
                Next::Failed(why) => match rules::gave_up_note(why, self.give_up_after) {
                    Some(note) => format!("{explanation} {note}"),
                    None => explanation,
                },
                _ => explanation,
            }
        });
        let detail = result.as_ref().err().map(|e| e.detail.clone());
        match (&next, &detail) {
            (Next::Sent, _) => {
                tracing::info!(id = %row.id, kind = %row.kind, message_id = ?row.message_id, "email sent")
            }
            (_, Some(detail)) => {
                tracing::warn!(id = %row.id, kind = %row.kind, attempts = tries.attempts, error = %detail, ?next, "email not sent")
            }
            _ => {}
        }
        let outcome = outbox::Outcome {
            next,
            attempts: tries.attempts,
            unconfirmed,
            error: error.as_deref(),
            detail: detail.as_deref(),
        };
        if !write_with(conn, Author::system(), now, |tx| {
            outbox::record(tx, row, &outcome)
        })? {
            tracing::warn!(id = %row.id, "outbox row taken over while it was being sent: its outcome is not recorded");
        }
        Ok(next)
    }

    fn send(
        &self,
        conn: &mut crate::db::Conn,
        session: &mut Session<'_>,
        row: &OutboxEmail,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let message_id = row.message_id.as_deref().ok_or_else(|| {
            SendError::new(
                Stage::Prepare,
                Fault::BadMessage,
                "ligne réclamée sans Message-ID",
            )
        })?;
        let bodies = outbox::bodies(conn, &row.id)
            .map_err(|e| SendError::local(format!("lecture du message : {e}")))?;
        let mut email = to_email(row, bodies)?;
        let headers = match &self.planner {
            Some(hooks) => write_with(conn, Author::system(), now, |tx| {
                hooks.personalise(tx, row, &mut email)
            })
            .map_err(|e| SendError::local(format!("préparation du message : {e}")))?,
            None => Headers::automatic(),
        };
        let message = email.to_message_with(&self.from, message_id, &headers)?;
        session.send(&message).map(|_| ())
    }

    /// Passes every `interval` until `stop` is set; a database error is logged and the
    /// next pass tries again.
    pub fn run_forever(&self, interval: Duration, stop: &AtomicBool) {
        const TICK: Duration = Duration::from_millis(200);
        while !stop.load(Ordering::Relaxed) {
            match self.run_once(self.clock.now()) {
                Ok(_) => {}
                // Another connection held the write lock past the budget: not a failure,
                // the next pass takes up where this one stopped.
                Err(AppError::Busy) => {
                    tracing::warn!("outbox pass stopped: database busy, the next pass resumes")
                }
                Err(e) => tracing::error!(error = %e, "outbox pass failed"),
            }
            // A pass that rendered and sent hundreds of emails (or purged cohorts) would
            // leave this thread's heap holding what it took until the next such pass.
            crate::memory::give_back();
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
