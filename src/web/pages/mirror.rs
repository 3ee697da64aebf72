//! Indicators of a profile (three pillars, SVG), the cohort mirror (named or anonymised,
//! projectable) and the bilan page comparing the état des lieux with the target model.
//!
//! - `GET /cohortes/{id}/miroir` (`?projeter=1` for the screen of the évolution session):
//!   every association's état des lieux side by side, most dependent first, with the
//!   cohort's average. An association that did not choose to appear by name is
//!   « Association A », « B »… in an order drawn from a hash of its id: neither its name,
//!   its enrolment rank nor anything it typed can be read from the page.
//! - `GET /cohortes/{id}/miroir/consentements` and `POST /associations/{id}/miroir`: who
//!   appears by name. This page names every association, so it is separate from the mirror
//!   (the mirror itself can always be shown to peers).
//! - `GET /associations/{id}/bilan-modele`: état des lieux and target model side by side,
//!   printable.
//!
//! [`indicators_view`] is the one value `templates/partials/indicators.hbs` draws; it holds
//! figures and chart geometry only, never free text (no funder or partner name, no reading),
//! so that the mirror can show it for an anonymised association without revealing it.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::budget::percent;
use crate::domain::profile::{Indicators, Profile, indicators};
use crate::domain::profile_charts::{self, Scales};
use crate::error::AppError;
use crate::models::association::{self, Association};
use crate::models::cohort;
use crate::models::profile::{self, StoredProfile};
use crate::web::AppState;
use crate::web::form::Form;
use crate::web::pages::{NoticeQuery, PageResult, redirect, render, render_status, with_notice};
use crate::web::view;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohortes/{id}/miroir", web::get().to(cohort_mirror))
        .route(
            "/cohortes/{id}/miroir/consentements",
            web::get().to(consent_page),
        )
        .route("/associations/{id}/miroir", web::post().to(set_consent))
        .route("/associations/{id}/bilan-modele", web::get().to(bilan));
}

/// French sentences of this module's notice codes.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "miroir_nomme" => "L'association apparaîtra sous son nom dans le miroir de la cohorte.",
        "miroir_anonyme" => {
            "L'association apparaîtra anonymement dans le miroir de la cohorte (« Association A », « B »…)."
        }
        _ => return None,
    })
}

/// The figures of a profile in French and its three pillars' chart geometry, for
/// `partials/indicators`. Contains no free text typed by the association.
pub fn indicators_view(p: &Profile) -> Value {
    indicators_value(&indicators(p), p.finances.year, None)
}

/// [`indicators_view`] from computed indicators, on shared scales when given (the mirror).
pub fn indicators_value(i: &Indicators, year: Option<i32>, scales: Option<&Scales>) -> Value {
    let charts = profile_charts::pillars(i, scales);
    let top = profile_charts::top_share(i).filter(|_| i.total_cents > 0);
    json!({
        "year": year,
        "has_resources": i.total_cents > 0,
        "total": i.total,
        "shares": i.shares.iter().map(|s| json!({
            "family": s.family,
            "label": s.label,
            "percent": s.percent,
        })).collect::<Vec<_>>(),
        "top": top.map(|(bp, kind)| json!({
            "label": if kind == "funder" { "Premier financeur" } else { "Première ressource" },
            "percent": crate::domain::budget::percent(bp),
            "type_label": i.largest_type.filter(|_| kind == "type").map(|(r, _)| r.label()),
        })),
        "resource_types": i.resource_types,
        "resource_types_text": format!(
            "{}{}type{} de ressources sur 15",
            i.resource_types,
            crate::domain::fr::NBSP,
            if i.resource_types > 1 { "s" } else { "" }
        ),
        "dependent": i.dependent,
        "hybridised": i.hybridised,
        "human": charts.human.bars.iter().map(|b| b.label.clone()).collect::<Vec<_>>(),
        "alliances": charts.alliances.bars.iter().map(|b| b.label.clone()).collect::<Vec<_>>(),
        "alliances_total": i.alliances,
        "charts": charts,
    })
}

