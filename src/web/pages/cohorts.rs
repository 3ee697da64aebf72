//! Cohort pages: the list, the form, the cohort page (programme timeline, associations,
//! participants, homework matrix, warnings), programme generation and template.

use std::collections::BTreeMap;

use actix_web::web;
use serde_json::{Value, json};

use crate::domain::fr;
use crate::domain::programme::{ProgrammeTemplate, SessionKind, SessionTemplate, TaskTemplate};
use crate::error::AppError;
use crate::models::cohort::{self, APPROACHES, CohortInput, STATUSES};
use crate::models::input::Check;
use crate::models::{consultant, dla, programme};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PageQuery, PageResult, redirect, render, rerender, with_notice,
};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes", web::get().to(list))
        .route("/cohortes/nouvelle", web::get().to(new))
        .route("/cohortes", web::post().to(create))
        .route("/cohortes/{id}", web::get().to(show))
        .route("/cohortes/{id}/modifier", web::get().to(edit))
        .route("/cohortes/{id}/modifier", web::post().to(update))
        .route("/cohortes/{id}/programme", web::post().to(generate))
        .route("/cohortes/{id}/modele", web::get().to(template_form))
        .route("/cohortes/{id}/modele", web::post().to(template_save));
}

/// The cohorts list's filters and page, as in its address (`?recherche=…&statut=…&annee=…
/// &dla=…&envois=en_retard&page=…`); what cannot be read narrows nothing.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
struct ListQuery {
    #[serde(default)]
    recherche: String,
    #[serde(default)]
    statut: String,
    #[serde(default)]
    annee: String,
    #[serde(default)]
    dla: String,
    /// `en_retard`: the cohorts with emails late or failing (the staff banner's link).
    #[serde(default)]
    envois: String,
    #[serde(default, skip_serializing)]
    page: Option<String>,
}

/// The value of `?envois=` that keeps the cohorts with emails late or failing.
const LATE_MAIL: &str = "en_retard";

impl ListQuery {
    /// The filter in force; `watch` is the moment and threshold of « en retard ».
    fn filter(&self, watch: crate::models::outbox_status::Watch) -> cohort::CohortFilter {
        let status = self.statut.trim();
        let dla = self.dla.trim();
        cohort::CohortFilter {
            search: self.recherche.trim().to_string(),
            status: STATUSES
                .iter()
                .any(|(code, _)| *code == status)
                .then(|| status.to_string()),
            year: self
                .annee
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|y| (1900..=2200).contains(y)),
            dla_id: (!dla.is_empty()).then(|| dla.to_string()),
            mail_trouble: (self.envois.trim() == LATE_MAIL).then_some(watch),
        }
    }

    /// `/cohortes` with the filters in force (the pager adds the page).
    fn base(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("recherche", self.recherche.trim()),
            ("statut", self.statut.trim()),
            ("annee", self.annee.trim()),
            ("dla", self.dla.trim()),
            ("envois", self.envois.trim()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        match serde_html_form::to_string(&pairs) {
            Ok(q) if !q.is_empty() => format!("/cohortes?{q}"),
            _ => "/cohortes".to_string(),
        }
    }
}

