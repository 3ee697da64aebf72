//! The staff's side of a call (issue #14): `/cohortes/{id}/candidatures`, the applications
//! with the method's criteria, duplicates and « déjà accompagnée » (paged in SQL, filtered
//! by status), the first of the waiting list proposed when a place is free; one
//! application's page with its decisions and « Inscrire dans la cohorte »; « Inscrire
//! toutes les candidatures retenues »; the decision emails' texts of the cohort.

use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::application::{PLACEHOLDERS, Status};
use crate::domain::fr;
use crate::error::AppError;
use crate::models::application::{self, DecisionInput, LetterInput, Reviewed};
use crate::models::cohort;
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PER_PAGE, PageResult, Refusal, page_number, pager, redirect, render, with_notice,
};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/candidatures", web::get().to(list))
        .route(
            "/cohortes/{id}/candidatures/inscrire",
            web::post().to(enrol_all),
        )
        .route(
            "/cohortes/{id}/candidatures/courriers",
            web::get().to(letters),
        )
        .route(
            "/cohortes/{id}/candidatures/courriers/{status}",
            web::post().to(save_letter),
        )
        .route("/candidatures/{id}", web::get().to(show))
        .route("/candidatures/{id}/decision", web::post().to(decide))
        .route("/candidatures/{id}/inscrire", web::post().to(enrol));
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    statut: String,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    notice: String,
}

const APPLICATIONS: (&str, &str) = ("candidature", "candidatures");

/// The decisions offered for an application: every status but its own.
fn decisions(r: &Reviewed) -> Vec<Value> {
    let current = r.application.status();
    Status::ALL
        .into_iter()
        .filter(|s| *s != current)
        .map(|s| json!({"code": s.code(), "label": action_label(s)}))
        .collect()
}

fn action_label(s: Status) -> &'static str {
    match s {
        Status::Received => "Remettre en « reçue »",
        Status::Retained => "Retenir",
        Status::Waiting => "Mettre sur liste d'attente",
        Status::Declined => "Ne pas retenir",
        Status::Withdrawn => "Noter le désistement",
    }
}

/// An application as the list and its page show it.
fn row(r: &Reviewed) -> Value {
    let a = &r.application;
    let creation = match (a.creation_date, a.creation_year) {
        (Some(d), _) => fr::date_long(d),
        (None, Some(y)) => y.to_string(),
        (None, None) => String::new(),
    };
    json!({
        "id": a.id,
        "name": a.name,
        "status": a.status,
        "status_label": r.status_label,
        "town": a.town,
        "rna": a.rna,
        "siret": a.siret,
        "sector": a.sector,
        "creation": creation,
        "salaried_staff": a.salaried_staff,
        "fte": a.fte_hundredths.map(|f| fr::decimal(f64::from(f) / 100.0, 2)),
        "volunteers": a.volunteers,
        "general_interest": a.general_interest,
        "director_name": a.director_name,
        "director_function": a.director_function,
        "director_email": a.director_email,
        "board_name": a.board_name,
        "board_function": a.board_function,
        "board_email": a.board_email,
        "motivation": a.motivation,
        "available_all": a.available_all,
        "availability_note": a.availability_note,
        "consent_named": a.consent_named,
        "submitted_at": fr::datetime_long(a.submitted_at.and_utc()),
        "decided_at": a.decided_at.map(|t| fr::datetime_long(t.and_utc())),
        "decided_by": a.decided_by,
        "association_id": a.association_id,
        "version": a.version,
        "retained": a.status() == Status::Retained,
        "enrollable": a.status() == Status::Retained && a.association_id.is_none(),
        "criteria": r.eligibility.criteria,
        "unmet": r.eligibility.unmet,
        "duplicates": r.eligibility.duplicates,
        "accompanied": r.eligibility.accompanied,
        "decisions": decisions(r),
    })
}

struct ListData {
    co: cohort::Cohort,
    counts: Vec<(Status, i64)>,
    total: i64,
    page: i64,
    rows: Vec<Reviewed>,
    proposal: Option<application::Proposal>,
    taken: i64,
    to_enrol: i64,
}

async fn list_data(
    state: &AppState,
    id: String,
    status: Option<Status>,
    page: Option<String>,
    actor: &Actor,
) -> Result<ListData, AppError> {
    let scope = actor.cohort_scope();
    crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &id)?;
        let counts = application::status_counts(c, &id)?;
        let total = application::count(c, &id, status)?;
        let page = page_number(&crate::web::pages::PageQuery { page }, total);
        let apps = application::page(c, &id, status, PER_PAGE, (page - 1) * PER_PAGE)?;
        let rows = application::review(c, &id, apps, &scope)?;
        let proposal = application::proposal(c, &id)?;
        let taken = cohort::places_taken(c, &id, None)?;
        let to_enrol = application::retained_not_enrolled(c, &id, None)?;
        Ok(ListData {
            co,
            counts,
            total,
            page,
            rows,
            proposal,
            taken,
            to_enrol,
        })
    })
    .await
}

fn list_ctx(d: &ListData, status: Option<Status>) -> Value {
    let base = match status {
        Some(s) => format!("/cohortes/{}/candidatures?statut={}", d.co.id, s.code()),
        None => format!("/cohortes/{}/candidatures", d.co.id),
    };
    json!({
        "title": format!("Candidatures — {}", d.co.name),
        "nav_cohorts": true,
        "cohort": {"id": d.co.id, "name": d.co.name, "cap": d.co.association_cap,
            "start": fr::date_long(d.co.start_date)},
        "filters": application::filter_options(&d.counts, status),
        "filtered": status.map(|s| s.label()),
        "any": d.counts.iter().any(|(_, n)| *n > 0),
        "rows": d.rows.iter().map(row).collect::<Vec<_>>(),
        "total": d.total,
        "pager": pager(&base, d.page, d.total, APPLICATIONS),
        "taken": d.taken,
        "full": d.taken >= i64::from(d.co.association_cap),
        "to_enrol": d.to_enrol,
        "proposal": d.proposal.as_ref().map(|p| json!({
            "id": p.application.id,
            "name": p.application.name,
            "version": p.application.version,
            "since": p.application.decided_at.map(|t| fr::datetime_long(t.and_utc())),
        })),
    })
}

