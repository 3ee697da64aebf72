//! The association's socio-economic model pages: état des lieux and target model (staff and
//! signed-in participant), printable profile, CSV exports.
//!
//! - `/associations/{id}/modele`: both stages side by side, with links to edit;
//! - `/associations/{id}/modele/{stage}` (`etat_des_lieux` | `cible`): the form;
//! - `/associations/{id}/modele/imprimer`: the printable profile;
//! - `/portail/modele/{stage}`: the same form for the signed-in participant, on their own
//!   association only (`member_edit`, `member_save`, routed by `web::pages::portal`);
//! - `/associations/{id}/modele.csv` and `/cohortes/{id}/modeles.csv`: CSV for French Excel.
//!
//! A refused form (422) or a stale one (409) is shown again with everything typed.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::domain::budget::percent;
use crate::domain::fr;
use crate::domain::profile::{
    ACTOR_KINDS, ALLIANCE_NATURES, Family, Indicators, Profile, Reading, Resource, indicators,
    label_of,
};
use crate::error::{AppError, FieldErrors};
use crate::export::csv;
use crate::models::association::{self, Association};
use crate::models::cohort::{self, Cohort};
use crate::models::profile::{self, STAGES, StoredProfile, stage_label};
use crate::models::profile_form::ProfileInput;
use crate::models::programme;
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{
    NoticeQuery, PageResult, private, redirect, render, rerender, with_notice,
};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/associations/{id}/modele", web::get().to(show))
        .route("/associations/{id}/modele.csv", web::get().to(export_one))
        .route("/associations/{id}/modele/imprimer", web::get().to(print))
        .route("/associations/{id}/modele/{stage}", web::get().to(edit))
        .route("/associations/{id}/modele/{stage}", web::post().to(save))
        .route("/cohortes/{id}/modeles.csv", web::get().to(export_cohort));
}

/// French sentences of this module's notice codes.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "profil_enregistre" => "L'état des lieux a été enregistré.",
        "profil_cible_enregistre" => "Le modèle visé a été enregistré.",
        _ => return None,
    })
}

/// Who saved, for staff pages (before accounts exist, there is one operator).
const STAFF: &str = "l'équipe";

fn saved_notice(stage: &str) -> &'static str {
    if stage == "cible" {
        "profil_cible_enregistre"
    } else {
        "profil_enregistre"
    }
}

fn unknown_stage() -> AppError {
    AppError::NotFound("Étape inconnue : état des lieux ou modèle visé.".into())
}

// ---- the form ---------------------------------------------------------------------------

/// Where the form lives: staff pages, or the signed-in participant's portal.
struct Place {
    association: Association,
    cohort: Cohort,
    stage: String,
    /// The form's `action` and the page of both stages (or the participant's portal).
    action: String,
    back: String,
    /// `Some(name)` for the signed-in participant.
    participant: Option<String>,
    /// The participant's link to the other stage's form.
    other_stage_url: Option<String>,
}

/// The stored snapshot of the stage and, for a new target model, the état des lieux's
/// ambition to start from.
async fn load_form(
    state: &AppState,
    association_id: &str,
    stage: &str,
) -> Result<(StoredProfile, ProfileInput), AppError> {
    let (aid, st) = (association_id.to_owned(), stage.to_owned());
    crate::db::run(&state.pool, move |c| {
        let stored = profile::get(c, &aid, &st)?;
        let input = if stored.version == 0 && st == "cible" {
            let before = profile::get(c, &aid, "etat_des_lieux")?;
            let start = Profile {
                reading: Reading {
                    ambition: before.profile.reading.ambition.clone(),
                    ..Reading::default()
                },
                ..Profile::default()
            };
            ProfileInput::from_profile(&start, 0)
        } else {
            ProfileInput::from_profile(&stored.profile, stored.version)
        };
        Ok((stored, input))
    })
    .await
}

