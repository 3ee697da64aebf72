//! Budget and consultant time pages: the contract and its funders, time entries, CSV export.
//!
//! `/cohortes/{id}/budget` shows the figures and holds three forms (add a time entry, the
//! contract, the funders); a refused one is shown again on the same page with what was
//! typed (422, or 409 for a stale version). Editing and deleting an entry have their own
//! pages under `/temps/{id}`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::budget::{TimeKind, percent, remaining_label};
use crate::domain::fr;
use crate::error::AppError;
use crate::export::csv;
use crate::models::budget::{
    self, BudgetOverview, ContractInput, DEFAULT_DAY_RATE_CENTS, FunderInput, FundersInput,
};
use crate::models::time_entry::{self, TimeEntry, TimeEntryInput, UNIT_HALF_DAYS, UNIT_HOURS};
use crate::models::{association, cohort, programme, session};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{
    Confirm, NoticeQuery, PageResult, confirm, redirect, render, rerender, with_notice,
};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/budget", web::get().to(show))
        .route(
            "/cohortes/{id}/budget/contrat",
            web::post().to(save_contract),
        )
        .route(
            "/cohortes/{id}/budget/financeurs",
            web::post().to(save_funders),
        )
        .route("/cohortes/{id}/temps", web::post().to(create_entry))
        .route("/cohortes/{id}/temps.csv", web::get().to(export_csv))
        .route("/temps/{id}/modifier", web::get().to(edit_entry))
        .route("/temps/{id}/modifier", web::post().to(update_entry))
        .route("/temps/{id}/supprimer", web::get().to(confirm_delete))
        .route("/temps/{id}/supprimer", web::post().to(delete_entry));
}

/// French sentences of this module's notice codes.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "temps_saisi" => "Le temps a été enregistré.",
        "temps_modifie" => "La saisie de temps a été enregistrée.",
        "temps_supprime" => "La saisie de temps a été supprimée.",
        "contrat_enregistre" => "Le contrat du consultant a été enregistré.",
        "financeurs_enregistres" => "Les financeurs et leurs parts ont été enregistrés.",
        _ => return None,
    })
}

// ---- shared context -------------------------------------------------------------------

/// What the entry form needs: the cohort's sessions and associations as options.
struct Choices {
    cohort_id: String,
    cohort_name: String,
    sessions: Vec<(String, String)>,
    associations: Vec<(String, String)>,
    /// Session id → its French label, for the entries list.
    session_labels: HashMap<String, String>,
    association_names: HashMap<String, String>,
    /// Today's session, if any (pre-selected in a new entry).
    todays_session: Option<(String, TimeKind)>,
}

async fn choices(state: &AppState, cohort_id: &str) -> Result<Choices, AppError> {
    let cid = cohort_id.to_owned();
    let (co, sessions, associations) = crate::db::run(&state.pool, move |c| {
        Ok((
            cohort::get(c, &cid)?,
            session::list_for_cohort(c, &cid)?,
            association::list_for_cohort(c, &cid)?,
        ))
    })
    .await?;
    let today = programme::today(state.clock.now());
    let session_pairs: Vec<(String, String)> = sessions
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                format!(
                    "{} ({})",
                    s.label(&associations),
                    fr::date_short(s.local_start().date())
                ),
            )
        })
        .collect();
    let todays_session = sessions
        .iter()
        .find(|s| s.local_start().date() == today)
        .map(|s| (s.id.clone(), TimeKind::for_session(s.kind())));
    Ok(Choices {
        cohort_id: co.id,
        cohort_name: co.name,
        session_labels: session_pairs.iter().cloned().collect(),
        sessions: session_pairs,
        association_names: associations
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect(),
        associations: associations
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect(),
        todays_session,
    })
}

fn with_none(pairs: &[(String, String)], none: &str) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), none.to_owned())];
    out.extend(pairs.iter().cloned());
    out
}

fn kind_options(selected: &str) -> Value {
    let pairs: Vec<(String, String)> = TimeKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect();
    view::owned_options(&pairs, selected)
}

fn unit_options(selected: &str) -> Value {
    view::options(
        &[
            (UNIT_HALF_DAYS, "demi-journées : 1 ou 2"),
            (UNIT_HOURS, "heures : 1 h 30, 1,5, 90 min"),
        ],
        selected,
    )
}

