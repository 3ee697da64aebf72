//! A cohort's call for applications (issue #14, table `calls`): its public link, closing
//! date, presentation and optional information meeting.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::in_list;
use crate::db::schema::{applications, call_attempts, calls};
use crate::db::{Conn, Tx};
use crate::domain::application::{self as rules, Status};
use crate::domain::fr;
use crate::error::AppError;
use crate::mail::render::Email;
use crate::models::application::Application;
use crate::models::association::AssociationInput;
use crate::models::audit;
use crate::models::cohort::{self, Cohort};
use crate::models::input::{Check, lenient, new_id};
use crate::models::outbox::{self, MailContext, NewEmail};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = calls, primary_key(cohort_id))]
pub struct Call {
    pub cohort_id: String,
    /// The public link's secret; `None` while the link is revoked.
    #[serde(skip)]
    pub token: Option<String>,
    /// Last day applications are accepted, until midnight in Europe/Paris.
    pub closes_on: NaiveDate,
    pub presentation: String,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub meeting_starts_at: Option<NaiveDateTime>,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub meeting_ends_at: Option<NaiveDateTime>,
    pub meeting_location: String,
    pub meeting_video_link: String,
    /// The information meeting invite's SEQUENCE.
    pub meeting_sequence: i32,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

/// The cohort's call, if one was opened.
pub fn for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Option<Call>, AppError> {
    Ok(calls::table
        .find(cohort_id)
        .select(Call::as_select())
        .first(conn)
        .optional()?)
}

/// The call's settings as typed (page form and API body).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CallInput {
    /// Last day applications are accepted (`AAAA-MM-JJ` or `JJ/MM/AAAA`), Europe/Paris.
    #[serde(default, deserialize_with = "lenient")]
    pub closes_on: String,
    #[serde(default, deserialize_with = "lenient")]
    pub presentation: String,
    /// The information meeting's day (`AAAA-MM-JJ` or `JJ/MM/AAAA`); empty with
    /// `meeting_time`: no meeting.
    #[serde(default, deserialize_with = "lenient")]
    pub meeting_date: String,
    /// Its start, Paris time (`HH:MM`, `9h30`).
    #[serde(default, deserialize_with = "lenient")]
    pub meeting_time: String,
    /// Its length in minutes (15 to 480).
    #[serde(default, deserialize_with = "lenient")]
    pub meeting_duration: String,
    #[serde(default, deserialize_with = "lenient")]
    pub meeting_location: String,
    /// `https://…`
    #[serde(default, deserialize_with = "lenient")]
    pub meeting_video_link: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<&Call> for CallInput {
    fn from(c: &Call) -> Self {
        let meeting = c.meeting();
        let local = meeting
            .as_ref()
            .map(|m| crate::domain::calendar::utc_to_paris(m.starts_at.and_utc()));
        CallInput {
            closes_on: c.closes_on.format("%Y-%m-%d").to_string(),
            presentation: c.presentation.clone(),
            meeting_date: local
                .map(|l| l.date().format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            meeting_time: local
                .map(|l| l.time().format("%H:%M").to_string())
                .unwrap_or_default(),
            meeting_duration: meeting
                .as_ref()
                .map(|m| (m.ends_at - m.starts_at).num_minutes().to_string())
                .unwrap_or_default(),
            meeting_location: c.meeting_location.clone(),
            meeting_video_link: c.meeting_video_link.clone(),
            version: c.version.to_string(),
        }
    }
}

/// A call's information meeting (réunion d'information): not a session — no consultant
/// time, not in the programme —, with its own invite to the applicants (UID
/// [`meeting_uid`], SEQUENCE `calls.meeting_sequence`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meeting {
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub location: String,
    pub video_link: String,
}

impl Meeting {
    /// What emails and pages say of it: « lundi 11 janvier 2027, 9 h 30 – 11 h 00 », the
    /// place, the link.
    pub fn view(&self) -> serde_json::Value {
        json!({
            "when": fr::time_range(self.starts_at.and_utc(), self.ends_at.and_utc()),
            "location": self.location,
            "video_link": self.video_link,
        })
    }
}

impl Call {
    /// The information meeting, when one is set.
    pub fn meeting(&self) -> Option<Meeting> {
        Some(Meeting {
            starts_at: self.meeting_starts_at?,
            ends_at: self.meeting_ends_at?,
            location: self.meeting_location.clone(),
            video_link: self.meeting_video_link.clone(),
        })
    }

