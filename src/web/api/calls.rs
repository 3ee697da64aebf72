//! A cohort's call for applications (issue #14): `/cohorts/{id}/call` — its settings and
//! information meeting (`GET`, `PUT`), its public link (`DELETE` revokes it, `POST
//! …/call/link` draws a new one). The applications themselves are `web::api::applications`'.
//!
//! `PUT` creates the call when the cohort has none (201, no `version` needed: there is
//! nothing to overwrite); once it exists, `PUT` changes it as every `PUT` does (`version`
//! required, fields left out kept, 409 when stale).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::db::Conn;
use crate::domain::application as rules;
use crate::error::{AppError, ErrorBody};
use crate::models::call::{self, Call, CallInput};
use crate::models::outbox::MailContext;
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::Patch;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/call", web::get().to(get_call))
        .route("/cohorts/{id}/call", web::put().to(put_call))
        .route("/cohorts/{id}/call", web::delete().to(revoke_link))
        .route("/cohorts/{id}/call/link", web::post().to(new_link));
}

/// A call as the API shows it: its stored settings, the public form's URL, whether it
/// takes applications now, the meeting as its `PUT` takes it, and the applications'
/// counts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CallOut {
    #[serde(flatten)]
    pub call: Call,
    /// The public application form to give associations; `null` while the link is revoked.
    pub url: Option<String>,
    /// Whether the form takes applications now (until the end of `closes_on`, Paris).
    pub open: bool,
    /// The information meeting's day (Paris), `AAAA-MM-JJ`; empty without a meeting.
    pub meeting_date: String,
    /// Its start, Paris time, `HH:MM`.
    pub meeting_time: String,
    /// Its length in minutes.
    pub meeting_duration: String,
    /// Applications received (every status).
    pub applications: i64,
    /// Of which withdrawn by the association.
    pub applications_withdrawn: i64,
}

/// The call as the API shows it, `open` at `now`.
fn out(
    conn: &mut Conn,
    mail: &MailContext,
    call: Call,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CallOut, AppError> {
    let counts = call::counts(conn, &call.cohort_id)?;
    let input = CallInput::from(&call);
    Ok(CallOut {
        url: call
            .token
            .as_deref()
            .map(|t| call::public_url(&mail.public_url, t)),
        open: rules::is_open(call.closes_on, now),
        meeting_date: input.meeting_date,
        meeting_time: input.meeting_time,
        meeting_duration: input.meeting_duration,
        applications: counts.total,
        applications_withdrawn: counts.withdrawn,
        call,
    })
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/call", tag = "Appel à candidatures",
    responses((status = 200, body = CallOut), (status = 404, body = ErrorBody, description = "No such cohort, or it has no call")))]
pub async fn get_call(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let (mail, now) = (state.mail.clone(), state.clock.now());
    let o = crate::db::run(&state.pool, move |c| {
        let k = call::get(c, &id)?;
        out(c, &mail, k, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(o))
}

/// Opens the call (the cohort has none: 201, with its public link) or changes it (200).
/// The information meeting is set by `meeting_date` and `meeting_time` (with
/// `meeting_duration`, and `meeting_location` or `meeting_video_link`), removed by
/// emptying both; each change queues the invite, its update or its cancellation to every
/// applicant not withdrawn.
#[utoipa::path(put, path = "/api/v1/cohorts/{id}/call", tag = "Appel à candidatures", request_body = CallInput,
    responses((status = 200, body = CallOut, description = "The call, changed"),
        (status = 201, body = CallOut, description = "The call, opened (no `version` needed)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_call(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<CallInput>,
) -> ApiResult {
    let id = path.into_inner();
    let mail = state.mail.clone();
    let (created, o) = state
        .write(move |c| {
            let now = c.now();
            let input = match call::for_cohort(c, &id)? {
                Some(current) => {
                    let shown = out(c, &mail, current.clone(), now)?;
                    body.apply(&CallInput::from(&current), &shown)?
                }
                None => body.apply_requiring(&CallInput::default(), &CallInput::default(), &[])?,
            };
            let created = call::for_cohort(c, &id)?.is_none();
            let saved = call::save(c, &mail, &id, &input)?;
            Ok((created, out(c, &mail, saved, now)?))
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(o)
    } else {
        HttpResponse::Ok().json(o)
    })
}

/// Revokes the public link: the form answers « Cet appel n'est plus ouvert » at once.
/// Applications already received are kept.
#[utoipa::path(delete, path = "/api/v1/cohorts/{id}/call", tag = "Appel à candidatures",
    responses((status = 200, body = CallOut, description = "The call, its `url` null"), (status = 404, body = ErrorBody, description = "No such cohort, or it has no call")))]
pub async fn revoke_link(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    link(state, path.into_inner(), false).await
}

/// Draws a new public link (the previous one, if any, stops working).
#[utoipa::path(post, path = "/api/v1/cohorts/{id}/call/link", tag = "Appel à candidatures",
    responses((status = 200, body = CallOut), (status = 404, body = ErrorBody, description = "No such cohort, or it has no call")))]
pub async fn new_link(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    link(state, path.into_inner(), true).await
}

async fn link(state: web::Data<AppState>, id: String, fresh: bool) -> ApiResult {
    let mail = state.mail.clone();
    let o = state
        .write(move |c| {
            let k = call::set_link(c, &id, fresh)?;
            let now = c.now();
            out(c, &mail, k, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(o))
}