fn option_pairs(pairs: &[(&str, &str)], none: &str) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), none.to_owned())];
    out.extend(pairs.iter().map(|(c, l)| (c.to_string(), l.to_string())));
    out
}

/// Everything the form template needs, from what is typed and the messages.
fn form_ctx(
    place: &Place,
    stored: &StoredProfile,
    input: &ProfileInput,
    errors: &FieldErrors,
) -> Value {
    let err = |k: &str| errors.get(k).cloned();
    let families = [
        Family::Public,
        Family::Private,
        Family::Earned,
        Family::Other,
    ];
    let resource_groups: Vec<Value> = families
        .iter()
        .map(|family| {
            let items: Vec<Value> = Resource::ALL
                .into_iter()
                .filter(|r| r.family() == *family)
                .map(|r| {
                    let name = format!("resource_{}", r.as_str());
                    json!({
                        "name": name,
                        "label": r.label(),
                        "value": input.get(&name),
                        "error": err(&name),
                    })
                })
                .collect();
            json!({"label": family.label(), "items": items})
        })
        .collect();
    let kinds = option_pairs(&ACTOR_KINDS, "— Type d'acteur —");
    let natures = option_pairs(&ALLIANCE_NATURES, "— Nature —");
    let alliance_rows: Vec<Value> = (0..input.alliance_rows())
        .map(|i| {
            let key = |w: &str| format!("alliance_{i}_{w}");
            json!({
                "number": i + 1,
                "partner_name": key("partner"),
                "partner": input.get(&key("partner")),
                "partner_error": err(&key("partner")),
                "kind_name": key("actor_kind"),
                "kind_options": view::owned_options(&kinds, input.get(&key("actor_kind"))),
                "kind_error": err(&key("actor_kind")),
                "nature_name": key("nature"),
                "nature_options": view::owned_options(&natures, input.get(&key("nature"))),
                "nature_error": err(&key("nature")),
            })
        })
        .collect();
    let das_rows: Vec<Value> = (0..input.das_rows())
        .map(|i| {
            let key = |w: &str| format!("das_{i}_{w}");
            json!({
                "number": i + 1,
                "name_name": key("name"),
                "name": input.get(&key("name")),
                "name_error": err(&key("name")),
                "share_name": key("share"),
                "share": input.get(&key("share")),
                "share_error": err(&key("share")),
                "notes_name": key("notes"),
                "notes": input.get(&key("notes")),
                "notes_error": err(&key("notes")),
            })
        })
        .collect();
    let label = stage_label(&place.stage).unwrap_or("");
    let is_cible = place.stage == "cible";
    let ind = indicators(&stored.profile);
    json!({
        "title": format!("{label} — {}", place.association.name),
        // Staff reach it from the cohorts, a participant from their portal.
        "nav_portal": place.participant.is_some(),
        "nav_cohorts": place.participant.is_none(),
        "participant": place.participant,
        "association": {"id": place.association.id, "name": place.association.name},
        "cohort": {"id": place.cohort.id, "name": place.cohort.name},
        "stage": place.stage,
        "stage_label": label,
        "is_cible": is_cible,
        "action": place.action,
        "back": place.back,
        "other_stage_url": place.other_stage_url,
        "form": input,
        "errors": errors,
        "resource_groups": resource_groups,
        "alliance_rows": alliance_rows,
        "das_rows": das_rows,
        "saved": stored.version > 0,
        "saved_by": stored.updated_by,
        "saved_at": stored.updated_at.map(view::utc_long),
        "total": ind.total,
        "shares": ind.shares.iter().filter(|s| s.cents > 0).map(|s| json!({"label": s.label, "percent": s.percent})).collect::<Vec<_>>(),
    })
}

async fn show_form(state: &AppState, place: &Place, q: &NoticeQuery) -> PageResult {
    let (stored, input) = load_form(state, &place.association.id, &place.stage).await?;
    let ctx = form_ctx(place, &stored, &input, &FieldErrors::new());
    render(state, "pages/profile/form", with_notice(ctx, q))
}