/// The cohorts the person sees, a page at a time: scope and filters in SQL, the page's
/// figures keyed by its ids (`models::cohort::summaries`).
async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
    place: web::Query<ListQuery>,
) -> PageResult {
    let now = state.clock.now().naive_utc();
    let watch =
        crate::models::outbox_status::Watch::new(now.and_utc(), state.config.mail.late_after());
    let scope = actor.cohort_scope();
    let place = place.into_inner();
    let filter = place.filter(watch);
    let wanted = place.page.clone();
    let all_dlas = scope == crate::models::scope::CohortScope::All;
    let (rows, total, page, empty, dlas) = crate::db::run(&state.pool, move |c| {
        let total = cohort::count(c, &scope, &filter)?;
        let page = crate::web::pages::page_number(&PageQuery { page: wanted }, total);
        let per = crate::web::pages::PER_PAGE;
        let cohorts = cohort::page(c, &scope, &filter, per, (page - 1) * per)?;
        let rows = cohort::summaries(c, cohorts, now)?;
        // The DLA filter is for those who see every DLA's cohorts.
        let dlas = if all_dlas { dla::list(c)? } else { Vec::new() };
        Ok((rows, total, page, cohort::is_database_empty(c)?, dlas))
    })
    .await?;
    let cohorts: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.cohort.id,
                "name": r.cohort.name,
                "dla": r.dla_name,
                "territory": r.cohort.territory,
                "status": r.cohort.status,
                "status_label": cohort::status_label(&r.cohort.status),
                "start": fr::date_long(r.cohort.start_date),
                "associations": format!("{} / {}", r.association_count, r.cohort.association_cap),
                "next_session": r.next_session.map(view::utc_long),
            })
        })
        .collect();
    let mut statuses = vec![("", "Tous")];
    statuses.extend(STATUSES);
    let mut dla_pairs = vec![(String::new(), "Tous".to_string())];
    dla_pairs.extend(dlas.iter().map(|d| (d.id.clone(), d.name.clone())));
    let filtered = place.filter(watch) != cohort::CohortFilter::default();
    let ctx = json!({
        "title": "Cohortes",
        "nav_cohorts": true,
        "cohorts": cohorts,
        "filters": {
            "recherche": place.recherche.trim(),
            "annee": place.annee.trim(),
            // A year that is not one is left out of the filter, and said beside the field.
            "annee_error": (!place.annee.trim().is_empty() && place.filter(watch).year.is_none())
                .then_some("Indiquez une année sur quatre chiffres, par exemple 2027."),
            "status_options": view::options(&statuses, place.statut.trim()),
            "dla_options": (!dlas.is_empty()).then(|| view::owned_options(&dla_pairs, place.dla.trim())),
            "mail_options": view::options(
                &[("", "Tous"), (LATE_MAIL, "En retard ou en échec")],
                place.envois.trim(),
            ),
        },
        "filtered": filtered,
        "show_filters": filtered || total > 0,
        "pager": crate::web::pages::pager(&place.base(), page, total, ("cohorte", "cohortes")),
        "offer_demo": empty && state.config.demo.offer_on_empty,
    });
    render(&state, "pages/cohorts/list", with_notice(ctx, &q))
}

/// The cohort form. `owners`: the DLAs the person may choose as owner (`None`: all);
/// `cohort_id`: the cohort being edited, whose consultant·e stays on offer even when the
/// record is not the person's (a partner DLA editing a shared cohort).
async fn form_context(
    state: &AppState,
    actor: &Actor,
    title: &str,
    input: &CohortInput,
    action: String,
    owners: Option<Vec<String>>,
    cohort_id: Option<&str>,
) -> Result<Value, AppError> {
    let (scope, cohort_id) = (actor.dla_scope(), cohort_id.map(str::to_string));
    let (dlas, consultants) = crate::db::run(&state.pool, move |c| {
        let assigned = match &cohort_id {
            Some(id) => cohort::get(c, id)?.consultant_id,
            None => None,
        };
        let consultants = consultant::assignable(c, scope.as_deref(), assigned.as_deref())?;
        Ok((dla::list(c)?, consultants))
    })
    .await?;
    // A chargé·e de mission creates cohorts for their own DLA only.
    let dla_pairs: Vec<(String, String)> = dlas
        .iter()
        .filter(|d| owners.as_ref().is_none_or(|ids| ids.contains(&d.id)))
        .map(|d| (d.id.clone(), format!("{} — {}", d.name, d.area)))
        .collect();
    // The owning DLA is not its own partner (the server ignores it anyway); with one DLA
    // to choose from (a chargé·e de mission's own), that one is the owner.
    let owner = match dla_pairs.as_slice() {
        [(only, _)] if input.dla_id.is_empty() => only.clone(),
        _ => input.dla_id.clone(),
    };
    let partners: Vec<Value> = dlas
        .iter()
        .filter(|d| d.id != owner)
        .map(|d| json!({"value": d.id, "label": format!("{} — {}", d.name, d.area), "checked": input.partner_dla_ids.contains(&d.id)}))
        .collect();
    let mut consultant_pairs = vec![(String::new(), "— À désigner —".to_string())];
    consultant_pairs.extend(consultants.iter().map(|x| {
        (
            x.id.clone(),
            if x.firm.is_empty() {
                x.name.clone()
            } else {
                format!("{} ({})", x.name, x.firm)
            },
        )
    }));
    Ok(json!({
        "title": title,
        "nav_cohorts": true,
        "action": action,
        "form": input,
        "no_dla": dlas.is_empty(),
        "dla_options": view::owned_options(&dla_pairs, &input.dla_id),
        "partner_options": partners,
        "approach_options": view::options(&APPROACHES, &input.approach),
        "status_options": view::options(&STATUSES, &input.status),
        "consultant_options": view::owned_options(&consultant_pairs, &input.consultant_id),
    }))
}

