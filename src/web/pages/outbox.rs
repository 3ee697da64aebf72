//! The outbox of a cohort: every e-mail with its French status, the actions that apply to
//! it (validate a draft, hold, cancel, correct the address and resend a failure) and a
//! preview of one e-mail as its recipient will see it.
//!
//! The stored HTML body is never injected into the page: the preview shows the text
//! version, and the HTML source escaped.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use crate::domain::fr;
use crate::domain::outbox::Status;
use crate::domain::schedule::{self, Schedule};
use crate::error::AppError;
use crate::models::cohort::{self, ScheduleInput};
use crate::models::outbox::{self, OutboxEmail};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{Confirm, NoticeQuery, PageResult, confirm, redirect, render, with_notice};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/envois", web::get().to(list))
        .route("/cohortes/{id}/publier", web::get().to(publish_confirm))
        .route("/cohortes/{id}/publier", web::post().to(publish))
        .route(
            "/cohortes/{id}/envois/reglages",
            web::get().to(settings_form),
        )
        .route(
            "/cohortes/{id}/envois/reglages",
            web::post().to(settings_save),
        )
        .route("/cohortes/{id}/envois/valider", web::post().to(release_all))
        .route("/envois/{id}", web::get().to(show))
        .route("/envois/{id}/valider", web::post().to(release))
        .route("/envois/{id}/retenir", web::post().to(hold))
        .route("/envois/{id}/annuler", web::get().to(confirm_cancel))
        .route("/envois/{id}/annuler", web::post().to(cancel))
        .route("/envois/{id}/renvoyer", web::post().to(resend));
}

/// The French name of an e-mail's kind, or the kind itself when it has none.
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "convocation" => "Convocation",
        "application_ack" => "Accusé de réception d'une candidature",
        "application_withdrawn" => "Candidature retirée",
        "meeting_invite" => "Invitation à la réunion d'information",
        "meeting_updated" => "Réunion d'information modifiée",
        "meeting_cancelled" => "Réunion d'information annulée",
        "session_moved" => "Séance déplacée",
        "session_updated" => "Séance modifiée",
        "session_cancelled" => "Séance annulée",
        "invite_withdrawn" => "Retrait de l'agenda",
        "homework_assigned" => "Travail préparatoire",
        "homework_reminder" => "Rappel de travail",
        "homework_overdue" => "Travail en retard",
        "weekly_summary" => "Récapitulatif hebdomadaire",
        "compte_rendu" => "Compte rendu",
        "guest_convocation" => "Convocation d'un·e invité·e",
        "guest_removed" => "Invitation retirée",
        "evaluation_reminder" => "Rappel d'évaluation",
        "evaluation_followup" => "Suivi à quelques mois",
        "commitment_request" => "Demande de confirmation d'engagement",
        "application_decision" => "Décision sur une candidature",
        other => match other.strip_prefix("reminder_j") {
            Some("1") => "Rappel la veille (J-1)",
            Some(_) => "Rappel de séance",
            None => other,
        },
    }
}

/// « Rappel J-7 » for `reminder_j7`: the kind's label with its lead time.
fn kind_text(kind: &str) -> String {
    match kind.strip_prefix("reminder_j") {
        Some(days) if days != "1" => format!("Rappel J-{days}"),
        _ => kind_label(kind).to_string(),
    }
}

/// A correction typed in a failed row's form, with the message refusing it.
struct Typed<'a> {
    id: &'a str,
    address: &'a str,
    error: Option<String>,
}

fn row(e: &OutboxEmail, typed: Option<&Typed<'_>>) -> Value {
    let status = e.status();
    let mine = typed.filter(|t| t.id == e.id);
    json!({
        "id": e.id,
        "recipient_name": e.recipient_name,
        "recipient_email": e.recipient_email,
        "subject": e.subject,
        "kind_label": kind_text(&e.kind),
        "status": status.as_str(),
        "status_label": status.label(),
        "send_after": view::utc_long(e.send_after),
        "sent_at": e.sent_at.map(view::utc_long),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "last_error_detail": e.last_error_detail,
        "note": e.note,
        "can_release": status == Status::Draft,
        "can_hold": status == Status::Scheduled,
        "can_cancel": matches!(status, Status::Draft | Status::Scheduled | Status::Failed),
        "can_resend": status == Status::Failed,
        "typed_email": mine.map(|t| t.address.to_string()).unwrap_or_else(|| e.recipient_email.clone()),
        "error": mine.and_then(|t| t.error.clone()),
    })
}

