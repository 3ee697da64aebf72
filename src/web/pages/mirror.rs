//! Indicators of a profile (three pillars, SVG), the cohort mirror (named or anonymised,
//! projectable) and the bilan page comparing the état des lieux with the target model.
//!
//! [`indicators_view`] is the one value `templates/partials/indicators.hbs` draws; it holds
//! figures and chart geometry only, never free text (no funder or partner name, no reading),
//! so that the mirror can show it for an anonymised association without revealing it.

use actix_web::web;
use serde_json::{Value, json};

use crate::domain::profile::{Indicators, Profile, indicators};
use crate::domain::profile_charts::{self, Scales};

pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// French sentences of this module's notice codes.
pub fn notice_text(_code: &str) -> Option<&'static str> {
    None
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