/// Parses and saves; on a refusal, the form again with everything typed (422), or on a
/// stale version (409) with the current version so that saving again overwrites knowingly.
async fn submit(
    state: &AppState,
    place: &Place,
    mut input: ProfileInput,
    by: String,
) -> PageResult {
    let result = match input.parse() {
        Err(fields) => Err(AppError::validation(fields)),
        Ok(p) => {
            let (aid, stage, version) = (
                place.association.id.clone(),
                place.stage.clone(),
                input.version().to_owned(),
            );
            state
                .write(move |c| profile::save(c, &aid, &stage, &p, &version, &by))
                .await
        }
    };
    match result {
        Ok(_) => {
            let to = if place.participant.is_some() {
                place.action.clone()
            } else {
                format!("{}#{}", place.back, place.stage)
            };
            Ok(redirect(&to, Some(saved_notice(&place.stage))))
        }
        Err(e) => {
            let (aid, st) = (place.association.id.clone(), place.stage.clone());
            let stored = crate::db::run(&state.pool, move |c| profile::get(c, &aid, &st)).await?;
            let errors = e.fields().cloned().unwrap_or_default();
            if matches!(e, AppError::Conflict { .. }) {
                input.set("version", stored.version.to_string());
            }
            let ctx = form_ctx(place, &stored, &input, &errors);
            rerender(state, "pages/profile/form", ctx, &input, e)
        }
    }
}

/// The staff place of a stage's form.
async fn staff_place(state: &AppState, id: &str, stage: &str) -> Result<Place, AppError> {
    if stage_label(stage).is_none() {
        return Err(unknown_stage());
    }
    let aid = id.to_owned();
    let (a, co) = crate::db::run(&state.pool, move |c| {
        let a = association::get(c, &aid)?;
        let co = cohort::get(c, &a.cohort_id)?;
        Ok((a, co))
    })
    .await?;
    Ok(Place {
        action: format!("/associations/{id}/modele/{stage}"),
        back: format!("/associations/{id}/modele"),
        association: a,
        cohort: co,
        stage: stage.to_owned(),
        participant: None,
        other_stage_url: None,
    })
}

async fn edit(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let (id, stage) = path.into_inner();
    let place = staff_place(&state, &id, &stage).await?;
    show_form(&state, &place, &q).await
}

async fn save(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Form(input): Form<ProfileInput>,
) -> PageResult {
    let (id, stage) = path.into_inner();
    let place = staff_place(&state, &id, &stage).await?;
    submit(&state, &place, input, STAFF.to_owned()).await
}

/// The signed-in participant's place: their own association only (`/portail/modele/…`).
async fn member_place(
    state: &AppState,
    member: &crate::models::scope::Member,
    stage: &str,
) -> Result<Place, AppError> {
    if stage_label(stage).is_none() {
        return Err(unknown_stage());
    }
    let aid = member.association_id.clone();
    let (a, co) = crate::db::run(&state.pool, move |c| {
        let a = association::get(c, &aid)?;
        let co = cohort::get(c, &a.cohort_id)?;
        Ok((a, co))
    })
    .await?;
    let other = if stage == "cible" {
        "etat_des_lieux"
    } else {
        "cible"
    };
    Ok(Place {
        action: format!("/portail/modele/{stage}"),
        other_stage_url: Some(format!("/portail/modele/{other}")),
        back: "/portail".to_owned(),
        association: a,
        cohort: co,
        stage: stage.to_owned(),
        participant: Some(member.name.clone()),
    })
}

/// The form of a stage for the signed-in participant (`web::pages::portal`).
pub async fn member_edit(
    state: &AppState,
    member: &crate::models::scope::Member,
    stage: &str,
    q: &NoticeQuery,
) -> PageResult {
    let place = member_place(state, member, stage).await?;
    show_form(state, &place, q).await.map(private)
}

