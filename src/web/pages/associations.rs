//! Association and participant pages: enrol (refused with a message when the cohort is
//! full), the association page, edit, withdraw; add, edit and remove participants.

use actix_web::web;
use serde_json::{Value, json};

use crate::domain::rules;
use crate::error::AppError;
use crate::models::association::{self, AssociationInput};
use crate::models::participant::{self, ParticipantInput, ROLES};
use crate::models::{cohort, programme, session, task};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{
    Confirm, NoticeQuery, PageResult, confirm, redirect, render, rerender, with_notice,
};
use crate::web::view;

/// What removing a person or an association keeps, said on both confirmations: the emails
/// already sent, which only the cohort's purge or an anonymisation erases.
const SENT_EMAILS_STAY: &str = "Les e-mails déjà envoyés restent dans les envois de la cohorte, avec le nom et l'adresse de leurs destinataires, jusqu'à la purge de la cohorte : pour les effacer dès maintenant, utilisez plutôt « Anonymiser ».";

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route(
        "/participants/{id}/renouveler-liens",
        web::get().to(confirm_renew_links),
    )
    .route(
        "/participants/{id}/renouveler-liens",
        web::post().to(renew_links),
    );
    cfg.route("/cohortes/{id}/associations/nouvelle", web::get().to(new))
        .route("/cohortes/{id}/associations", web::post().to(create))
        .route("/associations/{id}", web::get().to(show))
        .route("/associations/{id}/modifier", web::get().to(edit))
        .route("/associations/{id}/modifier", web::post().to(update))
        .route("/associations/{id}/retirer", web::get().to(confirm_delete))
        .route("/associations/{id}/retirer", web::post().to(delete))
        .route(
            "/associations/{id}/participants/nouveau",
            web::get().to(new_participant),
        )
        .route(
            "/associations/{id}/participants",
            web::post().to(create_participant),
        )
        .route(
            "/participants/{id}/modifier",
            web::get().to(edit_participant),
        )
        .route(
            "/participants/{id}/modifier",
            web::post().to(update_participant),
        )
        .route(
            "/participants/{id}/retirer",
            web::get().to(confirm_delete_participant),
        )
        .route(
            "/participants/{id}/retirer",
            web::post().to(delete_participant),
        );
}

/// The cohort as the enrolment and import forms show it: enrolled associations, retained
/// applications waiting to be enrolled, and whether the places (`cohort::places_taken`,
/// what the cap counts) are all taken.
pub(crate) async fn cohort_ctx(state: &AppState, cohort_id: &str) -> Result<Value, AppError> {
    let cid = cohort_id.to_string();
    let (co, n, taken) = crate::db::run(&state.pool, move |c| {
        Ok((
            cohort::get(c, &cid)?,
            cohort::association_count(c, &cid)?,
            cohort::places_taken(c, &cid, None)?,
        ))
    })
    .await?;
    Ok(json!({
        "id": co.id,
        "name": co.name,
        "cap": co.association_cap,
        "count": n,
        "retained": taken - n,
        "taken": taken,
        "full": taken >= co.association_cap as i64,
    }))
}

fn form_ctx(title: &str, cohort: Value, action: String, input: &AssociationInput) -> Value {
    json!({"title": title, "nav_cohorts": true, "cohort": cohort, "action": action, "form": input})
}

async fn new(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cohort = cohort_ctx(&state, &id).await?;
    let input = AssociationInput {
        general_interest: "on".into(),
        ..Default::default()
    };
    render(
        &state,
        "pages/associations/form",
        form_ctx(
            "Inscrire une association",
            cohort,
            format!("/cohortes/{id}/associations"),
            &input,
        ),
    )
}

