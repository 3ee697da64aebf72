//! Session logs, attendance and pistes d'actions.
//!
//! `GET/PUT /sessions/{id}/log` read and save a session's log with its whole attendance
//! grid (one version check: send back the `version` read, 0 before the first save);
//! `/associations/{id}/action-leads` and `/action-leads/{id}` manage the pistes d'actions.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::action_lead::{self, ActionLead, ActionLeadInput};
use crate::models::session_log::{self, LogInput, LogView};
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/sessions/{id}/log", web::get().to(get_log))
        .route("/sessions/{id}/log", web::put().to(put_log))
        .route(
            "/associations/{id}/action-leads",
            web::get().to(list_action_leads),
        )
        .route(
            "/associations/{id}/action-leads",
            web::post().to(create_action_lead),
        )
        .route("/action-leads/{id}", web::put().to(update_action_lead))
        .route("/action-leads/{id}", web::delete().to(delete_action_lead));
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}/log", tag = "Journal de séance",
    responses((status = 200, body = LogView), (status = 404, body = ErrorBody)))]
pub async fn get_log(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let sheet = crate::db::run(&state.pool, move |c| session_log::load(c, &id)).await?;
    Ok(HttpResponse::Ok().json(sheet.view()))
}

#[utoipa::path(put, path = "/api/v1/sessions/{id}/log", tag = "Journal de séance", request_body = LogInput,
    responses((status = 200, body = LogView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_log(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<LogInput>,
) -> ApiResult {
    let id = path.into_inner();
    let sheet = state
        .write(move |c| {
            let sheet = session_log::load(c, &id)?;
            let input = body.apply(&sheet.input(), &sheet.view())?;
            session_log::save(c, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(sheet.view()))
}

#[utoipa::path(get, path = "/api/v1/associations/{id}/action-leads", tag = "Journal de séance",
    responses((status = 200, body = Vec<ActionLead>), (status = 404, body = ErrorBody)))]
pub async fn list_action_leads(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let leads = crate::db::run(&state.pool, move |c| {
        crate::models::association::get(c, &id)?;
        action_lead::list_for_association(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(leads))
}

#[utoipa::path(post, path = "/api/v1/associations/{id}/action-leads", tag = "Journal de séance", request_body = ActionLeadInput,
    responses((status = 201, body = ActionLead), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_action_lead(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<ActionLeadInput>,
) -> ApiResult {
    let id = path.into_inner();
    let lead = state
        .write(move |c| action_lead::create(c, &id, &body))
        .await?;
    Ok(HttpResponse::Created().json(lead))
}

#[utoipa::path(put, path = "/api/v1/action-leads/{id}", tag = "Journal de séance", request_body = ActionLeadInput,
    responses((status = 200, body = ActionLead), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_action_lead(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<ActionLeadInput>,
) -> ApiResult {
    let id = path.into_inner();
    let lead = state
        .write(move |c| {
            let current = action_lead::get(c, &id)?;
            let input = body.apply(&ActionLeadInput::from(&current), &current)?;
            action_lead::update(c, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(lead))
}

#[utoipa::path(delete, path = "/api/v1/action-leads/{id}", tag = "Journal de séance",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_action_lead(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    state.write(move |c| action_lead::delete(c, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