/// Saves the signed-in participant's form; saved « by » their name.
pub async fn member_save(
    state: &AppState,
    member: &crate::models::scope::Member,
    stage: &str,
    input: ProfileInput,
) -> PageResult {
    let place = member_place(state, member, stage).await?;
    let by = member.name.clone();
    submit(state, &place, input, by).await.map(private)
}

// ---- figures, shared by the page, the print and the CSV ---------------------------------

/// How values are written: for people (« 12 500,00 € ») or for a spreadsheet (« 12500,00 »).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Page,
    Sheet,
}

fn money(cents: i64, style: Style) -> String {
    match style {
        Style::Page => fr::euros_cents(cents),
        Style::Sheet => csv::fixed(cents, 2),
    }
}

fn share(bp: u32, style: Style) -> String {
    match style {
        Style::Page => percent(bp),
        Style::Sheet => csv::fixed(i64::from(bp), 2),
    }
}

fn fte(hundredths: u32, style: Style) -> String {
    let figure = crate::models::profile_form::hundredths_text(hundredths);
    match style {
        Style::Page => format!("{}{}ETP", figure.replace(' ', "\u{202f}"), fr::NBSP),
        Style::Sheet => figure.replace(' ', ""),
    }
}

/// A head count or a number of hours: grouped by thousands on the page (« 2 500 »), plain
/// digits in the spreadsheet.
fn count(n: Option<u32>, style: Style) -> String {
    n.map(|n| match style {
        Style::Page => fr::decimal(f64::from(n), 0),
        Style::Sheet => n.to_string(),
    })
    .unwrap_or_default()
}

fn free_text(s: &str, style: Style) -> String {
    match style {
        Style::Page => s.to_owned(),
        Style::Sheet => csv::text(s),
    }
}

/// One line of the profile: its section, its item, one value per stage.
struct Line {
    section: &'static str,
    item: String,
    values: Vec<String>,
}

