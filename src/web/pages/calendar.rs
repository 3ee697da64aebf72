//! The DLA's calendar (issue #17): every session of every cohort the DLA owns or shares,
//! by week or month, filtered by cohort, consultant·e and place, with each session's
//! conflicts; the DLA's places (list, add, edit, archive); and the staff member's private
//! calendar feed (`/agenda-equipe/{user}/{token}.ics`, signed by `models::feed`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{Days, NaiveDate, NaiveTime};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::agenda::{Period, View};
use crate::domain::{calendar as cal, fr};
use crate::error::AppError;
use crate::mail::ics;
use crate::models::calendar::{self, Filters};
use crate::models::place::{self, PlaceInput};
use crate::models::scope::CohortScope;
use crate::models::{cohort, dla, feed};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PageError, PageResult, local_path, private, query_value, redirect, render,
    rerender, with_notice,
};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/dla/{id}/calendrier", web::get().to(page))
        .route("/dla/{id}/lieux", web::get().to(places))
        .route("/dla/{id}/lieux", web::post().to(add_place))
        .route(
            "/dla/{id}/lieux/{place}/modifier",
            web::get().to(edit_place),
        )
        .route(
            "/dla/{id}/lieux/{place}/modifier",
            web::post().to(update_place),
        )
        .route(
            "/dla/{id}/lieux/{place}/archiver",
            web::post().to(archive_place),
        )
        .route("/agenda-equipe/{user}/{token}", web::get().to(staff_feed))
        .route("/compte/agenda/renouveler", web::post().to(renew_feed));
}

/// The notices of this module's redirects.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "lieu_ajoute" => "Le lieu a été ajouté : les séances du DLA peuvent le choisir.",
        "lieu_modifie" => "Le lieu a été enregistré.",
        "lieu_archive" => {
            "Le lieu est archivé : les nouvelles séances ne le proposent plus, celles qui l'ont gardent leur lieu."
        }
        "lieu_restaure" => "Le lieu est de nouveau proposé aux séances.",
        "agenda_renouvele" => {
            "Votre adresse d'agenda a été renouvelée : l'ancienne ne fonctionne plus, abonnez-vous à la nouvelle."
        }
        _ => return None,
    })
}

/// The calendar's GET parameters (all optional; anything unreadable is ignored).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CalendarQuery {
    #[serde(default)]
    pub vue: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub cohorte: String,
    #[serde(default)]
    pub consultant: String,
    #[serde(default)]
    pub lieu: String,
    #[serde(default)]
    pub notice: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `/dla/{id}/calendrier?…` with these parameters (empty ones left out).
fn link(dla_id: &str, view: View, date: Option<NaiveDate>, f: &Filters) -> String {
    let mut parts = vec![format!("vue={}", view.as_str())];
    if let Some(d) = date {
        parts.push(format!("date={}", d.format("%Y-%m-%d")));
    }
    for (key, value) in [
        ("cohorte", &f.cohort_id),
        ("consultant", &f.consultant_id),
        ("lieu", &f.place_id),
    ] {
        if let Some(v) = value {
            parts.push(format!("{key}={}", query_value(v)));
        }
    }
    format!("/dla/{dla_id}/calendrier?{}", parts.join("&"))
}

/// Paris midnight of `day`, in UTC (midnight always exists in Paris).
fn midnight(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    cal::paris_to_utc(day.and_time(NaiveTime::MIN)).expect("midnight exists in Paris")
}

/// The cohorts the signed-in person sees: what a conflict may say of the other session.
pub(crate) fn viewer_scope() -> CohortScope {
    crate::web::actor::current()
        .map(|i| i.actor.cohort_scope())
        .unwrap_or(CohortScope::Nothing)
}

pub(crate) fn travel_gap(state: &AppState) -> chrono::Duration {
    chrono::Duration::minutes(i64::from(state.config.calendar.travel_gap_minutes))
}

