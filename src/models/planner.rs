//! The planner: keeps each published cohort's automatic emails in the outbox in step with
//! the cohort — convocations, session reminders (J-7, J-1…), homework assigned / reminder /
//! overdue — and queues the weekly summary when its time comes.
//!
//! How it stays right:
//! - Any change that may alter a cohort's emails calls [`touch`] in its own transaction,
//!   which marks the cohort; [`sync_dirty`] then rebuilds the emails of marked cohorts.
//!   The web layer runs it in the same transaction as the change (`AppState::write`), and
//!   every dispatcher pass runs it too, so a change made any other way (CLI, demo) is
//!   caught up before anything is sent.
//! - [`sync_cohort`] computes the emails the cohort should have now and reconciles them
//!   with the rows: a wanted email already queued is refreshed in place while not sent (a
//!   draft stays a draft, with its new content: « a pending draft is rebuilt when its
//!   session moves »); one not queued yet is added; a queued one no longer wanted (session
//!   moved or deleted, homework returned, participant removed, reminders turned off) is
//!   cancelled with the reason. Sent, missed and cancelled rows are history: never
//!   touched, and the dedup key keeps them from being queued twice.
//! - Every instant comes from `domain::schedule`, in Europe/Paris.
//! - A convocation's invite carries the session's SEQUENCE, or more when its address
//!   already received one for that session (`domain::invite::convocation_sequence`), and
//!   what it says is recorded beside it (`models::invite`), so that later changes are
//!   described from it. After its own rows, a sync brings the calendars of those who
//!   already received an invite in step (`invite::sync_cohort`): updates, cancellations.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::in_list;
use crate::db::schema::{cohorts, outbox_emails};
use crate::db::{Author, Conn, Tx, write_with};
use crate::domain::calendar;
use crate::domain::fr;
use crate::domain::invite::EventState;
use crate::domain::outbox::{Status, dedup_key};
use crate::domain::programme::SessionKind;
use crate::domain::schedule::{self, Schedule};
use crate::error::AppError;
use crate::mail::ics::CalendarPerson;
use crate::mail::notices::{
    HomeworkEmail, HomeworkKind, SummaryEmail, SummaryFailure, SummarySession, SummaryTask,
};
use crate::mail::session::{SessionEmail, SessionFacts, TaskDue};
use crate::mail::{Email, Renderer};
use crate::models::association::Association;
use crate::models::cohort::Cohort;
use crate::models::evaluation::{self, Evaluation};
use crate::models::guest::{self, Guest};
use crate::models::outbox::{self, MailContext, NewEmail, OutboxEmail};
use crate::models::participant::Participant;
use crate::models::session::Session;
use crate::models::task::{IntersessionTask, TaskReturn};
use crate::models::{association, cohort, dla, feed, invite, participant, session, task};

pub const CONVOCATION: &str = "convocation";
pub const WEEKLY_SUMMARY: &str = "weekly_summary";
/// The request to confirm one's commitment to the four sessions (issue #14).
pub const COMMITMENT_REQUEST: &str = crate::mail::notices::CommitmentEmail::KIND;

/// Where the commitment request's personal link leads once it has signed the person in:
/// the sign-in link (`outbox::SIGN_IN_LINK`, made when the email leaves) followed by the
/// page to go to (`web::pages::portal`, `suite`).
pub const COMMITMENT_PAGE: &str = "/portail/engagement";

/// A reminder missed by more than this when it is first planned (a participant added late,
/// a session moved into the past week) is not sent late.
const GRACE: Duration = Duration::hours(1);

/// Whether the planner owns rows of this kind (the others — a session's notices and
/// cancellations — are `models::invite`'s).
pub fn is_planned(kind: &str) -> bool {
    kind == CONVOCATION
        || kind == guest::CONVOCATION
        || kind.starts_with("reminder_j")
        || kind.starts_with("homework_")
        || kind.starts_with("evaluation_")
        || kind == COMMITMENT_REQUEST
}

/// Whether a kind is a reminder, which participants can turn off.
pub fn is_reminder(kind: &str) -> bool {
    kind.starts_with("reminder_j")
        || kind == "homework_reminder"
        || kind == "homework_overdue"
        || kind == evaluation::REMINDER
}

/// Marks the cohort's automatic emails as needing a rebuild, in the caller's transaction.
pub fn touch(tx: &mut Tx, cohort_id: &str) -> Result<(), AppError> {
    diesel::update(cohorts::table.find(cohort_id))
        .set(cohorts::mail_dirty.eq(true))
        .execute(tx.conn())?;
    Ok(())
}

/// The cohorts marked by [`touch`]. Asked after every change (`AppState::write`) and by
/// every dispatcher pass, so it must not scan `cohorts`: `WHERE mail_dirty` as a bare
/// column, not `= ?`, is the partial index's own condition (`cohorts_mail_dirty`), so the
/// check reads the marked cohorts only (pinned by tests/query_plans.rs).
fn marked(conn: &mut Conn) -> Result<Vec<String>, AppError> {
    Ok(cohorts::table
        .filter(cohorts::mail_dirty)
        .select(cohorts::id)
        .load(conn)?)
}

/// Clears the cohort's mark and rebuilds its emails, in the caller's transaction; nothing
/// when the mark was cleared meanwhile (another connection synced it first).
fn sync_marked(
    tx: &mut Tx,
    mail: &MailContext,
    id: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let cleared = diesel::update(cohorts::table.find(id).filter(cohorts::mail_dirty.eq(true)))
        .set(cohorts::mail_dirty.eq(false))
        .execute(tx.conn())?;
    if cleared == 0 {
        return Ok(0);
    }
    Ok(sync_cohort(tx, mail, id, now)?.total())
}

/// Rebuilds the automatic emails of every marked cohort, and clears the marks, in the
/// caller's transaction. Returns the number of emails queued, refreshed or cancelled.
pub fn sync_dirty(tx: &mut Tx, mail: &MailContext) -> Result<usize, AppError> {
    let now = tx.now();
    let mut changed = 0;
    for id in marked(tx)? {
        changed += sync_marked(tx, mail, &id, now)?;
    }
    Ok(changed)
}