async fn new(state: web::Data<AppState>, actor: Actor) -> PageResult {
    // The chargé·e de mission creating the cohort is, most often, the one who runs it.
    let (officer_name, officer_email) = match actor.staff() {
        Some(s) if s.role == crate::models::account::Role::Officer => {
            (s.name.clone(), s.email.clone())
        }
        _ => (String::new(), String::new()),
    };
    let input = CohortInput {
        association_cap: "8".into(),
        status: "brouillon".into(),
        approach: "territoriale".into(),
        officer_name,
        officer_email,
        ..Default::default()
    };
    let ctx = form_context(
        &state,
        &actor,
        "Nouvelle cohorte",
        &input,
        "/cohortes".into(),
        actor.dla_scope(),
        None,
    )
    .await?;
    render(&state, "pages/cohorts/form", ctx)
}

async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<CohortInput>,
) -> PageResult {
    let i = input.clone();
    let checked = actor.check_dla("dla_id", &input.dla_id);
    let scope = actor.dla_scope();
    match state
        .write(move |c| {
            checked?;
            consultant::check_assignable(c, scope.as_deref(), None, &i.consultant_id)?;
            cohort::create(c, &i)
        })
        .await
    {
        Ok(created) => Ok(redirect(
            &format!("/cohortes/{}", created.id),
            Some("cohorte_creee"),
        )),
        Err(e) => {
            let ctx = form_context(
                &state,
                &actor,
                "Nouvelle cohorte",
                &input,
                "/cohortes".into(),
                actor.dla_scope(),
                None,
            )
            .await?;
            rerender(&state, "pages/cohorts/form", ctx, &input, e)
        }
    }
}

async fn edit(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let input = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &cid)?;
        let partners = cohort::partner_ids(c, &cid)?;
        Ok(CohortInput::from((&co, partners)))
    })
    .await?;
    let mut ctx = form_context(
        &state,
        &actor,
        "Modifier la cohorte",
        &input,
        format!("/cohortes/{id}/modifier"),
        None,
        Some(&id),
    )
    .await?;
    ctx["cohort_id"] = json!(id);
    render(&state, "pages/cohorts/form", ctx)
}

async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<CohortInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i, a) = (id.clone(), input.clone(), actor.clone());
    match state
        .write(move |c| {
            let current = cohort::get(c, &cid)?;
            a.check_cohort_ownership(
                &current.dla_id,
                &cohort::partner_ids(c, &cid)?,
                &i.dla_id,
                &i.partner_dla_ids,
            )?;
            consultant::check_assignable(
                c,
                a.dla_scope().as_deref(),
                current.consultant_id.as_deref(),
                &i.consultant_id,
            )?;
            cohort::update(c, &cid, &i)
        })
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}"),
            Some("cohorte_modifiee"),
        )),
        Err(e) => {
            let mut ctx = form_context(
                &state,
                &actor,
                "Modifier la cohorte",
                &input,
                format!("/cohortes/{id}/modifier"),
                None,
                Some(&id),
            )
            .await?;
            ctx["cohort_id"] = json!(id);
            rerender(&state, "pages/cohorts/form", ctx, &input, e)
        }
    }
}

