//! Intersession task pages: add, edit, delete, and mark returned (or back to do) per
//! association.

use actix_web::web;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::models::task::{self, ReturnInput, TaskInput};
use crate::models::{association, cohort, programme, session};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{Confirm, PageResult, confirm, redirect, render, rerender};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/taches/nouvelle", web::get().to(new))
        .route("/cohortes/{id}/taches", web::post().to(create))
        .route("/taches/{id}/modifier", web::get().to(edit))
        .route("/taches/{id}/modifier", web::post().to(update))
        .route("/taches/{id}/supprimer", web::get().to(confirm_delete))
        .route("/taches/{id}/supprimer", web::post().to(delete))
        .route(
            "/taches/{id}/associations/{aid}",
            web::post().to(set_return),
        );
}

async fn ctx(
    state: &AppState,
    cohort_id: &str,
    title: &str,
    action: String,
    input: &TaskInput,
) -> Result<Value, AppError> {
    let cid = cohort_id.to_string();
    let (co, sessions, associations) = crate::db::run(&state.pool, move |c| {
        Ok((
            cohort::get(c, &cid)?,
            session::list_for_cohort(c, &cid)?,
            association::list_for_cohort(c, &cid)?,
        ))
    })
    .await?;
    let mut pairs = vec![(String::new(), "— Aucune —".to_string())];
    pairs.extend(sessions.iter().map(|s| {
        (
            s.id.clone(),
            format!(
                "{} ({})",
                s.label(&associations),
                crate::domain::fr::date_short(s.local_start().date())
            ),
        )
    }));
    Ok(json!({
        "title": title,
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "action": action,
        "form": input,
        "session_options": view::owned_options(&pairs, &input.session_id),
    }))
}

async fn new(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let input = TaskInput {
        preparation_days: "0,5".into(),
        ..Default::default()
    };
    let c = ctx(
        &state,
        &id,
        "Ajouter un travail préparatoire",
        format!("/cohortes/{id}/taches"),
        &input,
    )
    .await?;
    render(&state, "pages/tasks/form", c)
}

async fn create(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<TaskInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i) = (id.clone(), input.clone());
    match state.write(move |c| task::create(c, &cid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}#travaux"),
            Some("tache_creee"),
        )),
        Err(e) => {
            let c = ctx(
                &state,
                &id,
                "Ajouter un travail préparatoire",
                format!("/cohortes/{id}/taches"),
                &input,
            )
            .await?;
            rerender(&state, "pages/tasks/form", c, &input, e)
        }
    }
}

async fn edit(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let tid = id.clone();
    let t = crate::db::run(&state.pool, move |c| task::get(c, &tid)).await?;
    let mut c = ctx(
        &state,
        &t.cohort_id,
        "Modifier le travail préparatoire",
        format!("/taches/{id}/modifier"),
        &TaskInput::from(&t),
    )
    .await?;
    c["task_id"] = json!(id);
    render(&state, "pages/tasks/form", c)
}

async fn update(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<TaskInput>,
) -> PageResult {
    let id = path.into_inner();
    let (tid, i) = (id.clone(), input.clone());
    match state.write(move |c| task::update(c, &tid, &i)).await {
        Ok(t) => Ok(redirect(
            &format!("/cohortes/{}#travaux", t.cohort_id),
            Some("tache_modifiee"),
        )),
        Err(e) => {
            let tid = id.clone();
            let t = crate::db::run(&state.pool, move |c| task::get(c, &tid)).await?;
            let mut c = ctx(
                &state,
                &t.cohort_id,
                "Modifier le travail préparatoire",
                format!("/taches/{id}/modifier"),
                &input,
            )
            .await?;
            c["task_id"] = json!(id);
            rerender(&state, "pages/tasks/form", c, &input, e)
        }
    }
}

async fn confirm_delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let tid = id.clone();
    let t = crate::db::run(&state.pool, move |c| task::get(c, &tid)).await?;
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Supprimer « {} » ?", t.title),
            message: "Le travail préparatoire et son suivi par association seront supprimés."
                .into(),
            action: format!("/taches/{id}/supprimer"),
            confirm_label: "Supprimer le travail".into(),
            cancel: format!("/cohortes/{}#travaux", t.cohort_id),
            ..Default::default()
        },
    )
}

async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let t = state.write(move |c| task::delete(c, &id)).await?;
    Ok(redirect(
        &format!("/cohortes/{}#travaux", t.cohort_id),
        Some("tache_supprimee"),
    ))
}

#[derive(serde::Deserialize, Default)]
struct ReturnForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    back: String,
}

async fn set_return(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Form(f): Form<ReturnForm>,
) -> PageResult {
    let (id, aid) = path.into_inner();
    let input = ReturnInput {
        status: f.status,
        returned_on: String::new(),
    };
    let tid = id.clone();
    let today = programme::today(state.clock.now());
    state
        .write(move |c| {
            task::set_return(c, &tid, &aid, &input, today)?;
            task::get(c, &tid)
        })
        .await
        .map(|t| {
            // Only local paths are accepted as a return address.
            let back = match super::local_path(&f.back) {
                Some(back) => back.to_string(),
                None => format!("/cohortes/{}#travaux", t.cohort_id),
            };
            redirect(&back, Some("retour_enregistre"))
        })
        .map_err(Into::into)
}
