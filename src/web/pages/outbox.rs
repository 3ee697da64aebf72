//! The outbox of a cohort: every e-mail with its French status, the actions that apply to
//! it (validate a draft, hold, cancel, correct the address and resend a failure) and a
//! preview of one e-mail as its recipient will see it.
//!
//! The stored HTML body is never injected into the page: the preview shows the text
//! version, and the HTML source escaped.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use crate::domain::outbox::Status;
use crate::error::AppError;
use crate::models::cohort;
use crate::models::outbox::{self, OutboxEmail};
use crate::web::AppState;
use crate::web::actor::{Action, Actor};
use crate::web::form::Form;
use crate::web::pages::{NoticeQuery, PageResult, redirect, render, render_status, with_notice};
use crate::web::view;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cohortes/{id}/envois", web::get().to(list))
        .route("/envois/{id}", web::get().to(show))
        .route("/envois/{id}/valider", web::post().to(release))
        .route("/envois/{id}/retenir", web::post().to(hold))
        .route("/envois/{id}/annuler", web::post().to(cancel))
        .route("/envois/{id}/renvoyer", web::post().to(resend));
}

/// The French name of an e-mail's kind, or the kind itself when it has none.
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "convocation" => "Convocation",
        "session_moved" => "Séance déplacée",
        "session_cancelled" => "Séance annulée",
        "reminder_j7" => "Rappel J-7",
        other => other,
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
        "kind_label": kind_label(&e.kind),
        "status": status.as_str(),
        "status_label": status.label(),
        "send_after": view::utc_long(e.send_after),
        "sent_at": e.sent_at.map(view::utc_long),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "can_release": status == Status::Draft,
        "can_hold": status == Status::Scheduled,
        "can_cancel": matches!(status, Status::Draft | Status::Scheduled | Status::Failed),
        "can_resend": status == Status::Failed,
        "typed_email": mine.map(|t| t.address.to_string()).unwrap_or_else(|| e.recipient_email.clone()),
        "error": mine.and_then(|t| t.error.clone()),
    })
}

async fn list_ctx(
    state: &AppState,
    cohort_id: &str,
    typed: Option<&Typed<'_>>,
) -> Result<Value, AppError> {
    let cid = cohort_id.to_string();
    let (co, emails) = crate::db::run(&state.pool, move |c| {
        Ok((cohort::get(c, &cid)?, outbox::list_for_cohort(c, &cid)?))
    })
    .await?;
    let counts: Vec<Value> = Status::ALL
        .iter()
        .filter_map(|s| {
            let n = emails.iter().filter(|e| e.status() == *s).count();
            (n > 0).then(|| json!({"status": s.as_str(), "label": s.label(), "count": n}))
        })
        .collect();
    Ok(json!({
        "title": "Envois de la cohorte",
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "total": emails.len(),
        "counts": counts,
        "emails": emails.iter().map(|e| row(e, typed)).collect::<Vec<_>>(),
    }))
}

async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    actor.authorize(Action::ViewCohort(&id))?;
    let c = list_ctx(&state, &id, None).await?;
    render(&state, "pages/outbox/list", with_notice(c, &q))
}

async fn show(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    actor.authorize(Action::ManageOutbox(&id))?;
    let (e, co) = crate::db::run(&state.pool, move |c| {
        let e = outbox::get(c, &id)?;
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
                "kind_label": kind_label(&e.kind),
                "status": status.as_str(),
                "status_label": status.label(),
                "send_after": view::utc_long(e.send_after),
                "sent_at": e.sent_at.map(view::utc_long),
                "body_text": e.body_text,
                "body_html": e.body_html,
                "has_invite": e.ics.is_some(),
                "ics_cancel": e.ics_method.as_deref() == Some("CANCEL"),
            },
        }),
    )
}

/// Where to go back after an action on `e`: its row on its cohort's outbox.
fn back(e: &OutboxEmail) -> String {
    match &e.cohort_id {
        Some(cid) => format!("/cohortes/{cid}/envois#envoi-{}", e.id),
        None => "/cohortes".to_string(),
    }
}

async fn transition(
    state: &AppState,
    actor: &Actor,
    id: String,
    f: fn(&mut crate::db::Conn, &str) -> Result<OutboxEmail, AppError>,
    notice: &str,
) -> PageResult {
    actor.authorize(Action::ManageOutbox(&id))?;
    let e = crate::db::run(&state.pool, move |c| f(c, &id)).await?;
    Ok(redirect(&back(&e), Some(notice)))
}

async fn release(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    transition(
        &state,
        &actor,
        path.into_inner(),
        outbox::release,
        "envoi_valide",
    )
    .await
}

async fn hold(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    transition(
        &state,
        &actor,
        path.into_inner(),
        outbox::hold,
        "envoi_retenu",
    )
    .await
}

async fn cancel(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    transition(
        &state,
        &actor,
        path.into_inner(),
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
    actor: Actor,
    path: web::Path<String>,
    Form(f): Form<ResendForm>,
) -> PageResult {
    let id = path.into_inner();
    actor.authorize(Action::ManageOutbox(&id))?;
    let (eid, address) = (id.clone(), f.recipient_email.clone());
    match crate::db::run(&state.pool, move |c| outbox::resend(c, &eid, Some(address))).await {
        Ok(e) => Ok(redirect(&back(&e), Some("envoi_relance"))),
        Err(err) => {
            let (status, field_error, message) = match &err {
                AppError::Validation { fields, message } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    fields.get("recipient_email").cloned(),
                    message.clone(),
                ),
                AppError::Conflict { message, .. } => (StatusCode::CONFLICT, None, message.clone()),
                _ => return Err(err.into()),
            };
            let eid = id.clone();
            let e = crate::db::run(&state.pool, move |c| outbox::get(c, &eid)).await?;
            let Some(cid) = e.cohort_id.clone() else {
                return Err(err.into());
            };
            let typed = Typed {
                id: &id,
                address: &f.recipient_email,
                error: field_error,
            };
            let mut c = list_ctx(&state, &cid, Some(&typed)).await?;
            c["error_message"] = json!(message);
            render_status(&state, status, "pages/outbox/list", &mut c)
        }
    }
}