async fn page(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    query: web::Query<CalendarQuery>,
) -> PageResult {
    let dla_id = path.into_inner();
    let q = query.into_inner();
    let today = crate::models::programme::today(state.clock.now());
    let view = View::parse(&q.vue);
    let anchor = NaiveDate::parse_from_str(q.date.trim(), "%Y-%m-%d").unwrap_or(today);
    let period = Period::of(view, anchor);
    let filters = Filters {
        cohort_id: some(&q.cohorte),
        consultant_id: some(&q.consultant),
        place_id: some(&q.lieu),
    };
    let (from, to) = (midnight(period.first), midnight(period.last + Days::new(1)));
    let scope = CohortScope::Dla(dla_id.clone());
    let viewer = actor.cohort_scope();
    let user_id = actor.staff().map(|s| s.user_id.clone());
    let (gap, public_url) = (
        travel_gap(&state),
        state
            .config
            .server
            .public_url
            .trim_end_matches('/')
            .to_string(),
    );
    let (d, f) = (dla_id.clone(), filters.clone());
    let loaded = crate::db::run(&state.pool, move |c| {
        let dla = dla::get(c, &d)?;
        let sessions = calendar::sessions_in(c, &scope, from, to, &f)?;
        let flags = calendar::conflicts(c, &sessions, None, &viewer, gap)?;
        let cohorts = calendar::cohorts_in(c, &scope, from, to)?;
        let infos = calendar::cohort_infos(
            c,
            &sessions
                .iter()
                .map(|s| s.cohort_id.clone())
                .collect::<Vec<_>>(),
        )?;
        let mut consultant_ids: Vec<String> =
            cohorts.iter().filter_map(|(_, _, k)| k.clone()).collect();
        consultant_ids.extend(infos.values().filter_map(|i| i.reach.consultant_id.clone()));
        let consultants = calendar::consultant_names(c, &consultant_ids)?;
        let places = place::list_for_dla(c, &d)?;
        let place_ids: Vec<String> = sessions.iter().filter_map(|s| s.place_id.clone()).collect();
        let place_names = calendar::place_names(c, &place_ids)?;
        let association_ids: Vec<String> = sessions
            .iter()
            .filter_map(|s| s.association_id.clone())
            .collect();
        let association_names = calendar::association_names(c, &association_ids)?;
        let feed_url = match &user_id {
            Some(u) => Some(feed::staff_calendar_url(c, &public_url, u)?),
            None => None,
        };
        Ok((
            dla,
            sessions,
            flags,
            cohorts,
            infos,
            consultants,
            places,
            place_names,
            association_names,
            feed_url,
        ))
    })
    .await?;
    let (
        dla,
        sessions,
        flags,
        cohorts,
        infos,
        consultants,
        places,
        place_names,
        association_names,
        feed_url,
    ) = loaded;
    let mut by_day: HashMap<NaiveDate, Vec<Value>> = HashMap::new();
    let mut conflicted = 0;
    for s in &sessions {
        let info = infos.get(&s.cohort_id);
        let consultant = info
            .and_then(|i| i.reach.consultant_id.as_ref())
            .and_then(|k| consultants.get(k));
        let place_name = s.place_id.as_ref().and_then(|p| place_names.get(p));
        let label = match s
            .association_id
            .as_ref()
            .and_then(|a| association_names.get(a))
        {
            Some(a) => format!("{} — {a}", s.kind().label()),
            None => s.kind().label().to_string(),
        };
        let messages: Vec<&str> = flags
            .iter()
            .filter(|f| f.session_id == s.id)
            .map(|f| f.message.as_str())
            .collect();
        if !messages.is_empty() {
            conflicted += 1;
        }
        let (start, end) = (s.local_start(), s.local_end());
        by_day.entry(start.date()).or_default().push(json!({
            "id": s.id,
            "time": format!("{} – {}", fr::time(start.time()), fr::time(end.time())),
            "label": label,
            "cohort": info.map(|i| i.name.clone()).unwrap_or_default(),
            "consultant": consultant,
            "place": place_name.cloned().or_else(|| some(&s.location)),
            "conflicts": messages,
        }));
    }
    let weeks: Vec<Value> = period
        .weeks()
        .into_iter()
        .map(|week| {
            json!({"days": week.into_iter().map(|day| json!({
                "label": if period.view == View::Week { fr::date_long(day) } else { day.format("%-d").to_string() },
                "long": fr::date_long(day),
                "today": day == today,
                // The cell's classes, written here rather than by two `{{#if}}` a day.
                "class": match (day == today, period.in_month(day)) {
                    (true, true) => "today",
                    (true, false) => "today outside",
                    (false, true) => "",
                    (false, false) => " outside",
                },
                "sessions": by_day.remove(&day).unwrap_or_default(),
            })).collect::<Vec<_>>()})
        })
        .collect();
    let mut cohort_pairs = vec![(String::new(), "Toutes les cohortes".to_string())];
    cohort_pairs.extend(
        cohorts
            .iter()
            .map(|(id, name, _)| (id.clone(), name.clone())),
    );
    let mut consultant_list: Vec<(String, String)> = consultants
        .iter()
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    consultant_list.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut consultant_pairs = vec![(String::new(), "Tous les consultant·es".to_string())];
    consultant_pairs.extend(consultant_list);
    let mut place_pairs = vec![(String::new(), "Tous les lieux".to_string())];
    place_pairs.extend(places.iter().map(|p| {
        let name = if p.archived_at.is_some() {
            format!("{} (archivé)", p.name)
        } else {
            p.name.clone()
        };
        (p.id.clone(), name)
    }));
    let weekdays: Vec<&str> = period.weeks()[0]
        .iter()
        .map(|d| fr::weekday_name(chrono::Datelike::weekday(d)))
        .collect();
    let ctx = json!({
        "title": format!("Calendrier — {}", dla.name),
        "nav_dlas": true,
        "dla": dla,
        "period": period.title,
        "is_month": view == View::Month,
        "view": view.as_str(),
        "date": anchor.format("%Y-%m-%d").to_string(),
        "previous": link(&dla_id, view, Some(period.previous), &filters),
        "next": link(&dla_id, view, Some(period.next), &filters),
        "today_link": link(&dla_id, view, None, &filters),
        "week_link": link(&dla_id, View::Week, Some(anchor), &filters),
        "month_link": link(&dla_id, View::Month, Some(anchor), &filters),
        "weekdays": weekdays,
        "weeks": weeks,
        "count_text": match sessions.len() {
            0 => "Aucune séance".to_string(),
            1 => "1 séance".to_string(),
            n => format!("{n} séances"),
        },
        "conflicted": conflicted,
        "truncated": sessions.len() as i64 >= calendar::MAX_SESSIONS,
        "filtered": filters != Filters::default(),
        "cohort_options": view::owned_options(&cohort_pairs, filters.cohort_id.as_deref().unwrap_or("")),
        "consultant_options": view::owned_options(&consultant_pairs, filters.consultant_id.as_deref().unwrap_or("")),
        "place_options": view::owned_options(&place_pairs, filters.place_id.as_deref().unwrap_or("")),
        "feed_url": feed_url,
        "back": link(&dla_id, view, Some(anchor), &filters),
    });
    let ctx = with_notice(
        ctx,
        &NoticeQuery {
            notice: q.notice.clone(),
        },
    );
    render(&state, "pages/calendar/show", ctx).map(private)
}

