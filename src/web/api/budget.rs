//! `/cohorts/{id}/budget` (contract, funders, totals, warnings) and the consultant's time
//! entries: `/cohorts/{id}/time-entries`, `/time-entries/{id}`.

use actix_web::{HttpResponse, web};

use crate::error::{AppError, ErrorBody};
use crate::models::budget::{self, BudgetInput, BudgetOverview, ContractInput};
use crate::models::time_entry::{self, TimeEntry, TimeEntryInput};
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
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
    let template = state.config.programme.clone();
    let o = crate::db::run(&state.pool, move |c| budget::overview(c, &id, &template)).await?;
    Ok(HttpResponse::Ok().json(o))
}

/// Changes the contract (`contract`), the funders (`funders`, replaced as a whole; shares
/// totalling exactly 100 %) or both, in one transaction. Stale versions → 409.
#[utoipa::path(put, path = "/api/v1/cohorts/{id}/budget", tag = "Budget", request_body = BudgetInput,
    responses((status = 200, body = BudgetOverview), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_budget(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<BudgetInput>,
) -> ApiResult {
    let id = path.into_inner();
    let template = state.config.programme.clone();
    let o = state
        .write(move |c| {
            // Each part sent carries the version it read; a part left out is unchanged.
            let (contract, funders) = (body.has("contract"), body.has("funders"));
            if !contract && !funders {
                return Err(AppError::field(
                    "contract",
                    "Envoyez le contrat (contract), les financeurs (funders) ou les deux.",
                ));
            }
            let (stored, version) = budget::contract(c, &id)?;
            let current = BudgetInput {
                contract: Some(ContractInput::from_contract(&stored, version)),
                funders: Some(budget::funders_form(c, &id)?),
            };
            let versions: Vec<&str> =
                [(contract, "contract.version"), (funders, "funders.version")]
                    .into_iter()
                    .filter_map(|(sent, path)| sent.then_some(path))
                    .collect();
            let mut input = body.apply_requiring(&current, &current, &versions)?;
            if !contract {
                input.contract = None;
            }
            if !funders {
                input.funders = None;
            }
            budget::save(c, &id, &input)?;
            budget::overview(c, &id, &template)
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
    body: Json<TimeEntryInput>,
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
    body: Patch<TimeEntryInput>,
) -> ApiResult {
    let id = path.into_inner();
    let e = state
        .write(move |c| {
            let current = time_entry::get(c, &id)?;
            let input = body.apply(&TimeEntryInput::from(&current), &current)?;
            time_entry::update(c, &id, &input)
        })
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