/// The cohort page context; shared with the programme-generation refusal.
async fn show_context(state: &AppState, id: &str) -> Result<Value, AppError> {
    let (cid, template, am) = (
        id.to_string(),
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let (viewer, gap, at) = (
        super::calendar::viewer_scope(),
        super::calendar::travel_gap(state),
        state.clock.now(),
    );
    let (o, budget, conflicts) = crate::db::run(&state.pool, move |c| {
        let o = programme::overview(c, &cid, &template, am)?;
        let budget = crate::models::budget::overview_of(
            c,
            &o.cohort,
            o.associations.len() as u32,
            &o.sessions,
            &template,
        )?;
        // Flagged where the decision shows: after generating the programme or changing
        // the consultant·e, this page (issue #17).
        // What the overview read of the cohort is not read again (issue #19).
        let known =
            crate::models::calendar::Known::of_cohort(&o.cohort, &o.partners, &o.participants);
        let conflicts = crate::models::calendar::warnings_for_sessions(
            c,
            &o.sessions,
            Some(known),
            at,
            &viewer,
            gap,
        )?;
        Ok((o, budget, conflicts))
    })
    .await?;
    let now = state.clock.now().naive_utc();
    let today = programme::today(state.clock.now());
    let associations: Vec<Value> = o
        .associations
        .iter()
        .map(|a| view::cohort_association(a, &o.participants))
        .collect();
    let tasks: Vec<Value> = o
        .tasks
        .iter()
        .map(|t| view::cohort_task(&o, t, today))
        .collect();
    let full = o.associations.len() as i32 >= o.cohort.association_cap;
    // The plan's figure and its warnings, as on the budget page and the dashboard.
    let day = crate::domain::budget::DayLength::from_minutes(budget.contract.day_minutes)
        .unwrap_or_default();
    let mut warnings = o.warnings.clone();
    warnings.extend(
        budget
            .warnings
            .iter()
            .filter(|w| matches!(w.code, "plan_below_minimum" | "over_contract"))
            .cloned(),
    );
    warnings.extend(conflicts);
    // Built as a map, the lists moved in: `json!` would serialise each list again, a deep
    // copy of most of the page (issue #19).
    let mut page = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        page.insert(k.to_string(), v);
    };
    put("title", json!(o.cohort.name));
    put("nav_cohorts", json!(true));
    put(
        "cohort",
        json!({
            "id": o.cohort.id,
            "name": o.cohort.name,
            "territory": o.cohort.territory,
            "approach": cohort::approach_label(&o.cohort.approach),
            "thematic": o.cohort.thematic,
            "status": o.cohort.status,
            "status_label": cohort::status_label(&o.cohort.status),
            "start": fr::date_long(o.cohort.start_date),
            "cap": o.cohort.association_cap,
        }),
    );
    put("dla", json!({"name": o.dla.name, "area": o.dla.area}));
    put(
        "partners",
        Value::Array(o.partners.iter().map(|p| json!({"name": p.name})).collect()),
    );
    put(
        "consultant",
        match &o.consultant {
            Some(c) => json!({"name": c.name, "firm": c.firm}),
            None => Value::Null,
        },
    );
    put("associations", Value::Array(associations));
    put("association_count", json!(o.associations.len()));
    put("full", json!(full));
    put("has_programme", json!(!o.sessions.is_empty()));
    // « 12 / 16 engagements confirmés » (the `commitment_request` email's answers).
    put(
        "commitments",
        json!({
            "confirmed": o.participants.iter().filter(|p| p.commitment_confirmed_at.is_some()).count(),
            "total": o.participants.len(),
        }),
    );
    put(
        "published_at",
        json!(o.cohort.published_at.map(view::utc_long)),
    );
    put("session_count", json!(o.sessions.len()));
    put(
        "planned_days",
        json!(day.format_days(budget.totals.planned_minutes)),
    );
    put("timeline", Value::Array(view::timeline(&o, now, today)));
    put("tasks", Value::Array(tasks));
    put("warnings", json!(warnings));
    Ok(Value::Object(page))
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let ctx = show_context(&state, &id).await?;
    render(&state, "pages/cohorts/show", with_notice(ctx, &q))
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
struct GenerateForm {
    #[serde(default)]
    replace: String,
}

async fn generate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(f): Form<GenerateForm>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, template, am, replace) = (
        id.clone(),
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
        Check::checkbox(&f.replace),
    );
    match state
        .write(move |c| programme::generate(c, &cid, &template, am, replace))
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}"),
            Some("programme_genere"),
        )),
        Err(e @ AppError::Conflict { .. }) => {
            let mut ctx = show_context(&state, &id).await?;
            ctx["error_message"] = json!(e.public_message());
            ctx["confirm_replace"] = json!(true);
            crate::web::pages::render_status(
                &state,
                actix_web::http::StatusCode::CONFLICT,
                "pages/cohorts/show",
                &mut ctx,
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ---- programme template -------------------------------------------------------------
//
// The form's field names are the paths `ProgrammeTemplate::validate` reports
// (`etat_des_lieux.duration_minutes`, `bilan.slots`, `tasks[1].title`…), so that a refusal
// of the engine lands beside the field that caused it.

const COLLECTIVE: [(&str, &str); 3] = [
    ("introductive", "Session introductive"),
    ("etat_des_lieux", "État des lieux"),
    ("evolution", "Évolution"),
];

/// The sessions a homework task may prepare (the introductive session has none).
const PREPARED: [SessionKind; 3] = [
    SessionKind::EtatDesLieux,
    SessionKind::Evolution,
    SessionKind::BilanIndividuel,
];

/// Longest agenda or instructions kept from the form.
const LONG_TEXT: usize = 4000;

fn session_tpl<'a>(t: &'a ProgrammeTemplate, key: &str) -> &'a SessionTemplate {
    match key {
        "introductive" => &t.introductive,
        "etat_des_lieux" => &t.etat_des_lieux,
        _ => &t.evolution,
    }
}

fn session_tpl_mut<'a>(t: &'a mut ProgrammeTemplate, key: &str) -> &'a mut SessionTemplate {
    match key {
        "introductive" => &mut t.introductive,
        "etat_des_lieux" => &mut t.etat_des_lieux,
        _ => &mut t.evolution,
    }
}