/// The entry form's values and options.
fn entry_form(ch: &Choices, input: &TimeEntryInput) -> Value {
    json!({
        "form": input,
        "kind_options": kind_options(&input.kind),
        "unit_options": unit_options(&input.unit),
        "session_options": view::owned_options(&with_none(&ch.sessions, "— Aucune —"), &input.session_id),
        "association_options": view::owned_options(&with_none(&ch.associations, "— Aucune —"), &input.association_id),
    })
}

/// A new entry: today, one half-day, today's session and its kind if there is one.
fn blank_entry(ch: &Choices, last_kind: Option<&str>, today: chrono::NaiveDate) -> TimeEntryInput {
    let (session_id, kind) = match &ch.todays_session {
        Some((id, kind)) => (id.clone(), kind.as_str().to_owned()),
        None => (
            String::new(),
            last_kind
                .unwrap_or(TimeKind::AnimationCollective.as_str())
                .to_owned(),
        ),
    };
    TimeEntryInput {
        date: today.format("%Y-%m-%d").to_string(),
        kind,
        duration: "1".into(),
        unit: UNIT_HALF_DAYS.into(),
        session_id,
        ..Default::default()
    }
}

fn duration_label(e: &TimeEntry) -> String {
    match (e.half_days, e.minutes) {
        (Some(1), _) => "½ journée".to_owned(),
        (Some(2), _) => "1 journée".to_owned(),
        (Some(n), _) => fr::half_days(i64::from(n)),
        (None, Some(m)) => time_entry::hours_text(i64::from(m)),
        _ => "—".to_owned(),
    }
}

/// « « Animation collective, 1 journée » est saisi 2 fois pour … » per repeated entry.
fn repeated_warnings(ch: &Choices, entries: &[TimeEntry]) -> Vec<crate::domain::Warning> {
    time_entry::repeated(entries)
        .into_iter()
        .map(|members| {
            let e = &entries[members[0]];
            let kind = e.time_kind().map(|k| k.label()).unwrap_or("Temps");
            let session = e
                .session_id
                .as_ref()
                .and_then(|s| ch.session_labels.get(s))
                .cloned()
                .unwrap_or_else(|| "la même séance".to_owned());
            crate::domain::Warning::new(
                "repeated_time_entry",
                format!(
                    "« {kind}, {} » est saisi {} fois pour « {session} » : s'il ne s'agit pas \
                     d'une co-animation, supprimez le doublon.",
                    duration_label(e),
                    members.len()
                ),
            )
        })
        .collect()
}

fn entry_row(ch: &Choices, e: &TimeEntry, day: crate::domain::budget::DayLength) -> Value {
    let minutes = e.amount().map(|a| a.to_minutes(day)).unwrap_or(0);
    json!({
        "id": e.id,
        "date": fr::date_short(e.entry_date),
        "kind": e.time_kind().map(|k| k.label()).unwrap_or("—"),
        "duration": duration_label(e),
        "days": day.format_days(minutes),
        "session": e.session_id.as_ref().and_then(|s| ch.session_labels.get(s)),
        "association": e.association_id.as_ref().and_then(|a| ch.association_names.get(a)),
        "comment": e.comment,
    })
}