/// One dispatcher pass's planning: marked cohorts, then the weekly summaries due at `now`.
///
/// It reads first and writes only what it found, one short write transaction per cohort:
/// a pass with nothing to plan takes no write lock at all, and a pass with much to plan
/// never holds it for long (the people's changes wait for one cohort at most).
pub fn plan(conn: &mut Conn, mail: &MailContext, now: DateTime<Utc>) -> Result<usize, AppError> {
    mark_stale_reminders(conn, now)?;
    let mut changed = 0;
    for id in marked(conn)? {
        changed += write_with(conn, Author::system(), now, |tx| {
            sync_marked(tx, mail, &id, now)
        })?;
    }
    Ok(changed + queue_summaries(conn, mail, now)?)
}

/// Marks the cohorts holding a session reminder due at `now` whose words were written for
/// an earlier day (« dans 7 jours » still waiting the day after: drafts validated late,
/// sending held up by an outage), so that the same pass rewrites it from the day it
/// leaves, or drops it when a closer reminder speaks that day ([`wanted`]). Reads the due
/// rows only (`outbox_emails_due_idx`), and writes nothing when none is stale.
fn mark_stale_reminders(conn: &mut Conn, now: DateTime<Utc>) -> Result<(), AppError> {
    let today = schedule::start_of_day(calendar::utc_to_paris(now).date()).naive_utc();
    // The kinds are ASCII and lower case: `LIKE` means the same on both backends. One row
    // per cohort, however many of its emails an outage holds back.
    let stale: Vec<Option<String>> = outbox_emails::table
        .filter(outbox_emails::status.eq(Status::Scheduled.as_str()))
        .filter(outbox_emails::next_attempt_at.le(now.naive_utc()))
        .filter(outbox_emails::send_after.lt(today))
        .filter(outbox_emails::kind.like("reminder_j%"))
        .select(outbox_emails::cohort_id)
        .distinct()
        .load(conn)?;
    for id in stale.into_iter().flatten() {
        write_with(conn, Author::system(), now, |tx| touch(tx, &id))?;
    }
    Ok(())
}

/// What a sync did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub queued: usize,
    pub refreshed: usize,
    pub cancelled: usize,
}

impl SyncStats {
    pub fn total(&self) -> usize {
        self.queued + self.refreshed + self.cancelled
    }
}

/// Everything the cohort's emails are built from, read once.
struct Facts {
    cohort: Cohort,
    schedule: Schedule,
    published: DateTime<Utc>,
    dla_name: String,
    associations: Vec<Association>,
    participants: Vec<Participant>,
    sessions: Vec<Session>,
    tasks: Vec<IntersessionTask>,
    returns: Vec<TaskReturn>,
    guests: Vec<Guest>,
    evaluations: Vec<Evaluation>,
    secret: Vec<u8>,
    organizer: CalendarPerson,
    /// What each address was sent of each session's invite (`models::invite`), for the
    /// sessions to come.
    copies: Vec<invite::Stored>,
}

impl Facts {
    fn load(
        conn: &mut Conn,
        mail: &MailContext,
        co: Cohort,
        now: DateTime<Utc>,
    ) -> Result<Option<Facts>, AppError> {
        let Some(published) = co.published_at_utc() else {
            return Ok(None);
        };
        let associations = association::list_for_cohort(conn, &co.id)?;
        let ids: Vec<String> = associations.iter().map(|a| a.id.clone()).collect();
        let sessions = session::list_for_cohort(conn, &co.id)?;
        // The copies of sessions to come only: nothing is planned for the others.
        let session_ids: Vec<String> = sessions
            .iter()
            .filter(|s| s.starts_at.and_utc() > now)
            .map(|s| s.id.clone())
            .collect();
        let dla = dla::get(conn, &co.dla_id)?;
        Ok(Some(Facts {
            schedule: co.schedule(&mail.schedule),
            published,
            // Who answers for the cohort signs and organizes.
            organizer: cohort::answerer(&co, &dla.email, None, cohort::Topic::Cohort, mail),
            dla_name: dla.name,
            // Anonymised people get nothing more (their pending rows are cancelled).
            participants: participant::list_reachable(conn, &ids)?,
            copies: invite::for_sessions(conn, &session_ids)?,
            sessions,
            tasks: task::list_for_cohort(conn, &co.id)?,
            returns: task::returns_for_cohort(conn, &co.id)?,
            guests: guest::list_for_cohort(conn, &co.id)?,
            evaluations: evaluation::list_for_cohort(conn, &co.id)?,
            secret: feed::secret(conn)?,
            associations,
            cohort: co,
        }))
    }

    /// What a rebuild of the invites needs: the same facts.
    fn invite_context(&self) -> invite::Context {
        invite::Context {
            cohort: self.cohort.clone(),
            associations: self.associations.clone(),
            participants: self.participants.clone(),
            guests: self.guests.clone(),
            dla_name: self.dla_name.clone(),
            organizer: self.organizer.clone(),
            secret: self.secret.clone(),
            review: self.schedule.review_before_send,
        }
    }

    /// The session's facts for `person`'s convocation to `email`, with the SEQUENCE that
    /// address's calendar will take (`domain::invite::convocation_sequence`).
    fn convocation_facts(&self, session: &Session, email: &str, person: &str) -> SessionFacts {
        let mut f = session.facts(&self.cohort.name, &self.associations);
        let address = email.trim().to_lowercase();
        let copies: Vec<&crate::domain::invite::Copy> = self
            .copies
            .iter()
            .filter(|c| {
                c.session_id == session.id && c.recipient_email.trim().to_lowercase() == address
            })
            .map(|c| &c.copy)
            .collect();
        let sequence =
            crate::domain::invite::convocation_sequence(session.sequence, &copies, person);
        f.sequence = u32::try_from(sequence).unwrap_or(0);
        f
    }

    /// Whether `email`'s calendar holds the session cancelled (a CANCEL delivered there:
    /// the person was removed, or their address changed, and is expected there again):
    /// their convocation must then be sent anew, above that cancellation.
    fn holds_cancelled(&self, session: &Session, email: &str) -> bool {
        let address = email.trim().to_lowercase();
        let copies: Vec<&crate::domain::invite::Copy> = self
            .copies
            .iter()
            .filter(|c| {
                c.session_id == session.id && c.recipient_email.trim().to_lowercase() == address
            })
            .map(|c| &c.copy)
            .collect();
        crate::domain::invite::held(&copies).is_some_and(|c| c.cancel)
    }

    fn association_name(&self, id: &str) -> String {
        self.associations
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    }

