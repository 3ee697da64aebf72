//! `/cohorts/{id}/audit`: the cohort's journal of changes (who, what, when, before and
//! after), newest first.

use actix_web::web;

use crate::error::ErrorBody;
use crate::models::audit::{self, AuditEntry};
use crate::models::cohort;
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::paging::{self, Page, PageQuery};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/audit", web::get().to(list));
}

/// The cohort's changes, newest first, each with its French summary and the fields that
/// changed, paged like every API list (`api::paging`). The total number of entries is in
/// the `X-Total-Count` header.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}/audit", tag = "Cohortes", params(PageQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = paging::BAD_PAGE)))]
pub async fn list(state: web::Data<AppState>, path: web::Path<String>, page: Page) -> ApiResult {
    let id = path.into_inner();
    let (total, entries) = crate::db::run(&state.pool, move |c| {
        cohort::get(c, &id)?;
        let total = audit::count_for_cohort(c, &id)?;
        Ok((
            total,
            audit::list_for_cohort(c, &id, page.limit, page.offset)?,
        ))
    })
    .await?;
    Ok(Page::answer(total, &entries))
}
