//! The participant side: signing in from an email, the portal, and unsubscribing.
//!
//! - `/connexion/lien/{token}`: the sign-in link every email to a participant carries
//!   (`models::outbox::personalise` makes it as the email leaves). GET only shows a button
//!   « Me connecter » — mail scanners open links, and must not use them up —; POST uses the
//!   link (once: `account::consume_link`), opens a participant session and goes to the
//!   portal. A used, expired or altered link shows why, with the form to receive a new one.
//! - `/connexion/participant`: that form; it queues a fresh link to the address if it is a
//!   participant's, and always answers the same sentence (nobody learns who is registered).
//! - `/portail`: the signed-in participant's cohort agenda (collective sessions and their
//!   association's bilan), the homework with their association's return and a form to
//!   return each, the calendar feed, their association's socio-economic model forms
//!   (`/portail/modele/{stage}`, `web::pages::profile`) and the email preferences
//!   (`/portail/preferences`). Everything is scoped to the signed-in `Member` by
//!   `models::portal`.
//! - `/portail/engagement`: the sessions the participant commits to, with their dates, and
//!   « Je confirme ma participation » (issue #14). The `commitment_request` email's link
//!   is the sign-in link with `?suite=/portail/engagement`, which the sign-in page and its
//!   POST carry through (`SuiteQuery`: portal pages only).
//! - `/desabonnement/{participant}/{token}`: the one-click unsubscribe address of the
//!   emails' `List-Unsubscribe` header (RFC 8058; an HMAC token, `models::feed`). POST turns
//!   the reminders off — the mail client sends it with no cookie, so no CSRF token is
//!   needed —; GET asks for confirmation, since a link opened is not a decision.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::fr;
use crate::error::AppError;
use crate::models::account::{self, Lifetimes, LinkPurpose, LinkRefusal, Principal};
use crate::models::feed::{self, Purpose};
use crate::models::input::Check;
use crate::models::portal;
use crate::models::profile_form::ProfileInput;
use crate::models::scope::{self, Member};
use crate::web::AppState;
use crate::web::actor::{Actor, Credential, Identity, session_cookie};
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PageError, PageResult, private, redirect, render, render_status,
};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/connexion/lien/{token}", web::get().to(link_page))
        .route("/connexion/lien/{token}", web::post().to(link_sign_in))
        .route("/connexion/participant", web::get().to(request_form))
        .route("/connexion/participant", web::post().to(request_link))
        .route(
            "/desabonnement/{participant}/{token}",
            web::get().to(unsubscribe_page),
        )
        .route(
            "/desabonnement/{participant}/{token}",
            web::post().to(unsubscribe),
        )
        .route("/portail", web::get().to(home))
        .route("/portail/taches/{id}", web::post().to(return_task))
        .route("/portail/engagement", web::get().to(commitment))
        .route("/portail/engagement", web::post().to(confirm_commitment))
        .route("/portail/preferences", web::get().to(preferences))
        .route("/portail/preferences", web::post().to(save_preferences))
        .route("/portail/modele/{stage}", web::get().to(model_form))
        .route("/portail/modele/{stage}", web::post().to(save_model));
}

/// This module's notices (`?notice=`), shown once by the target page.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "connecte" => "Vous êtes connecté·e à votre espace.",
        "travail_rendu" => "C'est noté : le travail est marqué rendu pour votre association.",
        "preferences_enregistrees" => "Vos préférences d'e-mails ont été enregistrées.",
        "evaluation_enregistree" => "Merci : l'évaluation de votre association est enregistrée.",
        "suivi_enregistre" => "Merci : le suivi de vos pistes d'actions est enregistré.",
        "engagement_confirme" => "Merci : votre participation aux sessions est confirmée.",
        other => return crate::web::pages::notice_text(other),
    })
}

fn with_notice(mut ctx: Value, q: &NoticeQuery) -> Value {
    if let (Some(obj), Some(text)) = (ctx.as_object_mut(), notice_text(&q.notice)) {
        obj.insert("notice".into(), json!(text));
    }
    ctx
}

/// The signed-in participant (the guard lets only participants reach `/portail`).
fn member(actor: &Actor) -> Result<Member, PageError> {
    actor.member().cloned().ok_or_else(|| {
        AppError::Forbidden("Cette page est réservée aux participant·es connecté·es.".into()).into()
    })
}

// ---- signing in from an email ------------------------------------------------------------

/// The form to receive a new link, as it appears on the refusal and request pages.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct EmailInput {
    #[serde(default)]
    pub email: String,
}