fn half(n: u32) -> String {
    fr::half_days_figure(n as i64)
}

/// A duration as the form shows it and reads it back: « 1 h 30 », « 3 h ».
fn duration_text(minutes: u32) -> String {
    crate::models::time_entry::hours_text(i64::from(minutes))
}

/// The consultant's time around the sessions (`consultant_time.*`) and the method's
/// lengths the warnings compare with, as the page shows them: key, label.
const TIME_FIELDS: [(&str, &str); 9] = [
    (
        "consultant_time.preparation_minutes_per_collective_session",
        "Préparation de chaque séance collective",
    ),
    (
        "consultant_time.travel_minutes_per_collective_session",
        "Déplacement pour chaque séance collective",
    ),
    (
        "consultant_time.support_minutes_per_association",
        "Appui individuel entre les séances, par association",
    ),
    (
        "consultant_time.bilan_preparation_minutes",
        "Préparation de chaque bilan individuel",
    ),
    (
        "consultant_time.bilan_write_up_minutes",
        "Rédaction de chaque bilan individuel",
    ),
    (
        "consultant_time.coordination_minutes",
        "Coordination avec le DLA, pour toute la cohorte",
    ),
    ("half_day_minutes", "Une demi-journée dure"),
    ("day_minutes", "Une journée dure"),
    (
        "introductive_min_minutes",
        "Durée minimale de la session introductive",
    ),
];

fn time_field_mut<'a>(t: &'a mut ProgrammeTemplate, key: &str) -> Option<&'a mut u32> {
    let ct = &mut t.consultant_time;
    Some(match key {
        "consultant_time.preparation_minutes_per_collective_session" => {
            &mut ct.preparation_minutes_per_collective_session
        }
        "consultant_time.travel_minutes_per_collective_session" => {
            &mut ct.travel_minutes_per_collective_session
        }
        "consultant_time.support_minutes_per_association" => {
            &mut ct.support_minutes_per_association
        }
        "consultant_time.bilan_preparation_minutes" => &mut ct.bilan_preparation_minutes,
        "consultant_time.bilan_write_up_minutes" => &mut ct.bilan_write_up_minutes,
        "consultant_time.coordination_minutes" => &mut ct.coordination_minutes,
        "half_day_minutes" => &mut t.half_day_minutes,
        "day_minutes" => &mut t.day_minutes,
        "introductive_min_minutes" => &mut t.introductive_min_minutes,
        _ => return None,
    })
}

fn task_key(i: usize, field: &str) -> String {
    format!("tasks[{i}].{field}")
}