    /// The meeting, when it has not begun at `at` (invites are pointless afterwards).
    pub fn meeting_ahead(&self, at: DateTime<Utc>) -> Option<Meeting> {
        self.meeting().filter(|m| m.starts_at.and_utc() > at)
    }
}

/// The UID of a call's information meeting: the same for its invite, updates and
/// cancellation.
pub fn meeting_uid(cohort_id: &str) -> String {
    format!("meeting-{cohort_id}@cohorte")
}

/// The meeting typed on the call's form: `None` when neither its day nor its time is
/// given (no meeting); messages beside the fields otherwise.
fn check_meeting(c: &mut Check, input: &CallInput) -> Option<Meeting> {
    if input.meeting_date.trim().is_empty() && input.meeting_time.trim().is_empty() {
        return None;
    }
    let date = c.date("meeting_date", &input.meeting_date);
    let time = c.time("meeting_time", &input.meeting_time);
    let minutes = match input.meeting_duration.trim() {
        "" => {
            c.add(
                "meeting_duration",
                "Indiquez la durée en minutes (par exemple 90).",
            );
            None
        }
        v => c.int("meeting_duration", v, 15, 480),
    };
    let location = c.text("meeting_location", &input.meeting_location, 300);
    let video_link = c.url("meeting_video_link", &input.meeting_video_link);
    if location.is_empty() && video_link.is_empty() {
        c.add(
            "meeting_location",
            "Indiquez un lieu, un lien de visioconférence, ou les deux.",
        );
    }
    let starts_at = match crate::domain::calendar::paris_to_utc(date?.and_time(time?)) {
        Ok(s) => s,
        Err(e) => {
            c.add("meeting_time", e.to_string());
            return None;
        }
    };
    let ends_at = starts_at + Duration::minutes(i64::from(minutes?));
    Some(Meeting {
        starts_at: starts_at.naive_utc(),
        ends_at: ends_at.naive_utc(),
        location,
        video_link,
    })
}

/// The public link of a call whose token is `token`.
pub fn public_url(public_url: &str, token: &str) -> String {
    format!("{}/candidature/{token}", public_url.trim_end_matches('/'))
}

/// Stands, in a stored acknowledgement, for the application's private link: the
/// dispatcher writes the link when the email leaves (`outbox::personalise`), so that no
/// usable link rests in the outbox nor shows on the « Envois » page — as
/// `outbox::SIGN_IN_LINK` does for participants.
pub const PRIVATE_LINK: &str = "[lien privé de la candidature]";

/// The secret of an application's private link: an HMAC-SHA-256 of its id under the
/// instance secret, so that it can be written into the email at send time; only its
/// SHA-256 is stored (`applications.edit_token_hash`).
pub fn edit_secret(conn: &mut Conn, application_id: &str) -> Result<String, AppError> {
    let secret = crate::models::feed::secret(conn)?;
    let mut mac = HmacSha256::new_from_slice(&secret)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hmac key: {e}")))?;
    mac.update(b"cohorte application edit link v1\0");
    mac.update(application_id.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// The private link an applicant edits or withdraws their application with.
pub fn edit_url(public_url: &str, secret: &str) -> String {
    format!(
        "{}/candidature/modifier/{secret}",
        public_url.trim_end_matches('/')
    )
}

/// Opens the cohort's call, or changes it (version checked), with an audit row. A new
/// call gets a public link at once. A closing date before today (Paris) is refused when it
/// changes.
///
/// The information meeting: set, changed or removed here; each applicant not withdrawn
/// gets its invite, update (SEQUENCE raised) or cancellation through the outbox, in the
/// same transaction ([`notify_meeting`]).
pub fn save(
    tx: &mut Tx,
    mail: &MailContext,
    cohort_id: &str,
    input: &CallInput,
) -> Result<Call, AppError> {
    let at = tx.now();
    cohort::get(tx, cohort_id)?;
    let before = for_cohort(tx, cohort_id)?;
    let mut c = Check::new();
    let closes_on = match input.closes_on.trim() {
        "" => {
            c.add("closes_on", "Indiquez la date de clôture de l'appel.");
            None
        }
        v => c.date("closes_on", v),
    };
    let presentation = c.multiline("presentation", &input.presentation, 4000);
    let meeting = check_meeting(&mut c, input);
    let meeting_before = before.as_ref().and_then(Call::meeting);
    if let Some(m) = &meeting
        && meeting_before.as_ref() != Some(m)
        && m.starts_at.and_utc() <= at
    {
        c.add(
            "meeting_date",
            "Cette date est passée : choisissez une date et une heure à venir.",
        );
    }
    if let Some(d) = closes_on
        && before.as_ref().is_none_or(|b| b.closes_on != d)
        && d < rules::paris_today(at)
    {
        c.add(
            "closes_on",
            "La date de clôture est passée : choisissez aujourd'hui ou une date à venir.",
        );
    }
    c.finish()?;
    let closes_on = closes_on.unwrap_or_default();
    let t = at.naive_utc();
    let m = meeting.clone();
    let meeting_cols = (
        calls::meeting_starts_at.eq(m.as_ref().map(|m| m.starts_at)),
        calls::meeting_ends_at.eq(m.as_ref().map(|m| m.ends_at)),
        calls::meeting_location.eq(m.as_ref().map(|m| m.location.clone()).unwrap_or_default()),
        calls::meeting_video_link.eq(m.map(|m| m.video_link).unwrap_or_default()),
    );
    let after = match before {
        None => {
            let token = crate::models::account::new_secret()?;
            let inserted = diesel::insert_into(calls::table)
                .values((
                    calls::cohort_id.eq(cohort_id),
                    calls::token.eq(Some(&token)),
                    calls::closes_on.eq(closes_on),
                    calls::presentation.eq(&presentation),
                    meeting_cols,
                    calls::created_at.eq(t),
                    calls::updated_at.eq(t),
                ))
                .execute(tx.conn());
            // Another writer opened the call since it was read.
            crate::models::check_inserted(inserted, "L'appel à candidatures a été modifié")?;
            let after = get(tx, cohort_id)?;
            audit::created(tx, "call", cohort_id, Some(cohort_id), &after)?;
            after
        }
        Some(before) => {
            crate::models::check_version(
                &input.version,
                before.version,
                "L'appel à candidatures a été modifié",
            )?;
            // An invite already out is replaced (or cancelled) by a higher SEQUENCE.
            let sequence = if meeting_before.is_some() && meeting_before != meeting {
                before.meeting_sequence + 1
            } else {
                before.meeting_sequence
            };
            let n = diesel::update(
                calls::table
                    .find(cohort_id)
                    .filter(calls::version.eq(before.version)),
            )
            .set((
                calls::closes_on.eq(closes_on),
                calls::presentation.eq(&presentation),
                meeting_cols,
                calls::meeting_sequence.eq(sequence),
                calls::version.eq(before.version + 1),
                calls::updated_at.eq(t),
            ))
            .execute(tx.conn())?;
            crate::models::check_updated(n, "L'appel à candidatures a été modifié")?;
            let after = get(tx, cohort_id)?;
            audit::updated(tx, "call", cohort_id, Some(cohort_id), &before, &after)?;
            after
        }
    };
    notify_meeting(tx, mail, &after, meeting_before.as_ref(), at)?;
    Ok(after)
}

pub fn get(conn: &mut Conn, cohort_id: &str) -> Result<Call, AppError> {
    for_cohort(conn, cohort_id)?.ok_or_else(|| {
        AppError::NotFound("Aucun appel à candidatures n'est ouvert pour cette cohorte.".into())
    })
}

/// Revokes the public link (it answers « Cet appel n'est plus ouvert » at once), or draws
/// a new one (`fresh`); audited either way.
pub fn set_link(tx: &mut Tx, cohort_id: &str, fresh: bool) -> Result<Call, AppError> {
    let before = get(tx, cohort_id)?;
    let token = if fresh {
        Some(crate::models::account::new_secret()?)
    } else {
        None
    };
    diesel::update(calls::table.find(cohort_id))
        .set((
            calls::token.eq(token),
            calls::version.eq(calls::version + 1),
            calls::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    let after = get(tx, cohort_id)?;
    // The token is not serialised (never in the audit log): say what happened instead.
    audit::record(
        tx,
        "call",
        cohort_id,
        Some(cohort_id),
        audit::Action::Update,
        Some(&json!({"lien_public": before.token.is_some()})),
        Some(&json!({"lien_public": after.token.is_some(), "nouveau_lien": fresh})),
    )?;
    Ok(after)
}

/// What the public form needs: the call open under `token`, and its cohort.
pub struct Open {
    pub call: Call,
    pub cohort: Cohort,
    pub dla_name: String,
}

/// The call whose public link is `token`, closed or not; `None` for a revoked or unknown
/// link.
pub fn by_token(conn: &mut Conn, token: &str) -> Result<Option<Open>, AppError> {
    let Some(call) = calls::table
        .filter(calls::token.eq(token))
        .select(Call::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let cohort = cohort::get(conn, &call.cohort_id)?;
    let dla_name = crate::models::dla::get(conn, &cohort.dla_id)?.name;
    Ok(Some(Open {
        call,
        cohort,
        dla_name,
    }))
}

/// What an association types on the public form (and changes from its private link).
/// Every field is text, so that a refused form comes back as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ApplicationInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub rna: String,
    #[serde(default)]
    pub siret: String,
    #[serde(default)]
    pub town: String,
    #[serde(default)]
    pub creation_date: String,
    #[serde(default)]
    pub creation_year: String,
    #[serde(default)]
    pub salaried_staff: String,
    /// Full-time equivalents, « 2,5 ».
    #[serde(default)]
    pub fte: String,
    #[serde(default)]
    pub volunteers: String,
    #[serde(default)]
    pub sector: String,
    #[serde(default)]
    pub general_interest: String,
    #[serde(default)]
    pub director_name: String,
    #[serde(default)]
    pub director_function: String,
    #[serde(default)]
    pub director_email: String,
    #[serde(default)]
    pub board_name: String,
    #[serde(default)]
    pub board_function: String,
    #[serde(default)]
    pub board_email: String,
    #[serde(default)]
    pub motivation: String,
    #[serde(default)]
    pub available_all: String,
    #[serde(default)]
    pub availability_note: String,
    #[serde(default)]
    pub consent_data: String,
    #[serde(default)]
    pub consent_named: String,
    /// The honeypot: hidden from people, filled by bots. Never stored.
    #[serde(default)]
    pub site_web: String,
    #[serde(default)]
    pub version: String,
}

impl ApplicationInput {
    /// Whether a bot filled the hidden field.
    pub fn is_bot(&self) -> bool {
        !self.site_web.trim().is_empty()
    }
}

impl From<&Application> for ApplicationInput {
    fn from(a: &Application) -> Self {
        let on = |b: bool| if b { "on".to_string() } else { String::new() };
        let num = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        ApplicationInput {
            name: a.name.clone(),
            rna: a.rna.clone().unwrap_or_default(),
            siret: a.siret.clone().unwrap_or_default(),
            town: a.town.clone(),
            creation_date: a
                .creation_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            creation_year: num(a.creation_year),
            salaried_staff: num(a.salaried_staff),
            fte: a
                .fte_hundredths
                .map(|h| crate::models::profile_form::hundredths_text(h.max(0) as u32))
                .unwrap_or_default(),
            volunteers: num(a.volunteers),
            sector: a.sector.clone(),
            general_interest: on(a.general_interest),
            director_name: a.director_name.clone(),
            director_function: a.director_function.clone(),
            director_email: a.director_email.clone(),
            board_name: a.board_name.clone(),
            board_function: a.board_function.clone(),
            board_email: a.board_email.clone(),
            motivation: a.motivation.clone(),
            available_all: on(a.available_all),
            availability_note: a.availability_note.clone(),
            consent_data: on(a.consent_data),
            consent_named: on(a.consent_named),
            site_web: String::new(),
            version: a.version.to_string(),
        }
    }
}

/// The checked values of an application.
struct Checked {
    name: String,
    rna: Option<String>,
    siret: Option<String>,
    town: String,
    creation_date: Option<NaiveDate>,
    creation_year: Option<i32>,
    salaried_staff: Option<i32>,
    fte_hundredths: Option<i32>,
    volunteers: Option<i32>,
    sector: String,
    general_interest: bool,
    director_name: String,
    director_function: String,
    director_email: String,
    board_name: String,
    board_function: String,
    board_email: String,
    motivation: String,
    available_all: bool,
    availability_note: String,
    consent_data: bool,
    consent_named: bool,
}

fn check(i: &ApplicationInput) -> Result<Checked, AppError> {
    let mut c = Check::new();
    // The association's identity and figures: the same checks as an enrolment.
    let a = AssociationInput {
        name: i.name.clone(),
        rna: i.rna.clone(),
        siret: i.siret.clone(),
        creation_year: i.creation_year.clone(),
        creation_date: i.creation_date.clone(),
        salaried_staff: i.salaried_staff.clone(),
        sector: i.sector.clone(),
        town: i.town.clone(),
        general_interest: i.general_interest.clone(),
        version: String::new(),
    }
    .check_into(&mut c);
    if a.rna.is_none() && a.siret.is_none() && !c.errors.contains_key("rna") {
        c.add(
            "rna",
            "Indiquez le numéro RNA ou le SIRET de l'association (l'un des deux suffit).",
        );
    }
    let fte_hundredths = crate::models::profile_form::fte_hundredths(&i.fte)
        .unwrap_or_else(|m| {
            c.add("fte", m);
            None
        })
        .map(|h| h.min(i32::MAX as u32) as i32);
    let volunteers = c.int("volunteers", &i.volunteers, 0, 1_000_000);
    // The participants' own limits (`participant::create` takes them at enrolment).
    let director_name = c.required("director_name", &i.director_name, 150);
    let director_function = c.text("director_function", &i.director_function, 100);
    let director_email = c.email("director_email", &i.director_email);
    let board_name = c.required("board_name", &i.board_name, 150);
    let board_function = c.text("board_function", &i.board_function, 100);
    let board_email = c.email("board_email", &i.board_email);
    // Two people, two addresses: each gets their own convocations and personal links.
    if !board_email.is_empty() && board_email.eq_ignore_ascii_case(&director_email) {
        c.add(
            "board_email",
            "Indiquez l'adresse personnelle du membre du conseil d'administration : elle doit être différente de celle de la direction.",
        );
    }
    let motivation = c.multiline("motivation", &i.motivation, 4000);
    if motivation.is_empty() {
        c.add(
            "motivation",
            "Dites en quelques lignes pourquoi l'association souhaite être accompagnée.",
        );
    }
    let availability_note = c.multiline("availability_note", &i.availability_note, 1000);
    let consent_data = Check::checkbox(&i.consent_data);
    if !consent_data {
        c.add(
            "consent_data",
            "Cochez cette case pour que nous puissions traiter votre candidature.",
        );
    }
    c.finish()?;
    Ok(Checked {
        name: a.name,
        rna: a.rna,
        siret: a.siret,
        town: a.town,
        creation_date: a.creation_date,
        creation_year: a.creation_year,
        salaried_staff: a.salaried_staff,
        fte_hundredths,
        volunteers,
        sector: a.sector,
        general_interest: a.general_interest,
        director_name,
        director_function,
        director_email,
        board_name,
        board_function,
        board_email,
        motivation,
        available_all: Check::checkbox(&i.available_all),
        availability_note,
        consent_data,
        consent_named: Check::checkbox(&i.consent_named),
    })
}

type HmacSha256 = Hmac<Sha256>;
use sha2::Sha256;

/// What a rate limit counts: a client address, or an address acknowledgements go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Address,
    Recipient,
}

impl Counted {
    fn as_str(self) -> &'static str {
        match self {
            Counted::Address => "address",
            Counted::Recipient => "recipient",
        }
    }

    fn window(self) -> Duration {
        match self {
            Counted::Address => Duration::hours(1),
            Counted::Recipient => Duration::days(1),
        }
    }
}

/// The keyed digest stored for a counted value (never the value itself): HMAC-SHA-256
/// under the instance secret, so that a copy of the table cannot be matched against a
/// list of addresses.
pub fn digest(conn: &mut Conn, what: Counted, value: &str) -> Result<String, AppError> {
    let secret = crate::models::feed::secret(conn)?;
    let mut mac = HmacSha256::new_from_slice(&secret)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hmac key: {e}")))?;
    mac.update(b"cohorte call attempts v1\0");
    mac.update(what.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(value.trim().to_lowercase().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn attempts(
    conn: &mut Conn,
    what: Counted,
    digest: &str,
    at: DateTime<Utc>,
) -> Result<i64, AppError> {
    let since = (at - what.window()).naive_utc();
    Ok(call_attempts::table
        .filter(call_attempts::kind.eq(what.as_str()))
        .filter(call_attempts::digest.eq(digest))
        .filter(call_attempts::at.ge(since))
        .count()
        .get_result(conn)?)
}

fn note_attempt(
    tx: &mut Tx,
    what: Counted,
    digest: &str,
    application_id: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::insert_into(call_attempts::table)
        .values((
            call_attempts::id.eq(new_id()),
            call_attempts::kind.eq(what.as_str()),
            call_attempts::digest.eq(digest),
            call_attempts::application_id.eq(application_id),
            call_attempts::at.eq(at.naive_utc()),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// The limits the public form applies (`[calls]`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_address_per_hour: u32,
    pub acks_per_recipient_per_day: u32,
}

impl From<&crate::config::CallsConfig> for Limits {
    fn from(c: &crate::config::CallsConfig) -> Self {
        Limits {
            per_address_per_hour: c.max_per_address_per_hour,
            acks_per_recipient_per_day: c.max_acks_per_recipient_per_day,
        }
    }
}

/// What became of an application sent.
pub enum Submitted {
    /// Stored; its acknowledgement is queued.
    Received(Box<Application>),
    /// Too many applications from this client address lately: nothing stored.
    Throttled,
}

/// The message when the call is closed (its date is past).
pub fn closed() -> AppError {
    AppError::Conflict {
        code: "call_closed",
        message: "Cet appel à candidatures est clos : la date de clôture est passée.".into(),
    }
}

/// Stores an application to the call open under `token`, and queues its acknowledgement
/// to both addresses (in the same transaction), with the private link to change or
/// withdraw it. `client` is the request's client address (only its keyed digest is kept).
pub fn submit(
    tx: &mut Tx,
    mail: &MailContext,
    token: &str,
    input: &ApplicationInput,
    client: &str,
    limits: Limits,
) -> Result<Submitted, AppError> {
    let at = tx.now();
    let open = by_token(tx, token)?.ok_or_else(revoked)?;
    if !rules::is_open(open.call.closes_on, at) {
        return Err(closed());
    }
    // Old counts are of no use: deleted as new ones come.
    diesel::delete(
        call_attempts::table.filter(call_attempts::at.lt((at - Duration::days(2)).naive_utc())),
    )
    .execute(tx.conn())?;
    let client_digest = digest(tx, Counted::Address, client)?;
    if attempts(tx, Counted::Address, &client_digest, at)? >= i64::from(limits.per_address_per_hour)
    {
        return Ok(Submitted::Throttled);
    }
    let v = check(input)?;
    let recipients = recipients_of(&v.director_email, &v.board_email);
    let mut over = crate::error::FieldErrors::new();
    let mut digests = Vec::new();
    for (field, address) in &recipients {
        let d = digest(tx, Counted::Recipient, address)?;
        if attempts(tx, Counted::Recipient, &d, at)? >= i64::from(limits.acks_per_recipient_per_day)
        {
            over.insert(
                field.to_string(),
                "Cette adresse a déjà reçu plusieurs accusés de réception aujourd'hui : réessayez demain ou indiquez une autre adresse.".into(),
            );
        }
        digests.push(d);
    }
    if !over.is_empty() {
        return Err(AppError::validation(over));
    }
    let id = new_id();
    let secret = edit_secret(tx, &id)?;
    let t = at.naive_utc();
    diesel::insert_into(applications::table)
        .values((
            applications::id.eq(&id),
            applications::cohort_id.eq(&open.cohort.id),
            applications::edit_token_hash.eq(crate::models::account::hash_secret(&secret)),
            applications::status.eq(Status::Received.code()),
            applications::name.eq(&v.name),
            applications::submitted_at.eq(t),
            applications::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    write_values(tx, &id, &v, t, None)?;
    let app = crate::models::application::get(tx, &id)?;
    note_attempt(tx, Counted::Address, &client_digest, &id, at)?;
    for d in &digests {
        note_attempt(tx, Counted::Recipient, d, &id, at)?;
    }
    audit::created(
        tx,
        "application",
        &id,
        Some(&open.cohort.id),
        &app.audited(),
    )?;
    // The stored email carries a marker; the link is written when it leaves.
    queue_to_applicant(
        tx,
        mail,
        &open,
        &app,
        "application_ack",
        Some(PRIVATE_LINK),
        at,
    )?;
    // An application received once the meeting is set gets its invite beside the ack.
    if let Some(meeting) = open.call.meeting_ahead(at) {
        let dla_email = crate::models::dla::get(tx, &open.cohort.dla_id)?.email;
        queue_meeting(
            tx,
            mail,
            &open,
            &dla_email,
            &app,
            MEETING_INVITE,
            &meeting,
            None,
            at,
        )?;
    }
    Ok(Submitted::Received(Box::new(app)))
}

/// The two addresses of an application, once each (with the field each comes from).
pub(crate) fn recipients_of<'a>(director: &'a str, board: &'a str) -> Vec<(&'static str, &'a str)> {
    let mut out = vec![("director_email", director)];
    if !board.eq_ignore_ascii_case(director) {
        out.push(("board_email", board));
    }
    out
}

fn write_values(
    tx: &mut Tx,
    id: &str,
    v: &Checked,
    t: NaiveDateTime,
    version: Option<i32>,
) -> Result<(), AppError> {
    let mut q = diesel::update(applications::table.find(id)).into_boxed();
    if let Some(version) = version {
        q = q.filter(applications::version.eq(version));
    }
    let changed = q
        .set((
            (
                applications::name.eq(&v.name),
                applications::rna.eq(&v.rna),
                applications::siret.eq(&v.siret),
                applications::town.eq(&v.town),
                applications::creation_date.eq(v.creation_date),
                applications::creation_year.eq(v.creation_year),
                applications::salaried_staff.eq(v.salaried_staff),
                applications::fte_hundredths.eq(v.fte_hundredths),
                applications::volunteers.eq(v.volunteers),
                applications::sector.eq(&v.sector),
                applications::general_interest.eq(v.general_interest),
            ),
            (
                applications::director_name.eq(&v.director_name),
                applications::director_function.eq(&v.director_function),
                applications::director_email.eq(&v.director_email),
                applications::board_name.eq(&v.board_name),
                applications::board_function.eq(&v.board_function),
                applications::board_email.eq(&v.board_email),
                applications::motivation.eq(&v.motivation),
                applications::available_all.eq(v.available_all),
                applications::availability_note.eq(&v.availability_note),
                applications::consent_data.eq(v.consent_data),
                applications::consent_named.eq(v.consent_named),
                applications::updated_at.eq(t),
            ),
            applications::version.eq(version.map_or(1, |v| v + 1)),
        ))
        .execute(tx.conn())?;
    if changed == 0 {
        return Err(crate::models::stale("La candidature a été modifiée"));
    }
    Ok(())
}

/// The message of a revoked or unknown public link.
pub fn revoked() -> AppError {
    AppError::NotFound("Cet appel n'est plus ouvert : le lien a été retiré par le DLA.".into())
}

/// An application reached from its private link, with its call.
pub struct Own {
    pub application: Application,
    pub open: Open,
}

/// The application whose private link carries `secret`; `None` for an unknown one.
pub fn by_secret(conn: &mut Conn, secret: &str) -> Result<Option<Own>, AppError> {
    let hash = crate::models::account::hash_secret(secret.trim());
    let Some(application) = applications::table
        .filter(applications::edit_token_hash.eq(hash))
        .select(Application::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let call = get(conn, &application.cohort_id)?;
    let cohort = cohort::get(conn, &call.cohort_id)?;
    let dla_name = crate::models::dla::get(conn, &cohort.dla_id)?.name;
    Ok(Some(Own {
        application,
        open: Open {
            call,
            cohort,
            dla_name,
        },
    }))
}

/// Whether the applicant may still change or withdraw: the call not closed, the
/// application neither withdrawn nor decided.
pub fn editable(own: &Own, at: DateTime<Utc>) -> bool {
    rules::is_open(own.open.call.closes_on, at) && own.application.status() == Status::Received
}

fn own_or_gone(conn: &mut Conn, secret: &str, at: DateTime<Utc>) -> Result<Own, AppError> {
    let own = by_secret(conn, secret)?
        .ok_or_else(|| AppError::NotFound("Ce lien de candidature n'est pas valable.".into()))?;
    if !editable(&own, at) {
        return Err(AppError::Conflict {
            code: "application_locked",
            message: "Cette candidature ne peut plus être modifiée : l'appel est clos, ou elle a été retirée ou examinée.".into(),
        });
    }
    Ok(own)
}

/// The applicant's change from the private link (version checked), audited. No new
/// acknowledgement is sent.
pub fn edit(tx: &mut Tx, secret: &str, input: &ApplicationInput) -> Result<Application, AppError> {
    let at = tx.now();
    let own = own_or_gone(tx, secret, at)?;
    let before = own.application;
    let v = check(input)?;
    let version = match input.version.trim() {
        "" => before.version,
        s => s
            .parse()
            .map_err(|_| crate::models::stale("La candidature a été modifiée"))?,
    };
    write_values(tx, &before.id, &v, at.naive_utc(), Some(version))?;
    let after = crate::models::application::get(tx, &before.id)?;
    audit::updated(
        tx,
        "application",
        &after.id,
        Some(&after.cohort_id),
        &before.audited(),
        &after.audited(),
    )?;
    Ok(after)
}

/// The applicant withdraws from the private link: status `desistee`, audited, and a
/// confirmation to both addresses.
pub fn withdraw(tx: &mut Tx, mail: &MailContext, secret: &str) -> Result<Application, AppError> {
    let at = tx.now();
    let own = own_or_gone(tx, secret, at)?;
    let before = own.application.clone();
    // Conditional on the version read: a decision made meanwhile stands.
    let n = diesel::update(
        applications::table
            .find(&before.id)
            .filter(applications::version.eq(before.version)),
    )
    .set((
        applications::status.eq(Status::Withdrawn.code()),
        applications::decided_at.eq(Some(at.naive_utc())),
        applications::decided_by.eq("L'association (lien privé)"),
        applications::updated_at.eq(at.naive_utc()),
        applications::version.eq(before.version + 1),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "La candidature a été modifiée")?;
    let after = crate::models::application::get(tx, &before.id)?;
    audit::updated(
        tx,
        "application",
        &after.id,
        Some(&after.cohort_id),
        &before.audited(),
        &after.audited(),
    )?;
    queue_to_applicant(
        tx,
        mail,
        &own.open,
        &after,
        "application_withdrawn",
        None,
        at,
    )?;
    leave_meeting(tx, mail, &after, at)?;
    Ok(after)
}

/// The information meeting's invite (to an applicant who has not had one yet).
pub const MEETING_INVITE: &str = "meeting_invite";
/// The meeting changed: the same UID, a higher SEQUENCE.
pub const MEETING_UPDATED: &str = "meeting_updated";
/// The meeting removed: `METHOD:CANCEL`.
pub const MEETING_CANCELLED: &str = "meeting_cancelled";

/// The outbox kinds of the emails to applicants (their rows go with the application).
pub const APPLICANT_KINDS: [&str; 6] = [
    "application_ack",
    crate::models::application::DECISION_KIND,
    "application_withdrawn",
    MEETING_INVITE,
    MEETING_UPDATED,
    MEETING_CANCELLED,
];

/// Tells every applicant not withdrawn of the meeting's change from `before` to the call's
/// meeting now, in the caller's transaction: its invite when it is new, an update when it
/// changed, a cancellation when it was removed; nothing about a meeting already begun.
/// Returns how many emails were queued.
fn notify_meeting(
    tx: &mut Tx,
    mail: &MailContext,
    call: &Call,
    before: Option<&Meeting>,
    at: DateTime<Utc>,
) -> Result<usize, AppError> {
    let after = call.meeting();
    let (kind, meeting) = match (before, after) {
        (None, None) => return Ok(0),
        (Some(b), None) => (MEETING_CANCELLED, b.clone()),
        (Some(b), Some(a)) if *b == a => return Ok(0),
        (Some(_), Some(a)) => (MEETING_UPDATED, a),
        (None, Some(a)) => (MEETING_INVITE, a),
    };
    if meeting.starts_at.and_utc() <= at {
        return Ok(0);
    }
    let applicants: Vec<Application> = applications::table
        .filter(applications::cohort_id.eq(&call.cohort_id))
        .filter(applications::status.ne(Status::Withdrawn.code()))
        .order(applications::submitted_at.asc())
        .select(Application::as_select())
        .load(tx.conn())?;
    if applicants.is_empty() {
        return Ok(0);
    }
    let cohort = cohort::get(tx, &call.cohort_id)?;
    let dla = crate::models::dla::get(tx, &cohort.dla_id)?;
    let open = Open {
        call: call.clone(),
        cohort,
        dla_name: dla.name.clone(),
    };
    let mut queued = 0;
    for app in &applicants {
        queued += queue_meeting(tx, mail, &open, &dla.email, app, kind, &meeting, before, at)?;
    }
    Ok(queued)
}

/// An application withdrawn (from its private link or noted by the staff) leaves the
/// information meeting, in the caller's transaction: its meeting emails not yet sent are
/// cancelled and, when one already reached its addresses and the meeting is ahead, they
/// get the meeting's cancellation (`CANCEL` at the current SEQUENCE, for them alone: the
/// other applicants keep it). Returns how many emails were queued.
pub fn leave_meeting(
    tx: &mut Tx,
    mail: &MailContext,
    app: &Application,
    at: DateTime<Utc>,
) -> Result<usize, AppError> {
    use crate::db::schema::outbox_emails;
    use crate::domain::outbox::Status as Mail;
    let Some(call) = for_cohort(tx, &app.cohort_id)? else {
        return Ok(0);
    };
    let Some(meeting) = call.meeting_ahead(at) else {
        return Ok(0);
    };
    let invites = [MEETING_INVITE, MEETING_UPDATED];
    outbox::cancel_waiting(tx, &app.id, &invites)?;
    let received: i64 = outbox_emails::table
        .filter(outbox_emails::item_id.eq(&app.id))
        .filter(in_list(outbox_emails::kind, invites))
        .filter(in_list(
            outbox_emails::status,
            [
                Mail::Sending.as_str(),
                Mail::Sent.as_str(),
                Mail::Failed.as_str(),
            ],
        ))
        .count()
        .get_result(tx.conn())?;
    if received == 0 {
        return Ok(0);
    }
    let cohort = cohort::get(tx, &call.cohort_id)?;
    let dla = crate::models::dla::get(tx, &cohort.dla_id)?;
    let open = Open {
        call,
        cohort,
        dla_name: dla.name.clone(),
    };
    queue_meeting(
        tx,
        mail,
        &open,
        &dla.email,
        app,
        MEETING_CANCELLED,
        &meeting,
        None,
        at,
    )
}

/// Queues the meeting's `kind` email, with its invite (`REQUEST`, or `CANCEL` for
/// [`MEETING_CANCELLED`]) at the call's `meeting_sequence`, to both addresses of `app`.
#[allow(clippy::too_many_arguments)]
fn queue_meeting(
    tx: &mut Tx,
    mail: &MailContext,
    open: &Open,
    dla_email: &str,
    app: &Application,
    kind: &str,
    meeting: &Meeting,
    previous: Option<&Meeting>,
    at: DateTime<Utc>,
) -> Result<usize, AppError> {
    use crate::mail::{CalendarPerson, ics};
    let method = if kind == MEETING_CANCELLED {
        ics::Method::Cancel
    } else {
        ics::Method::Request
    };
    let organizer = cohort::answerer(&open.cohort, dla_email, None, cohort::Topic::Cohort, mail);
    let renderer = &*mail.renderer;
    let ctx = json!({
        "cohort_name": open.cohort.name,
        "dla_name": open.dla_name,
        "organizer_name": organizer.name,
        "meeting": meeting.view(),
        "previous": previous.filter(|p| *p != meeting).map(Meeting::view),
        // A cancellation to an applicant who withdrew: the meeting goes on for the others.
        "withdrawn": app.status() == Status::Withdrawn,
    });
    let rendered = renderer
        .render(kind, &ctx)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let sequence = open.call.meeting_sequence.max(0);
    let mut description = format!(
        "Réunion d'information sur l'accompagnement collectif « {} » ({}).",
        open.cohort.name, open.dla_name
    );
    if !meeting.video_link.is_empty() {
        description.push_str(&format!("\nVisioconférence : {}", meeting.video_link));
    }
    let mut queued = 0;
    let people = [
        (&app.director_name, &app.director_email),
        (&app.board_name, &app.board_email),
    ];
    for (_, address) in recipients_of(&app.director_email, &app.board_email) {
        let name = people
            .iter()
            .find(|(_, a)| a.as_str() == address)
            .map(|(n, _)| n.to_string())
            .unwrap_or_default();
        let invite = ics::Invite {
            uid: meeting_uid(&open.cohort.id),
            sequence: sequence as u32,
            method,
            summary: format!("Réunion d'information : {}", open.cohort.name),
            description: description.clone(),
            location: if meeting.location.is_empty() {
                meeting.video_link.clone()
            } else {
                meeting.location.clone()
            },
            starts_at: meeting.starts_at.and_utc(),
            ends_at: meeting.ends_at.and_utc(),
            organizer: organizer.clone(),
            attendee: Some(CalendarPerson {
                name,
                email: address.to_string(),
            }),
            stamp: at,
        };
        let email = Email {
            to_name: String::new(),
            to_address: address.to_string(),
            rendered: rendered.clone(),
            calendar: Some(crate::mail::render::CalendarPart {
                method,
                ics: invite.to_ics(),
            }),
        };
        let mut row = NewEmail::from_email(kind, &app.id, sequence, &email, at);
        row.cohort_id = Some(open.cohort.id.clone());
        row.not_after = Some(meeting.starts_at.and_utc());
        if outbox::enqueue(tx, row)?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues `message` to both addresses of an application, in the caller's transaction.
/// Says nothing the applicant typed: the cohort, the DLA, the dates and the link.
fn queue_to_applicant(
    tx: &mut Tx,
    mail: &MailContext,
    open: &Open,
    app: &Application,
    message: &str,
    edit_url: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let renderer = &*mail.renderer;
    let ctx = json!({
        "cohort_name": open.cohort.name,
        "dla_name": open.dla_name,
        "closes_on": fr::date_long(open.call.closes_on),
        "edit_url": edit_url,
        "meeting": open.call.meeting_ahead(at).as_ref().map(Meeting::view),
    });
    let rendered = renderer
        .render(message, &ctx)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    for (_, address) in recipients_of(&app.director_email, &app.board_email) {
        let email = Email {
            to_name: String::new(),
            to_address: address.to_string(),
            rendered: rendered.clone(),
            calendar: None,
        };
        let mut row = NewEmail::from_email(message, &app.id, 0, &email, at);
        row.cohort_id = Some(open.cohort.id.clone());
        outbox::enqueue(tx, row)?;
    }
    Ok(())
}

/// How many applications the call received, and how many were withdrawn (the staff side's
/// summary; the list itself is `models::application`'s).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    pub total: i64,
    pub withdrawn: i64,
}

pub fn counts(conn: &mut Conn, cohort_id: &str) -> Result<Counts, AppError> {
    use crate::models::application::count;
    Ok(Counts {
        total: count(conn, cohort_id, None)?,
        withdrawn: count(conn, cohort_id, Some(Status::Withdrawn))?,
    })
}

/// The ids of a cohort's applications.
pub fn application_ids(conn: &mut Conn, cohort_id: &str) -> Result<Vec<String>, AppError> {
    Ok(applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .select(applications::id)
        .load(conn)?)
}