// --- Places -------------------------------------------------------------------------------

async fn places_ctx(state: &AppState, dla_id: &str, input: &PlaceInput) -> Result<Value, AppError> {
    let d = dla_id.to_string();
    let (dla, places) = crate::db::run(&state.pool, move |c| {
        Ok((dla::get(c, &d)?, place::list_for_dla(c, &d)?))
    })
    .await?;
    Ok(json!({
        "title": format!("Lieux — {}", dla.name),
        "nav_dlas": true,
        "dla": dla,
        "places": places.iter().map(|p| json!({
            "id": p.id,
            "name": p.name,
            "address": p.address,
            "archived": p.archived_at.is_some(),
        })).collect::<Vec<_>>(),
        "form": input,
        "action": format!("/dla/{dla_id}/lieux"),
    }))
}

async fn places(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let ctx = places_ctx(&state, &id, &PlaceInput::default()).await?;
    render(&state, "pages/calendar/places", with_notice(ctx, &q))
}

async fn add_place(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<PlaceInput>,
) -> PageResult {
    let id = path.into_inner();
    let (d, i) = (id.clone(), input.clone());
    match state.write(move |tx| place::create(tx, &d, &i)).await {
        Ok(_) => Ok(redirect(&format!("/dla/{id}/lieux"), Some("lieu_ajoute"))),
        Err(e) => {
            let ctx = places_ctx(&state, &id, &input).await?;
            rerender(&state, "pages/calendar/places", ctx, &input, e)
        }
    }
}

/// The place `place_id` of the DLA `dla_id` (any other is « not found »: the access rule
/// checked the DLA of the path only).
fn place_of(
    conn: &mut crate::db::Conn,
    dla_id: &str,
    place_id: &str,
) -> Result<place::Place, AppError> {
    let p = place::get(conn, place_id)?;
    if p.dla_id != dla_id {
        return Err(AppError::not_found("Lieu"));
    }
    Ok(p)
}