async fn create(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<AssociationInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i) = (id.clone(), input.clone());
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    match state
        .write(move |c| association::enrol(c, &cid, &i, &template, am))
        .await
    {
        Ok(a) => Ok(redirect(
            &format!("/associations/{}", a.id),
            Some("association_inscrite"),
        )),
        Err(e) => {
            let cohort = cohort_ctx(&state, &id).await?;
            rerender(
                &state,
                "pages/associations/form",
                form_ctx(
                    "Inscrire une association",
                    cohort,
                    format!("/cohortes/{id}/associations"),
                    &input,
                ),
                &input,
                e,
            )
        }
    }
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let aid = id.clone();
    let (a, co, participants, sessions, tasks, returns, all, secret) =
        crate::db::run(&state.pool, move |c| {
            let a = association::get(c, &aid)?;
            let co = cohort::get(c, &a.cohort_id)?;
            Ok((
                a.clone(),
                co,
                participant::list_for_association(c, &aid)?,
                session::list_for_cohort(c, &a.cohort_id)?,
                task::list_for_cohort(c, &a.cohort_id)?,
                task::returns_for_cohort(c, &a.cohort_id)?,
                association::list_for_cohort(c, &a.cohort_id)?,
                crate::models::feed::secret(c)?,
            ))
        })
        .await?;
    let warnings = rules::association_warnings(&a.profile(&participants).facts(), co.start_date);
    let (leads, mobilisation, logged, profiles, evaluation) = {
        let (aid, cid) = (a.id.clone(), co.id.clone());
        crate::db::run(&state.pool, move |c| {
            let mut profiles = Vec::new();
            for (stage, _) in crate::models::profile::STAGES {
                profiles.push(crate::models::profile::get(c, &aid, stage)?);
            }
            let evaluation = crate::models::evaluation::for_cohort(c, &cid)?
                .answers
                .into_iter()
                .find(|e| e.association_id == aid);
            Ok((
                crate::models::action_lead::list_for_association(c, &aid)?,
                crate::models::session_log::director_mobilisation(c, &aid)?,
                crate::models::session_log::logged_sessions(c, &cid)?,
                profiles,
                evaluation,
            ))
        })
        .await?
    };
    let now = state.clock.now().naive_utc();
    let today = programme::today(state.clock.now());
    let own = [a.clone()];
    let my_sessions: Vec<Value> = sessions
        .iter()
        .filter(|s| s.association_id.is_none() || s.association_id.as_deref() == Some(&a.id))
        .map(|s| view::session(s, &all, now))
        .collect();
    let my_tasks: Vec<Value> = tasks
        .iter()
        .map(|t| view::task(t, &sessions, &own, &returns, today))
        .collect();
    // Pistes d'actions, director's mobilisation and comptes rendus (session logs).
    let lead_values: Vec<Value> = leads
        .iter()
        .map(|l| {
            let from = l
                .session_id
                .as_ref()
                .and_then(|sid| sessions.iter().find(|s| &s.id == sid));
            json!({
                "id": l.id,
                "text": l.text,
                "owner": l.owner,
                "due": l.due_date.map(crate::domain::fr::date_long),
                "session_label": from.map(|s| s.label(&all)),
                "session_id": from.map(|s| s.id.clone()),
            })
        })
        .collect();
    let reports: Vec<Value> = sessions
        .iter()
        .filter(|s| s.association_id.is_none() || s.association_id.as_deref() == Some(&a.id))
        .filter(|s| logged.contains(&s.id))
        .map(|s| {
            json!({
                "label": s.label(&all),
                "date": crate::domain::fr::date_long(s.local_start().date()),
                "url": format!("/associations/{}/compte-rendu?seance={}", a.id, s.id),
            })
        })
        .collect();
    let mobilisation = mobilisation.map(|m| {
        json!({
            "director": m.director_name,
            // Nothing to judge before the first session log, nor to forecast before the
            // programme exists.
            "started": m.logged_sessions > 0,
            "planned": m.sessions > 0,
            "status": m.actual.status.as_str(),
            "status_label": m.actual.status.label(),
            "message": m.actual.message,
            "forecast_status": m.forecast.status.as_str(),
            "forecast_status_label": m.forecast.status.label(),
            "forecast_message": m.forecast.message,
            "progress": format!(
                "{} séance{s} renseignée{s} sur {}",
                m.logged_sessions,
                m.sessions,
                s = if m.logged_sessions > 1 { "s" } else { "" }
            ),
        })
    });
    let ctx = json!({
        "evaluation": evaluation.as_ref().map(crate::web::pages::evaluations::association_value),
        "title": a.name,
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "association": view::association(&a, &participants),
        "links": participants.iter().map(|p| json!({
            "id": p.id,
            "name": p.name,
            "reminders": p.reminders,
            "calendar_url": crate::models::feed::calendar_url(&state.mail.public_url, &secret, p),
        })).collect::<Vec<_>>(),
        "warnings": warnings,
        "sessions": my_sessions,
        "tasks": my_tasks,
        "leads": lead_values,
        "reports": reports,
        "mobilisation": mobilisation,
        // Socio-economic model: each stage, filled or not (web::pages::profile).
        "profiles": profiles.iter().map(|p| json!({
            "label": crate::models::profile::stage_label(&p.stage),
            "url": format!("/associations/{}/modele/{}", a.id, p.stage),
            "saved": p.version > 0,
            "saved_by": p.updated_by,
            "saved_at": p.updated_at.map(view::utc_long),
        })).collect::<Vec<_>>(),
    });
    render(&state, "pages/associations/show", with_notice(ctx, &q))
}

