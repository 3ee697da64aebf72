//! Reference data pages: DLAs and consultant·es, and loading the demo on an empty
//! database.

use actix_web::web;
use serde_json::{Value, json};

use crate::models::consultant::{self, ConsultantInput};
use crate::models::dla::{self, DlaInput};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::form::Form;
use crate::web::pages::{NoticeQuery, PageResult, redirect, render, rerender, with_notice};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dla", web::get().to(dlas))
        .route("/dla", web::post().to(create_dla))
        .route("/dla/{id}/modifier", web::get().to(edit_dla))
        .route("/dla/{id}/modifier", web::post().to(update_dla))
        .route("/consultants", web::get().to(consultants))
        .route("/consultants", web::post().to(create_consultant))
        .route("/consultants/{id}/modifier", web::get().to(edit_consultant))
        .route(
            "/consultants/{id}/modifier",
            web::post().to(update_consultant),
        )
        .route("/demo", web::post().to(load_demo));
}

async fn dlas_ctx(state: &AppState, actor: &Actor) -> Result<Value, crate::error::AppError> {
    let mut list = crate::db::run(&state.pool, dla::list).await?;
    if let Some(ids) = actor.dla_scope() {
        list.retain(|d| ids.contains(&d.id));
    }
    Ok(
        json!({"title": "DLA", "nav_dlas": true, "dlas": list, "form": DlaInput::default(), "action": "/dla"}),
    )
}

async fn dlas(state: web::Data<AppState>, actor: Actor, q: web::Query<NoticeQuery>) -> PageResult {
    let ctx = dlas_ctx(&state, &actor).await?;
    render(&state, "pages/dlas/list", with_notice(ctx, &q))
}

async fn create_dla(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<DlaInput>,
) -> PageResult {
    let i = input.clone();
    match crate::db::run(&state.pool, move |c| dla::create(c, &i)).await {
        Ok(_) => Ok(redirect("/dla", Some("dla_cree"))),
        Err(e) => {
            let ctx = dlas_ctx(&state, &actor).await?;
            rerender(&state, "pages/dlas/list", ctx, &input, e)
        }
    }
}

async fn edit_dla(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let did = id.clone();
    let d = crate::db::run(&state.pool, move |c| dla::get(c, &did)).await?;
    render(
        &state,
        "pages/dlas/edit",
        json!({"title": "Modifier le DLA", "nav_dlas": true, "form": DlaInput::from(&d), "action": format!("/dla/{id}/modifier")}),
    )
}

async fn update_dla(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<DlaInput>,
) -> PageResult {
    let id = path.into_inner();
    let (did, i) = (id.clone(), input.clone());
    match crate::db::run(&state.pool, move |c| dla::update(c, &did, &i)).await {
        Ok(_) => Ok(redirect("/dla", Some("dla_modifie"))),
        Err(e) => rerender(
            &state,
            "pages/dlas/edit",
            json!({"title": "Modifier le DLA", "nav_dlas": true, "action": format!("/dla/{id}/modifier")}),
            &input,
            e,
        ),
    }
}

async fn consultants_ctx(state: &AppState, actor: &Actor) -> Result<Value, crate::error::AppError> {
    let rows = crate::db::run(&state.pool, |c| {
        let mut rows = Vec::new();
        for k in consultant::list(c)? {
            let reaches = crate::models::scope::consultant_reaches(c, &k.id)?.unwrap_or_default();
            rows.push((k, reaches));
        }
        Ok(rows)
    })
    .await?;
    // « Modifier » only where the access table lets this person edit the record.
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(k, reaches)| {
            let mut v = json!(k);
            v["editable"] = json!(
                crate::web::access::decide(
                    actor,
                    crate::web::access::Rule::ConsultantRecord,
                    None,
                    None,
                    &reaches,
                ) == crate::web::access::Decision::Allow
            );
            v
        })
        .collect();
    Ok(
        json!({"title": "Consultant·es", "nav_consultants": true, "consultants": list, "form": ConsultantInput::default(), "action": "/consultants"}),
    )
}

async fn consultants(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let ctx = consultants_ctx(&state, &actor).await?;
    render(&state, "pages/consultants/list", with_notice(ctx, &q))
}

async fn create_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<ConsultantInput>,
) -> PageResult {
    let i = input.clone();
    match crate::db::run(&state.pool, move |c| consultant::create(c, &i)).await {
        Ok(_) => Ok(redirect("/consultants", Some("consultant_cree"))),
        Err(e) => {
            let ctx = consultants_ctx(&state, &actor).await?;
            rerender(&state, "pages/consultants/list", ctx, &input, e)
        }
    }
}

async fn edit_consultant(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let x = crate::db::run(&state.pool, move |c| consultant::get(c, &cid)).await?;
    render(
        &state,
        "pages/consultants/edit",
        json!({"title": "Modifier le ou la consultant·e", "nav_consultants": true, "form": ConsultantInput::from(&x), "action": format!("/consultants/{id}/modifier")}),
    )
}

async fn update_consultant(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<ConsultantInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i) = (id.clone(), input.clone());
    match crate::db::run(&state.pool, move |c| consultant::update(c, &cid, &i)).await {
        Ok(_) => Ok(redirect("/consultants", Some("consultant_modifie"))),
        Err(e) => rerender(
            &state,
            "pages/consultants/edit",
            json!({"title": "Modifier le ou la consultant·e", "nav_consultants": true, "action": format!("/consultants/{id}/modifier")}),
            &input,
            e,
        ),
    }
}

async fn load_demo(state: web::Data<AppState>) -> PageResult {
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let today = crate::models::programme::today();
    let mail = state.mail.clone();
    let (public_url, link_days) = (
        state.config.server.public_url.clone(),
        state.config.auth.participant_link_days,
    );
    let (id, accounts) = crate::db::run(&state.pool, move |c| {
        // From the web, only on an empty database (the button is offered only then).
        if !crate::models::cohort::is_database_empty(c)? {
            return Err(crate::error::AppError::Conflict {
                code: "demo_not_empty",
                message: "La démonstration ne se charge que sur une base vide : celle-ci contient déjà des données.".into(),
            });
        }
        let id = crate::demo::load(c, &template, am, today, &mail)?;
        let accounts = crate::demo::accounts(c, &id, &public_url, link_days)?;
        Ok((id, accounts))
    })
    .await?;
    // The demo accounts' passwords are shown once, here.
    render(
        &state,
        "pages/cohorts/demo_loaded",
        json!({"title": "Démonstration chargée", "cohort_id": id, "accounts": accounts}),
    )
}