    fn returned(&self, task_id: &str, association_id: &str) -> bool {
        self.returns.iter().any(|r| {
            r.task_id == task_id && r.association_id == association_id && r.status == "rendu"
        })
    }

    /// Collective sessions, and the bilan of `association_id`.
    fn sessions_of(&self, association_id: &str) -> impl Iterator<Item = &Session> {
        self.sessions.iter().filter(move |s| {
            s.association_id
                .as_deref()
                .is_none_or(|aid| aid == association_id)
        })
    }

    /// Homework `association_id` has not returned that prepares `s`: due after the start
    /// of the collective session before it, and no later than its day.
    fn tasks_for(&self, s: &Session, association_id: &str) -> Vec<TaskDue> {
        let day = schedule::session_day(s.starts_at.and_utc());
        let after = self
            .sessions
            .iter()
            .filter(|o| o.kind() != SessionKind::BilanIndividuel && o.starts_at < s.starts_at)
            .map(|o| schedule::session_day(o.starts_at.and_utc()))
            .max();
        self.tasks
            .iter()
            .filter(|t| t.due_date <= day && after.is_none_or(|a| t.due_date > a))
            .filter(|t| !self.returned(&t.id, association_id))
            .map(|t| TaskDue {
                title: t.title.clone(),
                due: t.due_date,
            })
            .collect()
    }

    /// When homework due on `due` is handed out: at the end of the last collective session
    /// before it, or at publication.
    fn assigned_at(&self, due: NaiveDate) -> DateTime<Utc> {
        let limit = schedule::start_of_day(due);
        self.sessions
            .iter()
            .filter(|s| s.kind() != SessionKind::BilanIndividuel)
            .map(|s| s.ends_at.and_utc())
            .filter(|end| *end <= limit)
            .max()
            .unwrap_or(self.published)
            .max(self.published)
    }

    /// The session a piece of homework prepares: the first one on or after its due date
    /// (its linked session when there is one).
    fn prepared_session(&self, t: &IntersessionTask) -> Option<&Session> {
        t.session_id
            .as_ref()
            .and_then(|id| self.sessions.iter().find(|s| &s.id == id))
            .or_else(|| {
                self.sessions
                    .iter()
                    .filter(|s| s.kind() != SessionKind::BilanIndividuel)
                    .find(|s| schedule::session_day(s.starts_at.and_utc()) >= t.due_date)
            })
    }
}