/// Where the « Envois » page was: its status filter and page, carried by the row actions so
/// that the person comes back to the row they acted on.
#[derive(Clone, Debug, Default, serde::Deserialize)]
struct Place {
    #[serde(default)]
    statut: String,
    #[serde(default)]
    page: Option<String>,
}

impl Place {
    fn only(&self) -> Option<Status> {
        Status::parse(&self.statut)
    }

    /// `?statut=…&page=…` (empty when neither is set).
    fn query(&self, page: i64) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.only() {
            parts.push(format!("statut={}", s.as_str()));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .max(1)
    }
}

/// The group heading of a row: its session (« État des lieux — lundi 15 février 2027 »),
/// or its kind for the rest.
fn group_of(e: &OutboxEmail, about: Option<&outbox::AboutSession>) -> (String, String) {
    match about {
        Some(s) => {
            let kind = crate::domain::programme::SessionKind::parse(&s.kind)
                .map(|k| k.label())
                .unwrap_or("Séance");
            let label = match &s.association_name {
                Some(name) => format!("{kind} — {name}"),
                None => kind.to_string(),
            };
            (
                format!("session:{}", s.id),
                format!("{label}, {}", view::utc_long(s.starts_at)),
            )
        }
        None => (format!("kind:{}", e.kind), kind_label(&e.kind).to_string()),
    }
}

async fn list_ctx(
    state: &AppState,
    cohort_id: &str,
    typed: Option<&Typed<'_>>,
    place: &Place,
) -> Result<Value, AppError> {
    let cid = cohort_id.to_string();
    let only = place.only();
    let wanted = place.page();
    let (co, counts, total_shown, page, rows) = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &cid)?;
        let counts = outbox::counts_for_cohort(c, &cid)?;
        let shown = outbox::count_for_cohort(c, &cid, only)?;
        let page = crate::web::pages::page_number(
            &crate::web::pages::PageQuery {
                page: Some(wanted.to_string()),
            },
            shown,
        );
        let per = crate::web::pages::PER_PAGE;
        let rows = outbox::page_for_cohort(c, &cid, only, per, (page - 1) * per)?;
        Ok((co, counts, shown, page, rows))
    })
    .await?;
    let total: i64 = counts.by_status.iter().map(|(_, n)| n).sum();
    let status_counts: Vec<Value> = counts
        .by_status
        .iter()
        .map(|(s, n)| {
            json!({
                "status": s.as_str(),
                "label": s.label(),
                "count": n,
                "current": only == Some(*s),
            })
        })
        .collect();
    let back_query = place.query(page);
    // Consecutive rows of the same session (or kind) under one heading.
    let mut groups: Vec<Value> = Vec::new();
    let mut current_key = String::new();
    for (e, about) in &rows {
        let (key, label) = group_of(e, about.as_ref());
        let mut r = row(e, typed);
        r["back_query"] = json!(back_query);
        if key != current_key || groups.is_empty() {
            groups.push(json!({"label": label, "emails": []}));
            current_key = key;
        }
        if let Some(last) = groups.last_mut()
            && let Some(list) = last["emails"].as_array_mut()
        {
            list.push(r);
        }
    }
    let base = format!(
        "/cohortes/{}/envois{}",
        co.id,
        only.map(|s| format!("?statut={}", s.as_str()))
            .unwrap_or_default()
    );
    let schedule = co.schedule(&state.config.mail.schedule);
    Ok(json!({
        "title": "Envois de la cohorte",
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "published_at": co.published_at.map(view::utc_long),
        "settings": settings_summary(&schedule, !co.schedule_override().is_empty()),
        "total": total,
        "filtered": only.map(|s| s.label()),
        "counts": status_counts,
        // Waiting for their review (not held back by the team), and when the page was made.
        "drafts": counts.drafts,
        "held": counts.held,
        "shown_at": state.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "groups": groups,
        "any": !rows.is_empty(),
        "pager": crate::web::pages::pager(&base, page, total_shown, ("e-mail", "e-mails")),
    }))
}

