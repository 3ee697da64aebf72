//! `/dlas` and `/consultants`.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::consultant::{self, Consultant, ConsultantInput};
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

#[utoipa::path(get, path = "/api/v1/consultants", tag = "Consultant·es", responses((status = 200, body = Vec<Consultant>)))]
pub async fn list_consultants(state: web::Data<AppState>) -> ApiResult {
    Ok(HttpResponse::Ok().json(crate::db::run(&state.pool, consultant::list).await?))
}

#[utoipa::path(post, path = "/api/v1/consultants", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 201, body = Consultant), (status = 422, body = ErrorBody)))]
pub async fn create_consultant(
    state: web::Data<AppState>,
    body: Json<ConsultantInput>,
) -> ApiResult {
    let x = crate::db::run(&state.pool, move |c| consultant::create(c, &body)).await?;
    Ok(HttpResponse::Created().json(x))
}

#[utoipa::path(put, path = "/api/v1/consultants/{id}", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 200, body = Consultant), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_consultant(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<ConsultantInput>,
) -> ApiResult {
    let id = path.into_inner();
    let x = state
        .write(move |c| {
            let current = consultant::get(c, &id)?;
            let input = body.apply(&ConsultantInput::from(&current), &current)?;
            consultant::update(c, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(x))
}