// One row's every part, named at each call site: a struct would only repeat the names.
#[allow(clippy::too_many_arguments)]
fn row(
    facts: &Facts,
    p: &Participant,
    kind: &str,
    item_id: &str,
    revision: i32,
    email: &Email,
    send_after: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> NewEmail {
    let mut row = NewEmail::from_email(kind, item_id, revision, email, send_after);
    row.cohort_id = Some(facts.cohort.id.clone());
    row.participant_id = Some(p.id.clone());
    row.not_after = Some(not_after);
    row.draft = facts.schedule.review_before_send;
    row
}

fn built(kind: &str, p: &Participant, e: crate::mail::BuildError) -> AppError {
    AppError::Internal(anyhow::anyhow!("{kind} e-mail for {}: {e}", p.email))
}

/// The dedup keys of planned rows that nothing changes any more: sent, being sent, missed
/// or cancelled. The reconciliation of [`sync_cohort`] only matches such a row, so
/// [`wanted`] leaves their emails out rather than render them again (rendering is most of
/// a sync's cost, and a cohort's convocations went out at publication).
#[derive(Default)]
struct Settled(HashSet<String>);

impl Settled {
    fn of(rows: &[OutboxEmail]) -> Settled {
        Settled(
            rows.iter()
                .filter(|r| {
                    matches!(
                        r.status(),
                        Status::Sent | Status::Sending | Status::Missed | Status::Cancelled
                    )
                })
                .map(|r| r.dedup_key.clone())
                .collect(),
        )
    }

    /// Whether participant `p`'s email `kind` about `item_id` at `revision` is settled.
    fn has(&self, kind: &str, item_id: &str, p: &Participant, revision: i32) -> bool {
        !self.0.is_empty()
            && self.0.contains(&outbox::row_key(
                kind,
                item_id,
                &p.email,
                Some(&p.id),
                revision,
            ))
    }

    /// Whether guest `g`'s convocation is settled.
    fn has_guest(&self, g: &Guest) -> bool {
        !self.0.is_empty()
            && self.0.contains(&outbox::row_key(
                guest::CONVOCATION,
                &g.id,
                &g.email,
                None,
                0,
            ))
    }
}

/// The planned emails the cohort should have at `now`, but those `settled`.
fn wanted(
    facts: &Facts,
    mail: &MailContext,
    now: DateTime<Utc>,
    settled: &Settled,
) -> Result<Planned, AppError> {
    let renderer = &*mail.renderer;
    let s = &facts.schedule;
    let mut out = Vec::new();
    let mut invites = HashMap::new();
    for p in &facts.participants {
        let association_name = facts.association_name(&p.association_id);
        // The sign-in link is created when the email leaves (`outbox::personalise`).
        let space_url = outbox::SIGN_IN_LINK.to_string();
        let calendar_url = feed::calendar_url(&mail.public_url, &facts.secret, p);
        for session in facts.sessions_of(&p.association_id) {
            let start = session.starts_at.and_utc();
            if start <= now {
                continue;
            }
            let email = SessionEmail {
                session: facts.convocation_facts(session, &p.email, &p.id),
                recipient: CalendarPerson {
                    name: p.name.clone(),
                    email: p.email.clone(),
                },
                association_name: association_name.clone(),
                organizer: facts.organizer.clone(),
                dla_name: facts.dla_name.clone(),
                tasks: facts.tasks_for(session, &p.association_id),
                participant_url: space_url.clone(),
                calendar_url: Some(calendar_url.clone()),
            };
            // DTSTAMP: the session's last change, so that an unchanged invite is unchanged.
            let stamp = session.updated_at.and_utc();
            let convocation_at = s.convocation_at(facts.published, start);
            // A convocation already sent to this address keeps its slot (revision 0); one
            // whose address holds the event cancelled takes a new slot, at its SEQUENCE.
            let revision = if facts.holds_cancelled(session, &p.email) {
                i32::try_from(email.session.sequence).unwrap_or(i32::MAX)
            } else {
                0
            };
            if !settled.has(CONVOCATION, &session.id, p, revision) {
                let built_email = email
                    .convocation(renderer, stamp)
                    .map_err(|e| built(CONVOCATION, p, e))?;
                let convocation = row(
                    facts,
                    p,
                    CONVOCATION,
                    &session.id,
                    revision,
                    &built_email,
                    convocation_at,
                    start,
                );
                invites.insert(
                    convocation.dedup_key(),
                    InviteOf::of(session, &email.session),
                );
                out.push(convocation);
            }
            if !p.reminders {
                continue;
            }
            let reminder_days = s.reminder_days_sorted();
            let session_day = schedule::session_day(start);
            for &days in &reminder_days {
                let at = s.reminder_at(start, days);
                if at <= convocation_at {
                    continue;
                }
                // A reminder whose day has passed unsent (drafts released late, sending
                // held up) speaks from the day it leaves, from that day's start, or gives
                // way to a closer reminder leaving the same day.
                let today = calendar::utc_to_paris(now).date();
                let (send_day, send_after) = if schedule::session_day(at) < today {
                    (today, schedule::start_of_day(today).max(at))
                } else {
                    (schedule::session_day(at), at)
                };
                if !schedule::late_reminder_still_useful(
                    days,
                    send_day,
                    session_day,
                    &reminder_days,
                ) {
                    continue;
                }
                let Some(lead) = schedule::reminder_lead(send_day, session_day) else {
                    continue;
                };
                let kind = format!("reminder_j{days}");
                if settled.has(&kind, &session.id, p, session.sequence) {
                    continue;
                }
                let built_email = email
                    .reminder(renderer, &lead)
                    .map_err(|e| built(&kind, p, e))?;
                out.push(row(
                    facts,
                    p,
                    &kind,
                    &session.id,
                    session.sequence,
                    &built_email,
                    send_after,
                    start,
                ));
            }
        }
        for t in &facts.tasks {
            if facts.returned(&t.id, &p.association_id) {
                continue;
            }
            let due_end = schedule::start_of_day(t.due_date + Duration::days(1));
            if due_end <= now && !p.reminders {
                continue;
            }
            let prepared = facts.prepared_session(t);
            let homework = HomeworkEmail {
                recipient_name: p.name.clone(),
                recipient_email: p.email.clone(),
                association_name: association_name.clone(),
                cohort_name: facts.cohort.name.clone(),
                title: t.title.clone(),
                instructions: t.instructions.clone(),
                due: t.due_date,
                session: prepared.map(|ps| {
                    (
                        ps.label(&facts.associations),
                        fr::datetime_long(ps.starts_at.and_utc()),
                    )
                }),
                organizer_name: facts.organizer.name.clone(),
                dla_name: facts.dla_name.clone(),
                participant_url: space_url.clone(),
            };
            let assigned_at = facts.assigned_at(t.due_date);
            let mut add = |kind: HomeworkKind, revision: i32, at, until| -> Result<(), AppError> {
                if settled.has(kind.message(), &t.id, p, revision) {
                    return Ok(());
                }
                let e = homework
                    .build(renderer, kind)
                    .map_err(|e| built(kind.message(), p, e))?;
                out.push(row(
                    facts,
                    p,
                    kind.message(),
                    &t.id,
                    revision,
                    &e,
                    at,
                    until,
                ));
                Ok(())
            };
            if assigned_at < due_end {
                add(HomeworkKind::Assigned, 0, assigned_at, due_end)?;
            }
            if !p.reminders {
                continue;
            }
            // Revision: the due date, so that editing the title does not send it again.
            let due_rev = t
                .due_date
                .format("%Y%m%d")
                .to_string()
                .parse::<i32>()
                .unwrap_or(0);
            if let Some(at) = s.homework_reminder_at(t.due_date)
                && at > assigned_at
                && at < due_end
            {
                add(HomeworkKind::Reminder, due_rev, at, due_end)?;
            }
            if let Some(at) = s.overdue_at(t.due_date)
                && prepared.is_none_or(|ps| ps.starts_at.and_utc() > at)
            {
                // Pointless once the session it prepares has begun; a week at most.
                let until = prepared
                    .map(|ps| ps.starts_at.and_utc())
                    .filter(|start| *start > at)
                    .unwrap_or(at + Duration::days(7))
                    .min(at + Duration::days(7));
                add(HomeworkKind::Overdue, due_rev, at, until)?;
            }
        }
        evaluation_emails(
            facts,
            mail,
            renderer,
            settled,
            p,
            &association_name,
            &mut out,
        )?;
        if !settled.has(COMMITMENT_REQUEST, &p.id, p, 0) {
            commitment_email(facts, renderer, p, &association_name, &mut out)?;
        }
    }
    for g in &facts.guests {
        let Some(session) = facts.sessions.iter().find(|s| s.id == g.session_id) else {
            continue;
        };
        let start = session.starts_at.and_utc();
        if start <= now || settled.has_guest(g) {
            continue;
        }
        let email = guest::for_guest(
            facts.convocation_facts(session, &g.email, &g.id),
            g,
            facts.organizer.clone(),
            facts.dla_name.clone(),
        );
        let built_email = email
            .convocation(renderer, session.updated_at.and_utc())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("guest convocation: {e}")))?;
        let mut row = NewEmail::from_email(
            guest::CONVOCATION,
            &g.id,
            0,
            &built_email,
            s.convocation_at(facts.published, start),
        );
        row.cohort_id = Some(facts.cohort.id.clone());
        row.not_after = Some(start);
        row.draft = s.review_before_send;
        invites.insert(row.dedup_key(), InviteOf::of(session, &email.session));
        out.push(row);
    }
    Ok(Planned {
        emails: out,
        invites,
    })
}

/// The planned emails of a cohort, and what the invite of each convocation says (by the
/// email's dedup key), to record beside it (`models::invite`).
struct Planned {
    emails: Vec<NewEmail>,
    invites: HashMap<String, InviteOf>,
}

/// What a convocation's invite says.
struct InviteOf {
    session_id: String,
    sequence: i32,
    state: EventState,
}

impl InviteOf {
    fn of(session: &Session, facts: &SessionFacts) -> InviteOf {
        InviteOf {
            session_id: session.id.clone(),
            sequence: i32::try_from(facts.sequence).unwrap_or(i32::MAX),
            state: facts.state(),
        }
    }

