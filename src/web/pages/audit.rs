//! « Journal des modifications »: who changed what and when, with the values before and
//! after, for a cohort (`/cohortes/{id}/modifications`) and for every cohort a DLA owns
//! (`/dla/{id}/modifications`). Newest first, 50 per page (`?page=N`).

use actix_web::web;
use serde_json::json;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::models::audit::{AuditEntry, FieldChange};
use crate::models::{audit, cohort, dla};
use crate::web::AppState;
use crate::web::pages::{PER_PAGE, PageQuery, PageResult, page_number, pager, render};

const MODIFICATIONS: (&str, &str) = ("modification", "modifications");

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/modifications", web::get().to(cohort_log))
        .route("/dla/{id}/modifications", web::get().to(dla_log));
}

async fn cohort_log(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> PageResult {
    let id = path.into_inner();
    let query = query.into_inner();
    let (co, page, total, entries) = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &id)?;
        let total = audit::count_for_cohort(c, &id)?;
        let page = page_number(&query, total);
        let entries = audit::list_for_cohort(c, &id, PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((co, page, total, entries))
    })
    .await?;
    let base = format!("/cohortes/{}/modifications", co.id);
    render(
        &state,
        "pages/audit/log",
        json!({
            "title": format!("Journal des modifications — {}", co.name),
            "nav_cohorts": true,
            "cohort": {"id": co.id, "name": co.name},
            "entries": lines(&entries, false),
            "total": total,
            "pager": pager(&base, page, total, MODIFICATIONS),
        }),
    )
}

/// What the journal shows of an entry, its texts ready: not the snapshots before and after
/// (the API's), which made most of the page's context.
#[derive(Serialize)]
struct Line<'a> {
    summary: &'a str,
    #[serde(with = "crate::models::utc")]
    at: NaiveDateTime,
    at_text: &'a str,
    actor: &'a str,
    /// The entry's cohort, on a DLA's journal.
    cohort: Option<CohortLink<'a>>,
    /// The table of changes' caption: « Champs modifiés » for an update, else « Valeurs ».
    changes_title: &'static str,
    changes: &'a [FieldChange],
}

#[derive(Serialize)]
struct CohortLink<'a> {
    id: &'a str,
    name: &'a str,
}

/// The page's lines; `show_cohort` on a DLA's journal, which names each entry's cohort.
fn lines(entries: &[AuditEntry], show_cohort: bool) -> Vec<Line<'_>> {
    entries
        .iter()
        .map(|e| Line {
            summary: &e.summary,
            at: e.at,
            at_text: &e.at_text,
            actor: &e.actor,
            cohort: e
                .cohort_id
                .as_deref()
                .filter(|_| show_cohort)
                .map(|id| CohortLink {
                    id,
                    name: e.cohort_name.as_deref().unwrap_or("supprimée"),
                }),
            changes_title: if e.action == "update" {
                "Champs modifiés"
            } else {
                "Valeurs"
            },
            changes: &e.changes,
        })
        .collect()
}

async fn dla_log(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> PageResult {
    let id = path.into_inner();
    let query = query.into_inner();
    let (d, page, total, entries) = crate::db::run(&state.pool, move |c| {
        let d = dla::get(c, &id)?;
        let total = audit::count_for_dla(c, &id)?;
        let page = page_number(&query, total);
        let entries = audit::list_for_dla(c, &id, PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((d, page, total, entries))
    })
    .await?;
    let base = format!("/dla/{}/modifications", d.id);
    render(
        &state,
        "pages/audit/log",
        json!({
            "title": format!("Journal des modifications — {}", d.name),
            "nav_dlas": true,
            "dla": {"id": d.id, "name": d.name},
            "show_cohort": true,
            "entries": lines(&entries, true),
            "total": total,
            "pager": pager(&base, page, total, MODIFICATIONS),
        }),
    )
}
