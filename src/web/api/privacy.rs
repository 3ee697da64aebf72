//! Personal data (GDPR): `/participants/{id}/export` (everything stored about the person),
//! `/participants/{id}/anonymise` and `/associations/{id}/anonymise` (`models::privacy`).
//! Anonymising twice is allowed and changes nothing more.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::association::Association;
use crate::models::participant::Participant;
use crate::models::privacy;
use crate::web::AppState;
use crate::web::api::ApiResult;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/participants/{id}/export", web::get().to(export))
        .route(
            "/participants/{id}/anonymise",
            web::post().to(anonymise_participant),
        )
        .route(
            "/associations/{id}/anonymise",
            web::post().to(anonymise_association),
        );
}

#[utoipa::path(get, path = "/api/v1/participants/{id}/export", tag = "Données personnelles",
    responses((status = 200, description = "Everything stored about the person: identity, association, cohort, attendance, emails with their content, homework returns, sign-in metadata, audit rows"), (status = 404, body = ErrorBody)))]
pub async fn export(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let now = state.clock.now();
    let data = crate::db::run(&state.pool, move |c| {
        privacy::export_participant(c, &id, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(data))
}

#[utoipa::path(post, path = "/api/v1/participants/{id}/anonymise", tag = "Données personnelles",
    responses((status = 200, body = Participant), (status = 404, body = ErrorBody)))]
pub async fn anonymise_participant(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    let id = path.into_inner();
    let p = state
        .erase(move |c| privacy::anonymise_participant(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[utoipa::path(post, path = "/api/v1/associations/{id}/anonymise", tag = "Données personnelles",
    responses((status = 200, body = Association), (status = 404, body = ErrorBody)))]
pub async fn anonymise_association(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    let id = path.into_inner();
    let a = state
        .erase(move |c| privacy::anonymise_association(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(a))
}