    /// Records it beside email `id`, unless the stored copy already says the same.
    fn record(&self, tx: &mut Tx, facts: &Facts, id: &str) -> Result<(), AppError> {
        let same = facts.copies.iter().any(|c| {
            c.copy.email_id == id
                && c.session_id == self.session_id
                && c.copy.sequence == self.sequence
                && c.copy.state == self.state
        });
        if same {
            return Ok(());
        }
        invite::record(tx, id, &self.session_id, self.sequence, &self.state)
    }
}

/// The évaluation's reminder after the association's bilan while it is unanswered, and
/// the follow-up months later while that is unanswered.
fn evaluation_emails(
    facts: &Facts,
    mail: &MailContext,
    renderer: &Renderer,
    settled: &Settled,
    p: &Participant,
    association_name: &str,
    out: &mut Vec<NewEmail>,
) -> Result<(), AppError> {
    let Some(bilan) = facts
        .sessions
        .iter()
        .find(|s| s.association_id.as_deref() == Some(p.association_id.as_str()))
    else {
        return Ok(());
    };
    let answer = facts
        .evaluations
        .iter()
        .find(|e| e.association_id == p.association_id);
    let end = bilan.ends_at.and_utc();
    let plan = crate::domain::evaluation::plan(
        end,
        mail.evaluation.reminder_days,
        mail.evaluation.followup_months,
    );
    let email = crate::mail::notices::EvaluationEmail {
        recipient_name: p.name.clone(),
        recipient_email: p.email.clone(),
        association_name: association_name.to_string(),
        cohort_name: facts.cohort.name.clone(),
        organizer_name: facts.organizer.name.clone(),
        dla_name: facts.dla_name.clone(),
        participant_url: outbox::SIGN_IN_LINK.to_string(),
    };
    if let Some((at, until)) = plan.reminder
        && p.reminders
        && answer.is_none_or(|e| e.answered_at.is_none())
        && !settled.has(evaluation::REMINDER, &bilan.id, p, 0)
    {
        let built_email = email
            .build(renderer, evaluation::REMINDER)
            .map_err(|e| built(evaluation::REMINDER, p, e))?;
        out.push(row(
            facts,
            p,
            evaluation::REMINDER,
            &bilan.id,
            0,
            &built_email,
            at,
            until,
        ));
    }
    if let Some((at, until)) = plan.followup
        && answer.is_none_or(|e| e.followup_at.is_none())
        && !settled.has(evaluation::FOLLOWUP, &bilan.id, p, 0)
    {
        let built_email = email
            .build(renderer, evaluation::FOLLOWUP)
            .map_err(|e| built(evaluation::FOLLOWUP, p, e))?;
        out.push(row(
            facts,
            p,
            evaluation::FOLLOWUP,
            &bilan.id,
            0,
            &built_email,
            at,
            until,
        ));
    }
    Ok(())
}

/// The request to confirm one's commitment to the four sessions, while the participant has
/// not confirmed: sent at publication (or at once to someone added later), pointless once
/// the cohort's last session has begun. Item: the participant (one per person, whatever
/// the sessions become: a session moved before it leaves rewrites it in place).
fn commitment_email(
    facts: &Facts,
    renderer: &Renderer,
    p: &Participant,
    association_name: &str,
    out: &mut Vec<NewEmail>,
) -> Result<(), AppError> {
    if p.commitment_confirmed_at.is_some() {
        return Ok(());
    }
    let Some(last_start) = facts.sessions.iter().map(|s| s.starts_at.and_utc()).max() else {
        return Ok(());
    };
    let mut mine: Vec<&Session> = facts.sessions_of(&p.association_id).collect();
    mine.sort_by_key(|s| s.starts_at);
    let email = crate::mail::notices::CommitmentEmail {
        recipient_name: p.name.clone(),
        recipient_email: p.email.clone(),
        association_name: association_name.to_string(),
        cohort_name: facts.cohort.name.clone(),
        sessions: mine
            .iter()
            .map(|s| {
                (
                    s.kind().long_label().to_string(),
                    fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
                )
            })
            .collect(),
        confirm_url: format!("{}?suite={COMMITMENT_PAGE}", outbox::SIGN_IN_LINK),
        organizer_name: facts.organizer.name.clone(),
        dla_name: facts.dla_name.clone(),
    };
    let built_email = email
        .build(renderer)
        .map_err(|e| built(COMMITMENT_REQUEST, p, e))?;
    out.push(row(
        facts,
        p,
        COMMITMENT_REQUEST,
        &p.id,
        0,
        &built_email,
        facts.published,
        last_start,
    ));
    Ok(())
}

/// Why a queued email is no longer wanted, for the outbox page.
fn reason(facts: &Facts, row: &OutboxEmail, now: DateTime<Utc>) -> String {
    if row.kind == guest::CONVOCATION {
        return "Annulé : l'invité·e a été retiré·e du bilan, ou le bilan supprimé.".into();
    }
    let p = row
        .participant_id
        .as_ref()
        .and_then(|id| facts.participants.iter().find(|p| &p.id == id));
    let Some(p) = p else {
        return "Annulé : la personne ne fait plus partie de la cohorte.".into();
    };
    if row.kind == COMMITMENT_REQUEST {
        return if p.commitment_confirmed_at.is_some() {
            "Annulé : la personne a confirmé son engagement.".into()
        } else {
            "Annulé : la dernière séance de la cohorte a commencé, ou le programme a été \
             supprimé."
                .into()
        };
    }
    if row.kind.starts_with("evaluation_")
        && facts
            .evaluations
            .iter()
            .find(|e| e.association_id == p.association_id)
            .is_some_and(|e| {
                if row.kind == evaluation::REMINDER {
                    e.answered_at.is_some()
                } else {
                    e.followup_at.is_some()
                }
            })
    {
        return "Annulé : l'association a répondu.".into();
    }
    if row.kind.starts_with("homework_") {
        if !facts.tasks.iter().any(|t| t.id == row.item_id) {
            return "Annulé : ce travail préparatoire a été supprimé.".into();
        }
        if facts.returned(&row.item_id, &p.association_id) {
            return "Annulé : le travail a été rendu.".into();
        }
    } else if !facts.sessions.iter().any(|s| s.id == row.item_id) {
        return "Annulé : la séance a été supprimée.".into();
    }
    if is_reminder(&row.kind) && !p.reminders {
        return "Annulé : cette personne ne reçoit plus les rappels.".into();
    }
    if row
        .not_after
        .is_some_and(|limit| limit.and_utc() <= now && !row.kind.starts_with("homework_"))
    {
        return "Annulé : la séance a commencé avant son envoi.".into();
    }
    if row.kind.starts_with("reminder_j") && row.attempts == 0 {
        let today = calendar::utc_to_paris(now).date();
        if schedule::session_day(row.send_after.and_utc()) < today {
            return "Annulé : rappel parti en retard devenu sans objet (un rappel plus proche \
                    part le même jour, ou la séance a commencé)."
                .into();
        }
    }
    "Annulé : remplacé après une modification (date de séance ou d'échéance, réglages des \
     envois)."
        .into()
}