/// A link that does not open: why, and the form to receive a new one.
fn refused(state: &AppState, refusal: LinkRefusal) -> PageResult {
    let status = match refusal {
        LinkRefusal::Unknown => StatusCode::NOT_FOUND,
        LinkRefusal::Used | LinkRefusal::Expired => StatusCode::GONE,
    };
    let mut ctx = json!({
        "title": "Lien de connexion",
        "public_page": true,
        "refusal": refusal.message(),
        "form": EmailInput::default(),
        "days": state.config.auth.participant_link_days,
    });
    render_status(state, status, "pages/portal/request", &mut ctx).map(private)
}

/// Whose link this is, without using it.
async fn peek(state: &AppState, token: String) -> Result<Result<Member, LinkRefusal>, AppError> {
    let at = state.clock.now().naive_utc();
    crate::db::run(&state.pool, move |c| {
        Ok(
            match account::peek_link(c, LinkPurpose::ParticipantSignIn, &token, at)? {
                Err(refusal) => Err(refusal),
                Ok(target) => match target.participant_id {
                    Some(pid) => scope::member(c, &pid)?.ok_or(LinkRefusal::Unknown),
                    None => Err(LinkRefusal::Unknown),
                },
            },
        )
    })
    .await
}

/// The page a sign-in link leads to (`?suite=`): a portal page, as the commitment
/// request's link names `/portail/engagement`; the portal's home otherwise.
#[derive(Deserialize, Default)]
pub struct SuiteQuery {
    #[serde(default)]
    pub suite: String,
}

impl SuiteQuery {
    /// The target when it is a portal page written plainly (no query, no fragment).
    fn portal_page(&self) -> Option<&str> {
        crate::web::pages::local_path(&self.suite).filter(|p| {
            p.starts_with("/portail/")
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'/' || b == b'-')
        })
    }
}

async fn link_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<SuiteQuery>,
) -> PageResult {
    let token = path.into_inner();
    let action = match q.portal_page() {
        Some(page) => format!("/connexion/lien/{token}?suite={page}"),
        None => format!("/connexion/lien/{token}"),
    };
    match peek(&state, token.clone()).await? {
        Err(refusal) => refused(&state, refusal),
        Ok(m) => render(
            &state,
            "pages/portal/link",
            json!({
                "title": "Connexion à votre espace",
                "public_page": true,
                "first_name": portal::first_name(&m.name),
                "action": action,
            }),
        )
        .map(private),
    }
}

