//! Reference data pages: DLAs and consultant·es, and loading the demo on an empty
//! database.

use actix_web::web;
use serde_json::{Value, json};

use crate::models::consultant::{self, ConsultantInput};
use crate::models::dla::{self, DlaInput};
use crate::web::AppState;
use crate::web::actor::{Action, Actor};
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

async fn dlas_ctx(state: &AppState) -> Result<Value, crate::error::AppError> {
    let list = crate::db::run(&state.pool, dla::list).await?;
    Ok(
        json!({"title": "DLA", "nav_dlas": true, "dlas": list, "form": DlaInput::default(), "action": "/dla"}),
    )
}

async fn dlas(state: web::Data<AppState>, actor: Actor, q: web::Query<NoticeQuery>) -> PageResult {
    actor.authorize(Action::ManageDlas)?;
    let ctx = dlas_ctx(&state).await?;
    render(&state, "pages/dlas/list", with_notice(ctx, &q))
}

async fn create_dla(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<DlaInput>,
) -> PageResult {
    actor.authorize(Action::ManageDlas)?;
    let i = input.clone();
    match crate::db::run(&state.pool, move |c| dla::create(c, &i)).await {
        Ok(_) => Ok(redirect("/dla", Some("dla_cree"))),
        Err(e) => {
            let ctx = dlas_ctx(&state).await?;
            rerender(&state, "pages/dlas/list", ctx, &input, e)
        }
    }
}

async fn edit_dla(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    actor.authorize(Action::ManageDlas)?;
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
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<DlaInput>,
) -> PageResult {
    actor.authorize(Action::ManageDlas)?;
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

async fn consultants_ctx(state: &AppState) -> Result<Value, crate::error::AppError> {
    let list = crate::db::run(&state.pool, consultant::list).await?;
    Ok(
        json!({"title": "Consultant·es", "nav_consultants": true, "consultants": list, "form": ConsultantInput::default(), "action": "/consultants"}),
    )
}

async fn consultants(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    actor.authorize(Action::ManageConsultants)?;
    let ctx = consultants_ctx(&state).await?;
    render(&state, "pages/consultants/list", with_notice(ctx, &q))
}

async fn create_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<ConsultantInput>,
) -> PageResult {
    actor.authorize(Action::ManageConsultants)?;
    let i = input.clone();
    match crate::db::run(&state.pool, move |c| consultant::create(c, &i)).await {
        Ok(_) => Ok(redirect("/consultants", Some("consultant_cree"))),
        Err(e) => {
            let ctx = consultants_ctx(&state).await?;
            rerender(&state, "pages/consultants/list", ctx, &input, e)
        }
    }
}

async fn edit_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> PageResult {
    actor.authorize(Action::ManageConsultants)?;
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
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<ConsultantInput>,
) -> PageResult {
    actor.authorize(Action::ManageConsultants)?;
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

async fn load_demo(state: web::Data<AppState>, actor: Actor) -> PageResult {
    actor.authorize(Action::LoadDemo)?;
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let today = crate::models::programme::today();
    let mail = state.mail.clone();
    let id = crate::db::run(&state.pool, move |c| {
        // From the web, only on an empty database (the button is offered only then).
        if !crate::models::cohort::is_database_empty(c)? {
            return Err(crate::error::AppError::Conflict {
                code: "demo_not_empty",
                message: "La démonstration ne se charge que sur une base vide : celle-ci contient déjà des données.".into(),
            });
        }
        crate::demo::load(c, &template, am, today, &mail)
    })
    .await?;
    Ok(redirect(&format!("/cohortes/{id}"), Some("demo_chargee")))
}
