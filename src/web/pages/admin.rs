//! Reference data pages: DLAs and consultant·es, and loading the demo on an empty
//! database.

use actix_web::web;
use serde_json::{Value, json};

use crate::models::consultant::{self, ConsultantInput};
use crate::models::dla::{self, DlaInput};
use crate::web::AppState;
use crate::web::access;
use crate::web::actor::Actor;
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PER_PAGE, PageQuery, PageResult, page_number, pager, redirect, render, rerender,
    with_notice,
};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
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

const DLAS: (&str, &str) = ("DLA", "DLA");

/// The DLA page: the DLAs the person sees (a chargé·e de mission: theirs; administrators:
/// all), 50 per page with the scope in the query, and the form that adds one (`input`, as
/// typed after a refusal).
async fn dlas_ctx(
    state: &AppState,
    actor: &Actor,
    page: &PageQuery,
    input: &DlaInput,
) -> Result<Value, crate::error::AppError> {
    let scope = actor.dla_scope();
    let asked = page.clone();
    let (list, page, total) = crate::db::run(&state.pool, move |c| {
        let total = dla::count_visible(c, scope.as_deref())?;
        let page = page_number(&asked, total);
        let list = dla::list_visible(c, scope.as_deref(), PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((list, page, total))
    })
    .await?;
    Ok(json!({
        "title": "DLA", "nav_dlas": true, "dlas": list, "form": input, "action": "/dla",
        "pager": pager("/dla", page, total, DLAS),
    }))
}

async fn dlas(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
    page: web::Query<PageQuery>,
) -> PageResult {
    let ctx = dlas_ctx(&state, &actor, &page, &DlaInput::default()).await?;
    render(&state, "pages/dlas/list", with_notice(ctx, &q))
}

/// A refusal shows the first page of DLAs again, with the form as typed.
async fn create_dla(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<DlaInput>,
) -> PageResult {
    let i = input.clone();
    match state.write(move |c| dla::create(c, &i)).await {
        Ok(_) => Ok(redirect("/dla", Some("dla_cree"))),
        Err(e) => {
            let ctx = dlas_ctx(&state, &actor, &PageQuery::default(), &input).await?;
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
    match state.write(move |c| dla::update(c, &did, &i)).await {
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

const RECORDS: (&str, &str) = ("fiche", "fiches");

/// The DLAs as checkboxes (administrators choose a record's DLAs) and as the names of
/// those checked (what a chargé·e de mission sees of the list).
fn dla_fields(dlas: &[dla::Dla], checked: &[String], admin: bool) -> Value {
    json!({
        "dla_choice": admin,
        "dla_options": dlas
            .iter()
            .map(|d| json!({"value": d.id, "label": format!("{} — {}", d.name, d.area), "checked": checked.contains(&d.id)}))
            .collect::<Vec<_>>(),
        "dla_names": dla_names(dlas, checked),
    })
}

/// The names of the `checked` DLAs, for a record's line (the directory shows 50 records:
/// building each one the whole picker, only to read its names, cost 50 × every DLA).
fn dla_names(dlas: &[dla::Dla], checked: &[String]) -> String {
    dlas.iter()
        .filter(|d| checked.contains(&d.id))
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The directory: the records of the person's DLA (administrators: all), 50 per page, and
/// the form that adds one (`input`, as typed after a refusal).
async fn consultants_ctx(
    state: &AppState,
    actor: &Actor,
    page: &PageQuery,
    input: &ConsultantInput,
) -> Result<Value, crate::error::AppError> {
    let scope = actor.dla_scope();
    let asked = page.clone();
    let (rows, dlas, page, total) = crate::db::run(&state.pool, move |c| {
        let total = consultant::count_visible(c, scope.as_deref())?;
        let page = page_number(&asked, total);
        let rows = consultant::list_visible(c, scope.as_deref(), PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((rows, dla::list(c)?, page, total))
    })
    .await?;
    // « Modifier » only where the access table lets this person edit the record.
    let list: Vec<Value> = rows
        .into_iter()
        .map(|k| {
            let mut v = json!(k.consultant);
            v["editable"] = json!(
                access::decide(
                    actor,
                    access::Rule::ConsultantRecord,
                    None,
                    None,
                    &k.dla_ids
                ) == access::Decision::Allow
            );
            v["dlas"] = json!(dla_names(&dlas, &k.dla_ids));
            v
        })
        .collect();
    let checked = input.dla_ids.clone().unwrap_or_default();
    let mut ctx = json!({
        "title": "Consultant·es", "nav_consultants": true, "consultants": list,
        "form": input, "action": "/consultants",
        "pager": pager("/consultants", page, total, RECORDS),
    });
    ctx["dla"] = dla_fields(&dlas, &checked, actor.is_admin());
    Ok(ctx)
}

async fn consultants(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
    page: web::Query<PageQuery>,
) -> PageResult {
    let ctx = consultants_ctx(&state, &actor, &page, &ConsultantInput::default()).await?;
    render(&state, "pages/consultants/list", with_notice(ctx, &q))
}

/// A page form's DLA list: administrators always see the checkboxes, so none checked
/// means « administrators only »; a chargé·e de mission's form has none.
fn typed_dlas(actor: &Actor, mut input: ConsultantInput) -> ConsultantInput {
    if actor.is_admin() {
        input.dla_ids.get_or_insert_with(Vec::new);
    } else {
        input.dla_ids = None;
    }
    input
}

async fn create_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<ConsultantInput>,
) -> PageResult {
    let input = typed_dlas(&actor, input);
    let (i, a) = (input.clone(), actor.clone());
    match state
        .write(move |c| {
            let mut i = i;
            i.dla_ids = a.consultant_dlas(None, i.dla_ids.as_deref())?;
            consultant::create(c, &i)
        })
        .await
    {
        Ok(_) => Ok(redirect("/consultants", Some("consultant_cree"))),
        Err(e) => {
            let ctx = consultants_ctx(&state, &actor, &PageQuery::default(), &input).await?;
            rerender(&state, "pages/consultants/list", ctx, &input, e)
        }
    }
}

/// The edit page's context; `input` is what the form shows (stored or as typed).
async fn edit_ctx(
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: &ConsultantInput,
) -> Result<Value, crate::error::AppError> {
    let cid = id.to_string();
    let (stored, dlas) = crate::db::run(&state.pool, move |c| {
        Ok((consultant::dla_ids(c, &cid)?, dla::list(c)?))
    })
    .await?;
    // A chargé·e de mission sees the stored list; an administrator what they ticked.
    let checked = match (actor.is_admin(), &input.dla_ids) {
        (true, Some(typed)) => typed.clone(),
        _ => stored,
    };
    let mut ctx = json!({
        "title": "Modifier le ou la consultant·e", "nav_consultants": true,
        "form": input, "action": format!("/consultants/{id}/modifier"),
    });
    ctx["dla"] = dla_fields(&dlas, &checked, actor.is_admin());
    Ok(ctx)
}

async fn edit_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let x = crate::db::run(&state.pool, move |c| consultant::record(c, &cid)).await?;
    let ctx = edit_ctx(&state, &actor, &id, &ConsultantInput::from(&x)).await?;
    render(&state, "pages/consultants/edit", ctx)
}

async fn update_consultant(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<ConsultantInput>,
) -> PageResult {
    let id = path.into_inner();
    let input = typed_dlas(&actor, input);
    let (cid, i, a) = (id.clone(), input.clone(), actor.clone());
    match state
        .write(move |c| {
            let mut i = i;
            let current = consultant::dla_ids(c, &cid)?;
            i.dla_ids = a.consultant_dlas(Some(&current), i.dla_ids.as_deref())?;
            consultant::update(c, &cid, &i)
        })
        .await
    {
        Ok(_) => Ok(redirect("/consultants", Some("consultant_modifie"))),
        Err(e) => {
            let ctx = edit_ctx(&state, &actor, &id, &input).await?;
            rerender(&state, "pages/consultants/edit", ctx, &input, e)
        }
    }
}

async fn load_demo(state: web::Data<AppState>) -> PageResult {
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let today = crate::models::programme::today(state.clock.now());
    let mail = state.mail.clone();
    let (public_url, link_days) = (
        state.config.server.public_url.clone(),
        state.config.auth.participant_link_days,
    );
    let (id, accounts) = state.write(move |c| {
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
