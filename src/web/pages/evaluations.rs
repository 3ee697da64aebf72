//! The évaluation of the accompaniment (`models::evaluation`), both sides:
//!
//! - the portal: `/portail/evaluation`, the association's one answer (any of its
//!   participants fills or edits it), and `/portail/suivi`, the follow-up months after the
//!   bilan on the pistes implemented. Scoped to the signed-in `scope::Member`: a participant
//!   only ever reaches their own association's answer.
//! - staff: `/cohortes/{id}/evaluations`, the cohort's answers summed up (counts, average
//!   per session, recommendations, comments quoted) and listed per association, and
//!   `/cohortes/{id}/evaluations.csv` for a spreadsheet. Each answer also shows on its
//!   association's page ([`association_value`]).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::domain::evaluation::{Recommend, SESSIONS};
use crate::domain::{calendar, fr};
use crate::error::AppError;
use crate::export::csv;
use crate::models::evaluation::{
    self, AssociationAnswer, Evaluation, EvaluationInput, FollowupInput, SummaryView,
};
use crate::models::scope::Member;
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PageError, PageResult, private, redirect, render, with_notice,
};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/portail/evaluation", web::get().to(form))
        .route("/portail/evaluation", web::post().to(save))
        .route("/portail/suivi", web::get().to(followup_form))
        .route("/portail/suivi", web::post().to(save_followup))
        .route("/cohortes/{id}/evaluations", web::get().to(cohort_page))
        .route("/cohortes/{id}/evaluations.csv", web::get().to(cohort_csv));
}

fn member(actor: &Actor) -> Result<Member, PageError> {
    actor.member().cloned().ok_or_else(|| {
        AppError::Forbidden("Cette page est réservée aux participant·es connecté·es.".into()).into()
    })
}

/// « le lundi 11 janvier 2027 » for a stored UTC instant.
fn day(t: chrono::NaiveDateTime) -> String {
    fr::date_long(calendar::utc_to_paris(t.and_utc()).date())
}

// ---- portal ------------------------------------------------------------------------------

/// What the portal's évaluation form needs beside the answer: the association's pistes
/// d'actions (to pick from), who answered last, and whether it exists yet.
async fn form_ctx(
    state: &AppState,
    m: &Member,
    input: Option<EvaluationInput>,
) -> Result<Value, AppError> {
    let (aid, cid) = (m.association_id.clone(), m.cohort_id.clone());
    let (current, leads, answers) = crate::db::run(&state.pool, move |c| {
        Ok((
            evaluation::get(c, &aid)?,
            crate::models::action_lead::list_for_association(c, &aid)?,
            evaluation::for_cohort(c, &cid)?.answers,
        ))
    })
    .await?;
    let by = answers
        .iter()
        .find(|a| a.association_id == m.association_id)
        .and_then(|a| a.answered_by_name.clone());
    let leads: Vec<String> = leads.iter().map(|l| l.text.clone()).collect();
    let input = input.unwrap_or_else(|| match &current {
        Some(e) => EvaluationInput::from_row(e),
        // The pistes start from those the association noted with the consultant.
        None => EvaluationInput {
            pistes: leads.join("\n"),
            ..Default::default()
        },
    });
    let sessions: Vec<Value> = SESSIONS
        .iter()
        .map(|(key, label)| {
            let typed = input.satisfaction(key).trim().to_string();
            json!({
                "key": key,
                "field": format!("satisfaction_{key}"),
                "label": label,
                "notes": (1..=5).map(|n| json!({
                    "n": n,
                    "checked": typed == n.to_string(),
                })).collect::<Vec<_>>(),
                "none_checked": typed.is_empty(),
            })
        })
        .collect();
    let recommend: Vec<Value> = Recommend::ALL
        .iter()
        .map(|r| {
            json!({
                "code": r.code(),
                "label": r.label(),
                "checked": input.recommend.trim() == r.code(),
            })
        })
        .collect();
    Ok(json!({
        "title": "Évaluation de l'accompagnement",
        "nav_portal": true,
        "association": m.association_name,
        "answered": current.as_ref().is_some_and(|e| e.answered_at.is_some()),
        "answered_on": current.as_ref().and_then(|e| e.answered_at).map(day),
        "answered_by": by,
        "leads": leads,
        "sessions": sessions,
        "recommend": recommend,
        "form": input,
    }))
}

