//! The outbox: one row per email to one recipient (`outbox_emails`).
//!
//! An email is queued with [`enqueue`] inside the transaction of the change that causes it,
//! so that the change and its email are committed together or not at all; its dedup key
//! (kind, item, recipient, revision) makes queuing the same email twice a no-op. The
//! dispatcher (`jobs::dispatch`) then takes due rows by batches ([`take_due`]: on
//! PostgreSQL selected `FOR UPDATE SKIP LOCKED` and reserved under an owner token), claims
//! each as its send begins ([`claim`], [`claim_reserved`]: only while due at its pass's
//! instant, under the owner token) and records each attempt ([`record`]: only by the
//! token's holder) with the functions under « Dispatcher ». The chargé·e de mission acts
//! on rows with [`release`], [`hold`], [`cancel`] and [`resend`].
//!
//! The rendered bodies (text, HTML, invitation) live in `outbox_bodies`, one row per email,
//! so that the scans of the outbox (the dispatcher's due rows, the « Envois » page, the
//! API's listing, the planner) never read them: [`OutboxEmail`] is the row without them,
//! [`bodies`] reads them where they are needed (sending, the preview, the API's single
//! email, « renvoyer », an export, an anonymisation), and [`FullEmail`] is both. Once an
//! email is settled (sent, missed or cancelled: [`settle`]), its bodies are compressed
//! after `[mail] compress_after_days` ([`compact`], run in the dispatcher's pass in short
//! batches, with a zstd dictionary trained on the templates' output); [`bodies`]
//! decompresses, so no reader knows the difference.
//!
//! Two clocks, on purpose. Everything follows the write transaction's instant
//! (`db::Tx::now`: the dispatcher's pass's `now`, which `cohorte dispatch --now` can
//! replay) except the lease and the reservation: a row in `sending` (or reserved on
//! PostgreSQL) has as `updated_at` the wall-clock moment it was claimed (or reserved),
//! compared with the wall clock by [`recover_stuck`] and [`take_due`], which is what tells a
//! dispatcher that died mid-send from one still at work.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::in_list;
use crate::db::schema::{outbox_bodies, outbox_emails};
use crate::db::{Author, Conn, Tx, write_with};
use crate::domain::outbox::{self as rules, Next, Status};
use crate::error::AppError;
use crate::mail::Email;
use crate::models::input::{Check, new_id};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = outbox_emails)]
pub struct OutboxEmail {
    pub id: String,
    pub cohort_id: Option<String>,
    /// `convocation`, `session_moved`, `session_cancelled`, `reminder_j7`…
    pub kind: String,
    /// The session or task the email is about.
    pub item_id: String,
    pub recipient_email: String,
    pub recipient_name: String,
    pub participant_id: Option<String>,
    /// The item's revision the email speaks of (a session's `sequence`).
    pub revision: i32,
    pub dedup_key: String,
    pub subject: String,
    /// `REQUEST` or `CANCEL` when the email carries an invitation (its `ics`, in
    /// [`Bodies`]).
    pub ics_method: Option<String>,
    /// `draft`, `scheduled`, `sending`, `sent`, `failed`, `missed` or `cancelled`.
    pub status: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub send_after: NaiveDateTime,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub not_after: Option<NaiveDateTime>,
    pub attempts: i32,
    /// What went wrong at the last attempt, in French, for people
    /// (`mail::SendError::explanation`); the raw error is `last_error_detail`.
    pub last_error: Option<String>,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub next_attempt_at: NaiveDateTime,
    /// With angle brackets, as in the header; chosen before the first attempt.
    pub message_id: Option<String>,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub sent_at: Option<NaiveDateTime>,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    /// Why it was cancelled or replaced, in French.
    pub note: Option<String>,
    /// The token of the dispatcher holding it while `sending`: only that one records the
    /// outcome ([`record`]). Internal.
    #[serde(skip)]
    pub claim_token: Option<String>,
    /// When it was first due (the `next_attempt_at` of its first claim): retries stop
    /// `mail.give_up_after_hours` later, unless `not_after` says when.
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub first_due_at: Option<NaiveDateTime>,
    /// Sends whose outcome stayed unknown (no reply after the end of the message): the
    /// email may have arrived. The second ends it `failed`.
    pub unconfirmed: i32,
    /// The raw error of the last attempt (the server's reply, the network error), as a
    /// detail for whoever investigates; `last_error` explains it.
    pub last_error_detail: Option<String>,
}

/// An email's rendered bodies, as they were queued (decompressed if they were packed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bodies {
    pub body_text: String,
    pub body_html: String,
    /// The invitation (`.ics`) when `ics_method` is set.
    pub ics: Option<String>,
}

/// An outbox row with its bodies: what the API gives for one email and a preview shows.
/// Derefs to the row.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FullEmail {
    #[serde(flatten)]
    pub email: OutboxEmail,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
}

impl FullEmail {
    fn new(email: OutboxEmail, bodies: Bodies) -> FullEmail {
        FullEmail {
            email,
            body_text: bodies.body_text,
            body_html: bodies.body_html,
            ics: bodies.ics,
        }
    }

    pub fn bodies(&self) -> Bodies {
        Bodies {
            body_text: self.body_text.clone(),
            body_html: self.body_html.clone(),
            ics: self.ics.clone(),
        }
    }
}

impl std::ops::Deref for FullEmail {
    type Target = OutboxEmail;
    fn deref(&self) -> &OutboxEmail {
        &self.email
    }
}

impl OutboxEmail {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Failed)
    }

    pub fn not_after_utc(&self) -> Option<DateTime<Utc>> {
        self.not_after.map(|t| t.and_utc())
    }

    /// What the rules know of its attempts, counting one more (the one being made).
    pub fn tries(&self) -> rules::Tries {
        rules::Tries {
            attempts: self.attempts + 1,
            unconfirmed: self.unconfirmed,
            first_due: self.first_due_at.unwrap_or(self.send_after).and_utc(),
            not_after: self.not_after_utc(),
        }
    }
}

/// What the emails a change triggers need from the configuration: the sender (who signs
/// and organizes the invites), the public address for links, and the templates.
#[derive(Clone)]
pub struct MailContext {
    pub from_name: String,
    pub from_address: String,
    /// `server.public_url`, without a trailing slash.
    pub public_url: String,
    /// The email templates, built once from the app's registry (`mail::Renderer::new`).
    pub renderer: std::sync::Arc<crate::mail::Renderer>,
    /// The configured sending settings (`[mail.schedule]`), before each cohort's overrides.
    pub schedule: crate::domain::schedule::Schedule,
    /// How long the sign-in link put in a participant's email at send time stays valid
    /// (`auth.participant_link_days`).
    pub sign_in_valid_for: chrono::Duration,
    /// When the évaluation is reminded and followed up (`[evaluation]`).
    pub evaluation: crate::config::EvaluationConfig,
}

impl MailContext {
    pub fn new(
        config: &crate::config::Config,
        templates: std::sync::Arc<handlebars::Handlebars<'static>>,
    ) -> MailContext {
        MailContext {
            from_name: config.mail.from_name.clone(),
            from_address: config.mail.from_address.clone(),
            public_url: config.server.public_url.trim_end_matches('/').to_string(),
            renderer: std::sync::Arc::new(crate::mail::Renderer::new(&templates)),
            schedule: config.mail.schedule.clone(),
            sign_in_valid_for: chrono::Duration::days(
                config.auth.participant_link_days.clamp(1, 365) as i64,
            ),
            evaluation: config.evaluation,
        }
    }
}

