//! Session pages: add a session, its page, edit its details, move it (linked tasks follow,
//! and the page says what moved), delete it.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};

use crate::domain::programme::SessionKind;
use crate::error::AppError;
use crate::models::guest::{self, GuestInput};
use crate::models::session::{self, MoveInput, SessionInput};
use crate::models::{association, cohort, place, programme, task};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{
    Confirm, NoticeQuery, PageResult, confirm, redirect, render, render_status, rerender,
    with_notice,
};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/seances/nouvelle", web::get().to(new))
        .route("/cohortes/{id}/seances", web::post().to(create))
        .route("/seances/{id}", web::get().to(show))
        .route("/seances/{id}/modifier", web::get().to(edit))
        .route("/seances/{id}/modifier", web::post().to(update))
        .route("/seances/{id}/deplacer", web::get().to(move_form))
        .route("/seances/{id}/deplacer", web::post().to(move_session))
        .route("/seances/{id}/supprimer", web::get().to(confirm_delete))
        .route("/seances/{id}/supprimer", web::post().to(delete))
        .route("/seances/{id}/invites", web::post().to(add_guest))
        .route(
            "/seances/{id}/invites/{guest}/retirer",
            web::get().to(confirm_remove_guest),
        )
        .route(
            "/seances/{id}/invites/{guest}/retirer",
            web::post().to(remove_guest),
        );
}

async fn new_ctx(
    state: &AppState,
    cohort_id: &str,
    input: &SessionInput,
) -> Result<Value, AppError> {
    let cid = cohort_id.to_string();
    let (co, associations, places) = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &cid)?;
        let places = place::choices(c, &co.dla_id, None)?;
        Ok((co, association::list_for_cohort(c, &cid)?, places))
    })
    .await?;
    let mut pairs = vec![(String::new(), "— Pour un bilan individuel —".to_string())];
    pairs.extend(associations.iter().map(|a| (a.id.clone(), a.name.clone())));
    Ok(json!({
        "title": "Ajouter une séance",
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "action": format!("/cohortes/{}/seances", co.id),
        "form": input,
        "kind_options": view::kind_options(&input.kind),
        "association_options": view::owned_options(&pairs, &input.association_id),
        "place_options": place_options(&places, &input.place_id),
        "creating": true,
    }))
}

/// The place select: « address typed below » first, then the DLA's places.
fn place_options(places: &[place::Place], selected: &str) -> Value {
    let mut pairs = vec![(String::new(), "— Adresse saisie ci-dessous —".to_string())];
    pairs.extend(places.iter().map(|p| {
        let name = if p.archived_at.is_some() {
            format!("{} (archivé)", p.location())
        } else {
            p.location()
        };
        (p.id.clone(), name)
    }));
    view::owned_options(&pairs, selected)
}

async fn new(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let input = SessionInput {
        start_time: "09:30".into(),
        end_time: "12:30".into(),
        planned_days: "0,5".into(),
        avoid_non_working_days: "on".into(),
        ..Default::default()
    };
    let ctx = new_ctx(&state, &id, &input).await?;
    render(&state, "pages/sessions/form", ctx)
}

async fn create(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<SessionInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i, am) = (
        id.clone(),
        input.clone(),
        state.config.calendar.alsace_moselle,
    );
    match state.write(move |c| session::create(c, &cid, &i, am)).await {
        Ok(s) => Ok(redirect(
            &format!("/seances/{}", s.id),
            Some("seance_creee"),
        )),
        Err(e) => {
            let ctx = new_ctx(&state, &id, &input).await?;
            rerender(&state, "pages/sessions/form", ctx, &input, e)
        }
    }
}

async fn load(
    state: &AppState,
    id: &str,
) -> Result<
    (
        session::Session,
        cohort::Cohort,
        Vec<association::Association>,
        Vec<task::IntersessionTask>,
    ),
    AppError,
> {
    let sid = id.to_string();
    crate::db::run(&state.pool, move |c| {
        let s = session::get(c, &sid)?;
        let co = cohort::get(c, &s.cohort_id)?;
        let associations = association::list_for_cohort(c, &s.cohort_id)?;
        let tasks = task::list_for_cohort(c, &s.cohort_id)?;
        Ok((s, co, associations, tasks))
    })
    .await
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let ctx = show_ctx(&state, &id, &GuestInput::default()).await?;
    render(&state, "pages/sessions/show", with_notice(ctx, &q))
}

