//! The activity report (`/dla/{id}/rapport`, `/rapport` for the instance) as a printable
//! page and a CSV, and the association search (`/associations`). Figures from
//! `models::report`, the same as the API's.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::export::csv;
use crate::models::report::{self, ActivityReport, Subject};
use crate::models::search;
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::pages::{PER_PAGE, PageQuery, PageResult, Refusal, page_number, pager, render};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/dla/{id}/rapport", web::get().to(dla_page))
        .route("/dla/{id}/rapport.csv", web::get().to(dla_csv))
        .route("/rapport", web::get().to(instance_page))
        .route("/rapport.csv", web::get().to(instance_csv))
        .route("/associations", web::get().to(search_page));
}

/// `?annee=2027`, or `?du=…&au=…`; the current year when absent.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct PeriodQuery {
    #[serde(default)]
    pub annee: String,
    #[serde(default)]
    pub du: String,
    #[serde(default)]
    pub au: String,
}

impl PeriodQuery {
    /// The same period in another address (`?annee=2027` or `?du=…&au=…`).
    fn query_string(&self) -> String {
        if !self.du.trim().is_empty() || !self.au.trim().is_empty() {
            format!(
                "?du={}&au={}",
                crate::web::pages::query_value(self.du.trim()),
                crate::web::pages::query_value(self.au.trim())
            )
        } else if !self.annee.trim().is_empty() {
            format!(
                "?annee={}",
                crate::web::pages::query_value(self.annee.trim())
            )
        } else {
            String::new()
        }
    }
}