async fn list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
    place: web::Query<Place>,
) -> PageResult {
    let id = path.into_inner();
    let c = list_ctx(&state, &id, None, &place).await?;
    render(&state, "pages/outbox/list", with_notice(c, &q))
}

async fn show(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (e, co) = crate::db::run(&state.pool, move |c| {
        let e = outbox::get_full(c, &id)?;
        let co = match &e.cohort_id {
            Some(cid) => Some(cohort::get(c, cid)?),
            None => None,
        };
        Ok((e, co))
    })
    .await?;
    let status = e.status();
    let mail = &state.config.mail;
    render(
        &state,
        "pages/outbox/show",
        json!({
            "title": format!("Aperçu : {}", e.subject),
            "nav_cohorts": true,
            "cohort": co.map(|c| json!({"id": c.id, "name": c.name})),
            "email": {
                "id": e.id,
                "subject": e.subject,
                "from_name": mail.from_name,
                "from_address": mail.from_address,
                "recipient_name": e.recipient_name,
                "recipient_email": e.recipient_email,
                "kind_label": kind_text(&e.kind),
                "status": status.as_str(),
                "status_label": status.label(),
                "send_after": view::utc_long(e.send_after),
                "sent_at": e.sent_at.map(view::utc_long),
                "body_text": e.body_text,
                "body_html": e.body_html,
                "has_invite": e.ics.is_some(),
                "ics_cancel": e.ics_method.as_deref() == Some("CANCEL"),
                // What can be done from the preview, as from the list.
                "can_release": status == Status::Draft,
                "can_hold": status == Status::Scheduled,
                "can_cancel": matches!(status, Status::Draft | Status::Scheduled | Status::Failed),
            },
        }),
    )
}

/// Where to go back after an action on `e`: its row on its cohort's outbox, on the page and
/// filter the action was taken from.
fn back(e: &OutboxEmail, place: &Place) -> String {
    match &e.cohort_id {
        Some(cid) => format!(
            "/cohortes/{cid}/envois{}#envoi-{}",
            place.query(place.page()),
            e.id
        ),
        None => "/cohortes".to_string(),
    }
}

async fn transition(
    state: &AppState,
    id: String,
    place: &Place,
    f: fn(&mut crate::db::Tx<'_>, &str) -> Result<OutboxEmail, AppError>,
    notice: &str,
) -> PageResult {
    let e = state.write(move |c| f(c, &id)).await?;
    Ok(redirect(&back(&e, place), Some(notice)))
}

async fn release(
    state: web::Data<AppState>,
    path: web::Path<String>,
    place: web::Query<Place>,
) -> PageResult {
    transition(
        &state,
        path.into_inner(),
        &place,
        outbox::release,
        "envoi_valide",
    )
    .await
}

/// What « Valider les N e-mails » posts: when the page showing them was made.
#[derive(serde::Deserialize)]
struct ReleaseAllInput {
    #[serde(default)]
    shown_at: String,
}

/// « Valider les N e-mails » of the outbox page: the drafts the page showed leave at their
/// planned time; those held back, or created since, still wait.
async fn release_all(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<ReleaseAllInput>,
) -> PageResult {
    let id = path.into_inner();
    let shown_at = chrono::DateTime::parse_from_rfc3339(input.shown_at.trim())
        .map(|t| t.naive_utc())
        .map_err(|_| AppError::BadRequest {
            code: "stale_page",
            message:
                "La page des envois est incomplète : rechargez-la, relisez et validez à nouveau."
                    .into(),
        })?;
    let cid = id.clone();
    state
        .write(move |c| outbox::release_all(c, &cid, shown_at))
        .await?;
    Ok(redirect(
        &format!("/cohortes/{id}/envois"),
        Some("envois_valides"),
    ))
}

async fn hold(
    state: web::Data<AppState>,
    path: web::Path<String>,
    place: web::Query<Place>,
) -> PageResult {
    transition(
        &state,
        path.into_inner(),
        &place,
        outbox::hold,
        "envoi_retenu",
    )
    .await
}

async fn confirm_cancel(
    state: web::Data<AppState>,
    path: web::Path<String>,
    place: web::Query<Place>,
) -> PageResult {
    let id = path.into_inner();
    let eid = id.clone();
    let e = crate::db::run(&state.pool, move |c| outbox::get(c, &eid)).await?;
    let status = e.status();
    if !matches!(status, Status::Draft | Status::Scheduled | Status::Failed) {
        return Err(AppError::Conflict {
            code: "not_cancellable",
            message: format!(
                "Cet e-mail ne peut plus être annulé : il est « {} ».",
                status.label()
            ),
        }
        .into());
    }
    let when = match e.sent_at {
        Some(_) => String::new(),
        None => format!(" (prévu le {})", view::utc_long(e.send_after)),
    };
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Annuler l'envoi à {} ?", e.recipient_name),
            message: format!(
                "L'e-mail « {} » à {} <{}>{when} ne partira pas. Il restera dans la liste des envois comme annulé.",
                e.subject, e.recipient_name, e.recipient_email
            ),
            action: format!("/envois/{id}/annuler{}", place.query(place.page())),
            confirm_label: "Annuler l'envoi".into(),
            cancel: back(&e, &place),
            cancel_label: Some("Garder l'envoi".into()),
            ..Default::default()
        },
    )
}