/// The session's page; `guest` is what the guest form shows (typed, when refused).
async fn show_ctx(state: &AppState, id: &str, guest: &GuestInput) -> Result<Value, AppError> {
    let (s, co, associations, tasks) = load(state, id).await?;
    let now = state.clock.now().naive_utc();
    let today = programme::today(state.clock.now());
    let cid = co.id.clone();
    let sid = s.id.clone();
    let (viewer, gap) = (
        super::calendar::viewer_scope(),
        super::calendar::travel_gap(state),
    );
    let (all_sessions, returns, guests, conflicts) = crate::db::run(&state.pool, move |c| {
        Ok((
            session::list_for_cohort(c, &cid)?,
            task::returns_for_cohort(c, &cid)?,
            guest::list_for_session(c, &sid)?,
            // Shown where the session was just added or changed (issue #17).
            crate::models::calendar::warnings_for(c, std::slice::from_ref(&sid), &viewer, gap)?,
        ))
    })
    .await?;
    let linked: Vec<Value> = tasks
        .iter()
        .filter(|t| t.session_id.as_deref() == Some(&s.id))
        .map(|t| view::task(t, &all_sessions, &associations, &returns, today))
        .collect();
    let ctx = json!({
        "title": s.label(&associations),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "session": view::session(&s, &associations, now),
        "tasks": linked,
        "is_bilan": s.kind() == SessionKind::BilanIndividuel,
        "guests": guests.iter().map(|g| json!({
            "id": g.id,
            "name": g.name,
            "email": g.email,
            "organisation": g.organisation,
        })).collect::<Vec<_>>(),
        "guest_form": guest,
        "warnings": conflicts,
    });
    Ok(ctx)
}

async fn add_guest(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<GuestInput>,
) -> PageResult {
    let id = path.into_inner();
    let (sid, i) = (id.clone(), input.clone());
    match state.write(move |c| guest::add(c, &sid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/seances/{id}#invites"),
            Some("invite_ajoute"),
        )),
        Err(e) => {
            let ctx = show_ctx(&state, &id, &input).await?;
            // The guest form's fields are `guest_form.*`; the page's other parts stay.
            rerender_guest(&state, ctx, &input, e)
        }
    }
}

/// `rerender` for a form that is one part of a page: the errors go beside the guest
/// form's fields, what was typed stays in `guest_form`.
fn rerender_guest(
    state: &AppState,
    mut ctx: Value,
    input: &GuestInput,
    err: AppError,
) -> PageResult {
    let refusal = super::Refusal::of(err)?;
    ctx["guest_form"] = json!(input);
    ctx["guest_errors"] = json!(refusal.fields);
    refusal.render(state, "pages/sessions/show", &mut ctx)
}

async fn confirm_remove_guest(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (id, gid) = path.into_inner();
    let (sid, g) = (id.clone(), gid.clone());
    let g = crate::db::run(&state.pool, move |c| {
        let g = guest::get(c, &g)?;
        if g.session_id != sid {
            return Err(AppError::NotFound("Cet·te invité·e n'existe pas.".into()));
        }
        Ok(g)
    })
    .await?;
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Retirer {} du bilan ?", g.display()),
            message: "Si la convocation lui est déjà partie, l'annulation de l'invitation lui est envoyée ; sinon, la convocation qui attendait ne partira pas.".into(),
            action: format!("/seances/{id}/invites/{gid}/retirer"),
            confirm_label: "Retirer l'invité·e".into(),
            cancel: format!("/seances/{id}#invites"),
            ..Default::default()
        },
    )
}

async fn remove_guest(state: web::Data<AppState>, path: web::Path<(String, String)>) -> PageResult {
    let (id, gid) = path.into_inner();
    let (sid, mail) = (id.clone(), state.mail.clone());
    state
        .write(move |c| guest::remove(c, &sid, &gid, &mail))
        .await?;
    Ok(redirect(
        &format!("/seances/{id}#invites"),
        Some("invite_retire"),
    ))
}

fn edit_ctx(
    s: &session::Session,
    co: &cohort::Cohort,
    associations: &[association::Association],
    places: &[place::Place],
    input: &SessionInput,
) -> Value {
    json!({
        "place_options": place_options(places, &input.place_id),
        "title": format!("Modifier — {}", s.label(associations)),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "session_id": s.id,
        "session_label": s.label(associations),
        "action": format!("/seances/{}/modifier", s.id),
        "form": input,
    })
}

/// The places the session's form offers: its DLA's, and the one it has even archived.
async fn session_places(
    state: &AppState,
    s: &session::Session,
    co: &cohort::Cohort,
) -> Result<Vec<place::Place>, AppError> {
    let (dla_id, keep) = (co.dla_id.clone(), s.place_id.clone());
    crate::db::run(&state.pool, move |c| {
        place::choices(c, &dla_id, keep.as_deref())
    })
    .await
}

