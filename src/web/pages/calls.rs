//! A cohort's call for applications (issue #14): the staff page that opens it, changes it
//! and manages its public link (`/cohortes/{id}/appel`), and the public side without an
//! account — the application form (`/candidature/{token}`) and the applicant's private
//! link to change or withdraw it (`/candidature/modifier/{secret}`).
//!
//! The public pages are `Public` in `web::access`. Without a session cookie there is no
//! CSRF token to check; the guard's origin check still refuses a form posted from another
//! site, and a signed-in person's cookie brings the token as on any page (the forms carry
//! `{{csrf_field}}`). The private link is itself the secret that authorises the change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{NoticeQuery, PageResult, Refusal, redirect, render, render_status, with_notice};
use crate::domain::application as rules;
use crate::domain::fr;
use crate::error::AppError;
use crate::models::call::{self, ApplicationInput, CallInput, Limits, Open, Submitted};
use crate::models::{cohort, session};
use crate::web::AppState;
use crate::web::form::{Form, PublicForm};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/appel", web::get().to(staff_page))
        .route("/cohortes/{id}/appel", web::post().to(staff_save))
        .route("/cohortes/{id}/appel/lien", web::post().to(staff_link))
        .route("/candidature/modifier/{secret}", web::get().to(own_page))
        .route("/candidature/modifier/{secret}", web::post().to(own_save))
        .route(
            "/candidature/modifier/{secret}/retirer",
            web::post().to(own_withdraw),
        )
        .route("/candidature/{token}", web::get().to(apply_page))
        .route("/candidature/{token}", web::post().to(apply));
}

// --- Staff side -----------------------------------------------------------------------

async fn staff_ctx(state: &AppState, id: &str) -> Result<Value, AppError> {
    let cid = id.to_string();
    let (co, found, counts) = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &cid)?;
        let found = call::for_cohort(c, &cid)?;
        let counts = call::counts(c, &cid)?;
        Ok((co, found, counts))
    })
    .await?;
    let now = state.clock.now();
    let view = found.as_ref().map(|k| {
        json!({
            "closes_on": fr::date_long(k.closes_on),
            "open": rules::is_open(k.closes_on, now),
            "url": k.token.as_deref().map(|t| call::public_url(&state.mail.public_url, t)),
            "meeting": k.meeting().map(|m| m.view()),
            "meeting_past": k.meeting().is_some() && k.meeting_ahead(now).is_none(),
        })
    });
    let form = found.as_ref().map(CallInput::from).unwrap_or_default();
    Ok(json!({
        "title": "Appel à candidatures",
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "call": view,
        "counts": counts,
        "form": form,
    }))
}

async fn staff_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let ctx = staff_ctx(&state, &path.into_inner()).await?;
    render(&state, "pages/calls/staff", with_notice(ctx, &q))
}

async fn staff_save(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<CallInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i, mail) = (id.clone(), input.clone(), state.mail.clone());
    match state.write(move |c| call::save(c, &mail, &cid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}/appel"),
            Some("appel_enregistre"),
        )),
        Err(err) => {
            let refusal = Refusal::of(err)?;
            let ctx = staff_ctx(&state, &id).await?;
            let mut typed = input;
            if refusal.status == StatusCode::CONFLICT {
                typed.version = ctx["form"]["version"].as_str().unwrap_or("").to_string();
            }
            refusal.rerender(&state, "pages/calls/staff", ctx, &typed)
        }
    }
}

#[derive(Deserialize)]
struct LinkAction {
    #[serde(default)]
    action: String,
}

async fn staff_link(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(body): Form<LinkAction>,
) -> PageResult {
    let id = path.into_inner();
    let fresh = match body.action.as_str() {
        "revoquer" => false,
        "nouveau" => true,
        _ => {
            return Err(AppError::BadRequest {
                code: "invalid_form",
                message: "Action inconnue sur le lien public.".into(),
            }
            .into());
        }
    };
    let cid = id.clone();
    state.write(move |c| call::set_link(c, &cid, fresh)).await?;
    Ok(redirect(
        &format!("/cohortes/{id}/appel"),
        Some(if fresh {
            "lien_nouveau"
        } else {
            "lien_revoque"
        }),
    ))
}

