//! `/cohorts/{id}/sessions`, `/sessions/{id}` and the move (linked tasks follow).

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::guest::{self, Guest, GuestInput};
use crate::models::session::{self, MoveInput, MoveResult, Session, SessionInput};
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};

/// A changed resource with the conflicts it now has (`domain::conflicts`, issue #17):
/// warnings, never a refusal. A conflict with a cohort the caller may not see says
/// « occupé·e (autre cohorte) » and nothing else.
#[derive(serde::Serialize)]
struct Flagged<T: serde::Serialize> {
    #[serde(flatten)]
    value: T,
    warnings: Vec<crate::domain::Warning>,
}

fn conflicts_of(
    conn: &mut crate::db::Conn,
    session_id: &str,
    viewer: &crate::models::scope::CohortScope,
    gap: chrono::Duration,
) -> Result<Vec<crate::domain::Warning>, crate::error::AppError> {
    crate::models::calendar::warnings_for(conn, &[session_id.to_string()], viewer, gap)
}

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/sessions", web::get().to(list))
        .route("/cohorts/{id}/sessions", web::post().to(create))
        .route("/sessions/{id}", web::get().to(get))
        .route("/sessions/{id}", web::put().to(update))
        .route("/sessions/{id}", web::delete().to(delete))
        .route("/sessions/{id}/move", web::post().to(move_session))
        .route("/sessions/{id}/guests", web::get().to(list_guests))
        .route("/sessions/{id}/guests", web::post().to(add_guest))
        .route(
            "/sessions/{id}/guests/{guest}",
            web::delete().to(remove_guest),
        );
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/sessions", tag = "Séances", responses((status = 200, body = Vec<Session>)))]
pub async fn list(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        crate::models::cohort::get(c, &id)?;
        session::list_for_cohort(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/sessions", tag = "Séances", request_body = SessionInput,
    description = "The session, with `warnings`: its conflicts with other sessions (the same consultant·e at once or too far to travel, the same place at once, a participant of two cohorts the same day); never a refusal. The same `warnings` answer `PUT /sessions/{id}` and the move.",
    responses((status = 201, body = Session), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<SessionInput>,
) -> ApiResult {
    let id = path.into_inner();
    let am = state.config.calendar.alsace_moselle;
    let (viewer, gap) = (
        crate::web::pages::calendar::viewer_scope(),
        crate::web::pages::calendar::travel_gap(&state),
    );
    let out = state
        .write(move |c| {
            let s = session::create(c, &id, &body, am)?;
            let warnings = conflicts_of(c, &s.id, &viewer, gap)?;
            Ok(Flagged { value: s, warnings })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "Séances", responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(crate::db::run(&state.pool, move |c| session::get(c, &id)).await?))
}

#[utoipa::path(put, path = "/api/v1/sessions/{id}", tag = "Séances", request_body = SessionInput, description = "Edits place, link, agenda and planned time; use `/move` to change the time.",
    responses((status = 200, body = Session), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<SessionInput>,
) -> ApiResult {
    let id = path.into_inner();
    let (viewer, gap) = (
        crate::web::pages::calendar::viewer_scope(),
        crate::web::pages::calendar::travel_gap(&state),
    );
    Ok(HttpResponse::Ok().json(
        state
            .write(move |c| {
                let current = session::get(c, &id)?;
                let input = body.apply(&SessionInput::from_session(&current), &current)?;
                let s = session::update_details(c, &id, &input)?;
                let warnings = conflicts_of(c, &s.id, &viewer, gap)?;
                Ok(Flagged { value: s, warnings })
            })
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/move", tag = "Séances", request_body = MoveInput,
    responses((status = 200, body = MoveResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn move_session(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<MoveInput>,
) -> ApiResult {
    let id = path.into_inner();
    let am = state.config.calendar.alsace_moselle;
    let mail = state.mail.clone();
    let (viewer, gap) = (
        crate::web::pages::calendar::viewer_scope(),
        crate::web::pages::calendar::travel_gap(&state),
    );
    Ok(HttpResponse::Ok().json(
        state
            .write(move |c| {
                let moved = session::move_session(c, &id, &body, am, &mail)?;
                let warnings = conflicts_of(c, &id, &viewer, gap)?;
                Ok(Flagged {
                    value: moved,
                    warnings,
                })
            })
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "Séances", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let mail = state.mail.clone();
    state.write(move |c| session::delete(c, &id, &mail)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}/guests", tag = "Séances", description = "The guests of a bilan individuel (the third party who crosses perspectives).",
    responses((status = 200, body = Vec<Guest>), (status = 404, body = ErrorBody)))]
pub async fn list_guests(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        session::get(c, &id)?;
        guest::list_for_session(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/guests", tag = "Séances", request_body = GuestInput,
    description = "Invites a guest to a bilan individuel: they get the convocation with the invite, are listed on the émargement and named in the compte rendu. 409 `guest_bilan_only` for a collective session.",
    responses((status = 201, body = Guest), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_guest(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<GuestInput>,
) -> ApiResult {
    let id = path.into_inner();
    let g = state.write(move |c| guest::add(c, &id, &body)).await?;
    Ok(HttpResponse::Created().json(g))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}/guests/{guest}", tag = "Séances",
    description = "Removes a guest; one already convoked gets the cancellation of the invite.",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_guest(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (id, gid) = path.into_inner();
    let mail = state.mail.clone();
    state
        .write(move |c| guest::remove(c, &id, &gid, &mail))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
