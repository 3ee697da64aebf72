//! What each address's calendar holds of a published cohort's sessions, kept as data, and
//! the notices that keep it true (issue #18, point 4): every change to what a calendar
//! holds (time, place, video link, title, agenda) sends an updated invite, every removal a
//! cancellation, described from what that person last received.
//!
//! Table `invite_copies`: one row per outbox email carrying an invite — the event it
//! described (times, place, link, digests of title and agenda) and its SEQUENCE —, written
//! in the transaction that queues or rebuilds the email. Whether it arrived is the email's
//! own status: the copies are read joined to their `outbox_emails` row, and a row whose
//! invite was erased (anonymisation, purge: `ics_method` NULL) holds nothing.
//!
//! [`sync_session`] compares, for every address a session's invite was sent or queued to,
//! what it holds (the last copy delivered) with what it should hold now
//! (`domain::invite::decide`), queues the `session_moved` / `session_updated` notice (REQUEST,
//! same UID, SEQUENCE above every one that address saw), the `invite_withdrawn` or
//! `session_cancelled` cancellation, and cancels the pending notices it replaces. The
//! planner runs it for every future session of the cohort on each sync (so a change made
//! anywhere — a place edited, a person removed, an association withdrawn, a guest removed,
//! an address corrected, a cohort renamed — reaches the calendars in the transaction of the
//! change, `AppState::write`); a move and a deletion run it themselves, the latter before
//! the session row disappears.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::in_list;
use crate::db::schema::{invite_copies, outbox_emails};
use crate::db::{Conn, Tx};
use crate::domain::invite::{self, Copy, Delivery, EventState, Send};
use crate::domain::outbox::Status;
use crate::error::AppError;
use crate::mail::Email;
use crate::mail::ics::CalendarPerson;
use crate::mail::session::{SessionEmail, SessionFacts};
use crate::models::association::Association;
use crate::models::cohort::{self, Cohort};
use crate::models::guest::{self, Guest};
use crate::models::outbox::{self, MailContext, NewEmail};
use crate::models::participant::Participant;
use crate::models::session::Session;
use crate::models::{association, dla, feed, participant};

/// The notice of a move (the time changed, and maybe more).
pub const MOVED: &str = "session_moved";
/// The notice of a change that keeps the time (place, link, title, agenda).
pub const UPDATED: &str = "session_updated";
/// The cancellation of a deleted session.
pub const CANCELLED: &str = "session_cancelled";
/// The cancellation to an address nobody there is expected at any more.
pub const WITHDRAWN: &str = "invite_withdrawn";

const REPLACED_NOTE: &str = "Annulé : remplacé par un avis plus récent sur la même séance.";

/// A copy, with what its outbox row says of the recipient.
#[derive(Clone, Debug)]
pub struct Stored {
    pub copy: Copy,
    pub session_id: String,
    pub recipient_email: String,
    pub recipient_name: String,
}

impl Stored {
    /// The address as compared: calendars do not care about case.
    fn address(&self) -> String {
        address_key(&self.recipient_email)
    }
}

fn address_key(email: &str) -> String {
    email.trim().to_lowercase()
}

type Row = (
    String,
    String,
    i32,
    NaiveDateTime,
    NaiveDateTime,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    NaiveDateTime,
    i32,
);

/// Every copy of these sessions' invites whose email still carries one.
pub fn for_sessions(conn: &mut Conn, session_ids: &[String]) -> Result<Vec<Stored>, AppError> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = invite_copies::table
        .inner_join(outbox_emails::table)
        .filter(in_list(invite_copies::session_id, session_ids))
        .filter(outbox_emails::ics_method.is_not_null())
        .select((
            invite_copies::email_id,
            invite_copies::session_id,
            invite_copies::sequence,
            invite_copies::starts_at,
            invite_copies::ends_at,
            invite_copies::location,
            invite_copies::video_link,
            invite_copies::title_digest,
            invite_copies::agenda_digest,
            outbox_emails::kind,
            outbox_emails::item_id,
            outbox_emails::recipient_email,
            outbox_emails::recipient_name,
            outbox_emails::participant_id,
            outbox_emails::status,
            outbox_emails::ics_method,
            outbox_emails::created_at,
            outbox_emails::unconfirmed,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(stored).collect())
}

