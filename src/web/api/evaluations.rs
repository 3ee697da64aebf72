//! `/cohorts/{id}/evaluations`: the associations' évaluations of the accompaniment, summed
//! up and one per association, for staff (the answers are written from the portal).

use actix_web::{HttpResponse, web};

use crate::models::evaluation::{self, EvaluationsReport, SummaryView};
use crate::web::AppState;
use crate::web::api::ApiResult;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/evaluations", web::get().to(list));
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/evaluations", tag = "Évaluations",
    description = "The cohort's évaluations: counts, average satisfaction per session, recommendations, and each association's answer (with the follow-up).",
    responses((status = 200, body = EvaluationsReport)))]
pub async fn list(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let e = crate::db::run(&state.pool, move |c| {
        crate::models::cohort::get(c, &id)?;
        evaluation::for_cohort(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(EvaluationsReport {
        summary: SummaryView::from_summary(&e.summary),
        answers: e.answers,
    }))
}