async fn link_sign_in(
    state: web::Data<AppState>,
    identity: Identity,
    path: web::Path<String>,
    q: web::Query<SuiteQuery>,
) -> PageResult {
    let token = path.into_inner();
    let target = match q.portal_page() {
        Some(page) => page.to_string(),
        None => "/portail?notice=connecte".to_string(),
    };
    let lifetimes = Lifetimes::from_config(&state.config.auth);
    let previous = match identity.credential {
        Credential::Cookie(c) => Some(c),
        _ => None,
    };
    let outcome = state
        .write(move |c| {
            let at = c.now_naive();
            let target = match account::consume_link(c, LinkPurpose::ParticipantSignIn, &token, at)?
            {
                Ok(t) => t,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let Some(pid) = target.participant_id else {
                return Ok(Err(LinkRefusal::Unknown));
            };
            if scope::member(c, &pid)?.is_none() {
                return Ok(Err(LinkRefusal::Unknown));
            }
            // A new session, never the one the browser came with.
            if let Some(old) = &previous {
                account::end_session(c, old)?;
            }
            Ok(Ok(account::start_session(
                c,
                &Principal::Participant(pid),
                lifetimes,
                at,
            )?))
        })
        .await?;
    match outcome {
        Err(refusal) => refused(&state, refusal),
        Ok(session) => Ok(private(
            HttpResponse::SeeOther()
                .cookie(session_cookie(&session, state.config.server.is_https()))
                .insert_header((header::LOCATION, target))
                .finish(),
        )),
    }
}

async fn request_form(state: web::Data<AppState>) -> PageResult {
    render(
        &state,
        "pages/portal/request",
        json!({
            "title": "Recevoir un lien de connexion",
            "public_page": true,
            "form": EmailInput::default(),
            "days": state.config.auth.participant_link_days,
        }),
    )
}

async fn request_link(state: web::Data<AppState>, Form(input): Form<EmailInput>) -> PageResult {
    let mut check = Check::new();
    check.email("email", &input.email);
    let base = json!({
        "title": "Recevoir un lien de connexion",
        "public_page": true,
        "days": state.config.auth.participant_link_days,
    });
    if let Err(e) = check.finish() {
        return crate::web::pages::rerender(&state, "pages/portal/request", base, &input, e);
    }
    let (mail, email) = (state.mail.clone(), input.email.clone());
    let queued = state
        .write(move |c| portal::request_link(c, &mail, &email))
        .await;
    if let Err(e) = queued {
        // Logged, and not told: the answer must not depend on the address.
        e.log();
    }
    let mut ctx = base;
    ctx["form"] = json!(input);
    ctx["sent"] = json!(true);
    render(&state, "pages/portal/request", ctx)
}

// ---- the portal -----------------------------------------------------------------------------

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

async fn home(state: web::Data<AppState>, actor: Actor, q: web::Query<NoticeQuery>) -> PageResult {
    let m = member(&actor)?;
    let ctx = portal_ctx(&state, &m, None).await?;
    render(&state, "pages/portal/home", with_notice(ctx, &q)).map(private)
}

/// The portal's home; `refused` = the task whose form was refused, with what was typed
/// and the message.
async fn portal_ctx(
    state: &AppState,
    m: &Member,
    refused: Option<(&str, &str, &str)>,
) -> Result<Value, AppError> {
    let (member, public_url) = (m.clone(), state.mail.public_url.clone());
    let (o, model_saved) = crate::db::run(&state.pool, move |c| {
        let o = portal::overview(c, &member, &public_url)?;
        // Which of the association's two models are filled in already (version 0: never).
        let saved = |c: &mut crate::db::Conn, stage: &str| {
            crate::models::profile::get(c, &o.association.id, stage).map(|p| p.version > 0)
        };
        let model_saved = (saved(c, "etat_des_lieux")?, saved(c, "cible")?);
        Ok((o, model_saved))
    })
    .await?;
    let now = state.clock.now().naive_utc();
    let own = std::slice::from_ref(&o.association);
    let sessions: Vec<Value> = o
        .sessions
        .iter()
        .map(|s| {
            json!({
                "label": s.label(own),
                "when": fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
                "location": s.location,
                "video_link": s.video_link,
                "agenda": lines(&s.agenda),
                "is_past": s.ends_at < now,
            })
        })
        .collect();
    let tasks: Vec<Value> = o
        .tasks
        .iter()
        .map(|(t, r)| {
            let returned = r.as_ref().filter(|r| r.is_returned());
            let (answer, error) = match refused {
                Some((id, answer, error)) if id == t.id => (answer.to_string(), Some(error)),
                _ => (
                    r.as_ref().map(|r| r.answer.clone()).unwrap_or_default(),
                    None,
                ),
            };
            json!({
                "id": t.id,
                "title": t.title,
                "due": fr::date_long(t.due_date),
                "instructions": lines(&t.instructions),
                "returned": returned.is_some(),
                "returned_on": returned.and_then(|r| r.returned_on).map(fr::date_long),
                "answer": answer,
                "error": error,
            })
        })
        .collect();
    let evaluation = crate::web::pages::evaluations::portal_value(state, m).await?;
    Ok(json!({
        "evaluation": evaluation,
        "title": format!("Mon espace — {}", o.cohort.name),
        "nav_portal": true,
        "first_name": portal::first_name(&o.participant.name),
        "association": o.association.name,
        "cohort": o.cohort.name,
        "sessions": sessions,
        "tasks": tasks,
        "reminders": o.participant.reminders,
        "commitment_confirmed": o.participant.commitment_confirmed_at.is_some(),
        "edl_saved": model_saved.0,
        "target_saved": model_saved.1,
        "calendar_url": o.calendar_url,
        "webcal_url": o.calendar_url
            .replacen("https://", "webcal://", 1)
            .replacen("http://", "webcal://", 1),
    }))
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct AnswerInput {
    #[serde(default)]
    pub answer: String,
}

async fn return_task(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<AnswerInput>,
) -> PageResult {
    let m = member(&actor)?;
    let id = path.into_inner();
    let (member, tid, answer) = (m.clone(), id.clone(), input.answer.clone());
    let today = crate::models::programme::today(state.clock.now());
    let result = state
        .write(move |c| portal::return_task(c, &member, &tid, &answer, today))
        .await;
    match result {
        Ok(()) => Ok(redirect(
            &format!("/portail#tache-{id}"),
            Some("travail_rendu"),
        )),
        // Bad input, or the database busy: the answer typed stays in its field.
        Err(e @ (AppError::Validation { .. } | AppError::Busy)) => {
            let refusal = super::Refusal::of(e)?;
            let error = refusal
                .fields
                .get("answer")
                .cloned()
                .unwrap_or(refusal.message.clone());
            let mut ctx = portal_ctx(&state, &m, Some((&id, &input.answer, &error))).await?;
            refusal
                .render(&state, "pages/portal/home", &mut ctx)
                .map(private)
        }
        Err(e) => Err(e.into()),
    }
}

// ---- commitment to the four sessions ----------------------------------------------------

/// The sessions the participant commits to, with their dates, and the button « Je confirme
/// ma participation » — or the date they confirmed. The link of the `commitment_request`
/// email leads here once it has signed them in.
async fn commitment(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let m = member(&actor)?;
    let member = m.clone();
    let (p, c, sessions) =
        crate::db::run(&state.pool, move |conn| portal::commitment(conn, &member)).await?;
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "label": s.kind().long_label(),
                "when": fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
                "location": s.location,
                "own_bilan": s.association_id.is_some(),
            })
        })
        .collect();
    let ctx = json!({
        "title": "Mon engagement aux sessions",
        "nav_portal": true,
        "first_name": portal::first_name(&p.name),
        "association": m.association_name,
        "cohort": c.name,
        "sessions": sessions,
        "confirmed_on": p
            .commitment_confirmed_at
            .map(|t| fr::datetime_long(t.and_utc())),
    });
    render(&state, "pages/portal/commitment", with_notice(ctx, &q)).map(private)
}