async fn cancel(
    state: web::Data<AppState>,
    path: web::Path<String>,
    place: web::Query<Place>,
) -> PageResult {
    transition(
        &state,
        path.into_inner(),
        &place,
        outbox::cancel,
        "envoi_annule",
    )
    .await
}

#[derive(serde::Deserialize, Default)]
struct ResendForm {
    #[serde(default)]
    recipient_email: String,
}

async fn resend(
    state: web::Data<AppState>,
    path: web::Path<String>,
    place: web::Query<Place>,
    Form(f): Form<ResendForm>,
) -> PageResult {
    let id = path.into_inner();
    let (eid, address) = (id.clone(), f.recipient_email.clone());
    match state
        .write(move |c| outbox::resend(c, &eid, Some(address)))
        .await
    {
        Ok(e) => Ok(redirect(&back(&e, &place), Some("envoi_relance"))),
        Err(err) => {
            let refusal = super::Refusal::of(err)?;
            let eid = id.clone();
            let e = crate::db::run(&state.pool, move |c| outbox::get(c, &eid)).await?;
            let Some(cid) = e.cohort_id.clone() else {
                return Err(refusal.into_error().into());
            };
            let typed = Typed {
                id: &id,
                address: &f.recipient_email,
                error: refusal.fields.get("recipient_email").cloned(),
            };
            let mut c = list_ctx(&state, &cid, Some(&typed), &place).await?;
            refusal.render(&state, "pages/outbox/list", &mut c)
        }
    }
}

/// The settings in force, as sentences for the outbox page.
fn settings_summary(s: &Schedule, custom: bool) -> Value {
    let hour = |h: u32| format!("{h}\u{a0}h");
    // « 1 jour », « 3 jours »: a whole number of days, singular below 2.
    let days = |n: u32| crate::domain::fr::days(f64::from(n));
    json!({
        "custom": custom,
        "review": s.review_before_send,
        "lines": [
            if s.convocation_days_before == 0 {
                "Convocations : dès la publication du programme.".to_string()
            } else {
                format!(
                    "Convocations : {} avant chaque séance, à {}.",
                    days(s.convocation_days_before),
                    hour(s.reminder_hour)
                )
            },
            format!(
                "Rappels de séance : {}, à {}.",
                schedule::reminder_days_label(&s.reminder_days_sorted()),
                hour(s.reminder_hour)
            ),
            if s.homework_reminder_days == 0 {
                "Rappel de travail préparatoire : aucun.".to_string()
            } else {
                format!(
                    "Rappel de travail préparatoire : {} avant l'échéance, aux associations qui ne l'ont pas rendu.",
                    days(s.homework_reminder_days)
                )
            },
            if s.overdue_days == 0 {
                "Relance après l'échéance : aucune.".to_string()
            } else {
                format!("Relance après l'échéance : {} après.", days(s.overdue_days))
            },
            if s.summary_weekday == 0 {
                "Récapitulatif hebdomadaire : aucun.".to_string()
            } else {
                format!(
                    "Récapitulatif hebdomadaire à l'équipe (consultant·e et chargé·e de mission) : le {} à {}.",
                    schedule::weekday_label(s.summary_weekday),
                    hour(s.summary_hour)
                )
            },
            if s.review_before_send {
                "Valider les envois : oui — les e-mails automatiques attendent votre validation.".to_string()
            } else {
                "Valider les envois : non — les e-mails automatiques partent à l'heure prévue.".to_string()
            },
        ],
    })
}