/// The letter of the `n`-th anonymised association: A … Z, then AA, AB…
pub fn anonymous_letter(n: usize) -> String {
    let mut n = n;
    let mut out = Vec::new();
    loop {
        out.push((b'A' + (n % 26) as u8) as char);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.iter().rev().collect()
}

/// An order that says nothing about the association: a hash of the cohort and its id
/// (random, never shown in the mirror). Stable from one display to the next.
fn secret_rank(cohort_id: &str, association_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"cohorte-miroir\0");
    h.update(cohort_id.as_bytes());
    h.update(b"\0");
    h.update(association_id.as_bytes());
    h.finalize().into()
}

/// The mirror's rows, most dependent first, hybrid models last, not yet filled at the end;
/// plus the cohort's average and counts. Anonymised rows carry no name and no id.
pub fn mirror_view(cohort_id: &str, items: &[(Association, StoredProfile)]) -> Value {
    struct Row<'a> {
        association: &'a Association,
        rank: [u8; 32],
        indicators: Option<Indicators>,
        year: Option<i32>,
    }
    let mut rows: Vec<Row> = items
        .iter()
        .map(|(a, p)| Row {
            association: a,
            rank: secret_rank(cohort_id, &a.id),
            indicators: (p.version > 0).then(|| indicators(&p.profile)),
            year: p.profile.finances.year,
        })
        .collect();
    // Letters follow the secret order, whatever the sort below.
    rows.sort_by_key(|r| r.rank);
    let mut letters = std::collections::HashMap::new();
    for r in rows.iter().filter(|r| !r.association.mirror_named) {
        letters.insert(r.rank, anonymous_letter(letters.len()));
    }
    let filled: Vec<Indicators> = rows.iter().filter_map(|r| r.indicators.clone()).collect();
    let scales = Scales::shared(&filled);
    // Filled first; the largest single share first (dependence at the top), then fewer
    // resource types; ties in the secret order.
    rows.sort_by_key(|r| match &r.indicators {
        Some(i) => (
            0,
            std::cmp::Reverse(profile_charts::top_share(i).map_or(0, |(b, _)| b)),
            i.resource_types,
            r.rank,
        ),
        None => (1, std::cmp::Reverse(0), 0, r.rank),
    });
    let view_rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let named = r.association.mirror_named;
            let label = if named {
                r.association.name.clone()
            } else {
                format!("Association {}", letters[&r.rank])
            };
            let ind = r.indicators.as_ref().map(|i| {
                let mut v = indicators_value(i, r.year, Some(&scales));
                if !named {
                    // Among peers, a budget's size is enough to recognise an association.
                    v["total"] = Value::Null;
                }
                v
            });
            json!({
                "label": label,
                "named": named,
                "filled": ind.is_some(),
                "dependent": r.indicators.as_ref().is_some_and(|i| i.dependent),
                "hybridised": r.indicators.as_ref().is_some_and(|i| i.hybridised),
                "ind": ind,
                "chart_id": format!("r{}", n + 1),
            })
        })
        .collect();
    let count = |f: &dyn Fn(&Indicators) -> bool| filled.iter().filter(|i| f(i)).count();
    let average =
        profile_charts::average(&filled).map(|i| indicators_value(&i, None, Some(&scales)));
    json!({
        "rows": view_rows,
        "average": average,
        "counts": {
            "associations": items.len(),
            "filled": filled.len(),
            "missing": items.len() - filled.len(),
            "dependent": count(&|i| i.dependent),
            "hybridised": count(&|i| i.hybridised),
        },
    })
}

#[derive(serde::Deserialize, Default)]
struct MirrorQuery {
    #[serde(default)]
    projeter: String,
}

async fn cohort_mirror(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<MirrorQuery>,
) -> PageResult {
    let id = path.into_inner();
    let projection = matches!(q.projeter.as_str(), "1" | "oui" | "true" | "on");
    let cid = id.clone();
    let (co, items) = crate::db::run(&state.pool, move |c| {
        Ok((
            cohort::get(c, &cid)?,
            profile::list_for_cohort(c, &cid, "etat_des_lieux")?,
        ))
    })
    .await?;
    render(
        &state,
        "pages/mirror/cohort",
        json!({
            "title": format!("Miroir de la cohorte — {}", co.name),
            "nav_cohorts": true,
            "public_page": projection,
            "projection": projection,
            "cohort": {"id": co.id, "name": co.name},
            "m": mirror_view(&co.id, &items),
        }),
    )
}