async fn confirm_commitment(state: web::Data<AppState>, actor: Actor) -> PageResult {
    let m = member(&actor)?;
    state
        .write(move |c| portal::confirm_commitment(c, &m))
        .await?;
    Ok(redirect("/portail/engagement", Some("engagement_confirme")))
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct PreferencesInput {
    /// `oui` or `non`.
    #[serde(default)]
    pub reminders: String,
}

async fn preferences_page(
    state: &AppState,
    m: &Member,
    q: &NoticeQuery,
    status: StatusCode,
    error: Option<&str>,
) -> PageResult {
    let pid = m.participant_id.clone();
    let p = crate::db::run(&state.pool, move |c| {
        crate::models::participant::get(c, &pid)
    })
    .await?;
    let mut ctx = with_notice(
        json!({
            "title": "Mes préférences d'e-mails",
            "nav_portal": true,
            "reminders": p.reminders,
            "email": p.email,
            "errors": {"reminders": error},
        }),
        q,
    );
    render_status(state, status, "pages/portal/preferences", &mut ctx).map(private)
}

async fn preferences(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let m = member(&actor)?;
    preferences_page(&state, &m, &q, StatusCode::OK, None).await
}

async fn save_preferences(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<PreferencesInput>,
) -> PageResult {
    let m = member(&actor)?;
    let on = match input.reminders.trim() {
        "oui" => true,
        "non" => false,
        _ => {
            return preferences_page(
                &state,
                &m,
                &NoticeQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Choisissez « oui » ou « non »."),
            )
            .await;
        }
    };
    let pid = m.participant_id.clone();
    state
        .write(move |c| portal::set_reminders(c, &pid, on).map(|_| ()))
        .await?;
    Ok(redirect(
        "/portail/preferences",
        Some("preferences_enregistrees"),
    ))
}

async fn model_form(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let m = member(&actor)?;
    crate::web::pages::profile::member_edit(&state, &m, &path.into_inner(), &q).await
}

async fn save_model(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<ProfileInput>,
) -> PageResult {
    let m = member(&actor)?;
    crate::web::pages::profile::member_save(&state, &m, &path.into_inner(), input).await
}

// ---- one-click unsubscribe -----------------------------------------------------------------

async fn unsubscribe_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (pid, token) = path.into_inner();
    let action = format!("/desabonnement/{pid}/{token}");
    let p = crate::db::run(&state.pool, move |c| {
        feed::verify(c, Purpose::Unsubscribe, &pid, &token)
    })
    .await?;
    render(
        &state,
        "pages/portal/unsubscribe",
        json!({
            "title": "Ne plus recevoir les rappels",
            "public_page": true,
            "reminders": p.reminders,
            "action": action,
            "done": false,
        }),
    )
    .map(private)
}

async fn unsubscribe(state: web::Data<AppState>, path: web::Path<(String, String)>) -> PageResult {
    let (pid, token) = path.into_inner();
    state
        .write(move |c| {
            let p = feed::verify(c, Purpose::Unsubscribe, &pid, &token)?;
            portal::set_reminders(c, &p.id, false).map(|_| ())
        })
        .await?;
    render(
        &state,
        "pages/portal/unsubscribe",
        json!({
            "title": "Rappels désactivés",
            "public_page": true,
            "done": true,
        }),
    )
    .map(private)
}