/// The automatic emails publishing the cohort at `now` would queue (for the publish page):
/// nothing is written.
pub fn preview(
    conn: &mut Conn,
    mail: &MailContext,
    cohort_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<NewEmail>, AppError> {
    let mut co = cohort::get(conn, cohort_id)?;
    if co.published_at.is_none() {
        co.published_at = Some(now.naive_utc());
    }
    match Facts::load(conn, mail, co, now)? {
        Some(facts) => Ok(wanted(&facts, mail, now, &Settled::default())?.emails),
        None => Ok(Vec::new()),
    }
}

/// Brings the cohort's planned emails in step with the cohort at `now`, then the
/// calendars of those who already received an invite (`models::invite::sync_cohort`).
pub fn sync_cohort(
    tx: &mut Tx,
    mail: &MailContext,
    cohort_id: &str,
    now: DateTime<Utc>,
) -> Result<SyncStats, AppError> {
    let co = cohort::get(tx, cohort_id)?;
    let facts = Facts::load(tx, mail, co, now)?;
    let existing: Vec<OutboxEmail> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .select(OutboxEmail::as_select())
        .load::<OutboxEmail>(tx.conn())?
        .into_iter()
        .filter(|r| is_planned(&r.kind))
        .collect();
    let Some(facts) = facts else {
        return Ok(SyncStats::default());
    };
    let Planned {
        emails: wanted,
        invites,
    } = wanted(&facts, mail, now, &Settled::of(&existing))?;

    let by_key: HashMap<&str, &OutboxEmail> =
        existing.iter().map(|r| (r.dedup_key.as_str(), r)).collect();
    let pending = |r: &OutboxEmail| matches!(r.status(), Status::Draft | Status::Scheduled);
    let mut matched: HashSet<String> = HashSet::new();
    let mut stats = SyncStats::default();
    for w in wanted {
        let key = w.dedup_key();
        let invite = invites.get(&key);
        if let Some(r) = by_key.get(key.as_str()) {
            matched.insert(r.id.clone());
            if matches!(
                r.status(),
                Status::Draft | Status::Scheduled | Status::Failed
            ) {
                if refresh(tx, r, &w, &key)? {
                    stats.refreshed += 1;
                }
                if let Some(i) = invite {
                    i.record(tx, &facts, &r.id)?;
                }
            }
            continue;
        }
        let slot = existing.iter().find(|r| {
            pending(r)
                && !matched.contains(&r.id)
                && r.kind == w.kind
                && r.item_id == w.item_id
                && r.participant_id == w.participant_id
        });
        if let Some(r) = slot {
            matched.insert(r.id.clone());
            refresh(tx, r, &w, &key)?;
            if let Some(i) = invite {
                i.record(tx, &facts, &r.id)?;
            }
            stats.refreshed += 1;
            continue;
        }
        if w.not_after.is_some_and(|limit| limit <= now) {
            continue;
        }
        // Cancelled by someone (the planner's own notes start « Annulé : »): the slot
        // stays cancelled, whatever its new revision.
        if existing.iter().any(|r| {
            r.status() == Status::Cancelled
                && !r
                    .note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("Annulé : "))
                && r.kind == w.kind
                && r.item_id == w.item_id
                && r.participant_id == w.participant_id
        }) {
            continue;
        }
        let late = w.send_after < now - GRACE;
        if late && is_reminder(&w.kind) {
            continue;
        }
        if let Some(row) = outbox::enqueue(tx, w)? {
            if let Some(i) = invite {
                i.record(tx, &facts, &row.id)?;
            }
            stats.queued += 1;
        }
    }
    for r in &existing {
        let cancellable = matches!(
            r.status(),
            Status::Draft | Status::Scheduled | Status::Failed
        );
        if cancellable && !matched.contains(&r.id) {
            let note = reason(&facts, r, now);
            let changed = diesel::update(outbox_emails::table.find(&r.id).filter(in_list(
                outbox_emails::status,
                [
                    Status::Draft.as_str(),
                    Status::Scheduled.as_str(),
                    Status::Failed.as_str(),
                ],
            )))
            .set((
                outbox_emails::status.eq(Status::Cancelled.as_str()),
                outbox_emails::note.eq(Some(note)),
                outbox_emails::updated_at.eq(tx.now_naive()),
            ))
            .execute(tx.conn())?;
            if changed == 1 {
                outbox::settle(tx, std::slice::from_ref(&r.id), tx.now_naive())?;
            }
            stats.cancelled += changed;
        }
    }
    // Then the calendars of those who already hold an invite: updates, cancellations.
    let notices = invite::sync_cohort(tx, mail, &facts.invite_context(), &facts.sessions, now)?;
    stats.queued += notices.queued;
    stats.cancelled += notices.replaced;
    Ok(stats)
}