/// The figures of the overview in French.
fn figures(o: &BudgetOverview) -> Value {
    let day =
        crate::domain::budget::DayLength::from_minutes(o.contract.day_minutes).unwrap_or_default();
    let contracted = day.half_days_to_minutes(o.contract.contracted_half_days);
    let t = &o.totals;
    let kinds: Vec<Value> = t
        .per_kind
        .iter()
        .filter(|k| k.planned_minutes != 0 || k.logged_minutes != 0)
        .map(|k| {
            json!({
                "label": k.kind.label(),
                "planned": day.format_days(k.planned_minutes),
                "logged": day.format_days(k.logged_minutes),
                // Time the programme does not plan (preparation, travel…) is not an overrun
                // of its kind: it counts against the contract, shown below.
                "remaining": if k.planned_minutes == 0 {
                    "hors programme".to_string()
                } else {
                    remaining_label(k.remaining_minutes, day)
                },
            })
        })
        .collect();
    let funder = |f: &budget::FunderShare| {
        json!({
            "name": f.name,
            "share": percent(f.share_bp),
            "cost": fr::euros_cents(f.cost_cents),
        })
    };
    json!({
        "contracted": fr::half_days(o.contract.contracted_half_days),
        "recorded": o.contract.recorded,
        "day_rate": fr::euros_cents(o.contract.day_rate_cents),
        "default_day_rate": fr::euros_cents(DEFAULT_DAY_RATE_CENTS),
        "day_length": time_entry::hours_text(o.contract.day_minutes),
        "cost": fr::euros_cents(o.cost_cents),
        "planned": day.format_days(t.planned_minutes),
        "logged": day.format_days(t.logged_minutes),
        "projected": day.format_days(t.projected_minutes),
        "remaining": remaining_label(contracted - t.logged_minutes, day),
        "unallocated": remaining_label(contracted - t.projected_minutes, day),
        "kinds": kinds,
        "total_remaining": remaining_label(t.remaining_minutes, day),
        "funders": o.funders.iter().map(funder).collect::<Vec<_>>(),
        "proposed_funders": o.proposed_funders.iter().map(funder).collect::<Vec<_>>(),
    })
}

/// Funder rows of the form, each with its DLA options and its own messages.
fn funder_rows(
    input: &FundersInput,
    dlas: &[(String, String)],
    errors: Option<&crate::error::FieldErrors>,
) -> Vec<Value> {
    let mut rows: Vec<FunderInput> = input.funders.clone();
    while rows.len() < budget::FUNDER_ROWS {
        rows.push(FunderInput::default());
    }
    rows.iter()
        .enumerate()
        .map(|(i, f)| {
            let err = |what: &str| errors.and_then(|e| e.get(&format!("funders[{i}].{what}")));
            json!({
                "index": i,
                "number": i + 1,
                "name": f.name,
                "share": f.share,
                "name_error": err("name"),
                "share_error": err("share"),
                "dla_error": err("dla_id"),
                "dla_options": view::owned_options(&with_none(dlas, "—"), &f.dla_id),
            })
        })
        .collect()
}

/// What the page's three forms show: typed values after a refusal, else the stored ones.
#[derive(Default)]
struct Typed {
    entry: Option<TimeEntryInput>,
    contract: Option<ContractInput>,
    funders: Option<FundersInput>,
}

async fn page_ctx(
    state: &AppState,
    cohort_id: &str,
    typed: Typed,
    errors: Option<&crate::error::FieldErrors>,
) -> Result<Value, AppError> {
    let ch = choices(state, cohort_id).await?;
    let cid = cohort_id.to_owned();
    let template = state.config.programme.clone();
    let (overview, entries, contract, funders_form, dlas) = crate::db::run(&state.pool, move |c| {
        let (contract, version) = budget::contract(c, &cid)?;
        Ok((
            budget::overview(c, &cid, &template)?,
            time_entry::list_for_cohort(c, &cid)?,
            ContractInput::from_contract(&contract, version),
            budget::funders_form(c, &cid)?,
            budget::funder_dlas(c, &cid)?,
        ))
    })
    .await?;
    let day = crate::domain::budget::DayLength::from_minutes(overview.contract.day_minutes)
        .unwrap_or_default();
    let last_kind = entries.first().map(|e| e.kind.clone());
    let entry = typed.entry.unwrap_or_else(|| {
        blank_entry(
            &ch,
            last_kind.as_deref(),
            programme::today(state.clock.now()),
        )
    });
    let mut dla_pairs: Vec<(String, String)> = dlas.into_iter().map(|d| (d.id, d.name)).collect();
    let funders = typed.funders.unwrap_or(funders_form);
    // A DLA no longer involved (a partner removed since) stays visible where it is chosen,
    // so that saving names the row to correct instead of dropping it silently.
    for f in &funders.funders {
        let id = f.dla_id.trim();
        if !id.is_empty() && !dla_pairs.iter().any(|(d, _)| d == id) {
            dla_pairs.push((id.to_string(), "DLA extérieur à la cohorte".to_string()));
        }
    }
    Ok(json!({
        "title": format!("Budget et temps consultant — {}", ch.cohort_name),
        "nav_cohorts": true,
        "cohort": {"id": ch.cohort_id, "name": ch.cohort_name},
        "associations": overview.associations,
        "figures": figures(&overview),
        "warnings": overview.warnings.iter().cloned().chain(repeated_warnings(&ch, &entries)).collect::<Vec<_>>(),
        "entries": entries.iter().map(|e| entry_row(&ch, e, day)).collect::<Vec<_>>(),
        "entry": entry_form(&ch, &entry),
        "contract": typed.contract.unwrap_or(contract),
        "funders_version": funders.version,
        "funder_rows": funder_rows(&funders, &dla_pairs, errors),
    }))
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let ctx = page_ctx(&state, &id, Typed::default(), None).await?;
    render(&state, "pages/budget/show", with_notice(ctx, &q))
}