/// The profile's lines, the stages side by side. Alliances and DAS are aligned by rank.
fn lines(stages: &[&Profile], style: Style) -> Vec<Line> {
    let ind: Vec<Indicators> = stages.iter().map(|p| indicators(p)).collect();
    let mut out = Vec::new();
    let mut push = |section: &'static str, item: &str, f: &dyn Fn(usize) -> String| {
        out.push(Line {
            section,
            item: item.to_owned(),
            values: (0..stages.len()).map(f).collect(),
        });
    };
    const H: &str = "Richesses humaines";
    push(H, "Salarié·es", &|i| {
        count(stages[i].human.employees, style)
    });
    push(H, "Salarié·es en ETP", &|i| {
        stages[i]
            .human
            .employees_fte_hundredths
            .map(|h| fte(h, style))
            .unwrap_or_default()
    });
    push(H, "Bénévoles", &|i| {
        count(stages[i].human.volunteers, style)
    });
    push(H, "Heures de bénévolat par an", &|i| {
        count(stages[i].human.volunteer_hours, style)
    });
    push(H, "Bénévolat en ETP (1 607 h = 1 ETP)", &|i| {
        if stages[i].human.volunteer_hours.is_some() {
            fte(ind[i].volunteer_fte_hundredths, style)
        } else {
            String::new()
        }
    });
    push(H, "Volontaires en service civique", &|i| {
        count(stages[i].human.civic_service, style)
    });
    push(H, "Mécénat de compétences (jours)", &|i| {
        count(stages[i].human.skills_sponsorship_days, style)
    });
    const F: &str = "Ressources financières";
    push(F, "Exercice", &|i| {
        stages[i]
            .finances
            .year
            .map(|y| y.to_string())
            .unwrap_or_default()
    });
    for r in Resource::ALL {
        push(F, r.label(), &|i| {
            let f = &stages[i].finances;
            if f.resources.iter().any(|l| l.resource == r) {
                money(f.amount(r), style)
            } else {
                String::new()
            }
        });
    }
    push(F, "Total des ressources", &|i| {
        money(ind[i].total_cents, style)
    });
    for (k, family) in [
        Family::Public,
        Family::Private,
        Family::Earned,
        Family::Other,
    ]
    .into_iter()
    .enumerate()
    {
        push(
            F,
            &format!("Part : {}", family.label().to_lowercase()),
            &|i| {
                if ind[i].total_cents > 0 {
                    share(ind[i].shares[k].bp, style)
                } else {
                    String::new()
                }
            },
        );
    }
    push(F, "Premier financeur", &|i| {
        free_text(&stages[i].finances.largest_funder_name, style)
    });
    push(F, "Montant du premier financeur", &|i| {
        stages[i]
            .finances
            .largest_funder_cents
            .map(|c| money(c, style))
            .unwrap_or_default()
    });
    push(F, "Part du premier financeur", &|i| {
        ind[i]
            .largest_funder_bp
            .map(|b| share(b, style))
            .unwrap_or_default()
    });
    push(F, "Types de ressources (sur 15)", &|i| {
        if ind[i].total_cents > 0 {
            ind[i].resource_types.to_string()
        } else {
            String::new()
        }
    });
    push(F, "Lecture", &|i| {
        let x = &ind[i];
        if x.total_cents == 0 {
            String::new()
        } else if x.dependent {
            "Dépendant : plus de la moitié d'une seule source".into()
        } else if x.hybridised {
            "Modèle hybride".into()
        } else {
            "Ni dépendant ni hybride".into()
        }
    });
    const A: &str = "Alliances stratégiques";
    push(A, "Nombre d'alliances", &|i| ind[i].alliances.to_string());
    for (k, (_, label)) in ALLIANCE_NATURES.iter().enumerate() {
        push(A, &format!("Alliances {}", label.to_lowercase()), &|i| {
            ind[i].alliances_by_nature[k].1.to_string()
        });
    }
    let most = stages.iter().map(|p| p.alliances.len()).max().unwrap_or(0);
    for k in 0..most {
        push(A, &format!("Alliance {}", k + 1), &|i| {
            stages[i]
                .alliances
                .get(k)
                .map(|a| {
                    free_text(
                        &format!(
                            "{} — {} — {}",
                            a.partner,
                            label_of(&ACTOR_KINDS, &a.actor_kind),
                            label_of(&ALLIANCE_NATURES, &a.nature).to_lowercase()
                        ),
                        style,
                    )
                })
                .unwrap_or_default()
        });
    }
    const D: &str = "Domaines d'activité stratégiques";
    let most = stages.iter().map(|p| p.das.len()).max().unwrap_or(0);
    for k in 0..most {
        push(D, &format!("Domaine {}", k + 1), &|i| {
            stages[i]
                .das
                .get(k)
                .map(|d| {
                    let mut s = d.name.clone();
                    if let Some(bp) = d.budget_share_bp {
                        s.push_str(&format!(" ({} du budget)", percent(bp)));
                    }
                    if !d.notes.is_empty() {
                        s.push_str(" — ");
                        s.push_str(&d.notes);
                    }
                    free_text(&s, style)
                })
                .unwrap_or_default()
        });
    }
    const R: &str = "Lecture de l'association";
    push(R, "Forces", &|i| {
        free_text(&stages[i].reading.strengths, style)
    });
    push(R, "Fragilités", &|i| {
        free_text(&stages[i].reading.fragilities, style)
    });
    push(R, "Risques", &|i| {
        free_text(&stages[i].reading.risks, style)
    });
    push(R, "Ambition", &|i| {
        free_text(&stages[i].reading.ambition, style)
    });
    const L: &str = "Modèle visé";
    push(L, "Leviers : richesses humaines", &|i| {
        free_text(&stages[i].levers.human, style)
    });
    push(L, "Leviers : ressources financières", &|i| {
        free_text(&stages[i].levers.financial, style)
    });
    push(L, "Leviers : alliances stratégiques", &|i| {
        free_text(&stages[i].levers.alliances, style)
    });
    push(L, "Pistes d'actions", &|i| {
        free_text(&stages[i].levers.actions, style)
    });
    out
}

