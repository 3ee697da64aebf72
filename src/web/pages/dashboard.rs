//! Dashboards: a cohort's (figures, timeline, budget burn, attendance and homework
//! matrices) and a DLA's (every cohort it runs or shares, with its days and warnings).

use actix_web::web;
use serde::Serialize;
use serde_json::json;

use crate::models::dashboard::{self, DlaCohort};
use crate::web::AppState;
use crate::web::pages::{PER_PAGE, PageQuery, PageResult, page_number, pager, render};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
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
    let now = state.clock.now().naive_utc();
    let (o, d, evaluations) = crate::db::run(&state.pool, move |c| {
        let (o, d) = dashboard::cohort(c, &id, &template, am, now)?;
        let e = crate::models::evaluation::for_cohort(c, &id)?;
        Ok((o, d, e.summary))
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
            "evaluations": crate::web::pages::evaluations::summary_value(
                &crate::models::evaluation::SummaryView::from_summary(&evaluations),
            ),
        }),
    )
}

async fn dla_dashboard(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> PageResult {
    let id = path.into_inner();
    let query = query.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let now = state.clock.now().naive_utc();
    let (dla, cohorts, page, total) = crate::db::run(&state.pool, move |c| {
        let dla = crate::models::dla::get(c, &id)?;
        let total = dashboard::dla_count(c, &id)?;
        let page = page_number(&query, total);
        let cohorts = dashboard::dla(c, &id, &template, am, now, PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((dla, cohorts, page, total))
    })
    .await?;
    let base = format!("/dla/{}", dla.id);
    render(
        &state,
        "pages/dashboard/dla",
        json!({
            "title": format!("Tableau de bord — {}", dla.name),
            "nav_dlas": true,
            "dla": dla,
            "cohorts": cohorts.iter().map(DlaLine::of).collect::<Vec<_>>(),
            "pager": pager(&base, page, total, ("cohorte", "cohortes")),
        }),
    )
}

/// What a line of the DLA overview shows: the figures' three texts, not the whole budget
/// (its warnings are counted in `warning_count`).
#[derive(Serialize)]
struct DlaLine<'a> {
    id: &'a str,
    name: &'a str,
    status: &'a str,
    status_label: &'a str,
    role: &'a str,
    associations: usize,
    logged: &'a str,
    contracted: &'a str,
    remaining: &'a str,
    next_session: Option<&'a str>,
    warning_count: usize,
}

impl<'a> DlaLine<'a> {
    fn of(c: &'a DlaCohort) -> Self {
        DlaLine {
            id: &c.id,
            name: &c.name,
            status: &c.status,
            status_label: c.status_label,
            role: c.role,
            associations: c.associations,
            logged: &c.figures.logged,
            contracted: &c.figures.contracted,
            remaining: &c.figures.remaining,
            next_session: c.next_session.as_deref(),
            warning_count: c.warning_count,
        }
    }
}