/// Shows the budget page again after a refusal, with `typed` in its form.
async fn refused<I: serde::Serialize>(
    state: &AppState,
    cohort_id: &str,
    typed: Typed,
    input: &I,
    err: AppError,
) -> PageResult {
    let refusal = super::Refusal::of(err)?;
    let fields = matches!(
        refusal.status,
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    )
    .then(|| refusal.fields.clone());
    let ctx = page_ctx(state, cohort_id, typed, fields.as_ref()).await?;
    refusal.rerender(state, "pages/budget/show", ctx, input)
}

async fn create_entry(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<TimeEntryInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i) = (id.clone(), input.clone());
    match state.write(move |c| time_entry::create(c, &cid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}/budget#temps"),
            Some("temps_saisi"),
        )),
        Err(e) => {
            let typed = Typed {
                entry: Some(input.clone()),
                ..Default::default()
            };
            refused(&state, &id, typed, &input, e).await
        }
    }
}

async fn save_contract(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<ContractInput>,
) -> PageResult {
    let id = path.into_inner();
    let (cid, i) = (id.clone(), input.clone());
    match state
        .write(move |c| budget::save_contract(c, &cid, &i))
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}/budget#contrat"),
            Some("contrat_enregistre"),
        )),
        Err(e) => {
            let typed = Typed {
                contract: Some(input.clone()),
                ..Default::default()
            };
            refused(&state, &id, typed, &input, e).await
        }
    }
}

/// The funders form: parallel repeated fields, one value per row.
#[derive(Deserialize, Default)]
struct FundersForm {
    #[serde(default)]
    funder_name: Vec<String>,
    #[serde(default)]
    funder_share: Vec<String>,
    #[serde(default)]
    funder_dla: Vec<String>,
    #[serde(default)]
    version: String,
}

impl FundersForm {
    fn input(self) -> FundersInput {
        let n = self
            .funder_name
            .len()
            .max(self.funder_share.len())
            .max(self.funder_dla.len())
            .min(50);
        let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
        FundersInput {
            funders: (0..n)
                .map(|i| FunderInput {
                    name: at(&self.funder_name, i),
                    share: at(&self.funder_share, i),
                    dla_id: at(&self.funder_dla, i),
                })
                .collect(),
            version: self.version,
        }
    }
}

async fn save_funders(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(form): Form<FundersForm>,
) -> PageResult {
    let id = path.into_inner();
    let input = form.input();
    let (cid, i) = (id.clone(), input.clone());
    match state
        .write(move |c| budget::save_funders(c, &cid, &i))
        .await
    {
        Ok(_) => Ok(redirect(
            &format!("/cohortes/{id}/budget#financeurs"),
            Some("financeurs_enregistres"),
        )),
        Err(e) => {
            let typed = Typed {
                funders: Some(input.clone()),
                ..Default::default()
            };
            refused(&state, &id, typed, &input, e).await
        }
    }
}

// ---- one entry --------------------------------------------------------------------------

async fn entry_cohort(state: &AppState, id: &str) -> Result<TimeEntry, AppError> {
    let eid = id.to_owned();
    crate::db::run(&state.pool, move |c| time_entry::get(c, &eid)).await
}