pub use crate::mail::session::SIGN_IN_LINK;

/// What an email gets at send time. A participant's: its sign-in link (a fresh single-use
/// link replaces [`SIGN_IN_LINK`] in the text and HTML bodies) and the one-click
/// unsubscribe address for its `List-Unsubscribe` header; rows that are not addressed to a
/// participant (the weekly summary), or whose participant is gone or anonymised, are left
/// as they are, except that the marker then becomes the public sign-in page. Every
/// cohort's email: a `Reply-To` to the person who answers for it ([`answers_for`]); every
/// email but the compte rendu (which a person wrote): `Auto-Submitted`.
pub fn personalise(
    tx: &mut Tx,
    mail: &MailContext,
    row: &OutboxEmail,
    email: &mut Email,
) -> Result<crate::mail::Headers, AppError> {
    use crate::models::account::{self, LinkPurpose, LinkTarget};
    let mut headers = crate::mail::Headers {
        reply_to: answers_for(tx, mail, row)?,
        auto_submitted: row.kind != crate::models::session_log::REPORT_KIND,
        unsubscribe: None,
    };
    let has_marker =
        email.rendered.text.contains(SIGN_IN_LINK) || email.rendered.html.contains(SIGN_IN_LINK);
    let participant = match &row.participant_id {
        Some(pid) => match crate::models::scope::member(tx, pid)? {
            Some(_) => Some(crate::models::participant::get(tx, pid)?),
            None => None,
        },
        None => None,
    };
    // An applicant's email: the application's private link, written now.
    let private = crate::models::call::PRIVATE_LINK;
    if email.rendered.text.contains(private) || email.rendered.html.contains(private) {
        let link = crate::models::call::edit_url(
            &mail.public_url,
            &crate::models::call::edit_secret(tx, &row.item_id)?,
        );
        email.rendered.text = email.rendered.text.replace(private, &link);
        email.rendered.html = email.rendered.html.replace(private, &link);
    }
    let Some(p) = participant else {
        if has_marker {
            let page = format!("{}/connexion/participant", mail.public_url);
            email.rendered.text = email.rendered.text.replace(SIGN_IN_LINK, &page);
            email.rendered.html = email.rendered.html.replace(SIGN_IN_LINK, &page);
        }
        return Ok(headers);
    };
    if has_marker {
        let token = account::create_link(
            tx,
            LinkPurpose::ParticipantSignIn,
            &LinkTarget {
                user_id: None,
                participant_id: Some(p.id.clone()),
            },
            mail.sign_in_valid_for,
            tx.now_naive(),
        )?;
        let link = format!("{}/connexion/lien/{token}", mail.public_url);
        email.rendered.text = email.rendered.text.replace(SIGN_IN_LINK, &link);
        email.rendered.html = email.rendered.html.replace(SIGN_IN_LINK, &link);
    }
    let secret = crate::models::feed::secret(tx)?;
    headers.unsubscribe = Some(crate::models::feed::unsubscribe_url(
        &mail.public_url,
        &secret,
        &p,
    ));
    Ok(headers)
}

/// Who a reply to a cohort's email should reach, since the sending address is nobody's
/// mailbox: [`crate::models::cohort::answerer`] (the consultant·e for the compte rendu
/// they wrote, the chargé·e de mission, the DLA's contact address); nobody — replies go to
/// the sender — when that is the sending address itself or the recipient's.
fn answers_for(
    conn: &mut Conn,
    mail: &MailContext,
    row: &OutboxEmail,
) -> Result<Option<lettre::message::Mailbox>, AppError> {
    use crate::models::cohort::{self, Topic};
    let Some(cohort_id) = &row.cohort_id else {
        return Ok(None);
    };
    // A cohort gone meanwhile takes nothing from the email.
    let co = match cohort::get(conn, cohort_id) {
        Err(AppError::NotFound(_)) => return Ok(None),
        other => other?,
    };
    let (topic, consultant) = if row.kind == crate::models::session_log::REPORT_KIND {
        let consultant = match &co.consultant_id {
            Some(id) => match crate::models::consultant::get(conn, id) {
                Err(AppError::NotFound(_)) => None,
                other => Some(other?),
            },
            None => None,
        };
        (Topic::Report, consultant)
    } else {
        (Topic::Cohort, None)
    };
    let dla_email = crate::models::dla::get(conn, &co.dla_id)?.email;
    let who = cohort::answerer(&co, &dla_email, consultant.as_ref(), topic, mail);
    let address = who.email.trim();
    if address.eq_ignore_ascii_case(mail.from_address.trim())
        || address.eq_ignore_ascii_case(row.recipient_email.trim())
    {
        return Ok(None);
    }
    Ok(crate::mail::render::mailbox(&who.name, address).ok())
}

/// An email to queue. Build it with [`NewEmail::from_email`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct NewEmail {
    pub cohort_id: Option<String>,
    pub kind: String,
    pub item_id: String,
    pub revision: i32,
    pub recipient_email: String,
    pub recipient_name: String,
    pub participant_id: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
    pub ics_method: Option<String>,
    /// Not sent before this instant.
    pub send_after: DateTime<Utc>,
    /// Never sent at or after this instant (a reminder: its session's start).
    pub not_after: Option<DateTime<Utc>>,
    /// Wait as a draft for the chargé·e de mission (« valider les envois »).
    pub draft: bool,
}

impl NewEmail {
    /// A rendered email (`mail::SessionEmail::convocation`…), as a scheduled row.
    pub fn from_email(
        kind: &str,
        item_id: &str,
        revision: i32,
        email: &Email,
        send_after: DateTime<Utc>,
    ) -> NewEmail {
        NewEmail {
            cohort_id: None,
            kind: kind.to_string(),
            item_id: item_id.to_string(),
            revision,
            recipient_email: email.to_address.clone(),
            recipient_name: email.to_name.clone(),
            participant_id: None,
            subject: email.rendered.subject.clone(),
            body_text: email.rendered.text.clone(),
            body_html: email.rendered.html.clone(),
            ics: email.calendar.as_ref().map(|c| c.ics.clone()),
            ics_method: email
                .calendar
                .as_ref()
                .map(|c| c.method.as_str().to_string()),
            send_after,
            not_after: None,
            draft: false,
        }
    }

    pub fn dedup_key(&self) -> String {
        row_key(
            &self.kind,
            &self.item_id,
            &self.recipient_email,
            self.participant_id.as_deref(),
            self.revision,
        )
    }
}

/// The dedup key of a row: per address, and per participant when the email is addressed
/// to one (two people of an association may share `contact@…`: each gets their own email,
/// with their own personal links).
pub fn row_key(
    kind: &str,
    item_id: &str,
    recipient_email: &str,
    participant_id: Option<&str>,
    revision: i32,
) -> String {
    let recipient = match participant_id {
        Some(pid) => format!("{}#{pid}", recipient_email.trim()),
        None => recipient_email.to_string(),
    };
    rules::dedup_key(kind, item_id, &recipient, revision)
}