async fn form(state: web::Data<AppState>, actor: Actor, q: web::Query<NoticeQuery>) -> PageResult {
    let m = member(&actor)?;
    let ctx = form_ctx(&state, &m, None).await?;
    render(&state, "pages/portal/evaluation", with_notice(ctx, &q)).map(private)
}

/// Renders a refused portal form again with what was typed and the messages.
fn refused(state: &AppState, template: &str, mut ctx: Value, err: AppError) -> PageResult {
    let refusal = super::Refusal::of(err)?;
    ctx["errors"] = json!(refusal.fields);
    ctx["error_summary"] = refusal.summary();
    refusal.render(state, template, &mut ctx).map(private)
}

async fn save(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<EvaluationInput>,
) -> PageResult {
    let m = member(&actor)?;
    let (member, i) = (m.clone(), input.clone());
    match state.write(move |c| evaluation::save(c, &member, &i)).await {
        Ok(_) => Ok(redirect("/portail", Some("evaluation_enregistree"))),
        Err(e) => {
            let ctx = form_ctx(&state, &m, Some(input)).await?;
            refused(&state, "pages/portal/evaluation", ctx, e)
        }
    }
}

async fn followup_ctx(
    state: &AppState,
    m: &Member,
    input: Option<FollowupInput>,
) -> Result<Value, AppError> {
    let (aid, cid, config) = (
        m.association_id.clone(),
        m.cohort_id.clone(),
        state.config.evaluation,
    );
    let (current, plan, leads) = crate::db::run(&state.pool, move |c| {
        Ok((
            evaluation::get(c, &aid)?,
            evaluation::followup_plan(c, &cid, &aid, config)?,
            crate::models::action_lead::list_for_association(c, &aid)?,
        ))
    })
    .await?;
    let open = evaluation::followup_open(plan.as_ref(), state.clock.now());
    let opens_on = plan
        .and_then(|p| p.followup)
        .map(|(at, _)| fr::date_long(calendar::utc_to_paris(at).date()));
    let input = input.unwrap_or_else(|| FollowupInput {
        followup: current
            .as_ref()
            .map(|e| e.followup.clone())
            .unwrap_or_default(),
        version: current
            .as_ref()
            .map(|e| e.version.to_string())
            .unwrap_or_default(),
    });
    let retained = current
        .as_ref()
        .map(|e| e.pistes.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| leads.iter().map(|l| l.text.clone()).collect());
    Ok(json!({
        "title": "Suivi de l'accompagnement",
        "nav_portal": true,
        "association": m.association_name,
        "has_bilan": plan.is_some(),
        "open": open,
        "opens_on": opens_on,
        "answered_on": current.as_ref().and_then(|e| e.followup_at).map(day),
        "retained": retained,
        "form": input,
    }))
}

async fn followup_form(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let m = member(&actor)?;
    let ctx = followup_ctx(&state, &m, None).await?;
    render(&state, "pages/portal/followup", with_notice(ctx, &q)).map(private)
}

async fn save_followup(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<FollowupInput>,
) -> PageResult {
    let m = member(&actor)?;
    let (member, i, config) = (m.clone(), input.clone(), state.config.evaluation);
    match state
        .write(move |c| evaluation::save_followup(c, &member, &i, config))
        .await
    {
        Ok(_) => Ok(redirect("/portail", Some("suivi_enregistre"))),
        Err(e) => {
            let ctx = followup_ctx(&state, &m, Some(input)).await?;
            refused(&state, "pages/portal/followup", ctx, e)
        }
    }
}