async fn edit(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let aid = id.clone();
    let a = crate::db::run(&state.pool, move |c| association::get(c, &aid)).await?;
    let cohort = cohort_ctx(&state, &a.cohort_id).await?;
    let mut ctx = form_ctx(
        "Modifier l'association",
        cohort,
        format!("/associations/{id}/modifier"),
        &AssociationInput::from(&a),
    );
    ctx["editing"] = json!(true);
    ctx["association_id"] = json!(id);
    render(&state, "pages/associations/form", ctx)
}

async fn update(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<AssociationInput>,
) -> PageResult {
    let id = path.into_inner();
    let (aid, i) = (id.clone(), input.clone());
    match state.write(move |c| association::update(c, &aid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/associations/{id}"),
            Some("association_modifiee"),
        )),
        Err(e) => {
            let aid = id.clone();
            let a = crate::db::run(&state.pool, move |c| association::get(c, &aid)).await?;
            let cohort = cohort_ctx(&state, &a.cohort_id).await?;
            let mut ctx = form_ctx(
                "Modifier l'association",
                cohort,
                format!("/associations/{id}/modifier"),
                &input,
            );
            ctx["editing"] = json!(true);
            ctx["association_id"] = json!(id);
            rerender(&state, "pages/associations/form", ctx, &input, e)
        }
    }
}

async fn confirm_delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let aid = id.clone();
    let (a, n) = crate::db::run(&state.pool, move |c| {
        Ok((
            association::get(c, &aid)?,
            participant::list_for_association(c, &aid)?.len(),
        ))
    })
    .await?;
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Retirer {} de la cohorte ?", a.name),
            message: format!(
                "{} sera retirée de la cohorte avec {}, sa séance de bilan individuel et le suivi de ses travaux préparatoires. {} Cette action est définitive.",
                a.name,
                match n {
                    0 => "ses données".to_string(),
                    1 => "sa ou son participant·e".to_string(),
                    n => format!("ses {n} participant·es"),
                },
                SENT_EMAILS_STAY
            ),
            action: format!("/associations/{id}/retirer"),
            confirm_label: "Retirer l'association".into(),
            cancel: format!("/associations/{id}"),
            ..Default::default()
        },
    )
}

async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let mail = state.mail.clone();
    let a = state
        .write(move |c| association::delete(c, &id, &mail))
        .await?;
    // A place freed with a waiting list: the list proposes its first (nothing automatic).
    let cid = a.cohort_id.clone();
    let proposal = crate::db::run(&state.pool, move |c| {
        crate::models::application::proposal(c, &cid)
    })
    .await?;
    if proposal.is_some() {
        return Ok(redirect(
            &format!("/cohortes/{}/candidatures", a.cohort_id),
            Some("place_liberee"),
        ));
    }
    Ok(redirect(
        &format!("/cohortes/{}", a.cohort_id),
        Some("association_retiree"),
    ))
}

// ---- participants ---------------------------------------------------------------------

fn participant_ctx(
    title: &str,
    a: &association::Association,
    action: String,
    input: &ParticipantInput,
) -> Value {
    json!({
        "title": title,
        "nav_cohorts": true,
        "association": {"id": a.id, "name": a.name},
        "action": action,
        "form": input,
        "role_options": view::options(&ROLES, &input.role),
        "reminder_options": view::options(
            &[("oui", "Oui, recevoir les rappels"), ("non", "Non, seulement les convocations")],
            if input.reminders.trim() == "non" { "non" } else { "oui" },
        ),
    })
}

async fn new_participant(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let aid = id.clone();
    let a = crate::db::run(&state.pool, move |c| association::get(c, &aid)).await?;
    let input = ParticipantInput {
        role: "direction".into(),
        ..Default::default()
    };
    render(
        &state,
        "pages/participants/form",
        participant_ctx(
            "Ajouter une personne",
            &a,
            format!("/associations/{id}/participants"),
            &input,
        ),
    )
}