/// The lines grouped by section for a page; lines with no value at any stage are left out.
fn sections(stages: &[&Profile]) -> Vec<Value> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for l in lines(stages, Style::Page) {
        if l.values.iter().all(|v| v.trim().is_empty() || v == "0") {
            continue;
        }
        let row = json!({
            "item": l.item,
            "values": l.values.iter().map(|v| if v.is_empty() { "—".to_owned() } else { v.clone() }).collect::<Vec<_>>(),
        });
        match out.last_mut() {
            Some((s, rows)) if *s == l.section => rows.push(row),
            _ => out.push((l.section, vec![row])),
        }
    }
    out.into_iter()
        .map(|(s, rows)| json!({"title": s, "rows": rows}))
        .collect()
}

/// Both stages of one association, with its cohort.
async fn load_both(
    state: &AppState,
    id: &str,
) -> Result<(Association, Cohort, Vec<StoredProfile>), AppError> {
    let aid = id.to_owned();
    crate::db::run(&state.pool, move |c| {
        let a = association::get(c, &aid)?;
        let co = cohort::get(c, &a.cohort_id)?;
        let mut stages = Vec::new();
        for (stage, _) in STAGES {
            stages.push(profile::get(c, &aid, stage)?);
        }
        Ok((a, co, stages))
    })
    .await
}

fn page_ctx(
    a: &Association,
    co: &Cohort,
    stored: &[StoredProfile],
    today: chrono::NaiveDate,
) -> Value {
    let filled: Vec<&StoredProfile> = stored.iter().filter(|s| s.version > 0).collect();
    let profiles: Vec<&Profile> = filled.iter().map(|s| &s.profile).collect();
    let stages: Vec<Value> = stored
        .iter()
        .map(|s| {
            json!({
                "ind": (s.version > 0).then(|| crate::web::pages::mirror::indicators_view(&s.profile)),
                "chart_id": format!("ind-{}", s.stage),
                "stage": s.stage,
                "label": stage_label(&s.stage),
                "saved": s.version > 0,
                "saved_by": s.updated_by,
                "saved_at": s.updated_at.map(view::utc_long),
                "edit_url": format!("/associations/{}/modele/{}", a.id, s.stage),
                "what": if s.stage == "cible" { "le modèle visé" } else { "l'état des lieux" },
            })
        })
        .collect();
    json!({
        "title": format!("Modèle socio-économique — {}", a.name),
        "nav_cohorts": true,
        "association": {"id": a.id, "name": a.name, "town": a.town, "sector": a.sector},
        "cohort": {"id": co.id, "name": co.name},
        "stages": stages,
        "columns": filled.iter().map(|s| stage_label(&s.stage)).collect::<Vec<_>>(),
        "sections": if profiles.is_empty() { vec![] } else { sections(&profiles) },
        "filled": !filled.is_empty(),
        "today": fr::date_long(today),
    })
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let (a, co, stored) = load_both(&state, &id).await?;
    let ctx = page_ctx(&a, &co, &stored, programme::today(state.clock.now()));
    render(&state, "pages/profile/show", with_notice(ctx, &q))
}

async fn print(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (a, co, stored) = load_both(&state, &id).await?;
    let mut ctx = page_ctx(&a, &co, &stored, programme::today(state.clock.now()));
    ctx["title"] = json!(format!("Modèle socio-économique — {} (impression)", a.name));
    render(&state, "pages/profile/print", ctx)
}

// ---- CSV ----------------------------------------------------------------------------------

fn csv_response(filename: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(csv::CONTENT_TYPE)
        .insert_header((header::CONTENT_DISPOSITION, csv::attachment(filename)))
        .body(body)
}