fn stored(r: Row) -> Stored {
    let (email_id, session_id, sequence, starts, ends, location, video_link, title, agenda) =
        (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
    let (kind, item_id, recipient_email, recipient_name, participant_id, status, method, created) =
        (r.9, r.10, r.11, r.12, r.13, r.14, r.15, r.16);
    let delivery = match Status::parse(&status) {
        Some(Status::Sent | Status::Sending) => Delivery::Delivered,
        // Sent without the server confirming it (`unconfirmed`): most likely received,
        // so later changes are described from it.
        Some(Status::Failed) if r.17 > 0 => Delivery::Delivered,
        Some(Status::Draft | Status::Scheduled | Status::Failed) => Delivery::Pending,
        _ => Delivery::Dropped,
    };
    // A participant removed since has lost the id (`ON DELETE SET NULL`), not the kind.
    let (convocation, convoked) = match kind.as_str() {
        crate::models::planner::CONVOCATION => (true, participant_id),
        guest::CONVOCATION => (true, Some(item_id)),
        _ => (false, None),
    };
    Stored {
        copy: Copy {
            email_id,
            convocation,
            convoked,
            cancel: method.as_deref() == Some(crate::mail::Method::Cancel.as_str()),
            sequence,
            state: EventState {
                starts_at: starts.and_utc(),
                ends_at: ends.and_utc(),
                location,
                video_link,
                title_digest: title,
                agenda_digest: agenda,
            },
            delivery,
            created_at: created,
        },
        session_id,
        recipient_email,
        recipient_name,
    }
}

/// Records what the invite of email `email_id` says (or says now, when the planner
/// rebuilt it), in the caller's transaction.
pub fn record(
    tx: &mut Tx,
    email_id: &str,
    session_id: &str,
    sequence: i32,
    state: &EventState,
) -> Result<(), AppError> {
    let values = (
        invite_copies::session_id.eq(session_id),
        invite_copies::sequence.eq(sequence),
        invite_copies::starts_at.eq(state.starts_at.naive_utc()),
        invite_copies::ends_at.eq(state.ends_at.naive_utc()),
        invite_copies::location.eq(&state.location),
        invite_copies::video_link.eq(&state.video_link),
        invite_copies::title_digest.eq(&state.title_digest),
        invite_copies::agenda_digest.eq(&state.agenda_digest),
    );
    crate::on_backend!(tx.conn(), |c| diesel::insert_into(invite_copies::table)
        .values((invite_copies::email_id.eq(email_id), values))
        .on_conflict(invite_copies::email_id)
        .do_update()
        .set(values)
        .execute(c))?;
    Ok(())
}

/// Everything a cohort's invites are built from, read once.
pub struct Context {
    pub cohort: Cohort,
    pub associations: Vec<Association>,
    /// Those emails may still go to (the anonymised are not expected anywhere).
    pub participants: Vec<Participant>,
    /// The cohort's guests (of every bilan).
    pub guests: Vec<Guest>,
    pub dla_name: String,
    pub organizer: CalendarPerson,
    pub secret: Vec<u8>,
    /// Notices wait as drafts (« valider les envois »).
    pub review: bool,
}

impl Context {
    /// The cohort's context, or `None` before publication (nothing was sent).
    pub fn load(
        conn: &mut Conn,
        mail: &MailContext,
        cohort_id: &str,
    ) -> Result<Option<Context>, AppError> {
        let co = cohort::get(conn, cohort_id)?;
        if co.published_at.is_none() {
            return Ok(None);
        }
        let associations = association::list_for_cohort(conn, &co.id)?;
        let ids: Vec<String> = associations.iter().map(|a| a.id.clone()).collect();
        let dla = dla::get(conn, &co.dla_id)?;
        Ok(Some(Context {
            participants: participant::list_reachable(conn, &ids)?,
            guests: guest::list_for_cohort(conn, &co.id)?,
            organizer: cohort::answerer(&co, &dla.email, None, cohort::Topic::Cohort, mail),
            dla_name: dla.name,
            secret: feed::secret(conn)?,
            review: co.schedule(&mail.schedule).review_before_send,
            associations,
            cohort: co,
        }))
    }
}

/// Someone expected at a session.
enum Person<'a> {
    Participant(&'a Participant),
    Guest(&'a Guest),
}

impl Person<'_> {
    fn id(&self) -> &str {
        match self {
            Person::Participant(p) => &p.id,
            Person::Guest(g) => &g.id,
        }
    }
}

/// What a sync of a session's calendars did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Synced {
    /// Notices and cancellations queued.
    pub queued: usize,
    /// Pending notices replaced (cancelled).
    pub replaced: usize,
}