fn edit_ctx(dla: &dla::Dla, p: &place::Place, input: &PlaceInput) -> Value {
    json!({
        "title": format!("Modifier le lieu « {} »", p.name),
        "nav_dlas": true,
        "dla": dla,
        "place": {"id": p.id, "name": p.name},
        "form": input,
        "action": format!("/dla/{}/lieux/{}/modifier", dla.id, p.id),
    })
}

async fn edit_place(state: web::Data<AppState>, path: web::Path<(String, String)>) -> PageResult {
    let (id, pid) = path.into_inner();
    let (dla, p) = crate::db::run(&state.pool, move |c| {
        Ok((dla::get(c, &id)?, place_of(c, &id, &pid)?))
    })
    .await?;
    render(
        &state,
        "pages/calendar/place",
        edit_ctx(&dla, &p, &PlaceInput::from(&p)),
    )
}

async fn update_place(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Form(input): Form<PlaceInput>,
) -> PageResult {
    let (id, pid) = path.into_inner();
    let (d, p, i) = (id.clone(), pid.clone(), input.clone());
    match state
        .write(move |tx| {
            place_of(tx, &d, &p)?;
            place::update(tx, &p, &i)
        })
        .await
    {
        Ok(_) => Ok(redirect(&format!("/dla/{id}/lieux"), Some("lieu_modifie"))),
        Err(e) => {
            let (dla, p) = crate::db::run(&state.pool, move |c| {
                Ok((dla::get(c, &id)?, place_of(c, &id, &pid)?))
            })
            .await?;
            rerender(
                &state,
                "pages/calendar/place",
                edit_ctx(&dla, &p, &input),
                &input,
                e,
            )
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ArchiveInput {
    /// `1` archives, anything else brings the place back.
    #[serde(default)]
    pub archived: String,
}

async fn archive_place(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Form(input): Form<ArchiveInput>,
) -> PageResult {
    let (id, pid) = path.into_inner();
    let archived = input.archived.trim() == "1";
    let d = id.clone();
    state
        .write(move |tx| {
            place_of(tx, &d, &pid)?;
            place::set_archived(tx, &pid, archived)
        })
        .await?;
    Ok(redirect(
        &format!("/dla/{id}/lieux"),
        Some(if archived {
            "lieu_archive"
        } else {
            "lieu_restaure"
        }),
    ))
}

// --- The staff feed ---------------------------------------------------------------------------

/// How far the feed reaches back and ahead of today.
const FEED_PAST_DAYS: u64 = 60;
const FEED_FUTURE_DAYS: u64 = 400;

async fn staff_feed(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (user_id, token) = path.into_inner();
    let token = token.strip_suffix(".ics").unwrap_or(&token).to_string();
    let today = crate::models::programme::today(state.clock.now());
    let (from, to) = (
        midnight(today - Days::new(FEED_PAST_DAYS)),
        midnight(today + Days::new(FEED_FUTURE_DAYS)),
    );
    let (user, data) = crate::db::run(&state.pool, move |c| {
        let user = feed::verify_staff(c, &user_id, &token)?;
        let role = crate::models::account::Role::parse(&user.role)
            .ok_or_else(|| AppError::NotFound("Ce lien n'est pas (ou plus) valable.".into()))?;
        let scope =
            CohortScope::of_staff(role, user.dla_id.as_deref(), user.consultant_id.as_deref());
        let data = calendar::feed(c, &scope, from, to)?;
        Ok((user, data))
    })
    .await?;
    let events: Vec<ics::Invite> = data
        .sessions
        .iter()
        .filter_map(|s| {
            let co = data.cohorts.get(&s.cohort_id)?;
            let dla_email = data
                .dla_emails
                .get(&co.dla_id)
                .map(String::as_str)
                .unwrap_or("");
            let organizer =
                cohort::answerer(co, dla_email, None, cohort::Topic::Cohort, &state.mail);
            Some(super::space::feed_event(
                s,
                &co.name,
                &data.associations,
                organizer,
            ))
        })
        .collect();
    let body = ics::feed(&format!("Cohorte — {}", user.name), &events);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(body))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RenewInput {
    /// Where to return (a path of this app), else « Mon compte ».
    #[serde(default)]
    pub back: String,
}

async fn renew_feed(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<RenewInput>,
) -> PageResult {
    let me = actor
        .staff()
        .ok_or_else(|| AppError::Forbidden("Réservé à l'équipe.".into()))?
        .user_id
        .clone();
    state.write(move |tx| feed::renew_staff(tx, &me)).await?;
    let back = local_path(input.back.trim()).unwrap_or("/compte");
    Ok(redirect(back, Some("agenda_renouvele")))
}
