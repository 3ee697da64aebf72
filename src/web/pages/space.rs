//! What a participant opens from their emails, with no account: their calendar feed
//! (`/agenda/{participant}/{token}.ics`) and their page (`/espace/{participant}/{token}`),
//! both read-only (a mail scanner opening the link changes nothing). The token is checked by
//! `models::feed`; a wrong, altered or revoked one is a plain « not found ».

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::domain::fr;
use crate::error::AppError;
use crate::mail::ics::{self, CalendarPerson, Invite, Method, session_uid};
use crate::mail::session::SessionFacts;
use crate::models::feed::{self, Purpose};
use crate::models::{association, cohort, participant, session, task};
use crate::web::AppState;
use crate::web::pages::{PageResult, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/agenda/{participant}/{token}", web::get().to(calendar))
        .route("/espace/{participant}/{token}", web::get().to(space));
}

/// Everything a participant's links show.
struct Seen {
    participant: participant::Participant,
    association: association::Association,
    cohort: cohort::Cohort,
    sessions: Vec<session::Session>,
    associations: Vec<association::Association>,
    tasks: Vec<task::IntersessionTask>,
    returns: Vec<task::TaskReturn>,
    calendar_url: String,
}

async fn load(
    state: &AppState,
    purpose: Purpose,
    participant_id: String,
    token: String,
) -> Result<Seen, AppError> {
    let public_url = state.mail.public_url.clone();
    crate::db::run(&state.pool, move |c| {
        let p = feed::verify(c, purpose, &participant_id, &token)?;
        let a = association::get(c, &p.association_id)?;
        let co = cohort::get(c, &a.cohort_id)?;
        let secret = feed::secret(c)?;
        let sessions = session::list_for_cohort(c, &co.id)?
            .into_iter()
            .filter(|s| s.association_id.as_deref().is_none_or(|aid| aid == a.id))
            .collect();
        Ok(Seen {
            calendar_url: feed::calendar_url(&public_url, &secret, &p),
            associations: association::list_for_cohort(c, &co.id)?,
            tasks: task::list_for_cohort(c, &co.id)?,
            returns: task::returns_for_cohort(c, &co.id)?,
            participant: p,
            association: a,
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
    let seen = load(&state, Purpose::Calendar, pid, token).await?;
    let organizer = CalendarPerson {
        name: state.mail.from_name.clone(),
        email: state.mail.from_address.clone(),
    };
    let attendee = CalendarPerson {
        name: seen.participant.name.clone(),
        email: seen.participant.email.clone(),
    };
    let events: Vec<Invite> = seen
        .sessions
        .iter()
        .map(|s| {
            let facts = SessionFacts::from_session(s, &seen.cohort.name, &seen.associations);
            Invite {
                uid: session_uid(&s.id),
                sequence: facts.sequence,
                method: Method::Request,
                summary: format!("{} ({})", facts.title(), seen.cohort.name),
                description: s.agenda.clone(),
                location: if s.location.trim().is_empty() {
                    s.video_link.trim().to_string()
                } else {
                    s.location.trim().to_string()
                },
                starts_at: facts.starts_at,
                ends_at: facts.ends_at,
                organizer: organizer.clone(),
                attendee: attendee.clone(),
                stamp: s.updated_at.and_utc(),
            }
        })
        .collect();
    let body = ics::feed(&seen.cohort.name, &events);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(body))
}

async fn space(state: web::Data<AppState>, path: web::Path<(String, String)>) -> PageResult {
    let (pid, token) = path.into_inner();
    // The participant's forms of the socio-economic model (web::pages::profile).
    let profile_url = format!("/espace/{pid}/{token}/modele");
    let seen = load(&state, Purpose::Space, pid, token).await?;
    let now = chrono::Utc::now().naive_utc();
    let sessions: Vec<_> = seen
        .sessions
        .iter()
        .map(|s| {
            json!({
                "label": s.label(&seen.associations),
                "when": fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
                "location": s.location,
                "video_link": s.video_link,
                "agenda": s.agenda.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
                "is_past": s.ends_at < now,
            })
        })
        .collect();
    let tasks: Vec<_> = seen
        .tasks
        .iter()
        .map(|t| {
            let returned = seen.returns.iter().find(|r| {
                r.task_id == t.id && r.association_id == seen.association.id && r.status == "rendu"
            });
            json!({
                "title": t.title,
                "due": fr::date_long(t.due_date),
                "instructions": t.instructions.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
                "returned_on": returned.and_then(|r| r.returned_on).map(fr::date_long),
                "returned": returned.is_some(),
            })
        })
        .collect();
    let mut res = render(
        &state,
        "pages/space",
        json!({
            "title": format!("Votre espace — {}", seen.cohort.name),
            "public_page": true,
            "participant": {"name": seen.participant.name, "reminders": seen.participant.reminders},
            "association": seen.association.name,
            "cohort": seen.cohort.name,
            "sessions": sessions,
            "tasks": tasks,
            "calendar_url": seen.calendar_url,
            "profile_url": profile_url,
            "webcal_url": seen.calendar_url.replacen("https://", "webcal://", 1).replacen("http://", "webcal://", 1),
        }),
    )?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}
