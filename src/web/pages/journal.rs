//! Session log pages: attendance, third party, notes, pistes d'actions, feuille d'émargement, comptes rendus.
//!
//! - `/seances/{id}/journal`: the log a consultant fills in right after the session — the
//!   attendance grid (participants × half-days, présent·e by default), the third party of
//!   the effet miroir, notes — saved in one submit with one version check; below it the
//!   pistes d'actions of each association for this session.
//! - `/seances/{id}/emargement`: the printable feuille d'émargement.
//! - `/associations/{id}/compte-rendu?seance=…`: the printable compte rendu of a session
//!   for one association, and its sending through the outbox (once per log version).
//! - `/cohortes/{id}/presences.csv`: attendance for a spreadsheet.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use crate::domain::fr;
use crate::domain::programme::SessionKind;
use crate::error::{AppError, FieldErrors};
use crate::export::csv;
use crate::models::action_lead::{self, ActionLead, ActionLeadInput};
use crate::models::session_log::{
    self, LogInput, LogSheet, STATUSES, THIRD_PARTY_KINDS, half_day_label,
};
use crate::models::{association, cohort, participant, session};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{Confirm, NoticeQuery, PageResult, confirm, redirect, render, with_notice};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/seances/{id}/journal", web::get().to(journal))
        .route("/seances/{id}/journal", web::post().to(save_log))
        .route("/seances/{id}/pistes", web::post().to(create_lead))
        .route("/seances/{id}/emargement", web::get().to(sign_sheet))
        .route("/pistes/{id}/modifier", web::get().to(edit_lead))
        .route("/pistes/{id}/modifier", web::post().to(update_lead))
        .route("/pistes/{id}/supprimer", web::get().to(confirm_delete_lead))
        .route("/pistes/{id}/supprimer", web::post().to(delete_lead))
        .route("/associations/{id}/compte-rendu", web::get().to(report))
        .route(
            "/associations/{id}/compte-rendu/envoyer",
            web::post().to(send_report),
        )
        .route(
            "/cohortes/{id}/presences.csv",
            web::get().to(attendance_csv),
        );
}

/// French sentences of this module's notice codes.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "journal_enregistre" => "Le journal de séance a été enregistré.",
        "piste_ajoutee" => "La piste d'actions a été ajoutée.",
        "piste_modifiee" => "La piste d'actions a été enregistrée.",
        "piste_supprimee" => "La piste d'actions a été supprimée.",
        "compte_rendu_envoye" => {
            "Le compte rendu part vers les participant·es de l'association (page « Envois » de la cohorte)."
        }
        "compte_rendu_deja_envoye" => {
            "Ce compte rendu a déjà été envoyé dans cette version : rien n'est reparti. Modifiez le journal de séance pour envoyer une nouvelle version."
        }
        _ => return None,
    })
}

/// A refused change shown on a page (`super::Refusal`): the general message on top, the
/// status 422 (bad input), 409 (stale version, rule) or 503 (busy). Field messages are
/// placed by the caller.
fn refused(state: &AppState, template: &str, mut ctx: Value, err: AppError) -> PageResult {
    let refusal = super::Refusal::of(err)?;
    ctx["error_summary"] = refusal.summary();
    refusal.render(state, template, &mut ctx)
}

fn field_errors(err: &AppError) -> FieldErrors {
    err.fields().cloned().unwrap_or_default()
}

/// Only a local path is accepted as a return address.
fn local_back(back: &str) -> Option<&str> {
    super::local_path(back)
}

// ---- the session log ------------------------------------------------------------------

/// A piste d'actions being added with what was typed and why it was refused.
struct TypedLead<'a> {
    association_id: &'a str,
    input: &'a ActionLeadInput,
    errors: FieldErrors,
}

/// The confirmation page of a lead's deletion, with where to go back to afterwards.
fn delete_lead_url(lead_id: &str, back: &str) -> String {
    format!(
        "/pistes/{lead_id}/supprimer?back={}",
        super::query_value(back)
    )
}

fn lead_value(l: &ActionLead, back: &str) -> Value {
    json!({
        "delete_url": delete_lead_url(&l.id, back),
        "id": l.id,
        "text": l.text,
        "owner": l.owner,
        "due_date": l.due_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        "due_long": l.due_date.map(fr::date_long),
        "version": l.version,
        "back": back,
    })
}