/// What publishing will send, for the publish page: per kind, how many emails leave at once
/// and how many later (until when), and to whom.
fn publication_summary(emails: &[outbox::NewEmail], now: chrono::DateTime<chrono::Utc>) -> Value {
    // Due within the dispatcher's next passes: « tout de suite ».
    let soon = now + chrono::Duration::minutes(5);
    let mut kinds: Vec<(String, i64, i64, Option<chrono::DateTime<chrono::Utc>>)> = Vec::new();
    for e in emails {
        let label = kind_text(&e.kind);
        let i = match kinds.iter().position(|k| k.0 == label) {
            Some(i) => i,
            None => {
                kinds.push((label, 0, 0, None));
                kinds.len() - 1
            }
        };
        if e.send_after <= soon {
            kinds[i].1 += 1;
        } else {
            kinds[i].2 += 1;
            kinds[i].3 = kinds[i].3.max(Some(e.send_after));
        }
    }
    let mut recipients: Vec<(String, String)> = emails
        .iter()
        .map(|e| (e.recipient_name.clone(), e.recipient_email.clone()))
        .collect();
    recipients.sort();
    recipients.dedup();
    let now_count: i64 = kinds.iter().map(|k| k.1).sum();
    let later_count: i64 = kinds.iter().map(|k| k.2).sum();
    let plural = |n: i64, one: &str, many: &str| {
        format!(
            "{} {}",
            fr::decimal(n as f64, 0),
            if n > 1 { many } else { one }
        )
    };
    json!({
        "total": emails.len(),
        "now_text": plural(now_count, "e-mail part", "e-mails partent"),
        "later_text": plural(later_count, "e-mail suivra", "e-mails suivront"),
        "last": emails.iter().map(|e| e.send_after).max().map(|t| view::utc_long(t.naive_utc())),
        "drafts": emails.iter().any(|e| e.draft),
        "kinds": kinds.iter().map(|(label, now, later, until)| json!({
            "label": label,
            "now": now,
            "later": later,
            "until": until.map(|t| view::utc_long(t.naive_utc())),
        })).collect::<Vec<_>>(),
        "recipients_text": plural(recipients.len() as i64, "personne", "personnes"),
        "recipients": recipients.iter().map(|(name, email)| json!({"name": name, "email": email})).collect::<Vec<_>>(),
    })
}

async fn publish_confirm(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let mail = state.mail.clone();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let now = state.clock.now();
    let (overview, emails) = crate::db::run(&state.pool, move |c| {
        let overview = crate::models::programme::overview(c, &cid, &template, am)?;
        let emails = if overview.cohort.published_at.is_none() {
            crate::models::planner::preview(c, &mail, &cid, now)?
        } else {
            Vec::new()
        };
        Ok((overview, emails))
    })
    .await?;
    let co = &overview.cohort;
    if co.published_at.is_some() {
        return Ok(redirect(&format!("/cohortes/{id}/envois"), None));
    }
    let schedule = co.schedule(&state.config.mail.schedule);
    render(
        &state,
        "pages/outbox/publish",
        json!({
            "title": "Publier le programme",
            "nav_cohorts": true,
            "cohort": {"id": co.id, "name": co.name},
            "sessions": overview.sessions.len(),
            "people": overview.participants.len(),
            "settings": settings_summary(&schedule, !co.schedule_override().is_empty()),
            "summary": publication_summary(&emails, now),
            "warnings": overview.warnings,
        }),
    )
}