/// One line per item: section; item; état des lieux; modèle visé.
async fn export_one(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (a, _, stored) = load_both(&state, &id).await?;
    let profiles: Vec<&Profile> = stored.iter().map(|s| &s.profile).collect();
    let rows: Vec<Vec<String>> = lines(&profiles, Style::Sheet)
        .into_iter()
        .map(|l| {
            let mut row = vec![l.section.to_owned(), l.item];
            row.extend(l.values);
            row
        })
        .collect();
    let body = csv::csv(
        &["Section", "Élément", "État des lieux", "Modèle visé"],
        &rows,
    );
    let filename = format!(
        "modele-{}-{}.csv",
        csv::filename_slug(&a.name, "association"),
        programme::today(state.clock.now()).format("%Y-%m-%d")
    );
    Ok(csv_response(&filename, body))
}

/// One line per association and stage, with the main figures.
async fn export_cohort(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let cid = id.clone();
    let (co, per_stage) = crate::db::run(&state.pool, move |c| {
        let co = cohort::get(c, &cid)?;
        let mut per_stage = Vec::new();
        for (stage, _) in STAGES {
            per_stage.push(profile::list_for_cohort(c, &cid, stage)?);
        }
        Ok((co, per_stage))
    })
    .await?;
    let mut rows = Vec::new();
    let count_of = per_stage.first().map(Vec::len).unwrap_or(0);
    for k in 0..count_of {
        for stage in &per_stage {
            let Some((a, s)) = stage.get(k) else { continue };
            let p = &s.profile;
            let i = indicators(p);
            let filled = s.version > 0;
            let has_money = filled && i.total_cents > 0;
            let when = |v: bool, s: String| if v { s } else { String::new() };
            let mut row = vec![
                csv::text(&a.name),
                stage_label(&s.stage).unwrap_or("").to_owned(),
                if filled { "oui" } else { "non" }.to_owned(),
                p.finances.year.map(|y| y.to_string()).unwrap_or_default(),
                when(has_money, csv::fixed(i.total_cents, 2)),
            ];
            for k in 0..3 {
                row.push(when(has_money, csv::fixed(i64::from(i.shares[k].bp), 2)));
            }
            row.push(
                i.largest_funder_bp
                    .filter(|_| has_money)
                    .map(|b| csv::fixed(i64::from(b), 2))
                    .unwrap_or_default(),
            );
            row.push(when(has_money, i.resource_types.to_string()));
            row.push(
                p.human
                    .employees_fte_hundredths
                    .map(|h| csv::decimal_trimmed(f64::from(h) / 100.0, 2))
                    .unwrap_or_default(),
            );
            row.push(count(p.human.volunteers, Style::Sheet));
            for (_, n) in &i.alliances_by_nature {
                row.push(when(filled, n.to_string()));
            }
            row.push(csv::text(&s.updated_by));
            row.push(
                s.updated_at
                    .map(|t| csv::date(t.date()))
                    .unwrap_or_default(),
            );
            rows.push(row);
        }
    }
    let body = csv::csv(
        &[
            "Association",
            "Étape",
            "Renseigné",
            "Exercice",
            "Total des ressources (€)",
            "Subventions publiques (%)",
            "Financements privés (%)",
            "Revenus d'activité (%)",
            "Premier financeur (%)",
            "Types de ressources",
            "Salarié·es (ETP)",
            "Bénévoles",
            "Alliances de positionnement",
            "Alliances de production / diffusion",
            "Alliances de moyens",
            "Mis à jour par",
            "Mis à jour le",
        ],
        &rows,
    );
    let filename = format!(
        "modeles-{}-{}.csv",
        csv::filename_slug(&co.name, "cohorte"),
        programme::today(state.clock.now()).format("%Y-%m-%d")
    );
    Ok(csv_response(&filename, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fte_reads_in_french_on_pages_and_as_a_number_in_sheets() {
        assert_eq!(fte(350, Style::Page), "3,5\u{a0}ETP");
        assert_eq!(fte(300, Style::Page), "3\u{a0}ETP");
        assert_eq!(fte(275, Style::Page), "2,75\u{a0}ETP");
        assert_eq!(fte(350, Style::Sheet), "3,5");
    }
}