/// Rewrites a not-sent row as `w` (status kept: a draft stays a draft). Returns whether
/// anything changed.
fn refresh(tx: &mut Tx, r: &OutboxEmail, w: &NewEmail, key: &str) -> Result<bool, AppError> {
    let send_after = w.send_after.naive_utc();
    let not_after = w.not_after.map(|t| t.naive_utc());
    let wanted = outbox::Bodies {
        body_text: w.body_text.clone(),
        body_html: w.body_html.clone(),
        ics: w.ics.clone(),
    };
    let same_row = r.dedup_key == key
        && r.subject == w.subject
        && r.ics_method == w.ics_method
        && r.send_after == send_after
        && r.not_after == not_after
        && r.recipient_name == w.recipient_name;
    // The bodies (their own table) are read only when the row itself is unchanged.
    let same_bodies = same_row && outbox::bodies(tx, &r.id)? == wanted;
    if same_bodies {
        return Ok(false);
    }
    // A row being retried keeps its retry time; a fresh one follows its new moment.
    let next_attempt = if r.attempts == 0 {
        send_after
    } else {
        r.next_attempt_at
    };
    let changed = diesel::update(outbox_emails::table.find(&r.id).filter(in_list(
        outbox_emails::status,
        [
            Status::Draft.as_str(),
            Status::Scheduled.as_str(),
            Status::Failed.as_str(),
        ],
    )))
    .set((
        outbox_emails::dedup_key.eq(key),
        outbox_emails::revision.eq(w.revision),
        outbox_emails::recipient_email.eq(w.recipient_email.trim()),
        outbox_emails::recipient_name.eq(w.recipient_name.trim()),
        outbox_emails::subject.eq(&w.subject),
        outbox_emails::ics_method.eq(&w.ics_method),
        outbox_emails::send_after.eq(send_after),
        outbox_emails::not_after.eq(not_after),
        outbox_emails::next_attempt_at.eq(next_attempt),
        outbox_emails::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    if changed == 1 {
        outbox::set_bodies(tx, &r.id, &wanted)?;
    }
    Ok(true)
}

/// A weekly summary whose moment has come, and who still lacks it.
struct DueSummary {
    cohort: Cohort,
    sessions: Vec<Session>,
    at: DateTime<Utc>,
    week_day: NaiveDate,
    revision: i32,
    recipients: Vec<(String, String)>,
}

/// Queues, for every published cohort still running, the weekly summary whose moment has
/// come (once per week and recipient). Returns how many were queued. Reads first; each
/// cohort's summaries are then written in a short transaction of their own.
pub fn queue_summaries(
    conn: &mut Conn,
    mail: &MailContext,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut queued = 0;
    for due in summaries_due(conn, mail, now)? {
        queued += write_with(conn, Author::system(), now, |tx| {
            queue_summary(tx, mail, &due, now)
        })?;
    }
    Ok(queued)
}

/// The summaries due at `now` and not queued yet: reads only.
///
/// Asked by every dispatcher pass, and almost always answered « none »: its cost is a few
/// queries whatever the number of cohorts (issue #19). The running cohorts are read
/// narrow (id, sending settings, publication) to find those whose summary moment is open —
/// only the cohorts with their own settings on the six days a week the configured moment
/// is not —; then, for those, the cohorts, their sessions' span, their consultant·es and
/// the summaries already queued, one query each.
fn summaries_due(
    conn: &mut Conn,
    mail: &MailContext,
    now: DateTime<Utc>,
) -> Result<Vec<DueSummary>, AppError> {
    use crate::db::schema::{consultants, sessions};
    use diesel::dsl::{max, min};
    // Whether the summary of moment `at` may be queued at `now`: for a day after it.
    let open = |at: DateTime<Utc>| at <= now && now < at + Duration::days(1);
    let default_open = mail.schedule.summary_at_or_before(now).is_some_and(open);
    // A summary is due for at most a day after its moment, and only while the cohort had a
    // session in the week before it: only cohorts with a session ending in the last 8 days
    // (or later) can have one, which leaves the cohorts long over out of the pass. The
    // published cohorts not over (`cohorts_running`), each with one probe of
    // `sessions_cohort_ends`: an `IN (SELECT cohort_id …)` built the list of every session
    // to come first, seven times the cost.
    let horizon = (now - Duration::days(8)).naive_utc();
    let mut running = cohorts::table
        .filter(diesel::dsl::exists(
            sessions::table
                .filter(sessions::cohort_id.eq(cohorts::id))
                .filter(sessions::ends_at.ge(horizon)),
        ))
        .filter(cohorts::published_at.is_not_null())
        .filter(in_list(cohorts::status, ["brouillon", "en_cours"]))
        .select((cohorts::id, cohorts::mail_settings, cohorts::published_at))
        .into_boxed();
    if !default_open {
        // Only a cohort's own settings can open its moment today.
        running = running.filter(cohorts::mail_settings.is_not_null());
    }
    let running: Vec<(String, Option<String>, Option<NaiveDateTime>)> = running.load(conn)?;
    // Each cohort whose moment is open, with that moment.
    let mut open_at: HashMap<String, DateTime<Utc>> = HashMap::new();
    for (id, settings, published_at) in running {
        let schedule = cohort::schedule_of(settings.as_deref(), &mail.schedule);
        let Some(at) = schedule.summary_at_or_before(now) else {
            continue;
        };
        if published_at.is_some_and(|p| at >= p.and_utc()) && open(at) {
            open_at.insert(id, at);
        }
    }
    if open_at.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&String> = open_at.keys().collect();
    let candidates: Vec<Cohort> = cohorts::table
        .filter(in_list(cohorts::id, &ids))
        .order(cohorts::id.asc())
        .select(Cohort::as_select())
        .load(conn)?;
    let spans: HashMap<String, (Option<NaiveDateTime>, Option<NaiveDateTime>)> = sessions::table
        .filter(in_list(sessions::cohort_id, &ids))
        .group_by(sessions::cohort_id)
        .select((
            sessions::cohort_id,
            min(sessions::starts_at),
            max(sessions::ends_at),
        ))
        .load::<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(id, first, last)| (id, (first, last)))
        .collect();
    let consultant_ids: Vec<&String> = candidates
        .iter()
        .filter_map(|c| c.consultant_id.as_ref())
        .collect();
    let consultants: HashMap<String, (String, String)> = consultants::table
        .filter(in_list(consultants::id, &consultant_ids))
        .select((consultants::id, consultants::name, consultants::email))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, email)| (id, (name, email)))
        .collect();
    let mut due = Vec::new();
    for co in candidates {
        let at = open_at[&co.id];
        let (first_start, last_end) = spans.get(&co.id).copied().unwrap_or_default();
        if !schedule::summary_in_window(
            at,
            first_start.map(|t| t.and_utc()),
            last_end.map(|t| t.and_utc()),
        ) {
            continue;
        }
        let mut recipients: Vec<(String, String)> = Vec::new();
        if let Some((name, email)) = co.consultant_id.as_ref().and_then(|c| consultants.get(c)) {
            recipients.push((name.clone(), email.clone()));
        }
        if !co.officer_email.trim().is_empty()
            && !recipients
                .iter()
                .any(|(_, e)| e.eq_ignore_ascii_case(co.officer_email.trim()))
        {
            recipients.push((co.officer_name.clone(), co.officer_email.clone()));
        }
        let week_day = calendar::utc_to_paris(at).date();
        let revision = week_day
            .format("%Y%m%d")
            .to_string()
            .parse::<i32>()
            .unwrap_or(0);
        due.push(DueSummary {
            cohort: co,
            sessions: Vec::new(),
            at,
            week_day,
            revision,
            recipients,
        });
    }
    // The summaries already queued, by their dedup keys: one query.
    let keys: Vec<String> = due
        .iter()
        .flat_map(|d| {
            d.recipients
                .iter()
                .map(|(_, email)| dedup_key(WEEKLY_SUMMARY, &d.cohort.id, email, d.revision))
        })
        .collect();
    let queued: HashSet<String> = outbox_emails::table
        .filter(in_list(outbox_emails::dedup_key, &keys))
        .select(outbox_emails::dedup_key)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut todo = Vec::new();
    for mut d in due {
        d.recipients.retain(|(_, email)| {
            !queued.contains(&dedup_key(WEEKLY_SUMMARY, &d.cohort.id, email, d.revision))
        });
        if d.recipients.is_empty() {
            continue;
        }
        d.sessions = session::list_for_cohort(conn, &d.cohort.id)?;
        todo.push(d);
    }
    Ok(todo)
}