fn journal_ctx(
    sheet: &LogSheet,
    leads: &[ActionLead],
    input: &LogInput,
    errors: &FieldErrors,
    typed_lead: Option<&TypedLead<'_>>,
    now: NaiveDateTime,
) -> Value {
    let s = &sheet.session;
    let all_labels = &sheet.associations;
    let label = s.label(all_labels);
    let back = format!("/seances/{}/journal", s.id);
    let half_days: Vec<Value> = (1..=sheet.half_days)
        .map(|n| json!({"n": n, "label": half_day_label(sheet.half_days, n)}))
        .collect();
    let is_bilan = s.kind() == SessionKind::BilanIndividuel;
    let groups: Vec<Value> = sheet
        .associations
        .iter()
        .map(|a| {
            let rows: Vec<Value> = sheet
                .participants
                .iter()
                .filter(|p| p.association_id == a.id)
                .map(|p| {
                    let cells: Vec<Value> = (1..=sheet.half_days)
                        .map(|n| {
                            let current = input
                                .typed(&p.id, n)
                                .unwrap_or_else(|| sheet.status(&p.id, n));
                            let key = session_log::cell_key(&p.id, &n.to_string());
                            let hd = half_day_label(sheet.half_days, n);
                            json!({
                                "name": key,
                                "who": format!("{}, {}", p.name, hd.to_lowercase()),
                                "error": errors.get(&key),
                                "options": STATUSES.iter().map(|(v, l)| json!({
                                    "name": key,
                                    "who": format!("{}, {}", p.name, hd.to_lowercase()),
                                    "value": v,
                                    "label": l,
                                    "id": format!("r-{}-{n}-{v}", p.id),
                                    "checked": *v == current,
                                })).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    json!({
                        "id": p.id,
                        "name": p.name,
                        "role_label": participant::role_label(&p.role),
                        "function": p.function,
                        "cells": cells,
                    })
                })
                .collect();
            let (mine, earlier): (Vec<&ActionLead>, Vec<&ActionLead>) = leads
                .iter()
                .filter(|l| l.association_id == a.id)
                .partition(|l| l.session_id.as_deref() == Some(s.id.as_str()));
            let typed = typed_lead.filter(|t| t.association_id == a.id);
            let blank = ActionLeadInput::default();
            let new_lead = typed.map_or(&blank, |t| t.input);
            let no_errors = FieldErrors::new();
            let new_errors = typed.map_or(&no_errors, |t| &t.errors);
            json!({
                "id": a.id,
                "name": a.name,
                "rows": rows,
                "leads": mine.iter().map(|l| lead_value(l, &back)).collect::<Vec<_>>(),
                "earlier_leads": if is_bilan { earlier.iter().map(|l| lead_value(l, &back)).collect::<Vec<_>>() } else { Vec::new() },
                "new_lead": {
                    "text": new_lead.text,
                    "owner": new_lead.owner,
                    "due_date": new_lead.due_date,
                    "errors": new_errors,
                    "open": typed.is_some(),
                },
                "report_url": format!("/associations/{}/compte-rendu?seance={}", a.id, s.id),
            })
        })
        .collect();
    json!({
        "title": format!("Journal — {label}"),
        "nav_cohorts": true,
        "cohort": {"id": sheet.cohort.id, "name": sheet.cohort.name},
        "session": view::session(s, all_labels, now),
        "half_days": half_days,
        "columns": sheet.half_days + 1,
        "logged": sheet.log.is_some(),
        "updated": sheet.log.as_ref().map(|l| view::utc_long(l.updated_at)),
        "form": {
            "third_party_name": input.third_party_name,
            "notes": input.notes,
            "version": input.version,
        },
        "errors": errors,
        "third_party_options": view::options(&THIRD_PARTY_KINDS, input.third_party_kind.trim()),
        "groups": groups,
        "is_bilan": is_bilan,
        "has_participants": !sheet.participants.is_empty(),
    })
}

async fn load_journal(state: &AppState, id: &str) -> Result<(LogSheet, Vec<ActionLead>), AppError> {
    let sid = id.to_string();
    crate::db::run(&state.pool, move |c| {
        let sheet = session_log::load(c, &sid)?;
        let leads = action_lead::list_for_cohort(c, &sheet.cohort.id)?;
        Ok((sheet, leads))
    })
    .await
}

async fn journal(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let (sheet, leads) = load_journal(&state, &id).await?;
    let ctx = journal_ctx(
        &sheet,
        &leads,
        &sheet.input(),
        &FieldErrors::new(),
        None,
        state.clock.now().naive_utc(),
    );
    render(&state, "pages/journal/log", with_notice(ctx, &q))
}

async fn save_log(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = path.into_inner();
    let input = LogInput::from_pairs(pairs);
    let (sid, i) = (id.clone(), input.clone());
    match state.write(move |c| session_log::save(c, &sid, &i)).await {
        Ok(_) => Ok(redirect(
            &format!("/seances/{id}/journal"),
            Some("journal_enregistre"),
        )),
        Err(e) => {
            let (sheet, leads) = load_journal(&state, &id).await?;
            let ctx = journal_ctx(
                &sheet,
                &leads,
                &input,
                &field_errors(&e),
                None,
                state.clock.now().naive_utc(),
            );
            refused(&state, "pages/journal/log", ctx, e)
        }
    }
}

/// The add and edit forms of a piste d'actions, and where to go back to.
#[derive(serde::Deserialize, Default)]
struct LeadForm {
    #[serde(default)]
    association_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    back: String,
}

impl LeadForm {
    fn input(&self, session_id: &str) -> ActionLeadInput {
        ActionLeadInput {
            text: self.text.clone(),
            owner: self.owner.clone(),
            due_date: self.due_date.clone(),
            session_id: session_id.to_string(),
            version: self.version.clone(),
        }
    }
}

async fn create_lead(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(f): Form<LeadForm>,
) -> PageResult {
    let id = path.into_inner();
    let input = f.input(&id);
    let (aid, i) = (f.association_id.clone(), input.clone());
    match state.write(move |c| action_lead::create(c, &aid, &i)).await {
        Ok(l) => Ok(redirect(
            &format!("/seances/{id}/journal#pistes-{}", l.association_id),
            Some("piste_ajoutee"),
        )),
        Err(e) => {
            let (sheet, leads) = load_journal(&state, &id).await?;
            let typed = TypedLead {
                association_id: &f.association_id,
                input: &input,
                errors: field_errors(&e),
            };
            let ctx = journal_ctx(
                &sheet,
                &leads,
                &sheet.input(),
                &FieldErrors::new(),
                Some(&typed),
                state.clock.now().naive_utc(),
            );
            refused(&state, "pages/journal/log", ctx, e)
        }
    }
}

async fn lead_ctx(
    state: &AppState,
    lead: &ActionLead,
    input: &ActionLeadInput,
    back: &str,
) -> Result<Value, AppError> {
    let aid = lead.association_id.clone();
    let a = crate::db::run(&state.pool, move |c| association::get(c, &aid)).await?;
    let co_id = a.cohort_id.clone();
    let co = crate::db::run(&state.pool, move |c| cohort::get(c, &co_id)).await?;
    Ok(json!({
        "title": "Modifier la piste d'actions",
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "association": {"id": a.id, "name": a.name},
        "lead_id": lead.id,
        "form": input,
        "back": back,
        // Deleted from its own page, a lead sends back to its association's pistes.
        "delete_url": delete_lead_url(&lead.id, &format!("/associations/{}#pistes", a.id)),
    }))
}

fn default_back(lead: &ActionLead) -> String {
    match &lead.session_id {
        Some(sid) => format!("/seances/{sid}/journal#pistes-{}", lead.association_id),
        None => format!("/associations/{}#pistes", lead.association_id),
    }
}

async fn edit_lead(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let lid = id.clone();
    let lead = crate::db::run(&state.pool, move |c| action_lead::get(c, &lid)).await?;
    let ctx = lead_ctx(
        &state,
        &lead,
        &ActionLeadInput::from(&lead),
        &default_back(&lead),
    )
    .await?;
    render(&state, "pages/journal/lead", ctx)
}

async fn update_lead(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(f): Form<LeadForm>,
) -> PageResult {
    let id = path.into_inner();
    let lid = id.clone();
    let lead = crate::db::run(&state.pool, move |c| action_lead::get(c, &lid)).await?;
    // The session it came out of stays; the form does not move a lead between sessions.
    let input = f.input("");
    let (lid, i) = (id.clone(), input.clone());
    let back = local_back(&f.back)
        .map(str::to_string)
        .unwrap_or_else(|| default_back(&lead));
    match state.write(move |c| action_lead::update(c, &lid, &i)).await {
        Ok(_) => Ok(redirect(&back, Some("piste_modifiee"))),
        Err(e) => {
            let mut ctx = lead_ctx(&state, &lead, &input, &back).await?;
            ctx["errors"] = json!(field_errors(&e));
            refused(&state, "pages/journal/lead", ctx, e)
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct BackForm {
    #[serde(default)]
    back: String,
}

async fn confirm_delete_lead(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<BackForm>,
) -> PageResult {
    let id = path.into_inner();
    let lid = id.clone();
    let (lead, a) = crate::db::run(&state.pool, move |c| {
        let lead = action_lead::get(c, &lid)?;
        let a = association::get(c, &lead.association_id)?;
        Ok((lead, a))
    })
    .await?;
    let back = local_back(&q.back)
        .map(str::to_string)
        .unwrap_or_else(|| default_back(&lead));
    confirm(
        &state,
        "nav_cohorts",
        Confirm {
            title: format!("Supprimer la piste « {} » ?", lead.text),
            message: format!(
                "La piste « {} » de {} sera supprimée : elle disparaîtra de la page de l'association, de ses comptes rendus et de son bilan individuel. Cette action est définitive.",
                lead.text, a.name
            ),
            action: format!("/pistes/{id}/supprimer"),
            confirm_label: "Supprimer la piste".into(),
            cancel: back.clone(),
            back: Some(back),
            ..Default::default()
        },
    )
}

async fn delete_lead(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(f): Form<BackForm>,
) -> PageResult {
    let id = path.into_inner();
    let lead = state.write(move |c| action_lead::delete(c, &id)).await?;
    let back = local_back(&f.back)
        .map(str::to_string)
        .unwrap_or_else(|| default_back(&lead));
    Ok(redirect(&back, Some("piste_supprimee")))
}

// ---- feuille d'émargement -------------------------------------------------------------

async fn sign_sheet(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let sid = id.clone();
    let (sheet, dla_name, consultant) = crate::db::run(&state.pool, move |c| {
        let sheet = session_log::load(c, &sid)?;
        let dla_name = crate::models::dla::get(c, &sheet.cohort.dla_id)?.name;
        let consultant = match &sheet.cohort.consultant_id {
            Some(cid) => crate::models::consultant::get(c, cid).ok(),
            None => None,
        };
        Ok((sheet, dla_name, consultant))
    })
    .await?;
    let s = &sheet.session;
    let label = s.label(&sheet.associations);
    let rows: Vec<Value> = sheet
        .participants
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "association": sheet.association_of(p).map(|a| a.name.clone()).unwrap_or_default(),
                "role_label": participant::role_label(&p.role),
                "function": p.function,
            })
        })
        .collect();
    let half_days: Vec<Value> = (1..=sheet.half_days)
        .map(|n| json!({"n": n, "label": half_day_label(sheet.half_days, n)}))
        .collect();
    let ctx = json!({
        "title": format!("Feuille d'émargement — {label}"),
        "nav_cohorts": true,
        "cohort": {"id": sheet.cohort.id, "name": sheet.cohort.name},
        "session_id": s.id,
        "session_label": label,
        // The kind's full name, unless the session's own name already says it.
        "long_label": (s.kind().long_label() != label).then(|| s.kind().long_label()),
        "date": fr::date_long(s.local_start().date()),
        "when": fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
        "location": s.location,
        "video_link": s.video_link,
        "dla_name": dla_name,
        "consultant": consultant.as_ref().map(|c| c.name.clone()),
        "firm": consultant.as_ref().map(|c| c.firm.clone()).filter(|f| !f.trim().is_empty()),
        "half_days": half_days,
        "rows": rows,
        "guests": sheet.guests.iter().map(|g| json!({
            "name": g.name,
            "organisation": g.organisation,
        })).collect::<Vec<_>>(),
        "blank_rows": [1, 2],
    });
    render(&state, "pages/journal/sign_sheet", ctx)
}

// ---- compte rendu ---------------------------------------------------------------------

#[derive(serde::Deserialize, Default)]
struct ReportQuery {
    #[serde(default)]
    seance: String,
    #[serde(default)]
    notice: String,
}

async fn report_ctx(
    state: &AppState,
    association_id: &str,
    session_id: &str,
) -> Result<Value, AppError> {
    if session_id.trim().is_empty() {
        return Err(AppError::BadRequest {
            code: "session_required",
            message: "Précisez la séance du compte rendu (paramètre « seance »).".into(),
        });
    }
    let (aid, sid) = (association_id.to_string(), session_id.to_string());
    let r = crate::db::run(&state.pool, move |c| session_log::report(c, &sid, &aid)).await?;
    Ok(json!({
        "title": format!("Compte rendu — {} — {}", r.session_label, r.association.name),
        "nav_cohorts": true,
        "cohort": {"id": r.cohort.id, "name": r.cohort.name},
        "association": {"id": r.association.id, "name": r.association.name},
        "session_id": r.session.id,
        "session_label": r.session_label,
        "session_when": r.session_when,
        "location": r.session.location,
        "dla_name": r.dla_name,
        "consultant": r.consultant,
        "logged": r.log.is_some(),
        "version": r.log.as_ref().map(|l| l.version),
        "third_party": r.third_party(),
        "notes": r.log.as_ref().map(|l| l.notes.clone()).filter(|n| !n.trim().is_empty()),
        "people": r.people,
        "leads": r.lead_values(),
        "is_bilan": r.session.kind() == SessionKind::BilanIndividuel,
        "recipients": r.participants.iter().map(|p| json!({"name": p.name, "email": p.email})).collect::<Vec<_>>(),
    }))
}

async fn report(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ReportQuery>,
) -> PageResult {
    let id = path.into_inner();
    let ctx = report_ctx(&state, &id, &q.seance).await?;
    let notice = NoticeQuery {
        notice: q.notice.clone(),
    };
    render(&state, "pages/journal/report", with_notice(ctx, &notice))
}

#[derive(serde::Deserialize, Default)]
struct SendForm {
    #[serde(default)]
    seance: String,
}

async fn send_report(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(f): Form<SendForm>,
) -> PageResult {
    let id = path.into_inner();
    let (aid, sid, mail) = (id.clone(), f.seance.clone(), state.mail.clone());
    match state
        .write(move |c| session_log::send_report(c, &sid, &aid, &mail))
        .await
    {
        Ok(sent) => Ok(redirect(
            &format!("/associations/{id}/compte-rendu?seance={}", f.seance),
            Some(if sent.queued > 0 {
                "compte_rendu_envoye"
            } else {
                "compte_rendu_deja_envoye"
            }),
        )),
        Err(e) => {
            let ctx = report_ctx(&state, &id, &f.seance).await?;
            refused(&state, "pages/journal/report", ctx, e)
        }
    }
}

// ---- attendance CSV -------------------------------------------------------------------

async fn attendance_csv(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, crate::web::pages::PageError> {
    let id = path.into_inner();
    let cid = id.clone();
    let (co, associations, participants, sessions, marks) = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &cid)?;
        let associations = association::list_for_cohort(c, &cid)?;
        let ids: Vec<String> = associations.iter().map(|a| a.id.clone()).collect();
        Ok((
            co,
            associations,
            participant::list_for_associations(c, &ids)?,
            session::list_for_cohort(c, &cid)?,
            session_log::attendance_for_cohort(c, &cid)?,
        ))
    })
    .await?;
    let mut rows = Vec::new();
    for s in &sessions {
        let half_days = session_log::half_days_for(session_log::duration_minutes(s));
        let label = s.label(&associations);
        let date = csv::date(s.local_start().date());
        for a in associations.iter().filter(|a| session_log::concerns(s, a)) {
            for p in participants.iter().filter(|p| p.association_id == a.id) {
                for n in 1..=half_days {
                    let status = marks
                        .iter()
                        .find(|m| {
                            m.session_id == s.id && m.participant_id == p.id && m.half_day == n
                        })
                        .map(|m| session_log::status_label(&m.status))
                        .unwrap_or("non renseigné");
                    rows.push(vec![
                        csv::text(&a.name),
                        csv::text(&p.name),
                        participant::role_label(&p.role).to_string(),
                        label.clone(),
                        date.clone(),
                        half_day_label(half_days, n).to_string(),
                        status.to_string(),
                    ]);
                }
            }
        }
    }
    let body = csv::csv(
        &[
            "Association",
            "Personne",
            "Rôle",
            "Séance",
            "Date",
            "Demi-journée",
            "Statut",
        ],
        &rows,
    );
    let filename = format!("presences-{}.csv", csv::filename_slug(&co.name, "cohorte"));
    Ok(HttpResponse::Ok()
        .content_type(csv::CONTENT_TYPE)
        .insert_header((header::CONTENT_DISPOSITION, csv::attachment(&filename)))
        .body(body))
}
