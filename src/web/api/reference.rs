//! `/dlas` and `/consultants`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::error::ErrorBody;
use crate::models::consultant::{self, ConsultantInput, ConsultantRecord};
use crate::models::dla::{self, Dla, DlaInput};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dlas", web::get().to(list_dlas))
        .route("/dlas", web::post().to(create_dla))
        .route("/dlas/{id}", web::get().to(get_dla))
        .route("/dlas/{id}", web::put().to(update_dla))
        .route("/consultants", web::get().to(list_consultants))
        .route("/consultants", web::post().to(create_consultant))
        .route("/consultants/{id}", web::put().to(update_consultant));
}

#[utoipa::path(get, path = "/api/v1/dlas", tag = "DLA", responses((status = 200, body = Vec<Dla>)))]
pub async fn list_dlas(state: web::Data<AppState>, actor: Actor) -> ApiResult {
    let mut list = crate::db::run(&state.pool, dla::list).await?;
    if let Some(ids) = actor.dla_scope() {
        list.retain(|d| ids.contains(&d.id));
    }
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/v1/dlas", tag = "DLA", request_body = DlaInput,
    responses((status = 201, body = Dla), (status = 422, body = ErrorBody)))]
pub async fn create_dla(state: web::Data<AppState>, body: Json<DlaInput>) -> ApiResult {
    let d = crate::db::run(&state.pool, move |c| dla::create(c, &body)).await?;
    Ok(HttpResponse::Created().json(d))
}

#[utoipa::path(get, path = "/api/v1/dlas/{id}", tag = "DLA", responses((status = 200, body = Dla), (status = 404, body = ErrorBody)))]
pub async fn get_dla(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(crate::db::run(&state.pool, move |c| dla::get(c, &id)).await?))
}

#[utoipa::path(put, path = "/api/v1/dlas/{id}", tag = "DLA", request_body = DlaInput,
    responses((status = 200, body = Dla), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_dla(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<DlaInput>,
) -> ApiResult {
    let id = path.into_inner();
    let d = state
        .write(move |c| {
            let current = dla::get(c, &id)?;
            let input = body.apply(&DlaInput::from(&current), &current)?;
            dla::update(c, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Records per answer when `limit` is not given, and at most.
const CONSULTANTS_DEFAULT_LIMIT: i64 = 100;
const CONSULTANTS_MAX_LIMIT: i64 = 500;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsultantsQuery {
    /// How many records (100 by default, 500 at most).
    limit: Option<i64>,
    /// How many records to skip, in name order.
    offset: Option<i64>,
}

/// The records of the caller's DLA (administrators: every record), by name. The total is
/// in the `X-Total-Count` header.
#[utoipa::path(get, path = "/api/v1/consultants", tag = "Consultant·es", params(ConsultantsQuery),
    responses((status = 200, body = Vec<ConsultantRecord>)))]
pub async fn list_consultants(
    state: web::Data<AppState>,
    actor: Actor,
    query: web::Query<ConsultantsQuery>,
) -> ApiResult {
    let limit = query
        .limit
        .unwrap_or(CONSULTANTS_DEFAULT_LIMIT)
        .clamp(1, CONSULTANTS_MAX_LIMIT);
    let offset = query.offset.unwrap_or(0).max(0);
    let scope = actor.dla_scope();
    let (total, list) = crate::db::run(&state.pool, move |c| {
        Ok((
            consultant::count_visible(c, scope.as_deref())?,
            consultant::list_visible(c, scope.as_deref(), limit, offset)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(list))
}

#[utoipa::path(post, path = "/api/v1/consultants", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 201, body = ConsultantRecord), (status = 422, body = ErrorBody)))]
pub async fn create_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<ConsultantInput>,
) -> ApiResult {
    let mut input = body.into_inner();
    let x = crate::db::run(&state.pool, move |c| {
        input.dla_ids = actor.consultant_dlas(None, input.dla_ids.as_deref())?;
        consultant::create(c, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(x))
}

#[utoipa::path(put, path = "/api/v1/consultants/{id}", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 200, body = ConsultantRecord), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: Patch<ConsultantInput>,
) -> ApiResult {
    let id = path.into_inner();
    let x = state
        .write(move |c| {
            let current = consultant::record(c, &id)?;
            let mut input = body.apply(&ConsultantInput::from(&current.consultant), &current)?;
            input.dla_ids =
                actor.consultant_dlas(Some(&current.dla_ids), input.dla_ids.as_deref())?;
            consultant::update(c, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(x))
}