/// Queues one cohort's due summary to each recipient still lacking it (the dedup key
/// keeps a summary queued meanwhile from being queued twice).
fn queue_summary(
    tx: &mut Tx,
    mail: &MailContext,
    due: &DueSummary,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let co = &due.cohort;
    let summary = summary_facts(tx, mail, co, &due.sessions, now, due.week_day)?;
    let renderer = &*mail.renderer;
    let mut queued = 0;
    for (name, email) in &due.recipients {
        let mut s = summary.clone();
        s.recipient_name = name.clone();
        s.recipient_email = email.clone();
        let built = s.build(renderer).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "weekly summary for {}: {e}",
                s.recipient_email
            ))
        })?;
        let mut row = NewEmail::from_email(WEEKLY_SUMMARY, &co.id, due.revision, &built, due.at);
        row.cohort_id = Some(co.id.clone());
        row.not_after = Some(due.at + Duration::days(1));
        if outbox::enqueue(tx, row)?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

fn summary_facts(
    conn: &mut Conn,
    mail: &MailContext,
    co: &Cohort,
    sessions: &[Session],
    now: DateTime<Utc>,
    week_day: NaiveDate,
) -> Result<SummaryEmail, AppError> {
    let associations = association::list_for_cohort(conn, &co.id)?;
    let tasks = task::list_for_cohort(conn, &co.id)?;
    let returns = task::returns_for_cohort(conn, &co.id)?;
    let today = calendar::utc_to_paris(now).date();
    let coming = sessions
        .iter()
        .filter(|s| {
            s.starts_at.and_utc() > now && s.starts_at.and_utc() <= now + Duration::days(15)
        })
        .map(|s| SummarySession {
            title: s.label(&associations),
            when: fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
        })
        .collect();
    let missing = tasks
        .iter()
        .filter(|t| t.due_date <= today + Duration::days(7))
        .filter_map(|t| {
            let names: Vec<String> = associations
                .iter()
                .filter(|a| {
                    !returns.iter().any(|r| {
                        r.task_id == t.id && r.association_id == a.id && r.status == "rendu"
                    })
                })
                .map(|a| a.name.clone())
                .collect();
            (!names.is_empty()).then(|| SummaryTask {
                title: t.title.clone(),
                due: fr::date_long(t.due_date),
                overdue: t.due_date < today,
                associations: names,
            })
        })
        .collect();
    let failures = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(&co.id))
        .filter(outbox_emails::status.eq(Status::Failed.as_str()))
        .select(OutboxEmail::as_select())
        .load::<OutboxEmail>(conn)?
        .into_iter()
        .map(|r| SummaryFailure {
            recipient: r.recipient_email,
            subject: r.subject,
            error: r.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(SummaryEmail {
        recipient_name: String::new(),
        recipient_email: String::new(),
        cohort_name: co.name.clone(),
        week: format!("semaine du {}", fr::date_long(week_day)),
        sessions: coming,
        tasks: missing,
        failures,
        cohort_url: format!("{}/cohortes/{}", mail.public_url, co.id),
        outbox_url: format!("{}/cohortes/{}/envois", mail.public_url, co.id),
        dla_name: dla::get(conn, &co.dla_id)?.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, email: &str) -> Participant {
        let t = chrono::NaiveDate::from_ymd_opt(2027, 1, 4)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        Participant {
            id: id.into(),
            association_id: "a1".into(),
            name: "Zoé Martin".into(),
            email: email.into(),
            role: "direction".into(),
            function: String::new(),
            created_at: t,
            updated_at: t,
            reminders: true,
            feed_generation: 0,
            version: 0,
            commitment_confirmed_at: None,
        }
    }

    fn row_to(p: &Participant, kind: &str, revision: i32) -> NewEmail {
        NewEmail {
            cohort_id: Some("c1".into()),
            kind: kind.into(),
            item_id: "s1".into(),
            revision,
            recipient_email: p.email.clone(),
            recipient_name: p.name.clone(),
            participant_id: Some(p.id.clone()),
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            ics: None,
            ics_method: None,
            send_after: Utc::now(),
            not_after: None,
            draft: false,
        }
    }

    #[test]
    fn a_settled_row_is_known_by_the_key_its_wanted_email_takes_and_no_other() {
        // Addresses are compared trimmed and without case, as the dedup key does.
        let p = person("p1", " Zoe.Martin@Exemple.fr");
        let settled = Settled(HashSet::from([row_to(&p, "reminder_j7", 3).dedup_key()]));
        assert!(settled.has(
            "reminder_j7",
            "s1",
            &person("p1", "zoe.martin@exemple.fr"),
            3
        ));
        assert!(!settled.has("reminder_j7", "s1", &p, 4), "another revision");
        assert!(!settled.has("reminder_j1", "s1", &p, 3), "another kind");
        assert!(
            !settled.has("reminder_j7", "s1", &person("p2", &p.email), 3),
            "someone else at the same address"
        );
        assert!(!Settled::default().has("reminder_j7", "s1", &p, 3));
    }
}
