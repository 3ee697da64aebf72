//! `/dlas` and `/consultants`.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::consultant::{self, ConsultantInput, ConsultantRecord};
use crate::models::dla::{self, Dla, DlaInput};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};
use crate::web::api::paging::{self, Page, PageQuery};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/dlas", web::get().to(list_dlas))
        .route("/dlas", web::post().to(create_dla))
        .route("/dlas/{id}", web::get().to(get_dla))
        .route("/dlas/{id}", web::put().to(update_dla))
        .route("/consultants", web::get().to(list_consultants))
        .route("/consultants", web::post().to(create_consultant))
        .route("/consultants/{id}", web::put().to(update_consultant));
}

/// The DLAs the caller may see (a chargé·e de mission: theirs; administrators: all), by
/// name, paged like every API list (`api::paging`), the scope in the query. The total is
/// in the `X-Total-Count` header.
#[utoipa::path(get, path = "/api/v1/dlas", tag = "DLA", params(PageQuery),
    responses((status = 200, body = Vec<Dla>),
        (status = 422, body = ErrorBody, description = paging::BAD_PAGE)))]
pub async fn list_dlas(state: web::Data<AppState>, actor: Actor, page: Page) -> ApiResult {
    let scope = actor.dla_scope();
    let (total, list) = crate::db::run(&state.pool, move |c| {
        Ok((
            dla::count_visible(c, scope.as_deref())?,
            dla::list_visible(c, scope.as_deref(), page.limit, page.offset)?,
        ))
    })
    .await?;
    Ok(Page::answer(total, &list))
}

#[utoipa::path(post, path = "/api/v1/dlas", tag = "DLA", request_body = DlaInput,
    responses((status = 201, body = Dla), (status = 422, body = ErrorBody)))]
pub async fn create_dla(state: web::Data<AppState>, body: Json<DlaInput>) -> ApiResult {
    let d = state.write(move |c| dla::create(c, &body)).await?;
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

/// The records of the caller's DLA (administrators: every record), by name, paged like
/// every API list (`api::paging`). The total is in the `X-Total-Count` header.
#[utoipa::path(get, path = "/api/v1/consultants", tag = "Consultant·es", params(PageQuery),
    responses((status = 200, body = Vec<ConsultantRecord>),
        (status = 422, body = ErrorBody, description = paging::BAD_PAGE)))]
pub async fn list_consultants(state: web::Data<AppState>, actor: Actor, page: Page) -> ApiResult {
    let scope = actor.dla_scope();
    let (total, list) = crate::db::run(&state.pool, move |c| {
        Ok((
            consultant::count_visible(c, scope.as_deref())?,
            consultant::list_visible(c, scope.as_deref(), page.limit, page.offset)?,
        ))
    })
    .await?;
    Ok(Page::answer(total, &list))
}

#[utoipa::path(post, path = "/api/v1/consultants", tag = "Consultant·es", request_body = ConsultantInput,
    responses((status = 201, body = ConsultantRecord), (status = 422, body = ErrorBody)))]
pub async fn create_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<ConsultantInput>,
) -> ApiResult {
    let mut input = body.into_inner();
    let x = state
        .write(move |c| {
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