// --- Public side ----------------------------------------------------------------------

/// A short public page: a title and a sentence (closed call, revoked link, thanks…).
fn message(state: &AppState, status: StatusCode, title: &str, text: &str) -> PageResult {
    let mut ctx = json!({"title": title, "text": text});
    render_status(state, status, "pages/calls/message", &mut ctx)
}

fn not_open(state: &AppState) -> PageResult {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Cet appel n'est plus ouvert",
        "Le lien de cet appel à candidatures a été retiré. Rapprochez-vous du DLA qui vous l'a transmis.",
    )
}

fn closed(state: &AppState, open: &Open) -> PageResult {
    message(
        state,
        StatusCode::GONE,
        "Cet appel n'est plus ouvert",
        &format!(
            "L'appel à candidatures de la cohorte « {} » s'est clos le {}.",
            open.cohort.name,
            fr::date_long(open.call.closes_on)
        ),
    )
}

/// What the form shows of the call: the cohort, the DLA, the closing date, the
/// presentation and the planned dates.
fn form_ctx(state: &AppState, open: &Open, sessions: &[session::Session]) -> Value {
    let dates: Vec<Value> = sessions
        .iter()
        .filter(|s| s.association_id.is_none())
        .map(|s| {
            json!({
                "label": crate::domain::programme::SessionKind::parse(&s.kind)
                    .map(|k| k.label())
                    .unwrap_or("Séance"),
                "when": fr::datetime_long(s.starts_at.and_utc()),
            })
        })
        .collect();
    json!({
        "title": format!("Candidature : {}", open.cohort.name),
        "cohort_name": open.cohort.name,
        "dla_name": open.dla_name,
        "closes_on": fr::date_long(open.call.closes_on),
        "presentation": open.call.presentation.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>(),
        "dates": dates,
        "meeting": open.call.meeting_ahead(state.clock.now()).map(|m| m.view()),
        "retention_months": state.config.privacy.applications_purge_after_months,
        "form": ApplicationInput::default(),
    })
}

async fn load_open(
    state: &AppState,
    token: String,
) -> Result<Option<(Open, Vec<session::Session>)>, AppError> {
    crate::db::run(&state.pool, move |c| {
        let Some(open) = call::by_token(c, &token)? else {
            return Ok(None);
        };
        let sessions = session::list_for_cohort(c, &open.cohort.id)?;
        Ok(Some((open, sessions)))
    })
    .await
}

async fn apply_page(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let Some((open, sessions)) = load_open(&state, path.into_inner()).await? else {
        return not_open(&state);
    };
    if !rules::is_open(open.call.closes_on, state.clock.now()) {
        return closed(&state, &open);
    }
    let mut ctx = form_ctx(&state, &open, &sessions);
    ctx["action"] = json!(format!(
        "/candidature/{}",
        open.call.token.as_deref().unwrap_or("")
    ));
    render(&state, "pages/calls/apply", ctx)
}