async fn create_participant(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<ParticipantInput>,
) -> PageResult {
    let id = path.into_inner();
    let (aid, i) = (id.clone(), input.clone());
    match state.write(move |c| participant::create(c, &aid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/associations/{id}"),
            Some("participant_ajoute"),
        )),
        Err(e) => {
            let aid = id.clone();
            let a = crate::db::run(&state.pool, move |c| association::get(c, &aid)).await?;
            let mut ctx = participant_ctx(
                "Ajouter une personne",
                &a,
                format!("/associations/{id}/participants"),
                &input,
            );
            ctx["role_options"] = view::options(&ROLES, &input.role);
            rerender(&state, "pages/participants/form", ctx, &input, e)
        }
    }
}

async fn edit_participant(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let pid = id.clone();
    let (p, a) = crate::db::run(&state.pool, move |c| {
        let p = participant::get(c, &pid)?;
        let a = association::get(c, &p.association_id)?;
        Ok((p, a))
    })
    .await?;
    let mut ctx = participant_ctx(
        "Modifier la personne",
        &a,
        format!("/participants/{id}/modifier"),
        &ParticipantInput::from(&p),
    );
    ctx["participant_id"] = json!(id);
    render(&state, "pages/participants/form", ctx)
}

async fn update_participant(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<ParticipantInput>,
) -> PageResult {
    let id = path.into_inner();
    let (pid, i) = (id.clone(), input.clone());
    match state.write(move |c| participant::update(c, &pid, &i)).await {
        Ok(p) => Ok(redirect(
            &format!("/associations/{}", p.association_id),
            Some("participant_modifie"),
        )),
        Err(e) => {
            let pid = id.clone();
            let a = crate::db::run(&state.pool, move |c| {
                let p = participant::get(c, &pid)?;
                association::get(c, &p.association_id)
            })
            .await?;
            let mut ctx = participant_ctx(
                "Modifier la personne",
                &a,
                format!("/participants/{id}/modifier"),
                &input,
            );
            ctx["participant_id"] = json!(id);
            rerender(&state, "pages/participants/form", ctx, &input, e)
        }
    }
}

/// The participant and their association, for the confirmation pages.
async fn participant_and_association(
    state: &AppState,
    id: &str,
) -> Result<(participant::Participant, association::Association), AppError> {
    let pid = id.to_string();
    crate::db::run(&state.pool, move |c| {
        let p = participant::get(c, &pid)?;
        let a = association::get(c, &p.association_id)?;
        Ok((p, a))
    })
    .await
}

async fn confirm_delete_participant(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> PageResult {
    let id = path.into_inner();
    let (p, a) = participant_and_association(&state, &id).await?;
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Retirer {} de {} ?", p.name, a.name),
            message: format!(
                "{} sera retiré·e de {} : plus aucun e-mail ne lui sera envoyé, ses présences notées dans les journaux de séance et son accès à l'espace participant·e seront supprimés. {} Cette action est définitive.",
                p.name, a.name, SENT_EMAILS_STAY
            ),
            action: format!("/participants/{id}/retirer"),
            confirm_label: format!("Retirer {}", p.name),
            cancel: format!("/participants/{id}/modifier"),
            ..Default::default()
        },
    )
}

async fn delete_participant(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let p = state.write(move |c| participant::delete(c, &id)).await?;
    Ok(redirect(
        &format!("/associations/{}", p.association_id),
        Some("participant_retire"),
    ))
}

async fn confirm_renew_links(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (p, a) = participant_and_association(&state, &id).await?;
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Renouveler les liens de {} ?", p.name),
            message: format!(
                "Les liens personnels de {} (agenda et connexion à son espace) seront remplacés : les anciens ne fonctionneront plus, sa session ouverte sera fermée et les prochains e-mails porteront les nouveaux liens.",
                p.name
            ),
            action: format!("/participants/{id}/renouveler-liens"),
            confirm_label: "Renouveler les liens".into(),
            cancel: format!("/associations/{}#liens", a.id),
            ..Default::default()
        },
    )
}

/// Revokes a participant's personal links (page and calendar) and makes new ones.
async fn renew_links(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let p = state
        .write(move |c| crate::models::feed::renew(c, &id))
        .await?;
    Ok(redirect(
        &format!("/associations/{}#liens", p.association_id),
        Some("liens_renouveles"),
    ))
}
