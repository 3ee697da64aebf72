//! `/cohorts/{id}/audit`: the cohort's journal of changes (who, what, when, before and
//! after), newest first.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::error::ErrorBody;
use crate::models::audit::{self, AuditEntry};
use crate::models::cohort;
use crate::web::AppState;
use crate::web::api::ApiResult;

/// Entries per answer when `limit` is not given, and at most.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cohorts/{id}/audit", web::get().to(list));
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries (50 by default, 500 at most).
    limit: Option<i64>,
    /// How many of the newest entries to skip.
    offset: Option<i64>,
}

/// The cohort's changes, newest first, each with its French summary and the fields that
/// changed. The total number of entries is in the `X-Total-Count` header.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}/audit", tag = "Cohortes", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<AuditQuery>,
) -> ApiResult {
    let id = path.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = query.offset.unwrap_or(0).max(0);
    let (total, entries) = crate::db::run(&state.pool, move |c| {
        cohort::get(c, &id)?;
        let total = audit::count_for_cohort(c, &id)?;
        Ok((total, audit::list_for_cohort(c, &id, limit, offset)?))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(entries))
}