async fn apply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    PublicForm(input): PublicForm<ApplicationInput>,
) -> PageResult {
    let token = path.into_inner();
    let thanks = |state: &AppState| {
        message(
            state,
            StatusCode::OK,
            "Candidature envoyée",
            "Merci : votre candidature est enregistrée. Un accusé de réception part vers les deux adresses indiquées, avec un lien privé pour la modifier ou la retirer jusqu'à la date de clôture.",
        )
    };
    // A bot filled the hidden field: the same answer as a person gets, nothing stored.
    if input.is_bot() {
        return thanks(&state);
    }
    let client = super::auth::client_address(&req, state.config.server.trust_forwarded_for);
    let limits = Limits::from(&state.config.calls);
    let mail = state.mail.clone();
    let (t, i) = (token.clone(), input.clone());
    let result = state
        .write(move |c| call::submit(c, &mail, &t, &i, &client, limits))
        .await;
    match result {
        Ok(Submitted::Received(_)) => thanks(&state),
        Ok(Submitted::Throttled) => message(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Trop de candidatures",
            "Trop de candidatures envoyées depuis cette adresse dans l'heure : réessayez plus tard, ou écrivez au DLA.",
        ),
        Err(AppError::NotFound(_)) => not_open(&state),
        Err(AppError::Conflict {
            code: "call_closed",
            ..
        }) => match load_open(&state, token).await? {
            Some((open, _)) => closed(&state, &open),
            None => not_open(&state),
        },
        Err(err) => {
            let refusal = Refusal::of(err)?;
            let Some((open, sessions)) = load_open(&state, token).await? else {
                return not_open(&state);
            };
            let mut ctx = form_ctx(&state, &open, &sessions);
            ctx["action"] = json!(format!(
                "/candidature/{}",
                open.call.token.as_deref().unwrap_or("")
            ));
            let mut typed = input;
            typed.site_web.clear();
            refusal.rerender(&state, "pages/calls/apply", ctx, &typed)
        }
    }
}

// --- The applicant's private link -------------------------------------------------------

fn link_invalid(state: &AppState) -> PageResult {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Lien non valable",
        "Ce lien de candidature n'est pas valable (la candidature a pu être supprimée). Rapprochez-vous du DLA.",
    )
}

async fn own_ctx(
    state: &AppState,
    secret: &str,
) -> Result<Option<(Value, ApplicationInput, bool)>, AppError> {
    let s = secret.to_string();
    let found = crate::db::run(&state.pool, move |c| {
        let Some(own) = call::by_secret(c, &s)? else {
            return Ok(None);
        };
        let sessions = session::list_for_cohort(c, &own.open.cohort.id)?;
        Ok(Some((own, sessions)))
    })
    .await?;
    let Some((own, sessions)) = found else {
        return Ok(None);
    };
    let editable = call::editable(&own, state.clock.now());
    let mut ctx = form_ctx(state, &own.open, &sessions);
    ctx["title"] = json!(format!("Votre candidature : {}", own.open.cohort.name));
    ctx["editing"] = json!(true);
    ctx["editable"] = json!(editable);
    ctx["status_label"] = json!(own.application.status().label());
    ctx["action"] = json!(format!("/candidature/modifier/{secret}"));
    let input = ApplicationInput::from(&own.application);
    ctx["form"] = json!(input);
    Ok(Some((ctx, input, editable)))
}

async fn own_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let Some((ctx, _, _)) = own_ctx(&state, &path.into_inner()).await? else {
        return link_invalid(&state);
    };
    render(&state, "pages/calls/apply", with_notice(ctx, &q))
}

async fn own_save(
    state: web::Data<AppState>,
    path: web::Path<String>,
    PublicForm(input): PublicForm<ApplicationInput>,
) -> PageResult {
    let secret = path.into_inner();
    let (s, i) = (secret.clone(), input.clone());
    match state.write(move |c| call::edit(c, &s, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/candidature/modifier/{secret}"),
            Some("candidature_modifiee"),
        )),
        Err(AppError::NotFound(_)) => link_invalid(&state),
        Err(err) => {
            let refusal = Refusal::of(err)?;
            let Some((ctx, current, _)) = own_ctx(&state, &secret).await? else {
                return link_invalid(&state);
            };
            let mut typed = input;
            typed.site_web.clear();
            if refusal.status == StatusCode::CONFLICT {
                typed.version = current.version;
            }
            refusal.rerender(&state, "pages/calls/apply", ctx, &typed)
        }
    }
}

async fn own_withdraw(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let secret = path.into_inner();
    let mail = state.mail.clone();
    let s = secret.clone();
    match state.write(move |c| call::withdraw(c, &mail, &s)).await {
        Ok(_) => message(
            &state,
            StatusCode::OK,
            "Candidature retirée",
            "Votre candidature est retirée : elle ne sera pas examinée. Une confirmation part vers les deux adresses indiquées.",
        ),
        Err(AppError::NotFound(_)) => link_invalid(&state),
        Err(e) => Err(e.into()),
    }
}
