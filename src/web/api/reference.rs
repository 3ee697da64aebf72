//! `/dlas` and `/consultants`.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::consultant::{self, Consultant, ConsultantInput};
use crate::models::dla::{self, Dla, DlaInput};
use crate::web::AppState;
use crate::web::actor::{Action, Actor};
use crate::web::api::ApiResult;

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
    actor.authorize(Action::ManageDlas)?;
    Ok(HttpResponse::Ok().json(crate::db::run(&state.pool, dla::list).await?))
}

#[utoipa::path(post, path = "/api/v1/dlas", tag = "DLA", request_body = DlaInput,
    responses((status = 201, body = Dla), (status = 422, body = ErrorBody)))]
pub async fn create_dla(
    state: web::Data<AppState>,
    actor: Actor,
    body: web::Json<DlaInput>,
) -> ApiResult {
    actor.authorize(Action::ManageDlas)?;
    let d = crate::db::run(&state.pool, move |c| dla::create(c, &body)).await?;
    Ok(HttpResponse::Created().json(d))
}

#[utoipa::path(get, path = "/api/v1/dlas/{id}", tag = "DLA", responses((status = 200, body = Dla), (status = 404, body = ErrorBody)))]
pub async fn get_dla(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> ApiResult {
    actor.authorize(Action::ManageDlas)?;
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(crate::db::run(&state.pool, move |c| dla::get(c, &id)).await?))
}

#[utoipa::path(put, path = "/api/v1/dlas/{id}", tag = "DLA", request_body = DlaInput,
    responses((status = 200, body = Dla), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_dla(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: web::Json<DlaInput>,
) -> ApiResult {
    actor.authorize(Action::ManageDlas)?;
    let id = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(crate::db::run(&state.pool, move |c| dla::update(c, &id, &body)).await?))
}

#[utoipa::path(get, path = "/api/v1/consultants", tag = "Consultant·es", responses((status = 200, body = Vec<Consultant>)))]
pub async fn list_consultants(state: web::Data<AppState>, actor: Actor) -> ApiResult {
    actor.authorize(Action::ManageConsultants)?;
    Ok(HttpResponse::Ok().json(crate::db::run(&state.pool, consultant::list).await?))
}

#[utoipa::path(post, path = "/api/v1/consultants", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 201, body = Consultant), (status = 422, body = ErrorBody)))]
pub async fn create_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    body: web::Json<ConsultantInput>,
) -> ApiResult {
    actor.authorize(Action::ManageConsultants)?;
    let x = crate::db::run(&state.pool, move |c| consultant::create(c, &body)).await?;
    Ok(HttpResponse::Created().json(x))
}

#[utoipa::path(put, path = "/api/v1/consultants/{id}", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 200, body = Consultant), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: web::Json<ConsultantInput>,
) -> ApiResult {
    actor.authorize(Action::ManageConsultants)?;
    let id = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(crate::db::run(&state.pool, move |c| consultant::update(c, &id, &body)).await?))
}
