//! `/cohorts/{id}/budget` (contract, funders, totals, warnings) and the consultant's time
//! entries: `/cohorts/{id}/time-entries`, `/time-entries/{id}`.

use actix_web::{HttpResponse, web};

use crate::error::ErrorBody;
use crate::models::budget::{self, BudgetInput, BudgetOverview};
use crate::models::time_entry::{self, TimeEntry, TimeEntryInput};
use crate::web::AppState;
use crate::web::api::ApiResult;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cohorts/{id}/budget", web::get().to(get_budget))
        .route("/cohorts/{id}/budget", web::put().to(put_budget))
        .route("/cohorts/{id}/time-entries", web::get().to(list_entries))
        .route("/cohorts/{id}/time-entries", web::post().to(create_entry))
        .route("/time-entries/{id}", web::put().to(update_entry))
        .route("/time-entries/{id}", web::delete().to(delete_entry));
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/budget", tag = "Budget",
    responses((status = 200, body = BudgetOverview), (status = 404, body = ErrorBody)))]
pub async fn get_budget(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let o = crate::db::run(&state.pool, move |c| budget::overview(c, &id)).await?;
    Ok(HttpResponse::Ok().json(o))
}

/// Changes the contract (`contract`), the funders (`funders`, replaced as a whole; shares
/// totalling exactly 100 %) or both, in one transaction. Stale versions → 409.
#[utoipa::path(put, path = "/api/v1/cohorts/{id}/budget", tag = "Budget", request_body = BudgetInput,
    responses((status = 200, body = BudgetOverview), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_budget(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<BudgetInput>,
) -> ApiResult {
    let id = path.into_inner();
    let o = state
        .write(move |c| {
            budget::save(c, &id, &body)?;
            budget::overview(c, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(o))
}

/// The cohort's time entries, newest first.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}/time-entries", tag = "Budget",
    responses((status = 200, body = Vec<TimeEntry>), (status = 404, body = ErrorBody)))]
pub async fn list_entries(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        crate::models::cohort::get(c, &id)?;
        time_entry::list_for_cohort(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/time-entries", tag = "Budget", request_body = TimeEntryInput,
    responses((status = 201, body = TimeEntry), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_entry(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TimeEntryInput>,
) -> ApiResult {
    let id = path.into_inner();
    let e = state
        .write(move |c| time_entry::create(c, &id, &body))
        .await?;
    Ok(HttpResponse::Created().json(e))
}

#[utoipa::path(put, path = "/api/v1/time-entries/{id}", tag = "Budget", request_body = TimeEntryInput,
    responses((status = 200, body = TimeEntry), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_entry(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TimeEntryInput>,
) -> ApiResult {
    let id = path.into_inner();
    let e = state
        .write(move |c| time_entry::update(c, &id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(e))
}

#[utoipa::path(delete, path = "/api/v1/time-entries/{id}", tag = "Budget",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_entry(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    state.write(move |c| time_entry::delete(c, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