async fn edit(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (s, co, associations, _) = load(&state, &id).await?;
    let places = session_places(&state, &s, &co).await?;
    render(
        &state,
        "pages/sessions/form",
        edit_ctx(
            &s,
            &co,
            &associations,
            &places,
            &SessionInput::from_session(&s),
        ),
    )
}

async fn update(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<SessionInput>,
) -> PageResult {
    let id = path.into_inner();
    let (sid, i, mail) = (id.clone(), input.clone(), state.mail.clone());
    match state
        .write(move |c| {
            let s = session::update_details(c, &sid, &i)?;
            // Now rather than at the planner's sync, to say so on the page.
            session::notify(c, &mail, &s, false)
        })
        .await
    {
        Ok(0) => Ok(redirect(&format!("/seances/{id}"), Some("seance_modifiee"))),
        Ok(_) => Ok(redirect(
            &format!("/seances/{id}"),
            Some("seance_modifiee_avis"),
        )),
        Err(e) => {
            let (s, co, associations, _) = load(&state, &id).await?;
            let places = session_places(&state, &s, &co).await?;
            rerender(
                &state,
                "pages/sessions/form",
                edit_ctx(&s, &co, &associations, &places, &input),
                &input,
                e,
            )
        }
    }
}

fn move_ctx(
    s: &session::Session,
    co: &cohort::Cohort,
    associations: &[association::Association],
    tasks: &[task::IntersessionTask],
    input: &MoveInput,
) -> Value {
    let linked: Vec<Value> = tasks
        .iter()
        .filter(|t| t.session_id.as_deref() == Some(&s.id))
        .map(|t| json!({"title": t.title, "due": crate::domain::fr::date_long(t.due_date)}))
        .collect();
    json!({
        "title": format!("Déplacer — {}", s.label(associations)),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "session_id": s.id,
        "session_label": s.label(associations),
        "current": crate::domain::fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
        "linked": linked,
        "form": input,
    })
}

async fn move_form(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (s, co, associations, tasks) = load(&state, &id).await?;
    let input = MoveInput {
        date: s.local_start().format("%Y-%m-%d").to_string(),
        start_time: s.local_start().format("%H:%M").to_string(),
        // Empty keeps the duration (the current times are shown above the form).
        end_time: String::new(),
        avoid_non_working_days: "on".into(),
        version: s.version.to_string(),
    };
    render(
        &state,
        "pages/sessions/move",
        move_ctx(&s, &co, &associations, &tasks, &input),
    )
}

async fn move_session(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<MoveInput>,
) -> PageResult {
    let id = path.into_inner();
    let (sid, i, am) = (
        id.clone(),
        input.clone(),
        state.config.calendar.alsace_moselle,
    );
    let mail = state.mail.clone();
    match state
        .write(move |c| session::move_session(c, &sid, &i, am, &mail))
        .await
    {
        Ok(result) => {
            let (s, co, associations, _) = load(&state, &id).await?;
            let (cid, template) = (co.id.clone(), state.config.programme.clone());
            let (viewer, gap, sid) = (
                super::calendar::viewer_scope(),
                super::calendar::travel_gap(&state),
                s.id.clone(),
            );
            let (o, conflicts) = crate::db::run(&state.pool, move |c| {
                Ok((
                    programme::overview(c, &cid, &template, am)?,
                    crate::models::calendar::warnings_for(c, &[sid], &viewer, gap)?,
                ))
            })
            .await?;
            let mut warnings = o.warnings;
            warnings.extend(conflicts);
            let mut ctx = json!({
                "title": "Séance déplacée",
                "nav_cohorts": true,
                "cohort": {"id": co.id, "name": co.name},
                "session_id": s.id,
                "session_label": s.label(&associations),
                "summary": result.summary,
                "warnings": warnings,
            });
            render_status(&state, StatusCode::OK, "pages/sessions/moved", &mut ctx)
        }
        Err(e) => {
            let (s, co, associations, tasks) = load(&state, &id).await?;
            rerender(
                &state,
                "pages/sessions/move",
                move_ctx(&s, &co, &associations, &tasks, &input),
                &input,
                e,
            )
        }
    }
}

async fn confirm_delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (s, _, associations, _) = load(&state, &id).await?;
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Supprimer la séance « {} » ?", s.label(&associations)),
            message: "La séance sera retirée du programme. Les travaux préparatoires qui la préparaient restent, sans séance liée.".into(),
            action: format!("/seances/{id}/supprimer"),
            confirm_label: "Supprimer la séance".into(),
            cancel: format!("/seances/{id}"),
            ..Default::default()
        },
    )
}

async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let mail = state.mail.clone();
    let s = state.write(move |c| session::delete(c, &id, &mail)).await?;
    Ok(redirect(
        &format!("/cohortes/{}", s.cohort_id),
        Some("seance_supprimee"),
    ))
}