async fn consent_ctx(state: &AppState, cohort_id: String) -> Result<Value, AppError> {
    let (co, associations) = crate::db::run(&state.pool, move |c| {
        Ok((
            cohort::get(c, &cohort_id)?,
            association::list_for_cohort(c, &cohort_id)?,
        ))
    })
    .await?;
    let rows: Vec<Value> = associations
        .iter()
        .map(|a| {
            let current = if a.mirror_named { "nom" } else { "anonyme" };
            json!({
                "id": a.id,
                "name": a.name,
                "named": a.mirror_named,
                "options": view::options(&CONSENT_OPTIONS, current),
            })
        })
        .collect();
    Ok(json!({
        "title": format!("Apparition dans le miroir — {}", co.name),
        "nav_cohorts": true,
        "cohort": {"id": co.id, "name": co.name},
        "associations": rows,
    }))
}

const CONSENT_OPTIONS: [(&str, &str); 2] = [("nom", "sous son nom"), ("anonyme", "anonymement")];

async fn consent_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let id = path.into_inner();
    let c = consent_ctx(&state, id).await?;
    render(&state, "pages/mirror/consent", with_notice(c, &q))
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
struct ConsentForm {
    #[serde(default)]
    mirror_named: String,
}

async fn set_consent(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(f): Form<ConsentForm>,
) -> PageResult {
    let id = path.into_inner();
    let named = match f.mirror_named.trim() {
        "nom" => Some(true),
        "anonyme" => Some(false),
        _ => None,
    };
    let Some(named) = named else {
        let aid = id.clone();
        let a = crate::db::run(&state.pool, move |c| association::get(c, &aid)).await?;
        let mut c = consent_ctx(&state, a.cohort_id).await?;
        c["error_message"] = json!(
            "Choisissez « sous son nom » ou « anonymement » pour l'apparition dans le miroir."
        );
        return render_status(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "pages/mirror/consent",
            &mut c,
        );
    };
    let a = state
        .write(move |c| profile::set_mirror_named(c, &id, named))
        .await?;
    Ok(redirect(
        &format!("/cohortes/{}/miroir/consentements", a.cohort_id),
        Some(if named {
            "miroir_nomme"
        } else {
            "miroir_anonyme"
        }),
    ))
}

/// One line of the before / target table.
fn compare_rows(before: Option<&Indicators>, after: Option<&Indicators>) -> Vec<Value> {
    type Get = fn(&Indicators) -> String;
    let lines: [(&str, Get); 12] = [
        ("Ressources de l'année", |i| i.total.clone()),
        ("Subventions publiques", |i| i.shares[0].percent.clone()),
        ("Financements privés", |i| i.shares[1].percent.clone()),
        ("Revenus d'activité", |i| i.shares[2].percent.clone()),
        ("Premier financeur (part des ressources)", |i| {
            profile_charts::top_share(i)
                .filter(|_| i.total_cents > 0)
                .map_or("—".into(), |(b, _)| percent(b))
        }),
        ("Types de ressources (sur 15)", |i| {
            i.resource_types.to_string()
        }),
        ("Dépendance à un financeur", |i| yes_no(i.dependent)),
        ("Modèle hybride", |i| yes_no(i.hybridised)),
        ("Salarié·es", |i| {
            profile_charts::fte(i.employees_fte_hundredths)
        }),
        ("Bénévoles", |i| {
            profile_charts::fte(i.volunteer_fte_hundredths)
        }),
        ("Volontaires en service civique", |i| {
            i.civic_service.to_string()
        }),
        ("Alliances stratégiques", |i| i.alliances.to_string()),
    ];
    lines
        .iter()
        .map(|(label, get)| {
            json!({
                "label": label,
                "before": before.map_or("—".into(), get),
                "after": after.map_or("—".into(), get),
            })
        })
        .collect()
}

fn yes_no(b: bool) -> String {
    if b { "oui" } else { "non" }.into()
}

/// Non-empty lines of a text, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(['-', '•', '*'])
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

fn stage_view(p: &StoredProfile, chart_id: &str) -> Value {
    json!({
        "filled": p.version > 0,
        "updated": p.updated_at.map(view::utc_long),
        "ind": indicators_view(&p.profile),
        "chart_id": chart_id,
    })
}

