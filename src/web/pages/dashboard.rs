//! Dashboards: a cohort's (figures, timeline, budget burn, attendance and homework
//! matrices) and a DLA's (every cohort it runs or shares, with its days and warnings).

use actix_web::web;
use serde_json::json;

use crate::models::dashboard;
use crate::web::AppState;
use crate::web::pages::{PageResult, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/cohortes/{id}/tableau-de-bord",
        web::get().to(cohort_dashboard),
    )
    .route("/dla/{id}", web::get().to(dla_dashboard));
}

async fn cohort_dashboard(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let now = chrono::Utc::now().naive_utc();
    let (o, d) = crate::db::run(&state.pool, move |c| {
        dashboard::cohort(c, &id, &template, am, now)
    })
    .await?;
    render(
        &state,
        "pages/dashboard/cohort",
        json!({
            "title": format!("Tableau de bord — {}", o.cohort.name),
            "nav_cohorts": true,
            "cohort": {"id": o.cohort.id, "name": o.cohort.name},
            "d": d,
        }),
    )
}

async fn dla_dashboard(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let now = chrono::Utc::now().naive_utc();
    let (dla, cohorts) = crate::db::run(&state.pool, move |c| {
        let dla = crate::models::dla::get(c, &id)?;
        let cohorts = dashboard::dla(c, &id, &template, am, now)?;
        Ok((dla, cohorts))
    })
    .await?;
    render(
        &state,
        "pages/dashboard/dla",
        json!({
            "title": format!("Tableau de bord — {}", dla.name),
            "nav_dlas": true,
            "dla": dla,
            "cohorts": cohorts,
        }),
    )
}
