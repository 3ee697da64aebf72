//! Signed links a participant may hold, with no session: their calendar feed
//! (`/agenda/{participant}/{token}.ics`, read-only) and their old page
//! (`/espace/{participant}/{token}`, and its `/modele/{stage}` forms). The page has been
//! replaced by the portal (`web::pages::portal`), which the participant reaches by signing
//! in from an email: the old address now only explains that and offers to email a
//! sign-in link. It shows no personal data, so a forwarded or leaked old link reveals
//! nothing. Tokens are checked by `models::feed`; a wrong, altered or revoked one is a plain
//! « not found ».

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::AppError;
use crate::mail::ics::{self, Invite, Method, session_uid};
use crate::models::feed::{self, Purpose};
use crate::models::{association, cohort, session};
use crate::web::AppState;
use crate::web::pages::{PageResult, private, render_status};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/agenda/{participant}/{token}", web::get().to(calendar))
        .route("/espace/{participant}/{token}", web::get().to(space))
        .route(
            "/espace/{participant}/{token}/modele/{stage}",
            web::get().to(space_form),
        )
        .route(
            "/espace/{participant}/{token}/modele/{stage}",
            web::post().to(space_form_sent),
        );
}

/// What the calendar feed shows: the participant's sessions (collective ones and their
/// association's bilan).
struct Seen {
    cohort: cohort::Cohort,
    /// The DLA's contact address, for the ORGANIZER ([`cohort::answerer`]).
    dla_email: String,
    sessions: Vec<session::Session>,
    associations: Vec<association::Association>,
}

async fn load(state: &AppState, participant_id: String, token: String) -> Result<Seen, AppError> {
    crate::db::run(&state.pool, move |c| {
        let p = feed::verify(c, Purpose::Calendar, &participant_id, &token)?;
        let a = association::get(c, &p.association_id)?;
        let co = cohort::get(c, &a.cohort_id)?;
        let sessions = session::list_for_cohort(c, &co.id)?
            .into_iter()
            .filter(|s| s.association_id.as_deref().is_none_or(|aid| aid == a.id))
            .collect();
        Ok(Seen {
            associations: vec![a],
            dla_email: crate::models::dla::get(c, &co.dla_id)?.email,
            cohort: co,
            sessions,
        })
    })
    .await
}

async fn calendar(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, crate::web::pages::PageError> {
    let (pid, token) = path.into_inner();
    let token = token.strip_suffix(".ics").unwrap_or(&token).to_string();
    let seen = load(&state, pid, token).await?;
    // Named as in the invites; no ATTENDEE: a published calendar invites nobody.
    let organizer = cohort::answerer(
        &seen.cohort,
        &seen.dla_email,
        None,
        cohort::Topic::Cohort,
        &state.mail,
    );
    let events: Vec<Invite> = seen
        .sessions
        .iter()
        .map(|s| feed_event(s, &seen.cohort.name, &seen.associations, organizer.clone()))
        .collect();
    let body = ics::feed(&seen.cohort.name, &events);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(body))
}

/// A session as an event of a subscribed calendar (the participants' feed and the staff
/// feed of `web::pages::calendar`): the invites' UID and SEQUENCE, the place or else the
/// video link, no ATTENDEE.
pub(crate) fn feed_event(
    s: &session::Session,
    cohort_name: &str,
    associations: &[association::Association],
    organizer: ics::CalendarPerson,
) -> Invite {
    let facts = s.facts(cohort_name, associations);
    Invite {
        uid: session_uid(&s.id),
        sequence: facts.sequence,
        method: Method::Request,
        summary: format!("{} ({})", facts.title(), cohort_name),
        description: s.agenda.clone(),
        location: if s.location.trim().is_empty() {
            s.video_link.trim().to_string()
        } else {
            s.location.trim().to_string()
        },
        starts_at: facts.starts_at,
        ends_at: facts.ends_at,
        organizer,
        attendee: None,
        stamp: s.updated_at.and_utc(),
    }
}

/// The old page: what replaced it, and the form to receive a sign-in link.
async fn explain(state: &AppState, pid: String, token: String, status: StatusCode) -> PageResult {
    crate::db::run(&state.pool, move |c| {
        feed::verify(c, Purpose::Space, &pid, &token).map(|_| ())
    })
    .await?;
    let mut ctx = json!({
        "title": "Votre espace a changé d'adresse",
        "public_page": true,
        "form": {"email": ""},
        "days": state.config.auth.participant_link_days,
        "gone": status == StatusCode::GONE,
    });
    render_status(state, status, "pages/space", &mut ctx).map(private)
}

async fn space(state: web::Data<AppState>, path: web::Path<(String, String)>) -> PageResult {
    let (pid, token) = path.into_inner();
    explain(&state, pid, token, StatusCode::OK).await
}

async fn space_form(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> PageResult {
    let (pid, token, _) = path.into_inner();
    explain(&state, pid, token, StatusCode::OK).await
}

/// A form sent to the old address is not saved: the page says where to fill it now.
async fn space_form_sent(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> PageResult {
    let (pid, token, _) = path.into_inner();
    explain(&state, pid, token, StatusCode::GONE).await
}