/// How many task rows the form holds: one past the highest `tasks[i]` index sent.
fn task_rows(v: &BTreeMap<String, String>) -> usize {
    v.keys()
        .filter_map(|k| {
            k.strip_prefix("tasks[")?
                .split_once(']')?
                .0
                .parse::<usize>()
                .ok()
        })
        .filter(|i| *i < 50)
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// Flat form values (`etat_des_lieux.offset_days` …) from a template, with one empty task
/// row after the template's tasks to add one.
fn template_values(t: &ProgrammeTemplate) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (key, _) in COLLECTIVE {
        let s = session_tpl(t, key);
        if key != "introductive" {
            m.insert(format!("{key}.offset_days"), s.offset_days.to_string());
        }
        m.insert(
            format!("{key}.start_time"),
            s.start_time.format("%H:%M").to_string(),
        );
        m.insert(
            format!("{key}.duration_minutes"),
            duration_text(s.duration_minutes),
        );
        m.insert(format!("{key}.planned_days"), half(s.planned_half_days));
        m.insert(format!("{key}.agenda"), s.agenda.clone());
    }
    m.insert("bilan.offset_days".into(), t.bilan.offset_days.to_string());
    m.insert(
        "bilan.slots".into(),
        t.bilan
            .slots
            .iter()
            .map(|s| s.format("%H:%M").to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );
    m.insert(
        "bilan.duration_minutes".into(),
        duration_text(t.bilan.duration_minutes),
    );
    m.insert("bilan.planned_days".into(), half(t.bilan.planned_half_days));
    m.insert("bilan.agenda".into(), t.bilan.agenda.clone());
    for (i, task) in t.tasks.iter().enumerate() {
        m.insert(task_key(i, "title"), task.title.clone());
        m.insert(task_key(i, "instructions"), task.instructions.clone());
        m.insert(task_key(i, "prepares"), task.prepares.as_str().into());
        m.insert(task_key(i, "days_before"), task.days_before.to_string());
        m.insert(
            task_key(i, "preparation_days"),
            half(task.preparation_half_days),
        );
    }
    let blank = t.tasks.len();
    m.insert(task_key(blank, "title"), String::new());
    m.insert(task_key(blank, "instructions"), String::new());
    m.insert(
        task_key(blank, "prepares"),
        SessionKind::EtatDesLieux.as_str().into(),
    );
    m.insert(task_key(blank, "days_before"), "7".into());
    m.insert(task_key(blank, "preparation_days"), "1".into());
    m.insert("min_months".into(), t.min_months.to_string());
    m.insert("max_months".into(), t.max_months.to_string());
    let mut t = t.clone();
    for (key, _) in TIME_FIELDS {
        if let Some(minutes) = time_field_mut(&mut t, key) {
            m.insert(key.to_string(), duration_text(*minutes));
        }
    }
    m
}

/// A session's length: « 1 h 30 », « 3 h », « 90 »; the range is the engine's rule.
fn duration(c: &mut Check, key: &str, value: &str) -> Option<u32> {
    if value.trim().is_empty() {
        c.add(key, "Indiquez la durée, par exemple « 3 h » ou « 1 h 30 ».");
        return None;
    }
    let minutes = crate::domain::programme::parse_duration_minutes(value);
    if minutes.is_none() {
        c.add(
            key,
            "Durée illisible : écrivez par exemple « 1 h 30 », « 3 h » ou « 90 » (minutes).",
        );
    }
    minutes
}

/// Applies the flat form onto `base`, with French messages per field, then checks the
/// result with the engine's rules (`ProgrammeTemplate::validate`), each refusal on the
/// form's field. A task row whose title and instructions are both empty, or whose
/// « Supprimer » box is ticked, is left out. Fields the form does not show (the
/// introductive session's offset: it takes place on the start date) keep `base`'s value.
fn apply_template(
    base: &ProgrammeTemplate,
    v: &BTreeMap<String, String>,
) -> Result<ProgrammeTemplate, AppError> {
    let mut t = base.clone();
    let mut c = Check::new();
    let get = |k: &str| v.get(k).cloned().unwrap_or_default();
    for (key, _) in COLLECTIVE {
        let field = |name: &str| format!("{key}.{name}");
        let offset = (key != "introductive")
            .then(|| c.required_int(&field("offset_days"), &get(&field("offset_days")), 0, 180))
            .flatten();
        let start = c.time(&field("start_time"), &get(&field("start_time")));
        let length = duration(
            &mut c,
            &field("duration_minutes"),
            &get(&field("duration_minutes")),
        );
        let planned = c.half_days(&field("planned_days"), &get(&field("planned_days")));
        let agenda = c.multiline(&field("agenda"), &get(&field("agenda")), LONG_TEXT);
        let s = session_tpl_mut(&mut t, key);
        if let Some(x) = offset {
            s.offset_days = x as u32
        }
        if let Some(x) = start {
            s.start_time = x
        }
        if let Some(x) = length {
            s.duration_minutes = x
        }
        if let Some(x) = planned {
            s.planned_half_days = x as u32
        }
        s.agenda = agenda;
    }
    if let Some(x) = c.required_int("bilan.offset_days", &get("bilan.offset_days"), 0, 180) {
        t.bilan.offset_days = x as u32
    }
    let mut slots = Vec::new();
    for part in get("bilan.slots")
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if let Some(time) = c.time("bilan.slots", part) {
            slots.push(time)
        }
    }
    if slots.is_empty() {
        c.add(
            "bilan.slots",
            "Indiquez au moins un horaire, par exemple « 09:30, 14:00 ».",
        );
    }
    t.bilan.slots = slots;
    if let Some(x) = duration(
        &mut c,
        "bilan.duration_minutes",
        &get("bilan.duration_minutes"),
    ) {
        t.bilan.duration_minutes = x
    }
    if let Some(x) = c.half_days("bilan.planned_days", &get("bilan.planned_days")) {
        t.bilan.planned_half_days = x as u32
    }
    t.bilan.agenda = c.multiline("bilan.agenda", &get("bilan.agenda"), LONG_TEXT);

    // The form's row of each task kept, to put the engine's refusals on the right row.
    let mut rows = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..task_rows(v) {
        let title = c.text(&task_key(i, "title"), &get(&task_key(i, "title")), 200);
        let instructions = c.multiline(
            &task_key(i, "instructions"),
            &get(&task_key(i, "instructions")),
            LONG_TEXT,
        );
        if Check::checkbox(&get(&task_key(i, "remove")))
            || (title.is_empty() && instructions.is_empty())
        {
            continue;
        }
        let prepares = SessionKind::parse(get(&task_key(i, "prepares")).trim())
            .filter(|k| PREPARED.contains(k));
        if prepares.is_none() {
            c.add(
                &task_key(i, "prepares"),
                "Choisissez la session que ce travail prépare.",
            );
        }
        let days_before = c.required_int(
            &task_key(i, "days_before"),
            &get(&task_key(i, "days_before")),
            0,
            60,
        );
        let preparation = c.half_days(
            &task_key(i, "preparation_days"),
            &get(&task_key(i, "preparation_days")),
        );
        if let (Some(prepares), Some(days_before), Some(preparation)) =
            (prepares, days_before, preparation)
        {
            rows.push(i);
            tasks.push(TaskTemplate {
                title,
                instructions,
                prepares,
                days_before: days_before as u32,
                preparation_half_days: preparation as u32,
            });
        }
    }
    t.tasks = tasks;
    if let Some(x) = c.required_int("min_months", &get("min_months"), 1, 24) {
        t.min_months = x as u32
    }
    if let Some(x) = c.required_int("max_months", &get("max_months"), 1, 24) {
        t.max_months = x as u32
    }
    for (key, _) in TIME_FIELDS {
        let typed = get(key);
        // « 0 » turns a kind of time off; an absent field (an older page) keeps its value.
        let minutes = match typed.trim() {
            _ if !v.contains_key(key) => None,
            "0" => Some(0),
            _ => duration(&mut c, key, &typed),
        };
        if let (Some(m), Some(slot)) = (minutes, time_field_mut(&mut t, key)) {
            *slot = m
        }
    }
    if let Err(errors) = t.validate() {
        for (path, message) in errors {
            let field = match path
                .strip_prefix("tasks[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(j, rest)| Some((rows.get(j.parse::<usize>().ok()?)?, rest)))
            {
                Some((row, rest)) => format!("tasks[{row}]{rest}"),
                None => path,
            };
            c.add(&field, message);
        }
    }
    c.finish()?;
    Ok(t)
}

fn field(
    name: String,
    label: &str,
    hint: &str,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> Value {
    json!({
        "name": name,
        "label": label,
        "hint": hint,
        "value": values.get(&name).cloned().unwrap_or_default(),
        "error": errors.get(&name),
    })
}

/// A textarea among the fields (agenda, instructions: one line per item).
fn long_field(
    name: String,
    label: &str,
    hint: &str,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> Value {
    let mut f = field(name, label, hint, values, errors);
    f["textarea"] = json!(true);
    f
}

/// The template form as sections of fields (values as typed, errors beside them). The
/// task rows follow the values, so a refused form comes back with the rows as typed.
fn template_page(
    co: &cohort::Cohort,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> Value {
    const DURATION_HINT: &str = "en heures : 1 h 30, 3 h, 6 h 30 (ou en minutes : 90)";
    let mut sections = Vec::new();
    for (key, label) in COLLECTIVE {
        let mut fields = Vec::new();
        if key != "introductive" {
            fields.push(field(
                format!("{key}.offset_days"),
                "Écart avec la séance précédente (jours calendaires)",
                "",
                values,
                errors,
            ));
        }
        fields.push(field(
            format!("{key}.start_time"),
            "Heure de début",
            "HH:MM",
            values,
            errors,
        ));
        fields.push(field(
            format!("{key}.duration_minutes"),
            "Durée",
            DURATION_HINT,
            values,
            errors,
        ));
        fields.push(field(
            format!("{key}.planned_days"),
            "Temps consultant prévu (jours)",
            "par demi-journées : 0,5, 1…",
            values,
            errors,
        ));
        fields.push(long_field(
            format!("{key}.agenda"),
            "Ordre du jour",
            "un point par ligne ; il figure dans la convocation",
            values,
            errors,
        ));
        sections.push(json!({"label": label, "fields": fields}));
    }
    sections.push(json!({"label": "Bilans individuels", "fields": [
        field("bilan.offset_days".into(), "Écart avec l'évolution (jours calendaires)", "", values, errors),
        field("bilan.slots".into(), "Créneaux dans la journée", "séparés par des virgules : 09:30, 14:00", values, errors),
        field("bilan.duration_minutes".into(), "Durée d'un bilan", DURATION_HINT, values, errors),
        field("bilan.planned_days".into(), "Temps consultant prévu par bilan (jours)", "", values, errors),
        long_field("bilan.agenda".into(), "Ordre du jour", "un point par ligne ; il figure dans la convocation", values, errors),
    ]}));
    let rows = task_rows(values);
    let tasks: Vec<Value> = (0..rows)
        .map(|i| {
            let key = |f: &str| task_key(i, f);
            let blank = i + 1 == rows
                && values.get(&key("title")).is_none_or(|s| s.trim().is_empty())
                && values
                    .get(&key("instructions"))
                    .is_none_or(|s| s.trim().is_empty());
            let chosen = values.get(&key("prepares")).cloned().unwrap_or_default();
            let options: Vec<Value> = PREPARED
                .iter()
                .map(|k| json!({"value": k.as_str(), "text": k.label(), "selected": k.as_str() == chosen}))
                .collect();
            json!({
                "legend": if blank { "Ajouter un travail préparatoire".to_string() } else { format!("Travail préparatoire {}", i + 1) },
                "blank": blank,
                "title": field(key("title"), "Titre", if blank { "laissez vide pour ne rien ajouter" } else { "" }, values, errors),
                "instructions": long_field(key("instructions"), "Consignes", "ce que l'association prépare ; envoyé aux participants", values, errors),
                "prepares": {"name": key("prepares"), "label": "Session préparée", "options": options, "error": errors.get(&key("prepares"))},
                "days_before": field(key("days_before"), "Échéance (jours avant la session préparée)", "", values, errors),
                "preparation_days": field(key("preparation_days"), "Temps de préparation estimé pour la direction (jours)", "par demi-journées : 0,5, 1…", values, errors),
                "remove": {"name": key("remove"), "label": "Supprimer ce travail du modèle",
                           "checked": values.get(&key("remove")).is_some_and(|v| Check::checkbox(v))},
            })
        })
        .collect();
    json!({
        "title": format!("Modèle de programme — {}", co.name),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name, "custom": co.programme_template.is_some(),
                   "version": values.get("version").cloned().unwrap_or_else(|| co.version.to_string())},
        "sections": sections,
        "tasks": tasks,
        "months": [
            field("min_months".into(), "Durée minimale (mois)", "", values, errors),
            field("max_months".into(), "Durée maximale (mois)", "", values, errors),
        ],
        "time_sections": [
            {"label": "Temps consultant autour des séances",
             "intro": "Ces temps s'ajoutent au temps prévu de chaque séance pour le temps consultant prévu de la cohorte (la méthode compte 10 à 12 jours pour 8 associations). « 0 » ne compte rien.",
             "fields": TIME_FIELDS[..6].iter().map(|(k, l)| field(k.to_string(), l, DURATION_HINT, values, errors)).collect::<Vec<_>>()},
            {"label": "Repères de la méthode",
             "intro": "Les points d'attention comparent les séances à ces durées : une séance collective d'une demi-journée à une journée, une session introductive d'au moins 1 h 30 et d'au plus une demi-journée.",
             "fields": TIME_FIELDS[6..].iter().map(|(k, l)| field(k.to_string(), l, DURATION_HINT, values, errors)).collect::<Vec<_>>()},
        ],
    })
}

async fn load_cohort(state: &AppState, id: &str) -> Result<cohort::Cohort, AppError> {
    let cid = id.to_string();
    crate::db::run(&state.pool, move |c| cohort::get(c, &cid)).await
}

async fn template_form(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let co = load_cohort(&state, &id).await?;
    let t = co.template(&state.config.programme);
    render(
        &state,
        "pages/cohorts/template",
        template_page(&co, &template_values(&t), &BTreeMap::new()),
    )
}

async fn template_save(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(values): Form<BTreeMap<String, String>>,
) -> PageResult {
    let id = path.into_inner();
    let co = load_cohort(&state, &id).await?;
    let version = values.get("version").cloned().unwrap_or_default();
    if values.contains_key("reset") {
        let (cid, version) = (id.clone(), version.clone());
        state
            .write(move |c| cohort::set_template(c, &cid, None, &version))
            .await?;
        return Ok(redirect(
            &format!("/cohortes/{id}"),
            Some("modele_reinitialise"),
        ));
    }
    let current = co.template(&state.config.programme);
    let saved = match apply_template(&current, &values) {
        Ok(t) => {
            let cid = id.clone();
            state
                .write(move |c| cohort::set_template(c, &cid, Some(&t), &version))
                .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}"),
            Some("modele_enregistre"),
        )),
        // Refused (422), changed meanwhile (409) or the database busy (503): the form
        // comes back as typed.
        Err(e) => {
            let refusal = crate::web::pages::Refusal::of(e)?;
            let mut ctx = template_page(&co, &values, &refusal.fields);
            refusal.render(&state, "pages/cohorts/template", &mut ctx)
        }
    }
}
