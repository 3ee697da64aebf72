//! The activity report (`/dlas/{id}/report`, `/report` for the instance) and the
//! association search (`/associations?q=`), from the same models as the pages
//! (`models::report`, `models::search`).

use actix_web::web;
use serde::Deserialize;

use crate::error::{AppError, ErrorBody};
use crate::models::report::ActivityReport;
use crate::models::search::{self, Found};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::api::ApiResult;
use crate::web::api::paging::{Page, PageQuery};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/dlas/{id}/report", web::get().to(dla_report))
        .route("/report", web::get().to(instance_report))
        .route("/associations", web::get().to(search_associations));
}

/// The period: `year`, or `from` and `to`; the current calendar year when none is given.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// A calendar year, e.g. 2027 (the current one by default).
    #[param(value_type = Option<i32>)]
    #[serde(default)]
    year: Option<String>,
    /// First day of the period (`AAAA-MM-JJ`), with `to`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default)]
    from: Option<String>,
    /// Last day of the period, included (`AAAA-MM-JJ`), with `from`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default)]
    to: Option<String>,
}

/// [`pages::report::load`](crate::web::pages::report::load) with the API's parameters.
async fn build(
    state: &AppState,
    dla_id: Option<String>,
    q: PeriodParams,
) -> Result<std::sync::Arc<ActivityReport>, AppError> {
    let fields = [q.year, q.from, q.to].map(Option::unwrap_or_default);
    crate::web::pages::report::load(state, dla_id, fields, ["year", "from", "to"]).await
}

/// A DLA's activity report: the cohorts it runs or shares that start in the period (with
/// the DLA's part of each cost), and the sessions and time of its cohorts dated in it.
#[utoipa::path(get, path = "/api/v1/dlas/{id}/report", tag = "Rapport d'activité", params(PeriodParams),
    description = "The figures of the page /dla/{id}/rapport and of its CSV. Attribution: a cohort counts in the period it starts in (associations, contract, cost, funders, évaluations); sessions and attendance by session date; consultant time by entry date. Money in cents, days in tenths.",
    responses((status = 200, body = ActivityReport), (status = 422, body = ErrorBody, description = "`year`, `from` or `to` cannot be read, or the period is reversed or longer than five years.")))]
pub async fn dla_report(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PeriodParams>,
) -> ApiResult {
    let r = build(&state, Some(path.into_inner()), q.into_inner()).await?;
    Ok(actix_web::HttpResponse::Ok().json(&*r))
}

/// The instance's activity report (administrators): every cohort once, with its whole cost.
#[utoipa::path(get, path = "/api/v1/report", tag = "Rapport d'activité", params(PeriodParams),
    responses((status = 200, body = ActivityReport), (status = 422, body = ErrorBody, description = "`year`, `from` or `to` cannot be read, or the period is reversed or longer than five years.")))]
pub async fn instance_report(state: web::Data<AppState>, q: web::Query<PeriodParams>) -> ApiResult {
    let r = build(&state, None, q.into_inner()).await?;
    Ok(actix_web::HttpResponse::Ok().json(&*r))
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A name (or part of it), an RNA or a SIRET (or their beginning); 2 characters at least.
    q: Option<String>,
}

/// The associations of the cohorts the caller sees whose name contains `q`, or whose RNA or
/// SIRET starts with it, by name, each with its cohort, year, DLA, pistes d'actions and its
/// other cohorts; the total is in `X-Total-Count`.
#[utoipa::path(get, path = "/api/v1/associations", tag = "Associations", params(SearchParams, PageQuery),
    responses((status = 200, body = Vec<Found>),
        (status = 422, body = ErrorBody, description = "`q` shorter than 2 characters, or a bad page (see the paging).")))]
pub async fn search_associations(
    state: web::Data<AppState>,
    actor: Actor,
    page: Page,
    q: web::Query<SearchParams>,
) -> ApiResult {
    let text = q.into_inner().q.unwrap_or_default().trim().to_owned();
    if text.chars().count() < search::MIN_QUERY {
        return Err(AppError::field(
            "q",
            format!(
                "Tapez au moins {} caractères : un nom, un RNA ou un SIRET.",
                search::MIN_QUERY
            ),
        ));
    }
    let scope = actor.cohort_scope();
    let (total, found) = crate::db::run(&state.pool, move |c| {
        Ok((
            search::count(c, &scope, &text)?,
            search::page(c, &scope, &text, page.limit, page.offset)?,
        ))
    })
    .await?;
    Ok(Page::answer(total, &found))
}
