//! `/cohorts/{id}/associations` (enrolment, refused with 409 `cohort_full` beyond the cap),
//! `/associations/{id}` and participants.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::association::{self, Association, AssociationInput};
use crate::models::participant::{self, Participant, ParticipantInput};
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/associations", web::get().to(list))
        .route("/cohorts/{id}/associations", web::post().to(enrol))
        .route("/associations/{id}", web::get().to(get))
        .route("/associations/{id}", web::put().to(update))
        .route("/associations/{id}", web::delete().to(delete))
        .route(
            "/associations/{id}/participants",
            web::get().to(list_participants),
        )
        .route(
            "/associations/{id}/participants",
            web::post().to(create_participant),
        )
        .route("/participants/{id}", web::put().to(update_participant))
        .route("/participants/{id}", web::delete().to(delete_participant));
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/associations", tag = "Associations", responses((status = 200, body = Vec<Association>)))]
pub async fn list(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        crate::models::cohort::get(c, &id)?;
        association::list_for_cohort(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/associations", tag = "Associations", request_body = AssociationInput,
    responses((status = 201, body = Association), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "cohort_full"), (status = 422, body = ErrorBody)))]
pub async fn enrol(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<AssociationInput>,
) -> ApiResult {
    let id = path.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let a = state
        .write(move |c| association::enrol(c, &id, &body, &template, am))
        .await?;
    Ok(HttpResponse::Created().json(a))
}

#[utoipa::path(get, path = "/api/v1/associations/{id}", tag = "Associations", responses((status = 200, body = Association), (status = 404, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(crate::db::run(&state.pool, move |c| association::get(c, &id)).await?))
}

#[utoipa::path(put, path = "/api/v1/associations/{id}", tag = "Associations", request_body = AssociationInput,
    responses((status = 200, body = Association), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<AssociationInput>,
) -> ApiResult {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .write(move |c| {
                let current = association::get(c, &id)?;
                let input = body.apply(&AssociationInput::from(&current), &current)?;
                association::update(c, &id, &input)
            })
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/associations/{id}", tag = "Associations", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let mail = state.mail.clone();
    state
        .write(move |c| association::delete(c, &id, &mail))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/associations/{id}/participants", tag = "Associations", responses((status = 200, body = Vec<Participant>)))]
pub async fn list_participants(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        association::get(c, &id)?;
        participant::list_for_association(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/associations/{id}/participants", tag = "Associations", request_body = ParticipantInput,
    responses((status = 201, body = Participant), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_participant(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<ParticipantInput>,
) -> ApiResult {
    let id = path.into_inner();
    let p = state
        .write(move |c| participant::create(c, &id, &body))
        .await?;
    Ok(HttpResponse::Created().json(p))
}

#[utoipa::path(put, path = "/api/v1/participants/{id}", tag = "Associations", request_body = ParticipantInput,
    responses((status = 200, body = Participant), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_participant(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<ParticipantInput>,
) -> ApiResult {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .write(move |c| {
                let current = participant::get(c, &id)?;
                let input = body.apply(&ParticipantInput::from(&current), &current)?;
                participant::update(c, &id, &input)
            })
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/participants/{id}", tag = "Associations", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_participant(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    state.write(move |c| participant::delete(c, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