async fn edit_ctx(
    state: &AppState,
    e: &TimeEntry,
    input: &TimeEntryInput,
) -> Result<Value, AppError> {
    let ch = choices(state, &e.cohort_id).await?;
    let mut ctx = entry_form(&ch, input);
    ctx["title"] = json!("Modifier la saisie de temps");
    ctx["nav_cohorts"] = json!(true);
    ctx["cohort"] = json!({"id": ch.cohort_id, "name": ch.cohort_name});
    ctx["entry_id"] = json!(e.id);
    Ok(ctx)
}

async fn edit_entry(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let e = entry_cohort(&state, &id).await?;
    let ctx = edit_ctx(&state, &e, &TimeEntryInput::from(&e)).await?;
    render(&state, "pages/budget/entry", ctx)
}

async fn update_entry(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<TimeEntryInput>,
) -> PageResult {
    let id = path.into_inner();
    let e = entry_cohort(&state, &id).await?;
    let (eid, i) = (id.clone(), input.clone());
    match state.write(move |c| time_entry::update(c, &eid, &i)).await {
        Ok(e) => Ok(redirect(
            &format!("/cohortes/{}/budget#temps", e.cohort_id),
            Some("temps_modifie"),
        )),
        Err(err) => {
            let ctx = edit_ctx(&state, &e, &input).await?;
            rerender(&state, "pages/budget/entry", ctx, &input, err)
        }
    }
}

async fn confirm_delete(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let e = entry_cohort(&state, &id).await?;
    let kind = e.time_kind().map(|k| k.label()).unwrap_or("temps");
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Supprimer la saisie du {} ?", fr::date_short(e.entry_date)),
            message: format!(
                "La saisie « {kind} » de {} du {} sera supprimée des jours réalisés.",
                duration_label(&e),
                fr::date_long(e.entry_date)
            ),
            action: format!("/temps/{id}/supprimer"),
            confirm_label: "Supprimer la saisie".into(),
            cancel: format!("/cohortes/{}/budget#temps", e.cohort_id),
            ..Default::default()
        },
    )
}

async fn delete_entry(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let e = state.write(move |c| time_entry::delete(c, &id)).await?;
    Ok(redirect(
        &format!("/cohortes/{}/budget#temps", e.cohort_id),
        Some("temps_supprime"),
    ))
}

// ---- CSV ----------------------------------------------------------------------------------

async fn export_csv(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let ch = choices(&state, &id).await?;
    let cid = id.clone();
    let (mut entries, (contract, _)) = crate::db::run(&state.pool, move |c| {
        Ok((
            time_entry::list_for_cohort(c, &cid)?,
            budget::contract(c, &cid)?,
        ))
    })
    .await?;
    // Oldest first reads better in a spreadsheet.
    entries.reverse();
    let day = contract.day_length;
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let minutes = e.amount().map(|a| a.to_minutes(day)).unwrap_or(0);
            vec![
                csv::date(e.entry_date),
                e.time_kind().map(|k| k.label()).unwrap_or("").to_owned(),
                duration_label(e),
                csv::decimal_comma(minutes as f64 / day.minutes() as f64, 2),
                csv::decimal_comma(minutes as f64 / 60.0, 2),
                csv::text(
                    e.session_id
                        .as_ref()
                        .and_then(|s| ch.session_labels.get(s))
                        .map(String::as_str)
                        .unwrap_or(""),
                ),
                csv::text(
                    e.association_id
                        .as_ref()
                        .and_then(|a| ch.association_names.get(a))
                        .map(String::as_str)
                        .unwrap_or(""),
                ),
                csv::text(&e.comment),
            ]
        })
        .collect();
    let body = csv::csv(
        &[
            "Date",
            "Nature",
            "Durée saisie",
            "Jours",
            "Heures",
            "Séance",
            "Association",
            "Commentaire",
        ],
        &rows,
    );
    let filename = format!(
        "temps-{}-{}.csv",
        csv::filename_slug(&ch.cohort_name, "cohorte"),
        programme::today(state.clock.now()).format("%Y-%m-%d")
    );
    Ok(HttpResponse::Ok()
        .content_type(csv::CONTENT_TYPE)
        .insert_header((header::CONTENT_DISPOSITION, csv::attachment(&filename)))
        .body(body))
}
