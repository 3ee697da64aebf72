//! « Journal des modifications »: who changed what and when, with the values before and
//! after, for a cohort (`/cohortes/{id}/modifications`) and for every cohort a DLA owns
//! (`/dla/{id}/modifications`). Newest first, 50 per page (`?page=N`).

use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::models::{audit, cohort, dla};
use crate::web::AppState;
use crate::web::pages::{PageResult, render};

/// Rows per page.
pub const PER_PAGE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cohortes/{id}/modifications", web::get().to(cohort_log))
        .route("/dla/{id}/modifications", web::get().to(dla_log));
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<String>,
}

/// The page asked for (1 when absent or unreadable), within 1..=last.
fn page_number(query: &PageQuery, total: i64) -> i64 {
    let last = last_page(total);
    query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, last)
}

fn last_page(total: i64) -> i64 {
    ((total + PER_PAGE - 1) / PER_PAGE).max(1)
}

/// Previous/next links and « page 2 sur 5 ».
fn pager(base: &str, page: i64, total: i64) -> Value {
    let last = last_page(total);
    json!({
        "page": page,
        "last": last,
        "several": last > 1,
        "count_text": if total > 1 {
            format!("{total} modifications")
        } else {
            format!("{total} modification")
        },
        "previous": (page > 1).then(|| format!("{base}?page={}", page - 1)),
        "next": (page < last).then(|| format!("{base}?page={}", page + 1)),
    })
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
        "pages/audit/cohort",
        json!({
            "title": format!("Journal des modifications — {}", co.name),
            "nav_cohorts": true,
            "cohort": {"id": co.id, "name": co.name},
            "entries": entries,
            "total": total,
            "pager": pager(&base, page, total),
        }),
    )
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
        "pages/audit/dla",
        json!({
            "title": format!("Journal des modifications — {}", d.name),
            "nav_dlas": true,
            "dla": {"id": d.id, "name": d.name},
            "entries": entries,
            "total": total,
            "pager": pager(&base, page, total),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_linked() {
        let q = |p: &str| PageQuery {
            page: Some(p.to_string()),
        };
        assert_eq!(page_number(&PageQuery::default(), 0), 1);
        assert_eq!(page_number(&q("3"), 120), 3);
        assert_eq!(page_number(&q("9"), 120), 3);
        assert_eq!(page_number(&q("-2"), 120), 1);
        assert_eq!(page_number(&q("deux"), 120), 1);
        let p = pager("/x", 2, 120);
        assert_eq!(p["previous"], "/x?page=1");
        assert_eq!(p["next"], "/x?page=3");
        assert_eq!(pager("/x", 1, 10)["several"], false);
    }
}