/// Brings every calendar holding `session` in step with it — or with its deletion when
/// `deleted` — in the caller's transaction: see the module's comment. `copies` are at least
/// the session's (others are ignored). Nothing once the session has begun: news of a
/// session is pointless then.
pub fn sync_session(
    tx: &mut Tx,
    mail: &MailContext,
    ctx: &Context,
    session: &Session,
    deleted: bool,
    copies: &[Stored],
    now: DateTime<Utc>,
) -> Result<Synced, AppError> {
    let mut synced = Synced::default();
    let start = session.starts_at.and_utc();
    if start <= now {
        return Ok(synced);
    }
    let facts = session.facts(&ctx.cohort.name, &ctx.associations);
    let state = facts.state();
    // Who is expected at the session, by address (a deleted session's people still get
    // the cancellation as themselves).
    let mut expected: BTreeMap<String, Vec<Person>> = BTreeMap::new();
    for p in ctx.participants.iter().filter(|p| {
        session
            .association_id
            .as_deref()
            .is_none_or(|aid| aid == p.association_id)
    }) {
        expected
            .entry(address_key(&p.email))
            .or_default()
            .push(Person::Participant(p));
    }
    for g in ctx.guests.iter().filter(|g| g.session_id == session.id) {
        expected
            .entry(address_key(&g.email))
            .or_default()
            .push(Person::Guest(g));
    }
    let mut by_address: BTreeMap<String, Vec<&Stored>> = BTreeMap::new();
    for c in copies.iter().filter(|c| c.session_id == session.id) {
        by_address.entry(c.address()).or_default().push(c);
    }
    let renderer = &*mail.renderer;
    let stamp = tx.now();
    let floor = session.sequence + i32::from(deleted);
    for (address, stored) in &by_address {
        let refs: Vec<&Copy> = stored.iter().map(|s| &s.copy).collect();
        let people = expected.get(address);
        let wanted = people.filter(|_| !deleted).map(|_| &state);
        let decision = invite::decide(wanted, floor, &refs);
        synced.replaced += replace(tx, &decision.replaced)?;
        let Some(send) = decision.send else {
            continue;
        };
        // Those at the address who received their own convocation: the others get it,
        // rebuilt, instead.
        let convoked: Vec<&Person> = people
            .map(|ps| {
                ps.iter()
                    .filter(|p| {
                        refs.iter().any(|c| {
                            c.convocation
                                && c.delivery == Delivery::Delivered
                                && c.convoked.as_deref() == Some(p.id())
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (sequence, kind) = match &send {
            Send::Update {
                sequence, changes, ..
            } => (*sequence, if changes.time { MOVED } else { UPDATED }),
            Send::Cancel { sequence } => (*sequence, if deleted { CANCELLED } else { WITHDRAWN }),
        };
        let mut facts = facts.clone();
        facts.sequence = u32::try_from(sequence).unwrap_or(0);
        let build = |email: &SessionEmail| -> Result<Email, AppError> {
            match &send {
                Send::Update { from, .. } => email.changed(renderer, from, stamp),
                Send::Cancel { .. } if deleted => email.cancelled(renderer, stamp),
                Send::Cancel { .. } => email.withdrawn(renderer, stamp),
            }
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{kind} e-mail: {e}")))
        };
        let mut rows = Vec::new();
        for person in &convoked {
            let (email, participant_id) = match person {
                Person::Participant(p) => (participant_email(ctx, mail, &facts, p), Some(&p.id)),
                Person::Guest(g) => (
                    guest::for_guest(
                        facts.clone(),
                        g,
                        ctx.organizer.clone(),
                        ctx.dla_name.clone(),
                    ),
                    None,
                ),
            };
            let mut row = NewEmail::from_email(kind, &session.id, sequence, &build(&email)?, stamp);
            row.participant_id = participant_id.cloned();
            rows.push(row);
        }
        if rows.is_empty() && matches!(send, Send::Cancel { .. }) {
            // Nobody there is expected any more: the cancellation goes to whom the
            // calendar's event was sent, without a portal (they may have none now).
            // What the calendar holds (`domain::invite::held`, as `decide` saw it).
            let Some(held) = invite::held(&refs)
                .and_then(|h| stored.iter().find(|s| s.copy.email_id == h.email_id))
            else {
                continue;
            };
            let email = SessionEmail {
                session: facts.clone(),
                recipient: CalendarPerson {
                    name: held.recipient_name.clone(),
                    email: held.recipient_email.clone(),
                },
                association_name: String::new(),
                organizer: ctx.organizer.clone(),
                dla_name: ctx.dla_name.clone(),
                tasks: Vec::new(),
                participant_url: String::new(),
                calendar_url: None,
            };
            rows.push(NewEmail::from_email(
                kind,
                &session.id,
                sequence,
                &build(&email)?,
                stamp,
            ));
        }
        for mut row in rows {
            row.cohort_id = Some(ctx.cohort.id.clone());
            row.draft = ctx.review;
            row.not_after = Some(start);
            if let Some(queued) = outbox::enqueue(tx, row)? {
                record(tx, &queued.id, &session.id, sequence, &state)?;
                synced.queued += 1;
            }
        }
    }
    Ok(synced)
}

/// Every future session of the cohort, after the planner's own reconciliation.
pub fn sync_cohort(
    tx: &mut Tx,
    mail: &MailContext,
    ctx: &Context,
    sessions: &[Session],
    now: DateTime<Utc>,
) -> Result<Synced, AppError> {
    let future: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.starts_at.and_utc() > now)
        .collect();
    let ids: Vec<String> = future.iter().map(|s| s.id.clone()).collect();
    let copies = for_sessions(tx, &ids)?;
    let mut total = Synced::default();
    for s in future {
        let done = sync_session(tx, mail, ctx, s, false, &copies, now)?;
        total.queued += done.queued;
        total.replaced += done.replaced;
    }
    Ok(total)
}

/// The session email to a participant (their sign-in link is put in when it leaves).
pub fn participant_email(
    ctx: &Context,
    mail: &MailContext,
    facts: &SessionFacts,
    p: &Participant,
) -> SessionEmail {
    SessionEmail {
        session: facts.clone(),
        recipient: CalendarPerson {
            name: p.name.clone(),
            email: p.email.clone(),
        },
        association_name: ctx
            .associations
            .iter()
            .find(|a| a.id == p.association_id)
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        organizer: ctx.organizer.clone(),
        dla_name: ctx.dla_name.clone(),
        tasks: Vec::new(),
        participant_url: outbox::SIGN_IN_LINK.to_string(),
        calendar_url: Some(feed::calendar_url(&mail.public_url, &ctx.secret, p)),
    }
}

/// Cancels pending notices that no longer say the right thing. Returns how many.
fn replace(tx: &mut Tx, ids: &[String]) -> Result<usize, AppError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let pending = [
        Status::Draft.as_str(),
        Status::Scheduled.as_str(),
        Status::Failed.as_str(),
    ];
    let changed = diesel::update(
        outbox_emails::table
            .filter(in_list(outbox_emails::id, ids))
            .filter(in_list(outbox_emails::status, pending)),
    )
    .set((
        outbox_emails::status.eq(Status::Cancelled.as_str()),
        outbox_emails::note.eq(Some(REPLACED_NOTE)),
        outbox_emails::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    outbox::settle(tx, ids, tx.now_naive())?;
    Ok(changed)
}