/// The portal home's évaluation block: answered or not, and whether the follow-up is open.
pub async fn portal_value(state: &AppState, m: &Member) -> Result<Value, AppError> {
    let (aid, cid, config) = (
        m.association_id.clone(),
        m.cohort_id.clone(),
        state.config.evaluation,
    );
    let (current, plan) = crate::db::run(&state.pool, move |c| {
        Ok((
            evaluation::get(c, &aid)?,
            evaluation::followup_plan(c, &cid, &aid, config)?,
        ))
    })
    .await?;
    Ok(json!({
        "answered_on": current.as_ref().and_then(|e| e.answered_at).map(day),
        "followup": plan.as_ref().is_some_and(|p| p.followup.is_some()),
        "followup_open": plan.is_some()
            && evaluation::followup_open(plan.as_ref(), state.clock.now()),
        "followup_on": current.as_ref().and_then(|e| e.followup_at).map(day),
    }))
}

// ---- staff -------------------------------------------------------------------------------

/// One association's answer, as the association page and the cohort page show it.
pub fn association_value(a: &AssociationAnswer) -> Value {
    let e: Option<&Evaluation> = a.evaluation.as_ref().filter(|e| e.answered_at.is_some());
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    json!({
        "association_id": a.association_id,
        "association_name": a.association_name,
        "answered": e.is_some(),
        "answered_on": e.and_then(|e| e.answered_at).map(day),
        "answered_by": a.answered_by_name,
        "understanding": e.map(|e| lines(&e.understanding)).unwrap_or_default(),
        "pistes": e.map(|e| lines(&e.pistes)).unwrap_or_default(),
        "satisfaction": e.map(|e| SESSIONS.iter().zip(e.satisfaction()).map(|((_, label), n)| json!({
            "label": label,
            "note": n.map(|n| format!("{n} / 5")),
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "recommend": e.and_then(|e| Recommend::parse(&e.recommend)).map(|r| r.label()),
        "comment": e.map(|e| lines(&e.comment)).unwrap_or_default(),
        "followup": a.evaluation.as_ref().map(|e| lines(&e.followup)).unwrap_or_default(),
        "followup_on": a.evaluation.as_ref().and_then(|e| e.followup_at).map(day),
        "followup_by": a.followup_by_name,
    })
}

/// The summary as the page shows it: averages in French (« 4,5 / 5 »).
pub fn summary_value(s: &SummaryView) -> Value {
    json!({
        "associations": s.associations,
        "answered": s.answered,
        "followed_up": s.followed_up,
        "response_rate": s.response_rate,
        "satisfaction": s.satisfaction.iter().map(|x| json!({
            "label": x.label,
            "ratings": x.ratings,
            "average": x.average.map(|a| format!("{} / 5", fr::decimal(a, 1))),
        })).collect::<Vec<_>>(),
        "recommend_yes": s.recommend_yes,
        "recommend_maybe": s.recommend_maybe,
        "recommend_no": s.recommend_no,
    })
}

async fn cohort_page(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let (co, e) = crate::db::run(&state.pool, move |c| {
        Ok((
            crate::models::cohort::get(c, &cid)?,
            evaluation::for_cohort(c, &cid)?,
        ))
    })
    .await?;
    let summary = SummaryView::from_summary(&e.summary);
    let answers: Vec<Value> = e.answers.iter().map(association_value).collect();
    let quotes: Vec<Value> = e
        .answers
        .iter()
        .filter_map(|a| {
            let e = a.evaluation.as_ref()?;
            (e.answered_at.is_some() && !e.comment.trim().is_empty()).then(|| {
                json!({
                    "association": a.association_name,
                    "text": e.comment.trim(),
                })
            })
        })
        .collect();
    let ctx = json!({
        "title": format!("Évaluations — {}", co.name),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "summary": summary_value(&summary),
        "answers": answers,
        "quotes": quotes,
    });
    render(&state, "pages/cohorts/evaluations", ctx)
}

async fn cohort_csv(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (co, body) = crate::db::run(&state.pool, move |c| {
        let co = crate::models::cohort::get(c, &id)?;
        let e = evaluation::for_cohort(c, &id)?;
        Ok((co, evaluation::csv(&e)))
    })
    .await?;
    let filename = format!(
        "evaluations-{}.csv",
        csv::filename_slug(&co.name, "cohorte")
    );
    Ok(HttpResponse::Ok()
        .content_type(csv::CONTENT_TYPE)
        .insert_header((header::CONTENT_DISPOSITION, csv::attachment(&filename)))
        .body(body))
}