async fn bilan(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    let id = path.into_inner();
    let (a, co, before, after) = crate::db::run(&state.pool, move |c| {
        let a = association::get(c, &id)?;
        let co = cohort::get(c, &a.cohort_id)?;
        let before = profile::get(c, &id, "etat_des_lieux")?;
        let after = profile::get(c, &id, "cible")?;
        Ok((a, co, before, after))
    })
    .await?;
    let (bi, ai) = (
        (before.version > 0).then(|| indicators(&before.profile)),
        (after.version > 0).then(|| indicators(&after.profile)),
    );
    let r = &before.profile.reading;
    let l = &after.profile.levers;
    let target_ambition = if after.profile.reading.ambition.trim().is_empty() {
        String::new()
    } else {
        after.profile.reading.ambition.clone()
    };
    render(
        &state,
        "pages/mirror/bilan",
        json!({
            "title": format!("Bilan du modèle socio-économique — {}", a.name),
            "nav_cohorts": true,
            "cohort": {"id": co.id, "name": co.name},
            "association": {"id": a.id, "name": a.name},
            "before": stage_view(&before, "avant"),
            "after": stage_view(&after, "cible"),
            "compare": compare_rows(bi.as_ref(), ai.as_ref()),
            "reading": {
                "strengths": r.strengths,
                "fragilities": r.fragilities,
                "risks": r.risks,
                "ambition": r.ambition,
                "any": !(r.strengths.trim().is_empty() && r.fragilities.trim().is_empty()
                    && r.risks.trim().is_empty() && r.ambition.trim().is_empty()),
            },
            "target": {
                "ambition": target_ambition,
                "human": l.human,
                "financial": l.financial,
                "alliances": l.alliances,
                "actions": lines(&l.actions),
                "any": !(target_ambition.trim().is_empty() && l.human.trim().is_empty()
                    && l.financial.trim().is_empty() && l.alliances.trim().is_empty()
                    && l.actions.trim().is_empty()),
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::{Finances, Resource, ResourceAmount};

    fn dependent() -> Profile {
        Profile {
            finances: Finances {
                year: Some(2025),
                resources: [
                    (Resource::SubventionRegion, 140_000),
                    (Resource::SubventionCommune, 30_000),
                    (Resource::Cotisations, 5_000),
                    (Resource::Ventes, 25_000),
                ]
                .into_iter()
                .map(|(resource, e)| ResourceAmount {
                    resource,
                    amount_cents: e * 100,
                })
                .collect(),
                largest_funder_name: "Conseil régional <b>secret</b>".into(),
                largest_funder_cents: Some(14_000_000),
            },
            ..Profile::default()
        }
    }

    #[test]
    fn the_view_holds_figures_and_no_free_text() {
        let v = indicators_view(&dependent());
        assert_eq!(v["shares"][0]["percent"], "85\u{a0}%");
        assert_eq!(v["top"]["label"], "Premier financeur");
        assert_eq!(v["top"]["percent"], "70\u{a0}%");
        assert_eq!(v["dependent"], true);
        assert_eq!(
            v["resource_types_text"],
            "4\u{a0}types de ressources sur 15"
        );
        assert_eq!(v["year"], 2025);
        assert!(!v.to_string().contains("régional"), "no funder name");
    }

    #[test]
    fn the_partial_draws_three_pillars_with_a_text_equivalent() {
        let hb = crate::templates::build("").unwrap();
        let html = hb
            .render(
                "partials/indicators",
                &json!({"ind": indicators_view(&dependent()), "chart_id": "edl"}),
            )
            .unwrap();
        assert_eq!(html.matches("<svg").count(), 3, "{html}");
        assert_eq!(html.matches("role=\"img\"").count(), 3);
        assert!(html.contains("id=\"edl-res-t\""));
        assert!(html.contains("class=\"seg seg-public\""));
        assert!(html.contains("Premier financeur : 70\u{a0}%"));
        assert!(html.contains("dépendance"));
        assert!(html.contains("Salarié·es : 0\u{a0}ETP"));
        assert!(html.contains("De moyens : 0"));
        assert!(
            !html.contains("=\"\""),
            "every attribute has a value: {html}"
        );
        assert!(
            html.contains("y=\"34.0\" width=\"255.0\""),
            "segment geometry: {html}"
        );
        // Compact: charts only.
        let compact = hb
            .render(
                "partials/indicators",
                &json!({"ind": indicators_view(&Profile::default()), "chart_id": "r1", "compact": true}),
            )
            .unwrap();
        assert!(compact.contains("non renseignées"));
        assert!(!compact.contains("pillar-figures"));
    }
}