/// Queues an email, in the caller's transaction if there is one. Returns `None`, and
/// writes nothing, when the same email (same dedup key) is already queued: not an error.
///
/// The address is not checked here: a bad address must not undo the change that causes
/// the email. The dispatcher marks such an email failed, for someone to correct.
pub fn enqueue(tx: &mut Tx, email: NewEmail) -> Result<Option<OutboxEmail>, AppError> {
    if email.kind.trim().is_empty() || email.item_id.trim().is_empty() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "outbox: an email needs a kind and an item ({:?}, {:?})",
            email.kind,
            email.item_id
        )));
    }
    if email.ics.is_some() != email.ics_method.is_some() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "outbox: ics and ics_method go together ({})",
            email.kind
        )));
    }
    let id = new_id();
    let t = tx.now_naive();
    let status = if email.draft {
        Status::Draft
    } else {
        Status::Scheduled
    };
    let send_after = email.send_after.naive_utc();
    let inserted = crate::on_backend!(tx.conn(), |c| diesel::insert_into(outbox_emails::table)
        .values((
            outbox_emails::id.eq(&id),
            outbox_emails::cohort_id.eq(&email.cohort_id),
            outbox_emails::kind.eq(email.kind.trim()),
            outbox_emails::item_id.eq(email.item_id.trim()),
            outbox_emails::recipient_email.eq(email.recipient_email.trim()),
            outbox_emails::recipient_name.eq(email.recipient_name.trim()),
            outbox_emails::participant_id.eq(&email.participant_id),
            outbox_emails::revision.eq(email.revision),
            outbox_emails::dedup_key.eq(email.dedup_key()),
            outbox_emails::subject.eq(&email.subject),
            outbox_emails::ics_method.eq(&email.ics_method),
            outbox_emails::status.eq(status.as_str()),
            outbox_emails::send_after.eq(send_after),
            outbox_emails::not_after.eq(email.not_after.map(|t| t.naive_utc())),
            outbox_emails::attempts.eq(0),
            outbox_emails::next_attempt_at.eq(send_after),
            outbox_emails::created_at.eq(t),
            outbox_emails::updated_at.eq(t),
        ))
        .on_conflict(outbox_emails::dedup_key)
        .do_nothing()
        .execute(c))?;
    if inserted == 0 {
        return Ok(None);
    }
    diesel::insert_into(outbox_bodies::table)
        .values((
            outbox_bodies::email_id.eq(&id),
            outbox_bodies::body_text.eq(&email.body_text),
            outbox_bodies::body_html.eq(&email.body_html),
            outbox_bodies::ics.eq(&email.ics),
        ))
        .execute(tx.conn())?;
    get(tx, &id).map(Some)
}

pub fn get(conn: &mut Conn, id: &str) -> Result<OutboxEmail, AppError> {
    outbox_emails::table
        .find(id)
        .select(OutboxEmail::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("E-mail"))
}

/// An email with its bodies (the preview).
pub fn get_full(conn: &mut Conn, id: &str) -> Result<FullEmail, AppError> {
    let email = get(conn, id)?;
    let bodies = bodies(conn, id)?;
    Ok(FullEmail::new(email, bodies))
}

/// An email of this cohort with its bodies (the API's single email): not found when the
/// email belongs to another cohort, so that a cohort's access never opens another's.
pub fn get_full_in_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    id: &str,
) -> Result<FullEmail, AppError> {
    let email = outbox_emails::table
        .find(id)
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .select(OutboxEmail::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("E-mail"))?;
    let bodies = bodies(conn, id)?;
    Ok(FullEmail::new(email, bodies))
}

/// The order of a cohort's emails in the API: the latest first (by `send_after`, then by
/// when they were queued), the id last so that the order is total and pages never overlap.
/// The index `outbox_emails_cohort_idx (cohort_id, send_after)` serves the filter and the
/// first term.
type LatestFirst = (
    diesel::helper_types::Desc<outbox_emails::send_after>,
    diesel::helper_types::Desc<outbox_emails::created_at>,
    diesel::helper_types::Desc<outbox_emails::id>,
);

fn latest_first() -> LatestFirst {
    (
        outbox_emails::send_after.desc(),
        outbox_emails::created_at.desc(),
        outbox_emails::id.desc(),
    )
}