/// The report a request asks for, for the page, its CSV and the API: `dla_id`'s, or the
/// instance's when `None`, over the period of the request's `fields` (year, from, to),
/// whose names `keys` are (a field that cannot be read comes back beside its name).
///
/// The instance's report reads a network's year (every cohort of every DLA): built one at
/// a time, so that administrators asking at once wait their turn instead of holding as
/// many reports in memory (measured: 300 MB with 32 at once at 3,000 cohorts). And those
/// who waited while it was built for the same period take the one built after they asked
/// ([`Build::serves`]) instead of building it again: with 32 at once, one build, not
/// 32 in a row.
pub async fn load(
    state: &AppState,
    dla_id: Option<String>,
    fields: [String; 3],
    keys: [&'static str; 3],
) -> Result<Arc<ActivityReport>, AppError> {
    if dla_id.is_some() {
        return build(state, dla_id, fields, keys).await.map(Arc::new);
    }
    let gate = &state.instance_reports;
    let asked = std::time::Instant::now();
    let waiting = Waiting::count(&gate.waiting);
    let mut last = gate.last.lock().await;
    drop(waiting);
    // Kept for those waiting their turn, and only while any wait: a network's year stays
    // in memory no longer than a burst of requests.
    let keep = |last: &mut Option<LastBuilt>| {
        if gate.waiting.load(Ordering::SeqCst) == 0 {
            *last = None;
        }
    };
    if let Some(built) = last.as_ref().filter(|b| b.build.serves(&fields, asked)) {
        let report = built.report.clone();
        keep(&mut last);
        return Ok(report);
    }
    *last = None;
    let began = std::time::Instant::now();
    let report = Arc::new(build(state, None, fields.clone(), keys).await?);
    *last = Some(LastBuilt {
        build: Build { fields, began },
        report: report.clone(),
    });
    keep(&mut last);
    Ok(report)
}

/// The instance's reports of an app ([`AppState::instance_reports`]): built one at a time,
/// the last one kept for those waiting for it ([`load`]).
#[derive(Default)]
pub struct InstanceReports {
    last: tokio::sync::Mutex<Option<LastBuilt>>,
    /// Requests waiting for their turn.
    waiting: AtomicUsize,
}

/// One request counted among those waiting, until it has its turn or is dropped (its
/// client gone).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Waiting<'a> {
        waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The instance's report last built, and how; shared by those who take it (one copy,
/// however many wait).
struct LastBuilt {
    build: Build,
    report: Arc<ActivityReport>,
}

/// A build of the instance's report: the period's fields it was asked with, when it began.
#[derive(Clone, Debug)]
struct Build {
    fields: [String; 3],
    began: std::time::Instant,
}

impl Build {
    /// Whether a request for `fields` made at `asked` may take this build's report: the
    /// same period, and a build begun after the request was made — so that it shows every
    /// change made before it was asked for, as a build of its own would.
    fn serves(&self, fields: &[String; 3], asked: std::time::Instant) -> bool {
        self.fields == *fields && self.began >= asked
    }
}

/// Builds the report [`load`] returns.
async fn build(
    state: &AppState,
    dla_id: Option<String>,
    fields: [String; 3],
    keys: [&'static str; 3],
) -> Result<ActivityReport, AppError> {
    let now = state.clock.now();
    let today = crate::domain::calendar::utc_to_paris(now).date();
    let template = state.config.programme.clone();
    crate::db::run(&state.pool, move |c| {
        let subject = match &dla_id {
            Some(id) => Subject::Dla(crate::models::dla::get(c, id)?),
            None => Subject::Instance,
        };
        let [year, from, to] = &fields;
        let period = report::period_of(year, from, to, today, keys)?;
        let built = report::build(c, &subject, period, &template, now.naive_utc());
        if matches!(subject, Subject::Instance) {
            crate::db::release_memory(c);
        }
        built
    })
    .await
}

/// What the page shows of a report (`r` in its template): everything, except the
/// cohorts' lines on the instance's page, which shows a line per DLA — its cohorts' lines
/// (a thousand at a network's size) are in the CSV and the API, not serialised for
/// nothing.
#[derive(Serialize)]
struct Shown<'a> {
    kind: &'static str,
    dla_id: &'a Option<String>,
    title: &'a str,
    period: &'a report::PeriodOut,
    attribution: &'static str,
    cohorts: &'a [report::ReportCohort],
    dlas: &'a [report::ReportDla],
    totals: &'a report::TotalsOut,
    funders: &'a [report::FunderOut],
    evaluations: &'a crate::models::evaluation::SummaryView,
}

impl<'a> Shown<'a> {
    fn of(r: &'a ActivityReport) -> Shown<'a> {
        Shown {
            kind: r.kind,
            dla_id: &r.dla_id,
            title: &r.title,
            period: &r.period,
            attribution: r.attribution,
            cohorts: if r.kind == "instance" {
                &[]
            } else {
                &r.cohorts
            },
            dlas: &r.dlas,
            totals: &r.totals,
            funders: &r.funders,
            evaluations: &r.evaluations,
        }
    }
}

/// [`load`] with the page's query (`annee`, `du`, `au`).
async fn load_query(
    state: &AppState,
    dla_id: Option<String>,
    q: &PeriodQuery,
) -> Result<Arc<ActivityReport>, AppError> {
    let fields = [q.annee.clone(), q.du.clone(), q.au.clone()];
    load(state, dla_id, fields, ["annee", "du", "au"]).await
}

async fn page(state: &AppState, dla_id: Option<String>, q: PeriodQuery) -> PageResult {
    let base = match &dla_id {
        Some(id) => format!("/dla/{id}/rapport"),
        None => "/rapport".to_owned(),
    };
    let mut ctx = json!({
        "nav_dlas": dla_id.is_some(),
        "nav_report": dla_id.is_none(),
        "base": base,
        "form": q,
        "csv": format!("{base}.csv{}", q.query_string()),
        // The same period on another report (the instance's lines link each DLA's).
        "period_query": q.query_string(),
    });
    match load_query(state, dla_id.clone(), &q).await {
        Ok(r) => {
            ctx["title"] = json!(format!(
                "Rapport d'activité — {} — {}",
                r.title, r.period.label
            ));
            ctx["satisfaction"] =
                crate::web::pages::evaluations::summary_value(&r.evaluations)["satisfaction"]
                    .clone();
            ctx["sectors"] = shown(&r.sectors, "secteurs");
            ctx["towns"] = shown(&r.towns, "communes");
            // The year shown, in its field, when the address named none.
            if let Some(year) = r.period.year
                && q.annee.trim().is_empty()
            {
                ctx["form"]["annee"] = json!(year.to_string());
            }
            ctx["r"] = json!(Shown::of(&r));
            ctx["previous_year"] = json!(r.period.year.map(|y| y - 1));
            ctx["next_year"] = json!(r.period.year.map(|y| y + 1));
            render(state, "pages/report/activity", ctx)
        }
        Err(e) => {
            // A DLA that does not exist is a 404; a period that cannot be read is shown
            // again beside its field.
            let refusal = Refusal::of(e)?;
            if let Some(id) = &dla_id {
                let id = id.clone();
                let dla =
                    crate::db::run(&state.pool, move |c| crate::models::dla::get(c, &id)).await?;
                ctx["r"] = json!({"title": dla.name, "kind": "dla", "dla_id": dla.id});
            } else {
                ctx["r"] = json!({"title": "Toute l'instance", "kind": "instance"});
            }
            ctx["title"] = json!("Rapport d'activité");
            ctx["errors"] = json!(refusal.fields);
            ctx["error_summary"] = refusal.summary();
            refusal.render(state, "pages/report/activity", &mut ctx)
        }
    }
}

/// Rows of sectors or towns the printed page lists: the first ones, then one line for
/// the rest (the CSV and the API list them all).
const SHOWN: usize = 8;

fn shown(list: &[report::CountOut], noun: &str) -> Value {
    let mut rows: Vec<Value> = list
        .iter()
        .take(SHOWN)
        .map(|c| json!({"label": c.label, "associations": c.associations}))
        .collect();
    if list.len() > SHOWN {
        let rest = &list[SHOWN..];
        rows.push(json!({
            "label": format!("Autres {noun} ({})", rest.len()),
            "associations": rest.iter().map(|c| c.associations).sum::<usize>(),
            "other": true,
        }));
    }
    json!(rows)
}

async fn csv_of(state: &AppState, dla_id: Option<String>, q: PeriodQuery) -> PageResult {
    let r = load_query(state, dla_id, &q).await?;
    let name = match r.period.year {
        Some(y) => format!(
            "rapport-{}-{y}.csv",
            csv::filename_slug(&r.title, "instance")
        ),
        None => format!(
            "rapport-{}-{}-{}.csv",
            csv::filename_slug(&r.title, "instance"),
            r.period.from,
            r.period.to
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type(csv::CONTENT_TYPE)
        .insert_header((header::CONTENT_DISPOSITION, csv::attachment(&name)))
        .body(report::csv(&r)))
}

async fn dla_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> PageResult {
    page(&state, Some(path.into_inner()), q.into_inner()).await
}

async fn dla_csv(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> PageResult {
    csv_of(&state, Some(path.into_inner()), q.into_inner()).await
}

async fn instance_page(state: web::Data<AppState>, q: web::Query<PeriodQuery>) -> PageResult {
    page(&state, None, q.into_inner()).await
}

async fn instance_csv(state: web::Data<AppState>, q: web::Query<PeriodQuery>) -> PageResult {
    csv_of(&state, None, q.into_inner()).await
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: Option<String>,
}

/// Rows of the search's results as the page shows them.
fn found_view(found: &[search::Found]) -> Value {
    json!(
        found
            .iter()
            .map(|f| json!({
                "id": f.association.id,
                "name": f.association.name,
                "rna": f.association.rna,
                "siret": f.association.siret,
                "town": f.association.town,
                "sector": f.association.sector,
                "enrolment": f.enrolment,
                "pistes": f.pistes.iter().map(|p| json!({
                    "text": p.text,
                    "owner": p.owner,
                    "due": p.due_date.map(crate::domain::fr::date_short),
                })).collect::<Vec<_>>(),
                "others": f.other_enrolments,
            }))
            .collect::<Vec<_>>()
    )
}

async fn search_page(
    state: web::Data<AppState>,
    actor: Actor,
    query: web::Query<SearchQuery>,
) -> PageResult {
    let query = query.into_inner();
    let scope = actor.cohort_scope();
    let text = query.q.trim().to_owned();
    let too_short = !text.is_empty() && text.chars().count() < search::MIN_QUERY;
    let paging = PageQuery {
        page: query.page.clone(),
    };
    let q = text.clone();
    let (total, found, page) = crate::db::run(&state.pool, move |c| {
        let total = search::count(c, &scope, &q)?;
        let page = page_number(&paging, total);
        let found = search::page(c, &scope, &q, PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((total, found, page))
    })
    .await?;
    let base = format!("/associations?q={}", crate::web::pages::query_value(&text));
    let ctx = json!({
        "title": if text.is_empty() { "Rechercher une association".to_owned() }
                 else { format!("Associations — « {text} »") },
        "nav_search": true,
        "q": text,
        "searched": !text.is_empty() && !too_short,
        "errors": if too_short {
            json!({"q": format!("Tapez au moins {} caractères.", search::MIN_QUERY)})
        } else {
            json!({})
        },
        "found": found_view(&found),
        "total": total,
        "pager": pager(&base, page, total, ("association", "associations")),
    });
    if too_short {
        let mut ctx = ctx;
        return crate::web::pages::render_status(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "pages/report/search",
            &mut ctx,
        );
    }
    render(&state, "pages/report/search", ctx)
}

#[cfg(test)]
mod tests {
    use super::Build;
    use std::time::{Duration, Instant};

    #[test]
    fn a_request_takes_a_report_of_its_period_built_after_it_asked_only() {
        let asked = Instant::now();
        let fields = || ["2027".to_string(), String::new(), String::new()];
        let after = Build {
            fields: fields(),
            began: asked + Duration::from_millis(5),
        };
        assert!(after.serves(&fields(), asked));
        // Begun before the request: it may miss a change made in between.
        let before = Build {
            fields: fields(),
            began: asked - Duration::from_millis(5),
        };
        assert!(!before.serves(&fields(), asked));
        // Another period.
        let other = ["2026".to_string(), String::new(), String::new()];
        assert!(!after.serves(&other, asked));
    }
}