async fn list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
    actor: Actor,
) -> PageResult {
    let q = query.into_inner();
    let status = Status::from_code(q.statut.trim());
    let d = list_data(&state, path.into_inner(), status, q.page, &actor).await?;
    let ctx = list_ctx(&d, status);
    render(
        &state,
        "pages/applications/list",
        with_notice(
            ctx,
            &NoticeQuery {
                notice: q.notice.clone(),
            },
        ),
    )
}

async fn show_ctx(state: &AppState, id: String, actor: &Actor) -> Result<Value, AppError> {
    let scope = actor.cohort_scope();
    let (r, co) = crate::db::run(&state.pool, move |c| {
        let r = application::reviewed(c, &id, &scope)?;
        let co = cohort::get(c, &r.application.cohort_id)?;
        Ok((r, co))
    })
    .await?;
    Ok(json!({
        "title": format!("Candidature — {}", r.application.name),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "application": row(&r),
    }))
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
    actor: Actor,
) -> PageResult {
    let ctx = show_ctx(&state, path.into_inner(), &actor).await?;
    render(&state, "pages/applications/show", with_notice(ctx, &q))
}

/// A refusal shown on the application's page (the cap, a stale version, an incomplete
/// application).
async fn refused_on_show(state: &AppState, id: String, actor: &Actor, err: AppError) -> PageResult {
    let refusal = Refusal::of(err)?;
    let mut ctx = show_ctx(state, id, actor).await?;
    refusal.render(state, "pages/applications/show", &mut ctx)
}

async fn decide(
    state: web::Data<AppState>,
    path: web::Path<String>,
    actor: Actor,
    Form(input): Form<DecisionInput>,
) -> PageResult {
    let id = path.into_inner();
    let (aid, mail) = (id.clone(), state.mail.clone());
    match state
        .write(move |c| application::decide(c, &aid, &input, &mail))
        .await
    {
        Ok(d) => {
            let notice = if d.held {
                "candidature_decidee_a_valider"
            } else if d.emails > 0 {
                "candidature_decidee_courriel"
            } else {
                "candidature_decidee"
            };
            Ok(redirect(
                &format!("/cohortes/{}/candidatures", d.application.cohort_id),
                Some(notice),
            ))
        }
        Err(e) => refused_on_show(&state, id, &actor, e).await,
    }
}

async fn enrol(state: web::Data<AppState>, path: web::Path<String>, actor: Actor) -> PageResult {
    let id = path.into_inner();
    let aid = id.clone();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    match state
        .write(move |c| application::enrol(c, &aid, &template, am))
        .await
    {
        Ok(e) => Ok(redirect(
            &format!("/associations/{}", e.association.id),
            Some("candidature_inscrite"),
        )),
        Err(e) => refused_on_show(&state, id, &actor, e).await,
    }
}

async fn enrol_all(
    state: web::Data<AppState>,
    path: web::Path<String>,
    actor: Actor,
) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    match state
        .write(move |c| application::enrol_all(c, &cid, &template, am))
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}"),
            Some("candidatures_inscrites"),
        )),
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let d = list_data(&state, id, None, None, &actor).await?;
            let mut ctx = list_ctx(&d, None);
            refusal.render(&state, "pages/applications/list", &mut ctx)
        }
    }
}

fn letters_ctx(co: &cohort::Cohort, letters: Vec<Value>) -> Value {
    json!({
        "title": format!("Courriels de décision — {}", co.name),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "letters": letters,
        "placeholders": PLACEHOLDERS.iter().map(|(p, what)| json!({"code": p, "what": what})).collect::<Vec<_>>(),
    })
}

async fn letters(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let (co, letters) = crate::db::run(&state.pool, move |c| {
        Ok((cohort::get(c, &id)?, application::letters(c, &id)?))
    })
    .await?;
    let letters = letters
        .into_iter()
        .map(|l| json!({"letter": l, "form": {"subject": l.subject, "body": l.body, "version": l.version.to_string()}, "errors": {}}))
        .collect();
    render(
        &state,
        "pages/applications/letters",
        with_notice(letters_ctx(&co, letters), &q),
    )
}

async fn save_letter(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Form(input): Form<LetterInput>,
) -> PageResult {
    let (id, code) = path.into_inner();
    let status = application::decided_status(&code)?;
    let (cid, i) = (id.clone(), input.clone());
    match state
        .write(move |c| application::save_letter(c, &cid, status, &i))
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}/candidatures/courriers"),
            Some("courriel_decision_enregistre"),
        )),
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let (co, letters) = crate::db::run(&state.pool, move |c| {
                Ok((cohort::get(c, &id)?, application::letters(c, &id)?))
            })
            .await?;
            let letters = letters
                .into_iter()
                .map(|l| {
                    if l.status == status.code() {
                        json!({"letter": l, "form": input, "errors": refusal.fields})
                    } else {
                        json!({"letter": l, "form": {"subject": l.subject, "body": l.body, "version": l.version.to_string()}, "errors": {}})
                    }
                })
                .collect();
            let mut ctx = letters_ctx(&co, letters);
            ctx["error_summary"] = refusal.summary();
            refusal.render(&state, "pages/applications/letters", &mut ctx)
        }
    }
}
