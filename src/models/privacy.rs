//! Personal data (GDPR, issue #5): export everything about a participant·e, anonymise a
//! participant·e or an association, and purge the personal data of cohorts that ended long
//! ago.
//!
//! Anonymising keeps what the DLA must still account for — attendance, time entries, the
//! profile's figures, the history of emails (without their content) — and erases who the
//! person or the association was: names, addresses, identifiers, free texts. The old name
//! and address are also replaced wherever they were copied in the cohort's texts (session
//! notes, comments, other emails, the audit log). Every function is idempotent: doing it
//! twice changes nothing more.

use chrono::{DateTime, Months, NaiveDateTime, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::in_list;
use crate::db::schema::{
    action_leads, association_profiles, associations, attendances, audit_log, auth_links,
    auth_sessions, cohorts, evaluations, intersession_tasks, outbox_emails, participants,
    session_guests, session_logs, sessions, sign_in_failures, task_returns, time_entries,
};
use crate::db::{Author, Conn, Tx, checkpoint_after_erasure, erase_from_files, write_with};
use crate::domain::outbox::{Status, erased_key};
use crate::domain::profile::Profile;
use crate::error::AppError;
use crate::models::{association, participant};

/// The name an anonymised participant·e keeps.
pub const ANONYMOUS_PARTICIPANT: &str = "Participant·e anonymisé·e";
/// The name an anonymised association keeps.
pub const ANONYMOUS_ASSOCIATION: &str = "Association anonymisée";
/// The name a bilan's guest keeps after the cohort's purge.
pub const ANONYMOUS_GUEST: &str = "Invité·e anonymisé·e";

/// The name an email of a purged cohort keeps when it was addressed to no participant
/// (and not to a bilan's guest): an applicant, a deleted participant, a member of staff.
pub const ANONYMOUS_RECIPIENT: &str = "Destinataire anonymisé·e";
/// What replaces the content of an email that named the person.
pub const ERASED_EMAIL: &str = "Contenu effacé (données personnelles).";
/// The note of a not-yet-sent email cancelled by an anonymisation. It does not start with
/// « Annulé : », so the planner never queues the same email again.
pub const CANCELLED_NOTE: &str =
    "Anonymisation : la personne a été anonymisée, cet e-mail ne partira pas.";
/// What replaces the text of an anonymised association's pistes d'actions.
pub const ERASED_LEAD: &str = "Piste anonymisée";

/// What an erased email's bodies become.
fn erased_bodies() -> crate::models::outbox::Bodies {
    crate::models::outbox::Bodies {
        body_text: ERASED_EMAIL.to_string(),
        body_html: format!("<p>{ERASED_EMAIL}</p>"),
        ics: None,
    }
}

/// A non-deliverable address, unique per participant·e (`.invalid` is reserved, RFC 2606).
pub fn placeholder_email(participant_id: &str) -> String {
    format!("anonyme-{participant_id}@anonyme.invalid")
}

/// An erased guest's address: `invite-<guest id>@anonyme.invalid` (prefix, suffix).
const GUEST_PLACEHOLDER: (&str, &str) = ("invite-", "@anonyme.invalid");

fn guest_placeholder(guest_id: &str) -> String {
    format!("{}{guest_id}{}", GUEST_PLACEHOLDER.0, GUEST_PLACEHOLDER.1)
}

fn ts(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ts_opt(t: Option<NaiveDateTime>) -> Value {
    t.map(ts).map(Value::String).unwrap_or(Value::Null)
}

/// Stored JSON text as JSON (or as text when it is not JSON).
fn json_text(s: Option<String>) -> Value {
    match s {
        None => Value::Null,
        Some(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
    }
}

// ---- export --------------------------------------------------------------------------

/// Everything stored about a participant·e, as one JSON document (right of access and
/// portability). Secrets (sign-in tokens) are never included, only their dates.
pub fn export_participant(
    conn: &mut Conn,
    participant_id: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let p = participant::get(conn, participant_id)?;
    let anonymised_at: Option<NaiveDateTime> = participants::table
        .find(participant_id)
        .select(participants::anonymised_at)
        .first(conn)?;
    let a = association::get(conn, &p.association_id)?;
    let (cohort_id, cohort_name): (String, String) = cohorts::table
        .find(&a.cohort_id)
        .select((cohorts::id, cohorts::name))
        .first(conn)?;

    let all_associations = association::list_for_cohort(conn, &cohort_id)?;
    let cohort_sessions = crate::models::session::list_for_cohort(conn, &cohort_id)?;
    let attendance: Vec<(String, i32, String, NaiveDateTime)> = attendances::table
        .filter(attendances::participant_id.eq(participant_id))
        .order((attendances::session_id.asc(), attendances::half_day.asc()))
        .select((
            attendances::session_id,
            attendances::half_day,
            attendances::status,
            attendances::updated_at,
        ))
        .load(conn)?;
    let attendance: Vec<Value> = attendance
        .into_iter()
        .map(|(sid, half_day, status, at)| {
            let s = cohort_sessions.iter().find(|s| s.id == sid);
            json!({
                "session_id": sid,
                "session": s.map(|s| s.label(&all_associations)),
                "session_starts_at": s.map(|s| ts(s.starts_at)),
                "half_day": half_day,
                "status": status,
                "updated_at": ts(at),
            })
        })
        .collect();

    let rows: Vec<crate::models::outbox::OutboxEmail> = outbox_emails::table
        .filter(outbox_emails::participant_id.eq(participant_id))
        .order(outbox_emails::created_at.asc())
        .select(crate::models::outbox::OutboxEmail::as_select())
        .load(conn)?;
    let mut emails: Vec<Value> = Vec::with_capacity(rows.len());
    for e in rows {
        let b = crate::models::outbox::bodies(conn, &e.id)?;
        emails.push(json!({
                "id": e.id,
                "kind": e.kind,
                "status": e.status,
                "recipient_name": e.recipient_name,
                "recipient_email": e.recipient_email,
                "subject": e.subject,
                "body_text": b.body_text,
                "body_html": b.body_html,
                "ics": b.ics,
                "send_after": ts(e.send_after),
                "sent_at": ts_opt(e.sent_at),
                "created_at": ts(e.created_at),
                "note": e.note,
        }));
    }

    let returns: Vec<(
        String,
        String,
        chrono::NaiveDate,
        String,
        Option<chrono::NaiveDate>,
        String,
    )> = task_returns::table
        .inner_join(intersession_tasks::table)
        .filter(task_returns::association_id.eq(&a.id))
        .order(intersession_tasks::due_date.asc())
        .select((
            intersession_tasks::id,
            intersession_tasks::title,
            intersession_tasks::due_date,
            task_returns::status,
            task_returns::returned_on,
            task_returns::answer,
        ))
        .load(conn)?;
    let returns: Vec<Value> = returns
        .into_iter()
        .map(|(id, title, due, status, returned_on, answer)| {
            json!({
                "task_id": id,
                "title": title,
                "due_date": due.to_string(),
                "status": status,
                "returned_on": returned_on.map(|d| d.to_string()),
                "answer": answer,
            })
        })
        .collect();

    let sign_in_sessions: Vec<(NaiveDateTime, NaiveDateTime, NaiveDateTime)> = auth_sessions::table
        .filter(auth_sessions::participant_id.eq(participant_id))
        .order(auth_sessions::created_at.asc())
        .select((
            auth_sessions::created_at,
            auth_sessions::last_seen_at,
            auth_sessions::expires_at,
        ))
        .load(conn)?;
    let sign_in_links: Vec<(String, NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)> =
        auth_links::table
            .filter(auth_links::participant_id.eq(participant_id))
            .order(auth_links::created_at.asc())
            .select((
                auth_links::purpose,
                auth_links::created_at,
                auth_links::expires_at,
                auth_links::used_at,
            ))
            .load(conn)?;

    type AuditRow = (
        NaiveDateTime,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let audit: Vec<AuditRow> = audit_log::table
        .filter(audit_log::entity_id.eq(participant_id))
        .order(audit_log::at.asc())
        .select((
            audit_log::at,
            audit_log::actor,
            audit_log::entity,
            audit_log::action,
            audit_log::before_data,
            audit_log::after_data,
        ))
        .load(conn)?;

    Ok(json!({
        "exported_at": ts(now.naive_utc()),
        "participant": {
            "id": p.id,
            "name": p.name,
            "email": p.email,
            "role": p.role,
            "role_label": participant::role_label(&p.role),
            "function": p.function,
            "reminders": p.reminders,
            "created_at": ts(p.created_at),
            "updated_at": ts(p.updated_at),
            "anonymised_at": ts_opt(anonymised_at),
        },
        "association": {"id": a.id, "name": a.name},
        "cohort": {"id": cohort_id, "name": cohort_name},
        "attendance": attendance,
        "emails": emails,
        "homework_returns": returns,
        // The association's évaluation, which the person may have written.
        "evaluation": crate::models::evaluation::get(conn, &a.id)?,
        "sign_in": {
            "sessions": sign_in_sessions.into_iter().map(|(created, seen, expires)| json!({
                "created_at": ts(created),
                "last_seen_at": ts(seen),
                "expires_at": ts(expires),
            })).collect::<Vec<_>>(),
            "links": sign_in_links.into_iter().map(|(purpose, created, expires, used)| json!({
                "purpose": purpose,
                "created_at": ts(created),
                "expires_at": ts(expires),
                "used_at": ts_opt(used),
            })).collect::<Vec<_>>(),
        },
        "audit": audit.into_iter().map(|(at, actor, entity, action, before, after)| json!({
            "at": ts(at),
            "actor": actor,
            "entity": entity,
            "action": action,
            "before": json_text(before),
            "after": json_text(after),
        })).collect::<Vec<_>>(),
    }))
}

// ---- replacing copied names in the cohort's texts ------------------------------------

/// (old text, new text) pairs, longest first so that an address is replaced before a name
/// it contains.
type Replacements = Vec<(String, String)>;

/// The forms a name takes once stored: as typed, HTML-escaped (emails), JSON-escaped
/// (audit snapshots, profiles).
fn replacements(pairs: &[(&str, &str)]) -> Replacements {
    let mut out: Replacements = Vec::new();
    for (old, new) in pairs {
        let old = old.trim();
        // Too short to be replaced safely everywhere.
        if old.chars().count() < 3 || old == *new {
            continue;
        }
        let json_old = serde_json::to_string(old).unwrap_or_default();
        let json_new = serde_json::to_string(new).unwrap_or_default();
        for (o, n) in [
            (old.to_string(), new.to_string()),
            (handlebars::html_escape(old), handlebars::html_escape(new)),
            (
                json_old.trim_matches('"').to_string(),
                json_new.trim_matches('"').to_string(),
            ),
        ] {
            if !out.iter().any(|(x, _)| *x == o) {
                out.push((o, n));
            }
        }
    }
    out.sort_by_key(|(o, _)| std::cmp::Reverse(o.len()));
    out
}

trait Scrub: Sized {
    /// The value with every replacement made, or `None` when nothing changed.
    fn scrubbed(&self, map: &Replacements) -> Option<Self>;
}

impl Scrub for String {
    fn scrubbed(&self, map: &Replacements) -> Option<String> {
        let mut v = self.clone();
        for (old, new) in map {
            if v.contains(old.as_str()) {
                v = v.replace(old.as_str(), new);
            }
        }
        (v != *self).then_some(v)
    }
}

impl Scrub for Option<String> {
    fn scrubbed(&self, map: &Replacements) -> Option<Option<String>> {
        self.as_ref().and_then(|s| s.scrubbed(map)).map(Some)
    }
}

/// Replaces, in one text column of the rows `filter` selects, every old text of `map`.
macro_rules! scrub_column {
    ($conn:expr, $map:expr, $table:ident, $key:expr, $kt:ty, $col:ident, $vt:ty, $filter:expr) => {{
        let rows: Vec<($kt, $vt)> = $table::table
            .filter($filter)
            .select(($key, $table::$col))
            .load($conn)?;
        for (k, v) in rows {
            if let Some(new) = Scrub::scrubbed(&v, $map) {
                diesel::update($table::table.find(k))
                    .set($table::$col.eq(new))
                    .execute($conn)?;
            }
        }
    }};
}

/// Replaces the old names and addresses in the bodies of the cohort's emails (read through
/// `outbox::bodies`, which decompresses; a changed body is stored plain and compressed
/// again by the next compaction).
fn scrub_bodies(tx: &mut Tx, cohort_id: &str, map: &Replacements) -> Result<(), AppError> {
    use crate::models::outbox;
    // Through outbox_emails_cohort_idx, then each body by its key.
    let ids: Vec<String> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .select(outbox_emails::id)
        .load(tx.conn())?;
    for id in ids {
        let b = outbox::bodies(tx, &id)?;
        let text = b.body_text.scrubbed(map);
        let html = b.body_html.scrubbed(map);
        let ics = b.ics.scrubbed(map);
        if text.is_none() && html.is_none() && ics.is_none() {
            continue;
        }
        outbox::set_bodies(
            tx,
            &id,
            &outbox::Bodies {
                body_text: text.unwrap_or(b.body_text),
                body_html: html.unwrap_or(b.body_html),
                ics: ics.unwrap_or(b.ics),
            },
        )?;
    }
    Ok(())
}

/// Replaces the old names and addresses wherever the cohort's free texts copied them.
fn scrub_cohort(
    tx: &mut Tx,
    cohort_id: &str,
    entity_ids: &[String],
    map: &Replacements,
) -> Result<(), AppError> {
    if map.is_empty() {
        return Ok(());
    }
    let association_ids: Vec<String> = associations::table
        .filter(associations::cohort_id.eq(cohort_id))
        .select(associations::id)
        .load(tx.conn())?;
    let session_ids: Vec<String> = sessions::table
        .filter(sessions::cohort_id.eq(cohort_id))
        .select(sessions::id)
        .load(tx.conn())?;
    scrub_column!(
        tx.conn(),
        map,
        outbox_emails,
        outbox_emails::id,
        String,
        recipient_name,
        String,
        outbox_emails::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        outbox_emails,
        outbox_emails::id,
        String,
        subject,
        String,
        outbox_emails::cohort_id.eq(cohort_id)
    );
    scrub_bodies(tx, cohort_id, map)?;
    scrub_column!(
        tx.conn(),
        map,
        outbox_emails,
        outbox_emails::id,
        String,
        last_error,
        Option<String>,
        outbox_emails::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        outbox_emails,
        outbox_emails::id,
        String,
        last_error_detail,
        Option<String>,
        outbox_emails::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        outbox_emails,
        outbox_emails::id,
        String,
        note,
        Option<String>,
        outbox_emails::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        session_logs,
        session_logs::session_id,
        String,
        notes,
        String,
        in_list(session_logs::session_id, &session_ids)
    );
    scrub_column!(
        tx.conn(),
        map,
        session_logs,
        session_logs::session_id,
        String,
        third_party_name,
        String,
        in_list(session_logs::session_id, &session_ids)
    );
    scrub_column!(
        tx.conn(),
        map,
        sessions,
        sessions::id,
        String,
        agenda,
        String,
        sessions::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        action_leads,
        action_leads::id,
        String,
        text,
        String,
        action_leads::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        action_leads,
        action_leads::id,
        String,
        owner,
        String,
        action_leads::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        time_entries,
        time_entries::id,
        String,
        comment,
        String,
        time_entries::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        intersession_tasks,
        intersession_tasks::id,
        String,
        instructions,
        String,
        intersession_tasks::cohort_id.eq(cohort_id)
    );
    let profile_key = (
        association_profiles::association_id,
        association_profiles::stage,
    );
    scrub_column!(
        tx.conn(),
        map,
        association_profiles,
        profile_key,
        (String, String),
        data,
        String,
        in_list(association_profiles::association_id, &association_ids)
    );
    scrub_column!(
        tx.conn(),
        map,
        association_profiles,
        profile_key,
        (String, String),
        updated_by,
        String,
        in_list(association_profiles::association_id, &association_ids)
    );
    scrub_column!(
        tx.conn(),
        map,
        evaluations,
        evaluations::association_id,
        String,
        understanding,
        String,
        evaluations::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        evaluations,
        evaluations::association_id,
        String,
        pistes,
        String,
        evaluations::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        evaluations,
        evaluations::association_id,
        String,
        comment,
        String,
        evaluations::cohort_id.eq(cohort_id)
    );
    scrub_column!(
        tx.conn(),
        map,
        evaluations,
        evaluations::association_id,
        String,
        followup,
        String,
        evaluations::cohort_id.eq(cohort_id)
    );
    let return_key = (task_returns::task_id, task_returns::association_id);
    scrub_column!(
        tx.conn(),
        map,
        task_returns,
        return_key,
        (String, String),
        answer,
        String,
        in_list(task_returns::association_id, &association_ids)
    );
    let about = audit_log::cohort_id
        .eq(cohort_id)
        .or(in_list(audit_log::entity_id, entity_ids));
    scrub_column!(
        tx.conn(),
        map,
        audit_log,
        audit_log::id,
        String,
        actor,
        String,
        about.clone()
    );
    scrub_column!(
        tx.conn(),
        map,
        audit_log,
        audit_log::id,
        String,
        before_data,
        Option<String>,
        about.clone()
    );
    scrub_column!(
        tx.conn(),
        map,
        audit_log,
        audit_log::id,
        String,
        after_data,
        Option<String>,
        about
    );
    Ok(())
}

// ---- anonymisation -------------------------------------------------------------------

/// Records the anonymisation (or purge) itself, without any personal data.
fn record(
    tx: &mut Tx,
    cohort_id: &str,
    entity: &str,
    entity_id: &str,
    action: crate::models::audit::Action,
) -> Result<(), AppError> {
    crate::models::audit::record::<(), ()>(
        tx,
        entity,
        entity_id,
        Some(cohort_id),
        action,
        None,
        None,
    )
}

/// The audit rows about `entity_id` keep who did what and when, not the data.
fn redact_audit(tx: &mut Tx, entity_id: &str) -> Result<(), AppError> {
    diesel::update(audit_log::table.filter(audit_log::entity_id.eq(entity_id)))
        .set((
            audit_log::before_data.eq(None::<String>),
            audit_log::after_data.eq(None::<String>),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// Anonymises a participant·e: name and address replaced, function cleared, reminders
/// off, personal links revoked, sign-in sessions and links deleted; the emails to them lose
/// their content and those not yet sent are cancelled. Attendance stays. Idempotent. The
/// web layer checkpoints the WAL after the commit (`AppState::erase`).
pub fn anonymise_participant(
    tx: &mut Tx,
    participant_id: &str,
) -> Result<participant::Participant, AppError> {
    let at = tx.now_naive();
    anonymise_participant_in(tx, participant_id, at)?;
    participant::get(tx, participant_id)
}

fn anonymise_participant_in(
    tx: &mut Tx,
    participant_id: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let (association_id, name, email, anonymised_at): (
        String,
        String,
        String,
        Option<NaiveDateTime>,
    ) = participants::table
        .find(participant_id)
        .select((
            participants::association_id,
            participants::name,
            participants::email,
            participants::anonymised_at,
        ))
        .first(tx.conn())
        .optional()?
        .ok_or_else(|| AppError::not_found("Participant·e"))?;
    let cohort_id: String = associations::table
        .find(&association_id)
        .select(associations::cohort_id)
        .first(tx.conn())?;
    let new_email = placeholder_email(participant_id);
    diesel::update(participants::table.find(participant_id))
        .set((
            participants::name.eq(ANONYMOUS_PARTICIPANT),
            participants::email.eq(&new_email),
            participants::function.eq(""),
            participants::reminders.eq(false),
            // Revokes the personal page and calendar links sent in past emails.
            participants::feed_generation.eq(participants::feed_generation + 1),
            participants::anonymised_at.eq(Some(anonymised_at.unwrap_or(at))),
            participants::version.eq(participants::version + 1),
            participants::updated_at.eq(at),
        ))
        .execute(tx.conn())?;

    // The emails to them: history kept (kind, dates, status), content and address erased,
    // and the deduplication key, a digest of the address, replaced by one of the row's.
    type Row = (String, String, Option<String>);
    let rows: Vec<Row> = outbox_emails::table
        .filter(
            outbox_emails::participant_id
                .eq(participant_id)
                .or(outbox_emails::cohort_id
                    .eq(&cohort_id)
                    .and(outbox_emails::participant_id.is_null())
                    .and(outbox_emails::recipient_email.eq(&email))),
        )
        .select((
            outbox_emails::id,
            outbox_emails::status,
            outbox_emails::ics_method,
        ))
        .load(tx.conn())?;
    let ids: Vec<String> = rows.iter().map(|(id, ..)| id.clone()).collect();
    crate::models::outbox::overwrite_bodies(tx, &ids, &erased_bodies())?;
    for (id, status, ics_method) in rows {
        let pending = matches!(
            Status::parse(&status),
            Some(Status::Draft | Status::Scheduled | Status::Failed)
        );
        erase_recipient(tx, &id, &new_email, ANONYMOUS_PARTICIPANT, at)?;
        if ics_method.is_some() {
            diesel::update(outbox_emails::table.find(&id))
                .set(outbox_emails::ics_method.eq(None::<String>))
                .execute(tx.conn())?;
        }
        if pending {
            diesel::update(outbox_emails::table.find(&id))
                .set((
                    outbox_emails::status.eq(Status::Cancelled.as_str()),
                    outbox_emails::note.eq(Some(CANCELLED_NOTE)),
                ))
                .execute(tx.conn())?;
        }
    }

    diesel::delete(auth_sessions::table.filter(auth_sessions::participant_id.eq(participant_id)))
        .execute(tx.conn())?;
    diesel::delete(auth_links::table.filter(auth_links::participant_id.eq(participant_id)))
        .execute(tx.conn())?;
    if !email.is_empty() {
        diesel::delete(sign_in_failures::table.filter(sign_in_failures::email.eq(&email)))
            .execute(tx.conn())?;
    }
    redact_audit(tx, participant_id)?;
    // The first time only: afterwards the name is already the placeholder.
    if anonymised_at.is_none() {
        let map = replacements(&[
            (email.as_str(), new_email.as_str()),
            (name.as_str(), ANONYMOUS_PARTICIPANT),
        ]);
        scrub_cohort(tx, &cohort_id, &[participant_id.to_string()], &map)?;
        record(
            tx,
            &cohort_id,
            "participant",
            participant_id,
            crate::models::audit::Action::Anonymise,
        )?;
    }
    Ok(())
}

/// Clears a profile's free texts (reading, levers, funder, partner and activity names) and
/// keeps its figures and categories.
fn clear_profile_texts(data: &str) -> Option<String> {
    let mut p: Profile = serde_json::from_str(data).ok()?;
    p.finances.largest_funder_name.clear();
    for a in &mut p.alliances {
        a.partner.clear();
    }
    for (i, d) in p.das.iter_mut().enumerate() {
        d.name = format!("Domaine {}", i + 1);
        d.notes.clear();
    }
    p.reading = Default::default();
    p.levers = Default::default();
    serde_json::to_string(&p).ok()
}

/// Anonymises an association and all its participant·es: name replaced, RNA, SIRET and
/// town cleared, profile texts, pistes d'actions and homework answers erased. Attendance,
/// time entries and the profile's figures stay. Idempotent. The web layer checkpoints the
/// WAL after the commit (`AppState::erase`).
pub fn anonymise_association(
    tx: &mut Tx,
    association_id: &str,
) -> Result<association::Association, AppError> {
    let at = tx.now_naive();
    anonymise_association_in(tx, association_id, at)?;
    association::get(tx, association_id)
}

fn anonymise_association_in(
    tx: &mut Tx,
    association_id: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let a = association::get(tx, association_id)?;
    let anonymised_at: Option<NaiveDateTime> = associations::table
        .find(association_id)
        .select(associations::anonymised_at)
        .first(tx.conn())?;
    let people: Vec<String> = participants::table
        .filter(participants::association_id.eq(association_id))
        .select(participants::id)
        .load(tx.conn())?;
    for p in &people {
        anonymise_participant_in(tx, p, at)?;
    }
    diesel::update(associations::table.find(association_id))
        .set((
            associations::name.eq(ANONYMOUS_ASSOCIATION),
            // They all bear that name: outside the cohort's unique names.
            associations::name_key.eq(None::<String>),
            associations::rna.eq(None::<String>),
            associations::siret.eq(None::<String>),
            associations::town.eq(""),
            associations::mirror_named.eq(false),
            associations::anonymised_at.eq(Some(anonymised_at.unwrap_or(at))),
            associations::version.eq(associations::version + 1),
            associations::updated_at.eq(at),
        ))
        .execute(tx.conn())?;
    let profiles: Vec<(String, String)> = association_profiles::table
        .filter(association_profiles::association_id.eq(association_id))
        .select((association_profiles::stage, association_profiles::data))
        .load(tx.conn())?;
    for (stage, data) in profiles {
        let cleared = clear_profile_texts(&data).unwrap_or_else(|| "{}".to_string());
        diesel::update(association_profiles::table.find((association_id, &stage)))
            .set((
                association_profiles::data.eq(cleared),
                association_profiles::updated_by.eq(ANONYMOUS_PARTICIPANT),
            ))
            .execute(tx.conn())?;
    }
    diesel::update(action_leads::table.filter(action_leads::association_id.eq(association_id)))
        .set((
            action_leads::text.eq(ERASED_LEAD),
            action_leads::owner.eq(""),
        ))
        .execute(tx.conn())?;
    diesel::update(task_returns::table.filter(task_returns::association_id.eq(association_id)))
        .set(task_returns::answer.eq(""))
        .execute(tx.conn())?;
    clear_evaluation_texts(tx, &[association_id.to_string()])?;
    redact_audit(tx, association_id)?;
    if anonymised_at.is_none() {
        let mut pairs: Vec<(&str, &str)> = vec![(a.name.as_str(), ANONYMOUS_ASSOCIATION)];
        for id in [a.rna.as_deref(), a.siret.as_deref()].into_iter().flatten() {
            pairs.push((id, ""));
        }
        let mut ids = people.clone();
        ids.push(association_id.to_string());
        scrub_cohort(tx, &a.cohort_id, &ids, &replacements(&pairs))?;
        record(
            tx,
            &a.cohort_id,
            "association",
            association_id,
            crate::models::audit::Action::Anonymise,
        )?;
    }
    Ok(())
}

/// The évaluations' free texts go (they quote people); the notes and the recommendation
/// stay, like attendance, so the cohort's summary keeps its figures.
fn clear_evaluation_texts(tx: &mut Tx, association_ids: &[String]) -> Result<(), AppError> {
    diesel::update(
        evaluations::table.filter(in_list(evaluations::association_id, association_ids)),
    )
    .set((
        evaluations::understanding.eq(""),
        evaluations::pistes.eq(""),
        evaluations::comment.eq(""),
        evaluations::followup.eq(""),
    ))
    .execute(tx.conn())?;
    Ok(())
}

// ---- purge ---------------------------------------------------------------------------

/// How many cohorts one query of the purge's candidates returns.
const PURGE_CANDIDATES: i64 = 50;
/// How many emails' bodies one purge transaction blanks.
const PURGE_BODIES_BATCH: i64 = 200;

/// What a purge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Cohorts purged (`purged_at` set).
    pub cohorts: usize,
    /// The write transactions it took: many short ones, between which other writers get
    /// the lock.
    pub transactions: usize,
}

/// Purges the cohorts whose last session ended more than `months` months before `now` and
/// that were not purged yet: every participant·e anonymised, the cohort's email bodies and
/// invitations blanked, `purged_at` set. `months = 0` purges nothing. Returns the number
/// of cohorts purged.
pub fn purge_ended_cohorts(
    conn: &mut Conn,
    months: u32,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    purge_ended(conn, months, now).map(|r| r.cohorts)
}

/// [`purge_ended_cohorts`], saying how many transactions it took.
///
/// Never one long transaction: the candidates come [`PURGE_CANDIDATES`] at a time from
/// one query, and each cohort is purged in short write transactions ([`purge_cohort`]),
/// so that the people using the app meanwhile wait for the lock no longer than one of
/// them. An interrupted purge resumes where it stopped: each step is idempotent and the
/// cohort's `purged_at`, which takes it off the candidates, is set last.
pub fn purge_ended(
    conn: &mut Conn,
    months: u32,
    now: DateTime<Utc>,
) -> Result<PurgeReport, AppError> {
    let mut report = PurgeReport::default();
    if months == 0 {
        return Ok(report);
    }
    let Some(limit) = now.naive_utc().checked_sub_months(Months::new(months)) else {
        return Ok(report);
    };
    loop {
        let candidates = purge_candidates(conn, limit)?;
        if candidates.is_empty() {
            break;
        }
        for cohort_id in &candidates {
            purge_cohort(conn, cohort_id, now, &mut report.transactions)?;
            report.cohorts += 1;
        }
        // Let the erasures leave the WAL as the purge goes, not only at its end.
        checkpoint_after_erasure(conn);
    }
    if report.cohorts > 0 {
        // Once at the end: the personal indexes rebuilt (their stale page fragments gone).
        erase_from_files(conn);
        tracing::info!(
            purged = report.cohorts,
            transactions = report.transactions,
            months,
            "personal data of ended cohorts purged"
        );
    }
    Ok(report)
}

/// Up to [`PURGE_CANDIDATES`] cohorts not purged yet whose last session ended before
/// `limit`, in one query (a cohort without sessions has no end to count from).
///
/// Asked by every dispatcher process when it starts, and almost always answered « none »:
/// each cohort not purged (`cohorts_not_purged`) costs two probes of a sessions index
/// (`sessions_cohort_ends`: one session at all, none ending at or after `limit`), never a
/// read of its sessions' rows (a `GROUP BY … HAVING max(ends_at)` read them all).
fn purge_candidates(conn: &mut Conn, limit: NaiveDateTime) -> Result<Vec<String>, AppError> {
    let of_cohort = || sessions::table.filter(sessions::cohort_id.eq(cohorts::id));
    Ok(cohorts::table
        .filter(cohorts::purged_at.is_null())
        .filter(exists(of_cohort()))
        .filter(not(exists(of_cohort().filter(sessions::ends_at.ge(limit)))))
        .order(cohorts::id.asc())
        .select(cohorts::id)
        .limit(PURGE_CANDIDATES)
        .load(conn)?)
}

/// A purge step's write transaction, then a pause as long as the transaction held the lock.
///
/// Short transactions alone were not enough: run back to back, they release the write lock
/// for microseconds, while a person's write waiting in SQLite's busy handler polls it at
/// intervals of up to 100 ms and kept missing it (a probe waited up to 0.9 s; the benchmark
/// saw a write refused after the 2 s budget). Pausing as long as it held the lock leaves the
/// purge at most half of the time, so a waiting write gets in within a few polls; the purge
/// takes about twice as long, in the background. A step that held the lock 100 ms or more
/// is logged (debug).
fn purge_step<T>(
    conn: &mut Conn,
    step: &'static str,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut Tx) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let started = std::time::Instant::now();
    let out = write_with(conn, Author::system(), now, f);
    let held = started.elapsed();
    if held >= std::time::Duration::from_millis(100) {
        tracing::debug!(
            step,
            held_ms = held.as_millis() as u64,
            "long purge transaction"
        );
    }
    std::thread::sleep(held.max(std::time::Duration::from_millis(1)));
    out
}

/// Purges one cohort in short write transactions, counted in `transactions`: its
/// pending emails cancelled; its emails' bodies blanked, [`PURGE_BODIES_BATCH`] at a
/// time; each participant·e anonymised, one per transaction; then the évaluations'
/// texts, the bilans' guests, the recipients of the emails to no participant,
/// `purged_at` and the audit row, together.
fn purge_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    now: DateTime<Utc>,
    transactions: &mut usize,
) -> Result<(), AppError> {
    let at = now.naive_utc();
    use crate::db::schema::outbox_bodies;
    let in_cohort = outbox_emails::cohort_id.eq(cohort_id);
    purge_step(conn, "cancel", now, |tx| {
        diesel::update(
            outbox_emails::table
                .filter(in_cohort)
                .filter(in_list(outbox_emails::status, [
                    Status::Draft.as_str(),
                    Status::Scheduled.as_str(),
                    Status::Failed.as_str(),
                ])),
        )
        .set((
            outbox_emails::status.eq(Status::Cancelled.as_str()),
            outbox_emails::note.eq(Some(
                "Purge des données personnelles : la cohorte est terminée, cet e-mail ne partira pas.",
            )),
        ))
        .execute(tx.conn())?;
        Ok(())
    })?;
    *transactions += 1;
    // Blanked first: the scrub of each person's name below then finds short texts.
    let erased = erased_bodies();
    loop {
        let blanked = purge_step(conn, "blank", now, |tx| {
            let ids: Vec<String> = outbox_emails::table
                .inner_join(outbox_bodies::table)
                .filter(in_cohort)
                .filter(
                    outbox_bodies::packed
                        .is_not_null()
                        .or(outbox_bodies::ics.is_not_null())
                        .or(outbox_emails::ics_method.is_not_null())
                        .or(outbox_bodies::body_text.ne(&erased.body_text))
                        .or(outbox_bodies::body_html.ne(&erased.body_html)),
                )
                .select(outbox_emails::id)
                .limit(PURGE_BODIES_BATCH)
                .load(tx.conn())?;
            crate::models::outbox::overwrite_bodies(tx, &ids, &erased)?;
            diesel::update(outbox_emails::table.filter(in_list(outbox_emails::id, &ids)))
                .set((
                    outbox_emails::ics_method.eq(None::<String>),
                    outbox_emails::updated_at.eq(at),
                ))
                .execute(tx.conn())?;
            Ok(ids.len())
        })?;
        *transactions += 1;
        if blanked < PURGE_BODIES_BATCH as usize {
            break;
        }
    }
    // Those anonymised already (by someone, or by an interrupted purge) are done.
    let people: Vec<String> = participants::table
        .inner_join(associations::table)
        .filter(associations::cohort_id.eq(cohort_id))
        .filter(participants::anonymised_at.is_null())
        .select(participants::id)
        .load(conn)?;
    for p in &people {
        purge_step(conn, "anonymise", now, |tx| {
            anonymise_participant_in(tx, p, at)
        })?;
        *transactions += 1;
    }
    purge_step(conn, "close", now, |tx| {
        let association_ids: Vec<String> = associations::table
            .filter(associations::cohort_id.eq(cohort_id))
            .select(associations::id)
            .load(tx.conn())?;
        clear_evaluation_texts(tx, &association_ids)?;
        // A bilan's guests are people too.
        let session_ids: Vec<String> = sessions::table
            .filter(sessions::cohort_id.eq(cohort_id))
            .select(sessions::id)
            .load(tx.conn())?;
        diesel::update(
            session_guests::table.filter(in_list(session_guests::session_id, &session_ids)),
        )
        .set((
            session_guests::name.eq(ANONYMOUS_GUEST),
            // One non-deliverable address each (one address once per bilan):
            // `guest_placeholder`, in SQL.
            session_guests::email.eq(GUEST_PLACEHOLDER
                .0
                .into_sql::<diesel::sql_types::Text>()
                .concat(session_guests::id)
                .concat(GUEST_PLACEHOLDER.1)),
            session_guests::organisation.eq(""),
        ))
        .execute(tx.conn())?;
        anonymise_other_recipients(tx, cohort_id, at)?;
        // The call and what is left of its applications (their emails were blanked above).
        let application_ids = crate::models::call::application_ids(tx, cohort_id)?;
        drop_applications(tx, &application_ids)?;
        diesel::delete(
            crate::db::schema::calls::table
                .filter(crate::db::schema::calls::cohort_id.eq(cohort_id)),
        )
        .execute(tx.conn())?;
        // Last: until it is set, the cohort stays a candidate and a new purge resumes it.
        diesel::update(cohorts::table.find(cohort_id))
            .set(cohorts::purged_at.eq(Some(at)))
            .execute(tx.conn())?;
        record(
            tx,
            cohort_id,
            "cohort",
            cohort_id,
            crate::models::audit::Action::Purge,
        )
    })?;
    *transactions += 1;
    Ok(())
}

/// The emails of a purged cohort addressed to no participant — the bilans' guests'
/// convocations and notices, the applicants' letters, a deleted participant's, the
/// staff's — their bodies blanked already: history kept, each addressed to a placeholder
/// ([`erase_recipient`]), a guest's convocation to its guest's, any other to its own row's.
/// The cohort's emails, through its index.
fn anonymise_other_recipients(
    tx: &mut Tx,
    cohort_id: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let rows: Vec<(String, String, String)> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .filter(outbox_emails::participant_id.is_null())
        .select((
            outbox_emails::id,
            outbox_emails::kind,
            outbox_emails::item_id,
        ))
        .load(tx.conn())?;
    for (id, kind, item_id) in rows {
        if kind == crate::models::guest::CONVOCATION {
            erase_recipient(tx, &id, &guest_placeholder(&item_id), ANONYMOUS_GUEST, at)?;
        } else {
            let placeholder = format!("destinataire-{id}@anonyme.invalid");
            erase_recipient(tx, &id, &placeholder, ANONYMOUS_RECIPIENT, at)?;
        }
    }
    Ok(())
}

/// Email `id`'s recipient erased: addressed to `placeholder` under `name`, its last error
/// (which an SMTP server may have written with the address in it) cleared, and a key of
/// the row's own ([`erased_key`]) for the digest of the address.
fn erase_recipient(
    tx: &mut Tx,
    id: &str,
    placeholder: &str,
    name: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(outbox_emails::table.find(id))
        .set((
            outbox_emails::recipient_email.eq(placeholder),
            outbox_emails::recipient_name.eq(name),
            outbox_emails::dedup_key.eq(erased_key(id)),
            outbox_emails::last_error.eq(None::<String>),
            outbox_emails::last_error_detail.eq(None::<String>),
            outbox_emails::updated_at.eq(at),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// How many applications one purge transaction deletes.
const PURGE_APPLICATIONS_BATCH: i64 = 200;

/// Deletes the applications not retained (and never enrolled) of the calls closed more
/// than `months` months before `now` (`months = 0`: none), with their emails and
/// rate-limit rows, [`PURGE_APPLICATIONS_BATCH`] per short transaction, an audit row (no
/// data) for each. Returns how many were deleted.
pub fn purge_applications(
    conn: &mut Conn,
    months: u32,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    use crate::db::schema::{applications, calls};
    use crate::domain::application::{self as rules, Status as AppStatus};
    if months == 0 {
        return Ok(0);
    }
    // The last closing day whose retention is over (the boundary is the end of a day in
    // Paris, so look around the naive date).
    let Some(back) = now.naive_utc().checked_sub_months(Months::new(months)) else {
        return Ok(0);
    };
    let d0 = back.date();
    let Some(last_day) = (-2i64..=1)
        .filter_map(|k| d0.checked_add_signed(chrono::Duration::days(k)))
        .filter(|d| rules::past_retention(*d, months, now))
        .max()
    else {
        return Ok(0);
    };
    let mut deleted = 0;
    loop {
        let batch: Vec<(String, String)> = applications::table
            .inner_join(calls::table.on(calls::cohort_id.eq(applications::cohort_id)))
            .filter(calls::closes_on.le(last_day))
            .filter(applications::status.ne(AppStatus::Retained.code()))
            .filter(applications::association_id.is_null())
            .select((applications::id, applications::cohort_id))
            .order(applications::id.asc())
            .limit(PURGE_APPLICATIONS_BATCH)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        deleted += batch.len();
        purge_step(conn, "applications", now, |tx| {
            let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            drop_applications(tx, &ids)?;
            for (id, cohort_id) in &batch {
                record(
                    tx,
                    cohort_id,
                    "application",
                    id,
                    crate::models::audit::Action::Purge,
                )?;
            }
            Ok(())
        })?;
    }
    if deleted > 0 {
        erase_from_files(conn);
        tracing::info!(deleted, months, "applications not retained purged");
    }
    Ok(deleted)
}

/// Deletes applications with their emails (and bodies), their rate-limit rows and the
/// data of their audit rows, in the caller's transaction.
fn drop_applications(tx: &mut Tx, ids: &[String]) -> Result<(), AppError> {
    use crate::db::schema::{applications, call_attempts};
    if ids.is_empty() {
        return Ok(());
    }
    diesel::delete(
        outbox_emails::table
            .filter(in_list(
                outbox_emails::kind,
                crate::models::call::APPLICANT_KINDS,
            ))
            .filter(in_list(outbox_emails::item_id, ids)),
    )
    .execute(tx.conn())?;
    diesel::delete(call_attempts::table.filter(in_list(call_attempts::application_id, ids)))
        .execute(tx.conn())?;
    for id in ids {
        redact_audit(tx, id)?;
    }
    diesel::delete(applications::table.filter(in_list(applications::id, ids)))
        .execute(tx.conn())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_replaced_as_typed_html_escaped_and_json_escaped() {
        let map = replacements(&[
            ("Zoé d'Arc", ANONYMOUS_PARTICIPANT),
            ("zoe@exemple.fr", "anonyme@anonyme.invalid"),
            ("Al", "x"),
        ]);
        let text =
            "Bonjour Zoé d'Arc <p>Zoé d&#x27;Arc</p> {\"n\":\"Zoé d'Arc\"} zoe@exemple.fr Al"
                .to_string();
        let out = text.scrubbed(&map).unwrap();
        assert!(!out.contains("Zoé"), "{out}");
        assert!(!out.contains("zoe@"), "{out}");
        // Too short to be replaced safely.
        assert!(out.ends_with(" Al"), "{out}");
        assert_eq!(out.scrubbed(&map), None);
    }

    #[test]
    fn profile_texts_are_cleared_and_figures_kept() {
        let data = json!({
            "human": {"employees": 4, "volunteers": 30},
            "finances": {"year": 2025, "resources": [], "largest_funder_name": "Mairie de Blaye",
                         "largest_funder_cents": 1_000_000},
            "alliances": [{"partner": "Les Amis", "actor_kind": "association", "nature": "moyens"}],
            "das": [{"name": "Crèche", "budget_share_bp": 5000, "notes": "Ouverte en 2019"}],
            "reading": {"strengths": "Une équipe soudée"},
            "levers": {"actions": "Recruter"},
        })
        .to_string();
        let out: Value = serde_json::from_str(&clear_profile_texts(&data).unwrap()).unwrap();
        assert_eq!(out["human"]["employees"], 4);
        assert_eq!(out["finances"]["largest_funder_cents"], 1_000_000);
        assert_eq!(out["finances"]["largest_funder_name"], "");
        assert_eq!(out["alliances"][0]["partner"], "");
        assert_eq!(out["alliances"][0]["nature"], "moyens");
        assert_eq!(out["das"][0]["name"], "Domaine 1");
        assert_eq!(out["das"][0]["budget_share_bp"], 5000);
        assert_eq!(out["reading"]["strengths"], "");
        assert_eq!(out["levers"]["actions"], "");
    }
}