async fn publish(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    state.write(move |c| cohort::publish(c, &cid)).await?;
    Ok(redirect(
        &format!("/cohortes/{id}/envois"),
        Some("programme_publie"),
    ))
}

/// The settings form: each field with its default as a hint.
fn settings_page(
    state: &AppState,
    co: &cohort::Cohort,
    input: &ScheduleInput,
    errors: &std::collections::BTreeMap<String, String>,
) -> Value {
    let d = &state.config.mail.schedule;
    let field = |name: &str, label: &str, value: &str, hint: String| {
        json!({
            "name": name,
            "label": label,
            "value": value,
            "hint": hint,
            "error": errors.get(name),
        })
    };
    let review_options = view::options(
        &[
            (
                "",
                if d.review_before_send {
                    "Par défaut (oui)"
                } else {
                    "Par défaut (non)"
                },
            ),
            (
                "oui",
                "Oui : chaque e-mail automatique attend ma validation",
            ),
            ("non", "Non : les e-mails partent à l'heure prévue"),
        ],
        &input.review_before_send,
    );
    json!({
        "title": "Réglages des envois",
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "version": input.version,
        "fields": [
            field("convocation_days_before", "Convocations : jours avant la séance", &input.convocation_days_before,
                format!("0 = dès la publication du programme. Par défaut : {}.", d.convocation_days_before)),
            field("reminder_days", "Rappels de séance (jours avant)", &input.reminder_days,
                format!("Par exemple « 7, 1 » ; « aucun » pour ne pas en envoyer. Par défaut : {}.",
                    d.reminder_days.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))),
            field("reminder_hour", "Heure des rappels (heure de Paris)", &input.reminder_hour,
                format!("De 0 à 23. Par défaut : {}.", d.reminder_hour)),
            field("homework_reminder_days", "Rappel de travail préparatoire : jours avant l'échéance", &input.homework_reminder_days,
                format!("0 = aucun. Par défaut : {}.", d.homework_reminder_days)),
            field("overdue_days", "Relance : jours après l'échéance", &input.overdue_days,
                format!("0 = aucune. Par défaut : {}.", d.overdue_days)),
            field("summary_weekday", "Jour du récapitulatif hebdomadaire", &input.summary_weekday,
                format!("1 = lundi … 7 = dimanche, 0 = aucun. Par défaut : {} ({}).", d.summary_weekday, schedule::weekday_label(d.summary_weekday))),
            field("summary_hour", "Heure du récapitulatif (heure de Paris)", &input.summary_hour,
                format!("De 0 à 23. Par défaut : {}.", d.summary_hour)),
        ],
        "review": {
            "name": "review_before_send",
            "label": "Valider les envois",
            "options": review_options,
            "error": errors.get("review_before_send"),
        },
    })
}

async fn settings_form(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let co = crate::db::run(&state.pool, move |c| cohort::get(c, &cid)).await?;
    let input = ScheduleInput::from_override(&co.schedule_override(), co.version);
    let ctx = settings_page(&state, &co, &input, &Default::default());
    render(&state, "pages/outbox/settings", ctx)
}

async fn settings_save(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<ScheduleInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i, defaults) = (
        id.clone(),
        input.clone(),
        state.config.mail.schedule.clone(),
    );
    match state
        .write(move |c| cohort::set_schedule(c, &cid, &i, &defaults))
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}/envois"),
            Some("reglages_envois_enregistres"),
        )),
        Err(err) => {
            let refusal = super::Refusal::of(err)?;
            let cid = id.clone();
            let co = crate::db::run(&state.pool, move |c| cohort::get(c, &cid)).await?;
            let mut typed = input;
            if refusal.status == StatusCode::CONFLICT {
                typed.version = co.version.to_string();
            }
            let mut ctx = settings_page(&state, &co, &typed, &refusal.fields);
            refusal.render(&state, "pages/outbox/settings", &mut ctx)
        }
    }
}