/// One page of a cohort's emails, the latest first, without their bodies (the API's
/// listing, paged in SQL; `outbox_bodies` is not read). [`count_for_cohort`] counts them.
pub fn page_latest_first(
    conn: &mut Conn,
    cohort_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<OutboxEmail>, AppError> {
    Ok(outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .order(latest_first())
        .limit(limit)
        .offset(offset)
        .select(OutboxEmail::as_select())
        .load(conn)?)
}

/// Every email of a cohort with its bodies, in [`page_latest_first`]'s order (the demo's
/// history, tests).
pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<FullEmail>, AppError> {
    let rows: Vec<(OutboxEmail, StoredBodies)> = outbox_emails::table
        .inner_join(outbox_bodies::table)
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .order(latest_first())
        .select((OutboxEmail::as_select(), StoredBodies::as_select()))
        .load(conn)?;
    rows.into_iter()
        .map(|(email, stored)| Ok(FullEmail::new(email, stored.unpack()?)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Bodies

/// `outbox_bodies` as stored: either the texts, or `packed` (then the texts are empty).
#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox_bodies)]
struct StoredBodies {
    body_text: String,
    body_html: String,
    ics: Option<String>,
    packed: Option<Vec<u8>>,
}

impl StoredBodies {
    fn unpack(self) -> Result<Bodies, AppError> {
        match self.packed {
            Some(packed) => unpack(&packed),
            None => Ok(Bodies {
                body_text: self.body_text,
                body_html: self.body_html,
                ics: self.ics,
            }),
        }
    }
}

/// The zstd dictionary of packed bodies, version 1: trained on the demo's emails (the
/// templates' fixed texts, HTML and calendar boilerplate, the default programme), it lets
/// a 4 KB email pack into a few hundred bytes where zstd alone gets 2.5 times smaller.
/// Never change this file: the bodies packed with it need it to be read. A new dictionary
/// (after the templates changed a lot) gets the next version byte and its own file,
/// trained by `tests/outbox_bodies.rs` (`train_the_bodies_dictionary`), and this one stays
/// for the rows already packed.
const DICTIONARY_1: &[u8] = include_bytes!("outbox-bodies-1.zdict");
/// The first byte of a packed value: which dictionary it was packed with.
const PACK_VERSION: u8 = 1;
/// With the dictionary, level 9 packs within 3 % of level 19, five times faster.
const PACK_LEVEL: i32 = 9;

fn encoder_dictionary() -> &'static zstd::dict::EncoderDictionary<'static> {
    static D: std::sync::OnceLock<zstd::dict::EncoderDictionary<'static>> =
        std::sync::OnceLock::new();
    D.get_or_init(|| zstd::dict::EncoderDictionary::copy(DICTIONARY_1, PACK_LEVEL))
}

fn decoder_dictionary_1() -> &'static zstd::dict::DecoderDictionary<'static> {
    static D: std::sync::OnceLock<zstd::dict::DecoderDictionary<'static>> =
        std::sync::OnceLock::new();
    D.get_or_init(|| zstd::dict::DecoderDictionary::copy(DICTIONARY_1))
}

/// The three texts as one byte string: each as a presence byte, a little-endian `u32`
/// length and its UTF-8 bytes. One string rather than three, because the text and HTML
/// bodies say the same things: the second compresses against the first.
pub fn serialise(b: &Bodies) -> Vec<u8> {
    let mut raw = Vec::with_capacity(
        b.body_text.len() + b.body_html.len() + b.ics.as_ref().map_or(0, String::len) + 16,
    );
    for part in [Some(&b.body_text), Some(&b.body_html), b.ics.as_ref()] {
        match part {
            Some(s) => {
                raw.push(1);
                raw.extend_from_slice(&(s.len() as u32).to_le_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
            None => raw.push(0),
        }
    }
    raw
}

/// The bodies as stored once packed: [`PACK_VERSION`], then the zstd frame of
/// [`serialise`]d texts compressed with that version's dictionary.
pub fn pack(b: &Bodies) -> Result<Vec<u8>, AppError> {
    let failed =
        |e: std::io::Error| AppError::Internal(anyhow::anyhow!("outbox: cannot pack bodies: {e}"));
    let mut compressor =
        zstd::bulk::Compressor::with_prepared_dictionary(encoder_dictionary()).map_err(failed)?;
    let frame = compressor.compress(&serialise(b)).map_err(failed)?;
    let mut packed = Vec::with_capacity(frame.len() + 1);
    packed.push(PACK_VERSION);
    packed.extend_from_slice(&frame);
    Ok(packed)
}

/// The texts [`pack`] stored.
pub fn unpack(packed: &[u8]) -> Result<Bodies, AppError> {
    use std::io::Read;
    let bad = |why: &str| AppError::Internal(anyhow::anyhow!("outbox: packed bodies {why}"));
    let (version, frame) = packed.split_first().ok_or_else(|| bad("empty"))?;
    let dictionary = match version {
        1 => decoder_dictionary_1(),
        v => return Err(bad(&format!("of unknown version {v}"))),
    };
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::with_prepared_dictionary(frame, dictionary)
        .and_then(|mut d| d.read_to_end(&mut raw))
        .map_err(|e| bad(&e.to_string()))?;
    let mut rest = raw.as_slice();
    let mut parts: Vec<Option<String>> = Vec::with_capacity(3);
    for _ in 0..3 {
        let (&present, after) = rest.split_first().ok_or_else(|| bad("truncated"))?;
        rest = after;
        if present == 0 {
            parts.push(None);
            continue;
        }
        if rest.len() < 4 {
            return Err(bad("truncated"));
        }
        let (len, after) = rest.split_at(4);
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if after.len() < len {
            return Err(bad("truncated"));
        }
        let (text, after) = after.split_at(len);
        parts.push(Some(
            String::from_utf8(text.to_vec()).map_err(|_| bad("not UTF-8"))?,
        ));
        rest = after;
    }
    let mut parts = parts.into_iter();
    Ok(Bodies {
        body_text: parts.next().flatten().unwrap_or_default(),
        body_html: parts.next().flatten().unwrap_or_default(),
        ics: parts.next().flatten(),
    })
}

/// The bodies of one email (decompressed when they were packed). The one way to read them.
pub fn bodies(conn: &mut Conn, id: &str) -> Result<Bodies, AppError> {
    outbox_bodies::table
        .find(id)
        .select(StoredBodies::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("E-mail"))?
        .unpack()
}

/// Replaces the bodies of one email (stored plain: the compaction packs them again once
/// they are due).
pub fn set_bodies(tx: &mut Tx, id: &str, b: &Bodies) -> Result<(), AppError> {
    diesel::update(outbox_bodies::table.find(id))
        .set((
            outbox_bodies::body_text.eq(&b.body_text),
            outbox_bodies::body_html.eq(&b.body_html),
            outbox_bodies::ics.eq(&b.ics),
            outbox_bodies::packed.eq(None::<Vec<u8>>),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// Notes that the emails `ids` were settled at `at` — sent, missed or cancelled: their
/// bodies are packed `[mail] compress_after_days` later ([`compact`]). Called in the
/// transaction that gives them that status.
pub fn settle(tx: &mut Tx, ids: &[String], at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(outbox_bodies::table.filter(in_list(outbox_bodies::email_id, ids)))
        .set(outbox_bodies::settled_at.eq(Some(at)))
        .execute(tx.conn())?;
    Ok(())
}

/// Replaces the bodies of the emails `ids` by `b` (an erasure: the same short text for
/// all), packed or not; so short that they are never packed again. Returns how many rows
/// changed.
pub fn overwrite_bodies(tx: &mut Tx, ids: &[String], b: &Bodies) -> Result<usize, AppError> {
    Ok(
        diesel::update(outbox_bodies::table.filter(in_list(outbox_bodies::email_id, ids)))
            .set((
                outbox_bodies::body_text.eq(&b.body_text),
                outbox_bodies::body_html.eq(&b.body_html),
                outbox_bodies::ics.eq(&b.ics),
                outbox_bodies::packed.eq(None::<Vec<u8>>),
                outbox_bodies::settled_at.eq(None::<NaiveDateTime>),
            ))
            .execute(tx.conn())?,
    )
}

/// How many bodies one compaction transaction packs: a short write.
pub const COMPACT_BATCH: i64 = 200;
/// How many batches one dispatcher pass packs at most (the rest waits for the next pass).
pub const COMPACT_BATCHES_PER_PASS: usize = 25;

/// What [`compact`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compaction {
    pub packed: usize,
    /// Write transactions it took.
    pub transactions: usize,
}

/// Packs the bodies of the emails settled (sent, missed, cancelled: [`settle`]) before
/// `settled_before`, in batches of
/// [`COMPACT_BATCH`], at most `max_batches`: each batch is read and compressed outside any
/// transaction, then written in one short write transaction, row by row only if its bodies
/// are still the ones compressed (an anonymisation may have erased them meanwhile), at
/// `now`.
pub fn compact(
    conn: &mut Conn,
    settled_before: NaiveDateTime,
    max_batches: usize,
    now: DateTime<Utc>,
) -> Result<Compaction, AppError> {
    let mut done = Compaction::default();
    for _ in 0..max_batches {
        // Through outbox_bodies_unpacked_idx: only what is left to pack is visited.
        let batch: Vec<(String, String, String, Option<String>)> = outbox_bodies::table
            .filter(outbox_bodies::packed.is_null())
            .filter(outbox_bodies::settled_at.le(settled_before))
            .order(outbox_bodies::settled_at.asc())
            .select((
                outbox_bodies::email_id,
                outbox_bodies::body_text,
                outbox_bodies::body_html,
                outbox_bodies::ics,
            ))
            .limit(COMPACT_BATCH)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        let mut packed = Vec::with_capacity(batch.len());
        for (id, body_text, body_html, ics) in batch {
            let b = Bodies {
                body_text,
                body_html,
                ics,
            };
            packed.push((id, pack(&b)?, b));
        }
        let n = write_with(conn, Author::system(), now, |tx| {
            let mut n = 0;
            for (id, blob, b) in &packed {
                // An invitation is never empty: '' stands for none (portable SQL).
                let same_ics = diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "COALESCE(outbox_bodies.ics, '') = ",
                )
                .bind::<diesel::sql_types::Text, _>(b.ics.clone().unwrap_or_default());
                n += diesel::update(
                    outbox_bodies::table
                        .find(id)
                        .filter(outbox_bodies::packed.is_null())
                        .filter(outbox_bodies::body_text.eq(&b.body_text))
                        .filter(outbox_bodies::body_html.eq(&b.body_html))
                        .filter(same_ics),
                )
                .set((
                    outbox_bodies::packed.eq(Some(blob)),
                    outbox_bodies::body_text.eq(""),
                    outbox_bodies::body_html.eq(""),
                    outbox_bodies::ics.eq(None::<String>),
                ))
                .execute(tx.conn())?;
            }
            Ok(n)
        })?;
        done.packed += n;
        done.transactions += 1;
        if n == 0 {
            // Every row changed under us: leave them to the next pass.
            break;
        }
    }
    Ok(done)
}

/// The session an email of the « Envois » page concerns, when its item is one (convocation,
/// reminders, notices): what its group heading says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AboutSession {
    pub id: String,
    pub kind: String,
    pub starts_at: NaiveDateTime,
    pub association_name: Option<String>,
}

/// What the « Envois » page shows of a cohort's outbox besides its rows.
#[derive(Clone, Debug, Default)]
pub struct OutboxCounts {
    /// Rows per status, in SQL.
    pub by_status: Vec<(Status, i64)>,
    /// Drafts waiting for the team's review, and drafts the team held back.
    pub drafts: i64,
    pub held: i64,
}

pub fn counts_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<OutboxCounts, AppError> {
    use diesel::dsl::count_star;
    let rows: Vec<(String, i64)> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .group_by(outbox_emails::status)
        .select((outbox_emails::status, count_star()))
        .load(conn)?;
    let held: i64 = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .filter(outbox_emails::status.eq(Status::Draft.as_str()))
        .filter(outbox_emails::note.eq(HELD_BY_STAFF))
        .count()
        .get_result(conn)?;
    let by_status: Vec<(Status, i64)> = Status::ALL
        .iter()
        .filter_map(|s| {
            rows.iter()
                .find(|(code, _)| code == s.as_str())
                .map(|(_, n)| (*s, *n))
        })
        .collect();
    let drafts = by_status
        .iter()
        .find(|(s, _)| *s == Status::Draft)
        .map_or(0, |(_, n)| *n)
        - held;
    Ok(OutboxCounts {
        by_status,
        drafts,
        held,
    })
}

/// One page of a cohort's emails for the « Envois » page, paged in SQL: grouped by the
/// session they concern (in the sessions' order), then by kind for the rest (homework,
/// summaries, notices of deleted sessions); in each group what is still to leave first,
/// the soonest on top, then what has left or will not, the latest on top.
pub fn page_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    only: Option<Status>,
    limit: i64,
    offset: i64,
) -> Result<Vec<(OutboxEmail, Option<AboutSession>)>, AppError> {
    use crate::db::schema::{associations, sessions};
    use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
    let mut query = outbox_emails::table
        .left_join(sessions::table.on(sessions::id.eq(outbox_emails::item_id)))
        .left_join(associations::table.on(associations::id.nullable().eq(sessions::association_id)))
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .into_boxed();
    if let Some(status) = only {
        query = query.filter(outbox_emails::status.eq(status.as_str()));
    }
    // Plain SQL-92 (CASE, COALESCE): the same on SQLite and PostgreSQL. Fragments, not
    // `sql` literals: the statement is kept prepared.
    macro_rules! pending {
        () => {
            "outbox_emails.status IN ('draft', 'scheduled', 'sending', 'failed')"
        };
    }
    crate::db::sql_fragment!(NoSessionLast: Integer = "CASE WHEN sessions.id IS NULL THEN 1 ELSE 0 END");
    crate::db::sql_fragment!(
        KindWithoutSession: Nullable<Text> = "CASE WHEN sessions.id IS NULL THEN outbox_emails.kind END"
    );
    crate::db::sql_fragment!(
        PendingFirst: Integer = concat!("CASE WHEN ", pending!(), " THEN 0 ELSE 1 END")
    );
    crate::db::sql_fragment!(
        PendingByTime: Nullable<Timestamp> =
            concat!("CASE WHEN ", pending!(), " THEN outbox_emails.send_after END")
    );
    crate::db::sql_fragment!(
        LatestFirst: Timestamp = "COALESCE(outbox_emails.sent_at, outbox_emails.send_after) DESC"
    );
    // The row, then its session's id, kind and start, and the bilan's association.
    type Row = (
        OutboxEmail,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    // The page's ids first, then their rows: sorting the cohort's emails with every column
    // of each carried along the sort took twice as long (a deferred join).
    let ids: Vec<String> = query
        .order((
            NoSessionLast,
            sessions::starts_at.asc(),
            KindWithoutSession,
            PendingFirst,
            PendingByTime,
            LatestFirst,
            outbox_emails::id.asc(),
        ))
        .limit(limit)
        .offset(offset)
        .select(outbox_emails::id)
        .load(conn)?;
    let mut rows: Vec<Row> = outbox_emails::table
        .left_join(sessions::table.on(sessions::id.eq(outbox_emails::item_id)))
        .left_join(associations::table.on(associations::id.nullable().eq(sessions::association_id)))
        .filter(in_list(outbox_emails::id, &ids))
        .select((
            OutboxEmail::as_select(),
            sessions::id.nullable(),
            sessions::kind.nullable(),
            sessions::starts_at.nullable(),
            associations::name.nullable(),
        ))
        .load(conn)?;
    let rank: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    rows.sort_by_key(|r| rank.get(r.0.id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(rows
        .into_iter()
        .map(|(email, id, kind, starts_at, association_name)| {
            let about = match (id, kind, starts_at) {
                (Some(id), Some(kind), Some(starts_at)) => Some(AboutSession {
                    id,
                    kind,
                    starts_at,
                    association_name,
                }),
                _ => None,
            };
            (email, about)
        })
        .collect())
}

/// How many rows [`page_for_cohort`] pages through (and, with no status,
/// [`page_latest_first`]).
pub fn count_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    only: Option<Status>,
) -> Result<i64, AppError> {
    let mut query = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .into_boxed();
    if let Some(status) = only {
        query = query.filter(outbox_emails::status.eq(status.as_str()));
    }
    Ok(query.count().get_result(conn)?)
}

/// Why an action does not apply to an email in this status, in French.
fn wrong_status(action: &str, current: Status) -> AppError {
    AppError::Conflict {
        code: "outbox_wrong_status",
        message: format!(
            "{action} : cet e-mail est « {} ». Rechargez la page pour voir son état actuel.",
            current.label()
        ),
    }
}

/// Moves `id` from one of `from` to `to`, or says why not. The status filter in the
/// UPDATE keeps it right against a dispatcher claiming the row at the same moment.
fn transition(
    tx: &mut Tx,
    id: &str,
    from: &[Status],
    to: Status,
    refused: &str,
) -> Result<OutboxEmail, AppError> {
    let current = get(tx, id)?;
    let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let changed = diesel::update(
        outbox_emails::table
            .find(id)
            .filter(in_list(outbox_emails::status, allowed)),
    )
    .set((
        outbox_emails::status.eq(to.as_str()),
        outbox_emails::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    if changed != 1 {
        return Err(wrong_status(refused, current.status()));
    }
    get(tx, id)
}

/// Releases a draft: it is sent from its planned time (at once if that has passed).
pub fn release(tx: &mut Tx, id: &str) -> Result<OutboxEmail, AppError> {
    transition(
        tx,
        id,
        &[Status::Draft],
        Status::Scheduled,
        "Seul un e-mail à valider peut être validé",
    )?;
    diesel::update(
        outbox_emails::table
            .find(id)
            .filter(outbox_emails::note.eq(HELD_BY_STAFF)),
    )
    .set(outbox_emails::note.eq(None::<String>))
    .execute(tx.conn())?;
    get(tx, id)
}

/// The note of an email the team held back (« Retenir »): « Valider les e-mails à
/// valider » leaves it waiting; only its own « Valider l'envoi » releases it.
pub const HELD_BY_STAFF: &str = "Retenu par l'équipe.";

/// Whether a draft was held back by the team rather than waiting for its first review.
pub fn is_held(e: &OutboxEmail) -> bool {
    e.status() == Status::Draft && e.note.as_deref() == Some(HELD_BY_STAFF)
}

/// Releases at once the drafts of a cohort that wait for their review (« Valider les
/// e-mails à valider ») as the page showed them at `shown_at`: not those the team held
/// back, nor drafts created or rebuilt since — nobody has seen those yet. Returns how many.
pub fn release_all(
    tx: &mut Tx,
    cohort_id: &str,
    shown_at: NaiveDateTime,
) -> Result<usize, AppError> {
    Ok(diesel::update(
        outbox_emails::table
            .filter(outbox_emails::cohort_id.eq(cohort_id))
            .filter(outbox_emails::status.eq(Status::Draft.as_str()))
            .filter(
                outbox_emails::note
                    .is_null()
                    .or(outbox_emails::note.ne(HELD_BY_STAFF)),
            )
            .filter(outbox_emails::updated_at.le(shown_at)),
    )
    .set((
        outbox_emails::status.eq(Status::Scheduled.as_str()),
        outbox_emails::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?)
}

/// Holds a scheduled email back as a draft.
pub fn hold(tx: &mut Tx, id: &str) -> Result<OutboxEmail, AppError> {
    transition(
        tx,
        id,
        &[Status::Scheduled],
        Status::Draft,
        "Seul un e-mail programmé peut être retenu",
    )?;
    diesel::update(outbox_emails::table.find(id))
        .set(outbox_emails::note.eq(Some(HELD_BY_STAFF)))
        .execute(tx.conn())?;
    get(tx, id)
}

/// Cancels an email not sent yet (or failed, to stop showing it as waiting for action).
/// The note of an email cancelled by someone (the planner's own notes start « Annulé : »):
/// the planner never brings such an email back.
pub const CANCELLED_BY_STAFF: &str = "Annulé par l'équipe.";

pub fn cancel(tx: &mut Tx, id: &str) -> Result<OutboxEmail, AppError> {
    transition(
        tx,
        id,
        &[Status::Draft, Status::Scheduled, Status::Failed],
        Status::Cancelled,
        "Impossible d'annuler cet e-mail",
    )?;
    diesel::update(outbox_emails::table.find(id))
        .set(outbox_emails::note.eq(Some(CANCELLED_BY_STAFF)))
        .execute(tx.conn())?;
    settle(tx, &[id.to_string()], tx.now_naive())?;
    get(tx, id)
}

/// Cancels the emails of `kinds` about `item_id` that have not left yet (waiting for
/// validation or scheduled), in the caller's transaction: the staff's « Annuler » for each.
/// Returns how many.
pub fn cancel_waiting(tx: &mut Tx, item_id: &str, kinds: &[&str]) -> Result<usize, AppError> {
    let waiting: Vec<String> = outbox_emails::table
        .filter(outbox_emails::item_id.eq(item_id))
        .filter(in_list(outbox_emails::kind, kinds))
        .filter(in_list(
            outbox_emails::status,
            [Status::Draft.as_str(), Status::Scheduled.as_str()],
        ))
        .select(outbox_emails::id)
        .load(tx.conn())?;
    for id in &waiting {
        cancel(tx, id)?;
    }
    Ok(waiting.len())
}

/// Sends a failed email again, from its first attempt, at once; `corrected_email`
/// replaces the recipient's address (checked) when the failure came from it.
pub fn resend(
    tx: &mut Tx,
    id: &str,
    corrected_email: Option<String>,
) -> Result<OutboxEmail, AppError> {
    let current = get(tx, id)?;
    let address = match corrected_email.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => {
            let mut c = Check::new();
            let a = c.email("recipient_email", a);
            c.finish()?;
            a
        }
        _ => current.recipient_email.clone(),
    };
    if current.status() != Status::Failed {
        return Err(wrong_status(
            "Seul un e-mail en échec peut être renvoyé",
            current.status(),
        ));
    }
    let t = tx.now_naive();
    if rules::is_missed(t.and_utc(), current.not_after_utc()) {
        return Err(AppError::Conflict {
            code: "outbox_too_late",
            message: "Trop tard pour renvoyer ce rappel : la séance qu'il annonce a déjà \
                          commencé."
                .into(),
        });
    }
    let key = row_key(
        &current.kind,
        &current.item_id,
        &address,
        current.participant_id.as_deref(),
        current.revision,
    );
    // Never delivered, the new attempt may carry a new Message-ID; but one sent without
    // confirmation may have arrived: to the same address it keeps its Message-ID, so
    // that mail clients recognise a second copy.
    let message_id = if current.unconfirmed > 0 && address == current.recipient_email {
        current.message_id.clone()
    } else {
        None
    };
    let changed = diesel::update(
        outbox_emails::table
            .find(id)
            .filter(outbox_emails::status.eq(Status::Failed.as_str())),
    )
    .set((
        outbox_emails::recipient_email.eq(&address),
        outbox_emails::dedup_key.eq(&key),
        outbox_emails::status.eq(Status::Scheduled.as_str()),
        outbox_emails::attempts.eq(0),
        outbox_emails::unconfirmed.eq(0),
        outbox_emails::last_error.eq(None::<String>),
        outbox_emails::last_error_detail.eq(None::<String>),
        outbox_emails::message_id.eq(message_id),
        // Due now: the give-up delay counts from this new start.
        outbox_emails::first_due_at.eq(None::<NaiveDateTime>),
        outbox_emails::next_attempt_at.eq(t),
        outbox_emails::updated_at.eq(t),
    ))
    .execute(tx.conn());
    // Another row holds the new dedup key: the same email to that address.
    let changed = crate::models::refuse_duplicate(
        changed,
        "recipient_email",
        "Le même e-mail est déjà prévu pour cette adresse.",
    )?;
    if changed != 1 {
        return Err(wrong_status(
            "Seul un e-mail en échec peut être renvoyé",
            get(tx, id)?.status(),
        ));
    }
    // The corrected address is the person's: their record follows, so that the
    // planner's next pass keeps it and every later email goes there too.
    if address != current.recipient_email
        && let Some(pid) = &current.participant_id
    {
        use crate::db::schema::participants;
        let updated = diesel::update(participants::table.find(pid))
            .set((
                participants::email.eq(&address),
                participants::version.eq(participants::version + 1),
                participants::updated_at.eq(t),
            ))
            .execute(tx.conn());
        crate::models::refuse_duplicate(
            updated,
            "recipient_email",
            crate::models::participant::DUPLICATE_EMAIL,
        )?;
        crate::models::account::revoke_participant_access(tx, pid)?;
        if let Some(cid) = &current.cohort_id {
            crate::models::planner::touch(tx, cid)?;
        }
    }
    get(tx, id)
}

// ---------------------------------------------------------------------------------------
// Dispatcher

/// Puts back in `scheduled` the rows claimed before `claimed_before` (wall clock) and
/// still `sending`: their dispatcher died mid-send. The interrupted send counts as an
/// attempt and as an unknown outcome (the message may have left): they keep their
/// Message-ID, so a message that did leave is repeated with the same one, and a row
/// interrupted a second time ends `failed` instead (a message that kills its dispatcher
/// every time is not re-sent forever). Their claim token is dropped, so the dead
/// dispatcher, were it only slow, can no longer record anything. Returns how many.
pub fn recover_stuck(
    conn: &mut Conn,
    claimed_before: NaiveDateTime,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    const INTERRUPTED: &str = "Envoi interrompu (le programme d'envoi s'est arrêté pendant \
                               l'envoi) : repris automatiquement.";
    const INTERRUPTED_TWICE: &str = "Envoi interrompu deux fois (le programme d'envoi s'est \
                                     arrêté pendant l'envoi) : abandonné. L'e-mail est \
                                     peut-être arrivé : vérifiez auprès du destinataire, et \
                                     le serveur d'envoi, avant de le renvoyer.";
    let stuck = || {
        outbox_emails::table
            .filter(outbox_emails::status.eq(Status::Sending.as_str()))
            .filter(outbox_emails::updated_at.lt(claimed_before))
    };
    // Read first: a pass with nothing stuck (the usual case) takes no write lock.
    if !diesel::select(diesel::dsl::exists(stuck())).get_result::<bool>(conn)? {
        return Ok(0);
    }
    write_with(conn, Author::system(), now, |tx| {
        let exhausted = diesel::update(
            stuck().filter(outbox_emails::unconfirmed.ge(rules::MAX_UNCONFIRMED - 1)),
        )
        .set((
            outbox_emails::status.eq(Status::Failed.as_str()),
            outbox_emails::attempts.eq(outbox_emails::attempts + 1),
            outbox_emails::unconfirmed.eq(outbox_emails::unconfirmed + 1),
            outbox_emails::last_error.eq(Some(INTERRUPTED_TWICE)),
            outbox_emails::last_error_detail.eq(None::<String>),
            outbox_emails::claim_token.eq(None::<String>),
            outbox_emails::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
        let recovered = diesel::update(stuck())
            .set((
                outbox_emails::status.eq(Status::Scheduled.as_str()),
                outbox_emails::attempts.eq(outbox_emails::attempts + 1),
                outbox_emails::unconfirmed.eq(outbox_emails::unconfirmed + 1),
                outbox_emails::last_error.eq(Some(INTERRUPTED)),
                outbox_emails::last_error_detail.eq(None::<String>),
                outbox_emails::claim_token.eq(None::<String>),
                outbox_emails::updated_at.eq(tx.now_naive()),
            ))
            .execute(tx.conn())?;
        Ok(exhausted + recovered)
    })
}

/// Marks missed every draft or scheduled email whose deadline has come. Returns how many.
pub fn mark_overdue_missed(conn: &mut Conn, at: DateTime<Utc>) -> Result<usize, AppError> {
    let overdue = || {
        outbox_emails::table
            .filter(in_list(
                outbox_emails::status,
                [Status::Draft.as_str(), Status::Scheduled.as_str()],
            ))
            .filter(outbox_emails::not_after.le(at.naive_utc()))
    };
    // Read first (an index on (status, not_after) answers it): nothing overdue, no lock.
    let ids: Vec<String> = overdue().select(outbox_emails::id).load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    write_with(conn, Author::system(), at, |tx| {
        let missed = diesel::update(overdue().filter(in_list(outbox_emails::id, &ids)))
            .set((
                outbox_emails::status.eq(Status::Missed.as_str()),
                outbox_emails::updated_at.eq(tx.now_naive()),
            ))
            .execute(tx.conn())?;
        settle(tx, &ids, at.naive_utc())?;
        Ok(missed)
    })
}

/// Up to `limit` scheduled emails due at `at`, the longest waiting first.
pub fn due_ids(conn: &mut Conn, at: DateTime<Utc>, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(outbox_emails::table
        .filter(outbox_emails::status.eq(Status::Scheduled.as_str()))
        .filter(outbox_emails::next_attempt_at.le(at.naive_utc()))
        .order((
            outbox_emails::next_attempt_at.asc(),
            outbox_emails::created_at.asc(),
        ))
        .select(outbox_emails::id)
        .limit(limit)
        .load(conn)?)
}

/// The due rows one dispatcher takes at a time ([`take_due`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// PostgreSQL: the owner token the rows are reserved under, which [`claim_reserved`]
    /// requires. SQLite: none, each row is claimed by [`claim`] as it comes.
    pub token: Option<String>,
    /// The longest waiting first.
    pub ids: Vec<String>,
}

/// Up to `limit` scheduled emails due at `at` (the pass's `now`), for one dispatcher.
///
/// PostgreSQL, where several instances send from one queue: in one short transaction, the
/// due rows that no other dispatcher holds are selected `FOR UPDATE SKIP LOCKED` (rows
/// another dispatcher is taking at that moment are passed over, not waited for), then a
/// conditional update stamps them with a fresh owner token and the wall clock in
/// `updated_at`: they are reserved, still `scheduled`, until [`claim_reserved`] moves each
/// to `sending` as its send begins, or [`unreserve`] gives back those the pass did not
/// reach. A reservation made before `reserved_before` (wall clock) no longer holds: its
/// dispatcher died or fell behind, and the row is taken again (its late owner's claim then
/// fails on the token). So the rows a killed dispatcher had reserved wait for that delay,
/// and only the one it was sending waits for the lease ([`recover_stuck`]).
///
/// SQLite: the due ids, read without a lock (a pass with nothing due takes no write lock);
/// its one writer at a time serialises the conditional claims of [`claim`].
pub fn take_due(
    conn: &mut Conn,
    at: DateTime<Utc>,
    limit: i64,
    reserved_before: NaiveDateTime,
) -> Result<Batch, AppError> {
    if crate::db::Kind::of(conn) == crate::db::Kind::Sqlite {
        return Ok(Batch {
            token: None,
            ids: due_ids(conn, at, limit)?,
        });
    }
    let free = || {
        outbox_emails::table
            .filter(outbox_emails::status.eq(Status::Scheduled.as_str()))
            .filter(outbox_emails::next_attempt_at.le(at.naive_utc()))
            .filter(
                outbox_emails::claim_token
                    .is_null()
                    .or(outbox_emails::updated_at.lt(reserved_before)),
            )
    };
    let token = new_id();
    let ids = crate::db::write_with(conn, Author::system(), at, |tx| {
        let ids: Vec<String> = crate::load_skip_locked!(
            tx.conn(),
            free()
                .order((
                    outbox_emails::next_attempt_at.asc(),
                    outbox_emails::created_at.asc(),
                ))
                .select(outbox_emails::id)
                .limit(limit)
        )?;
        if ids.is_empty() {
            return Ok(ids);
        }
        // The rows are locked until the commit: the conditions hold for every one of them.
        let reserved = diesel::update(free().filter(in_list(outbox_emails::id, &ids)))
            .set((
                outbox_emails::claim_token.eq(Some(&token)),
                // The reservation's stamp: the wall clock, like the delay it is compared with.
                outbox_emails::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(tx.conn())?;
        debug_assert_eq!(reserved, ids.len());
        Ok(ids)
    })?;
    Ok(Batch {
        token: Some(token),
        ids,
    })
}

/// Gives back the rows still reserved under `token` ([`take_due`]) that the pass did not
/// claim (it stopped, or failed): the other dispatchers may take them at once instead of
/// after the reservation. Returns how many.
pub fn unreserve(tx: &mut Tx, token: &str) -> Result<usize, AppError> {
    Ok(diesel::update(
        outbox_emails::table
            .filter(outbox_emails::status.eq(Status::Scheduled.as_str()))
            .filter(outbox_emails::claim_token.eq(token)),
    )
    .set(outbox_emails::claim_token.eq(None::<String>))
    .execute(tx.conn())?)
}

/// Claims for sending a scheduled email whose next attempt is due at the transaction's
/// instant (the pass's `now`): `None` when another dispatcher was first, or it is no longer scheduled, or it
/// was rescheduled after a failed attempt meanwhile (a dispatcher holding a list of due ids
/// read earlier must not send it again before its back-off). The claim gives the row a
/// fresh owner token, which [`record`] requires; its Message-ID, made by `message_id`,
/// unless it has one from an earlier attempt (stored before anything is sent); and, at
/// its first claim, `first_due_at`.
pub fn claim(
    tx: &mut Tx,
    id: &str,
    message_id: impl FnOnce() -> String,
) -> Result<Option<OutboxEmail>, AppError> {
    claim_as(tx, id, &new_id(), false, message_id)
}

/// [`claim`] for a row [`take_due`] reserved under `token`, which it keeps as the owner
/// token: `None` as well when the reservation was taken over meanwhile.
pub fn claim_reserved(
    tx: &mut Tx,
    id: &str,
    token: &str,
    message_id: impl FnOnce() -> String,
) -> Result<Option<OutboxEmail>, AppError> {
    claim_as(tx, id, token, true, message_id)
}

fn claim_as(
    tx: &mut Tx,
    id: &str,
    token: &str,
    reserved: bool,
    message_id: impl FnOnce() -> String,
) -> Result<Option<OutboxEmail>, AppError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Text, Timestamp};
    let at = tx.now();
    let due = outbox_emails::table
        .find(id)
        .filter(outbox_emails::status.eq(Status::Scheduled.as_str()))
        .filter(outbox_emails::next_attempt_at.le(at.naive_utc()));
    // One statement: plain SQL-92 COALESCE keeps what an earlier attempt stored.
    let claim = (
        outbox_emails::status.eq(Status::Sending.as_str()),
        outbox_emails::claim_token.eq(Some(token)),
        outbox_emails::message_id.eq(sql::<Nullable<Text>>("COALESCE(message_id, ")
            .bind::<Text, _>(message_id())
            .sql(")")),
        outbox_emails::first_due_at.eq(sql::<Nullable<Timestamp>>(
            "COALESCE(first_due_at, next_attempt_at)",
        )),
        // The lease's stamp: the wall clock, like the lease it is compared with
        // (`recover_stuck`), whatever instant the pass replays.
        outbox_emails::updated_at.eq(Utc::now().naive_utc()),
    );
    let claimed = if reserved {
        diesel::update(due.filter(outbox_emails::claim_token.eq(token)))
            .set(claim)
            .execute(tx.conn())?
    } else {
        diesel::update(due).set(claim).execute(tx.conn())?
    };
    if claimed != 1 {
        return Ok(None);
    }
    get(tx, id).map(Some)
}

/// The outcome of an attempt, as [`record`] stores it.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    pub next: Next,
    /// Attempts made, this one included (0 when nothing was attempted: missed before
    /// sending).
    pub attempts: i32,
    /// Sends whose outcome stayed unknown, this one included.
    pub unconfirmed: i32,
    /// In French, for people (none once sent).
    pub error: Option<&'a str>,
    /// The raw error.
    pub detail: Option<&'a str>,
}

/// Records the outcome of an attempt on a row this dispatcher claimed (`row` as [`claim`]
/// returned it). Only a row still `sending` under the same owner token changes: returns
/// false if it was recovered meanwhile (and perhaps claimed again by another dispatcher,
/// whose outcome stands).
pub fn record(tx: &mut Tx, row: &OutboxEmail, outcome: &Outcome<'_>) -> Result<bool, AppError> {
    let at = tx.now();
    let Some(token) = row.claim_token.as_deref() else {
        return Ok(false);
    };
    let id = row.id.as_str();
    let target = outbox_emails::table
        .find(id)
        .filter(outbox_emails::status.eq(Status::Sending.as_str()))
        .filter(outbox_emails::claim_token.eq(token));
    let (error, detail) = match outcome.next {
        Next::Sent => (None, None),
        _ => (outcome.error, outcome.detail),
    };
    let common = (
        outbox_emails::status.eq(outcome.next.status().as_str()),
        outbox_emails::attempts.eq(outcome.attempts),
        outbox_emails::unconfirmed.eq(outcome.unconfirmed),
        outbox_emails::last_error.eq(error),
        outbox_emails::last_error_detail.eq(detail),
        outbox_emails::claim_token.eq(None::<String>),
        outbox_emails::updated_at.eq(tx.now_naive()),
    );
    let changed = match outcome.next {
        Next::Sent => {
            let changed = diesel::update(target)
                .set((common, outbox_emails::sent_at.eq(Some(at.naive_utc()))))
                .execute(tx.conn())?;
            if changed == 1 {
                settle(tx, &[id.to_string()], at.naive_utc())?;
            }
            changed
        }
        Next::Retry { at: retry_at } => diesel::update(target)
            .set((
                common,
                outbox_emails::next_attempt_at.eq(retry_at.naive_utc()),
            ))
            .execute(tx.conn())?,
        Next::Missed => {
            let changed = diesel::update(target).set(common).execute(tx.conn())?;
            if changed == 1 {
                settle(tx, &[id.to_string()], at.naive_utc())?;
            }
            changed
        }
        Next::Failed(_) => diesel::update(target).set(common).execute(tx.conn())?,
    };
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bodies {
        Bodies {
            body_text: "Bonjour Nadia,\nVous êtes convoqué·e à la session « État des lieux ».\n"
                .into(),
            body_html: "<p>Bonjour Nadia,</p><p>Vous êtes convoqué·e.</p>".into(),
            ics: Some("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n".into()),
        }
    }

    #[test]
    fn packed_bodies_unpack_to_the_same_texts() {
        for b in [
            sample(),
            Bodies {
                ics: None,
                ..sample()
            },
            Bodies {
                body_text: String::new(),
                body_html: String::new(),
                ics: None,
            },
        ] {
            let packed = pack(&b).unwrap();
            assert_eq!(packed[0], PACK_VERSION);
            assert_eq!(unpack(&packed).unwrap(), b);
        }
        assert!(unpack(&[]).is_err());
        assert!(unpack(&[9, 1, 2]).is_err(), "an unknown version");
        assert!(unpack(&[1, 1, 2]).is_err(), "not a zstd frame");
    }

    /// A value packed when dictionary 1 was made: if this fails, the dictionary file has
    /// changed and every body packed with it is unreadable — restore the file.
    #[test]
    fn bodies_packed_with_dictionary_1_stay_readable() {
        let packed = hex::decode(GOLDEN_1).unwrap();
        assert_eq!(unpack(&packed).unwrap(), sample());
    }

    /// `hex::encode(pack(&sample()))` with dictionary 1.
    const GOLDEN_1: &str = "0128b52ffd23ec42052fbf9d02002402014c002cc3aa747175c3a00134000000013000454e443a5643414c454e4441520d0a0fc03d7710c0e35d6aedd2851f78d5bb5f57e0b7c065554b0d26f3c8c57e3855be2136b11464e2158380cad5312b01";
}
