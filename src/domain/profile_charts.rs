//! Geometry of the socio-economic model charts, the three pillars side by side, with no I/O
//! and no markup: [`Indicators`] in, coordinates and French labels out. Templates draw the
//! SVG from these numbers (`templates/partials/indicators.hbs`), as for `domain::charts`.
//!
//! - Ressources financières: a 100 % stacked bar (public / private / earned / other), the
//!   dependence threshold at 50 % and a marker at the largest funder's share.
//! - Richesses humaines: one bar per kind of commitment, all in full-time equivalents so
//!   that they compare (a volontaire counts [`CIVIC_SERVICE_FTE_HUNDREDTHS`], a day of
//!   mécénat de compétences [`SPONSORSHIP_DAY_HOURS`] hours).
//! - Alliances stratégiques: one bar per nature.
//!
//! Scales can be shared ([`Scales`]) so that the mirror's rows compare at a glance.

use serde::Serialize;

use crate::domain::budget::percent;
use crate::domain::fr;
use crate::domain::profile::{FTE_HOURS, Family, Indicators, Share};

/// Width of each pillar's viewBox; the three panels sit side by side.
pub const PANEL_WIDTH: f64 = 320.0;
const PAD: f64 = 10.0;
const BAR_WIDTH: f64 = PANEL_WIDTH - 2.0 * PAD;

/// One volontaire en service civique in FTE hundredths: 24 h a week (the legal minimum)
/// over 52 weeks, out of 1 607 h.
pub const CIVIC_SERVICE_FTE_HUNDREDTHS: u32 = 24 * 52 * 100 / FTE_HOURS;
/// Hours in one day of mécénat de compétences.
pub const SPONSORSHIP_DAY_HOURS: u32 = 7;

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One family's segment of the stacked bar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// `public`, `private`, `earned` or `other` (the template's class).
    pub family: &'static str,
    pub label: &'static str,
    pub percent: String,
    pub x: f64,
    pub width: f64,
    /// Centre of the segment, where its percentage is written when it fits.
    pub label_x: f64,
    pub show_label: bool,
}

/// A legend entry under the stacked bar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LegendItem {
    pub family: &'static str,
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub text_x: f64,
}

/// A vertical mark on the stacked bar with its label.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Marker {
    /// `funder` (the largest funder is known) or `type` (largest resource type instead).
    pub kind: &'static str,
    pub x: f64,
    pub label: String,
    /// Where the label starts (`text-anchor="start"`), inside the panel.
    pub label_x: f64,
}

/// Ressources financières: a 100 % stacked bar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourcesBar {
    pub width: f64,
    pub height: f64,
    pub bar_x: f64,
    pub bar_y: f64,
    pub bar_width: f64,
    pub bar_height: f64,
    /// Families with a share, left to right: public, private, earned, other.
    pub segments: Vec<Segment>,
    pub legend: Vec<LegendItem>,
    /// The largest funder's share (dependence), when there are resources.
    pub marker: Option<Marker>,
    /// The 50 % line: beyond it, one funder carries the association.
    pub threshold_x: f64,
    pub marker_top: f64,
    pub marker_bottom: f64,
    /// No resource was given: the template writes « non renseignées ».
    pub empty: bool,
    /// One French sentence for screen readers.
    pub summary: String,
}

/// One horizontal bar with its label above.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bar {
    /// Style class: `employees`, `volunteers`, `civic`, `sponsorship`, `positionnement`…
    pub class: &'static str,
    /// « Salarié·es : 3,5 ETP ».
    pub label: String,
    pub label_y: f64,
    pub y: f64,
    pub width: f64,
}

/// Bars on a shared scale (human resources, alliances).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bars {
    pub width: f64,
    pub height: f64,
    pub bar_x: f64,
    pub bar_height: f64,
    /// The whole track behind each bar (the scale's maximum).
    pub track_width: f64,
    pub bars: Vec<Bar>,
    /// What the full track stands for: « échelle : 5 ETP ».
    pub scale_label: String,
    pub empty: bool,
    pub summary: String,
}

/// The three pillars of one profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pillars {
    pub resources: ResourcesBar,
    pub human: Bars,
    pub alliances: Bars,
}

/// Maxima shared by several profiles' charts (the mirror), so that bars compare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scales {
    /// Human resources, in FTE hundredths.
    pub human_fte_hundredths: u32,
    /// Alliances of one nature.
    pub alliances: usize,
}

impl Scales {
    /// The largest values among `items`, so that every row uses the same scale.
    pub fn shared<'a>(items: impl IntoIterator<Item = &'a Indicators>) -> Scales {
        items.into_iter().fold(Scales::default(), |s, i| Scales {
            human_fte_hundredths: s
                .human_fte_hundredths
                .max(human_values(i).into_iter().max().unwrap_or(0)),
            alliances: s.alliances.max(
                i.alliances_by_nature
                    .iter()
                    .map(|(_, n)| *n)
                    .max()
                    .unwrap_or(0),
            ),
        })
    }
}

fn family_code(f: Family) -> &'static str {
    match f {
        Family::Public => "public",
        Family::Private => "private",
        Family::Earned => "earned",
        Family::Other => "other",
    }
}

/// The largest funder's share, or the largest resource type's when no funder is given.
pub fn top_share(i: &Indicators) -> Option<(u32, &'static str)> {
    i.largest_funder_bp
        .map(|b| (b, "funder"))
        .or(i.largest_type.map(|(_, b)| (b, "type")))
}

/// The stacked bar of resources.
pub fn resources(i: &Indicators) -> ResourcesBar {
    let (bar_x, bar_y, bar_height) = (PAD, 34.0, 36.0);
    let shown: Vec<&Share> = i.shares.iter().filter(|s| s.bp > 0).collect();
    // Normalise by the shares' own sum, so that rounding never leaves a gap or overflows.
    let sum: u32 = shown.iter().map(|s| s.bp).sum();
    let empty = i.total_cents <= 0 || sum == 0;
    let mut segments = Vec::new();
    if !empty {
        let mut cumulative = 0u32;
        for s in &shown {
            let x = round1(bar_x + BAR_WIDTH * f64::from(cumulative) / f64::from(sum));
            cumulative += s.bp;
            let end = round1(bar_x + BAR_WIDTH * f64::from(cumulative) / f64::from(sum));
            let width = round1(end - x);
            segments.push(Segment {
                family: family_code(s.family),
                label: s.label,
                percent: s.percent.clone(),
                x,
                width,
                label_x: round1(x + width / 2.0),
                // « 12,5 % » needs about 44 units at the chart's font size.
                show_label: width >= 44.0,
            });
        }
    }
    let legend = i
        .shares
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let (col, row) = ((n % 2) as f64, (n / 2) as f64);
            // The first column holds the longer « Revenus d'activité ».
            let x = bar_x + col * 196.0;
            let y = bar_y + bar_height + 22.0 + row * 20.0;
            LegendItem {
                family: family_code(s.family),
                label: format!("{} {}", short_family_label(s.family), s.percent),
                x,
                y,
                text_x: x + 16.0,
            }
        })
        .collect();
    let marker = top_share(i).filter(|_| !empty).map(|(b, kind)| {
        let x = round1(bar_x + BAR_WIDTH * f64::from(b.min(10_000)) / 10_000.0);
        let what = if kind == "funder" {
            "Premier financeur"
        } else {
            "Première ressource"
        };
        let label = format!("{what} : {}", percent(b));
        // Centred on the mark, but kept inside the panel (bold 12,5 px ≈ 7,2 units a letter).
        let w = label.chars().count() as f64 * 7.2;
        Marker {
            kind,
            x,
            label_x: round1((x - w / 2.0).clamp(2.0, (PANEL_WIDTH - 2.0 - w).max(2.0))),
            label,
        }
    });
    let summary = if empty {
        "Ressources financières non renseignées.".to_string()
    } else {
        let parts: Vec<String> = i
            .shares
            .iter()
            .map(|s| format!("{} {}", s.label.to_lowercase(), s.percent))
            .collect();
        // No amount: the mirror shows this sentence for anonymised associations too, and a
        // budget is easy to recognise among peers.
        let mut text = format!("{}.", capitalise(&parts.join(", ")));
        if let Some(m) = &marker {
            text.push_str(&format!(" {} des ressources.", m.label));
        }
        text
    };
    ResourcesBar {
        width: PANEL_WIDTH,
        height: bar_y + bar_height + 22.0 + 2.0 * 20.0,
        bar_x,
        bar_y,
        bar_width: BAR_WIDTH,
        bar_height,
        segments,
        legend,
        marker,
        threshold_x: round1(bar_x + BAR_WIDTH / 2.0),
        marker_top: bar_y - 8.0,
        marker_bottom: bar_y + bar_height + 6.0,
        empty,
        summary,
    }
}

fn short_family_label(f: Family) -> &'static str {
    match f {
        Family::Public => "Public",
        Family::Private => "Privé",
        Family::Earned => "Revenus d'activité",
        Family::Other => "Autres",
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Employees, volunteers, civic service and skills sponsorship, in FTE hundredths.
fn human_values(i: &Indicators) -> [u32; 4] {
    [
        i.employees_fte_hundredths,
        i.volunteer_fte_hundredths,
        i.civic_service * CIVIC_SERVICE_FTE_HUNDREDTHS,
        i.skills_sponsorship_days * SPONSORSHIP_DAY_HOURS * 100 / FTE_HOURS,
    ]
}

/// « 3,5 ETP », « 2 ETP », « 0,25 ETP ».
pub fn fte(hundredths: u32) -> String {
    let mut n = fr::decimal(f64::from(hundredths) / 100.0, 2);
    if n.contains(',') {
        n = n.trim_end_matches('0').trim_end_matches(',').to_string();
    }
    format!("{n}{}ETP", fr::NBSP)
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n}{}{}", fr::NBSP, if n > 1 { many } else { one })
}

/// Rows of horizontal bars: each row a label line and a bar under it.
fn bars(rows: Vec<(&'static str, String, f64)>, max: f64, scale_label: String) -> Bars {
    const ROW: f64 = 36.0;
    let bar_height = 12.0;
    let empty = rows.iter().all(|(_, _, v)| *v <= 0.0);
    let max = if max > 0.0 { max } else { 1.0 };
    let summary = rows
        .iter()
        .map(|(_, label, _)| label.clone())
        .collect::<Vec<_>>()
        .join(" ; ")
        + ".";
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(n, (class, label, value))| {
            let top = 6.0 + n as f64 * ROW;
            Bar {
                class,
                label,
                label_y: top + 12.0,
                y: top + 18.0,
                width: round1(BAR_WIDTH * (value / max).clamp(0.0, 1.0)),
            }
        })
        .collect::<Vec<_>>();
    Bars {
        width: PANEL_WIDTH,
        height: 6.0 + bars.len() as f64 * ROW + 4.0,
        bar_x: PAD,
        bar_height,
        track_width: BAR_WIDTH,
        bars,
        scale_label,
        empty,
        summary,
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `v` (at least 1).
fn nice_ceiling(v: u32) -> u32 {
    let mut base = 1u32;
    loop {
        for m in [1, 2, 5] {
            if m * base >= v {
                return m * base;
            }
        }
        base = base.saturating_mul(10);
    }
}

/// Richesses humaines in FTE on one scale: the profile's own largest value, or `scale`'s.
pub fn human(i: &Indicators, scale: Option<&Scales>) -> Bars {
    let values = human_values(i);
    let own = values.into_iter().max().unwrap_or(0);
    // Scales in whole FTE (hundredths rounded up to a 1-2-5 step of whole units).
    let max = scale.map_or(own, |s| s.human_fte_hundredths.max(own));
    let max_units = nice_ceiling(max.div_ceil(100).max(1));
    let rows = vec![
        (
            "employees",
            format!("Salarié·es : {}", fte(values[0])),
            f64::from(values[0]),
        ),
        (
            "volunteers",
            format!("Bénévoles : {}", fte(values[1])),
            f64::from(values[1]),
        ),
        (
            "civic",
            format!(
                "Service civique : {}",
                plural(i.civic_service, "volontaire", "volontaires")
            ),
            f64::from(values[2]),
        ),
        (
            "sponsorship",
            format!(
                "Mécénat de compétences : {}",
                plural(i.skills_sponsorship_days, "jour", "jours")
            ),
            f64::from(values[3]),
        ),
    ];
    let mut b = bars(
        rows,
        f64::from(max_units * 100),
        format!(
            "Échelle : une barre entière représente {} (équivalents temps plein)",
            fte(max_units * 100)
        ),
    );
    if b.empty {
        b.summary = "Richesses humaines non renseignées.".into();
    }
    b
}

/// Alliances stratégiques by nature on one scale.
pub fn alliances(i: &Indicators, scale: Option<&Scales>) -> Bars {
    let own = i
        .alliances_by_nature
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0);
    let max = scale.map_or(own, |s| s.alliances.max(own)).max(1);
    const CLASSES: [&str; 3] = ["positionnement", "production", "moyens"];
    let rows = i
        .alliances_by_nature
        .iter()
        .enumerate()
        .map(|(n, (label, count))| {
            (
                CLASSES.get(n).copied().unwrap_or("moyens"),
                format!("{label} : {count}"),
                *count as f64,
            )
        })
        .collect();
    let mut b = bars(
        rows,
        max as f64,
        format!(
            "Échelle : une barre entière représente {}",
            plural(max as u32, "alliance", "alliances")
        ),
    );
    if b.empty {
        b.summary = "Aucune alliance stratégique renseignée.".into();
    } else {
        b.summary = format!("Alliances par nature : {}", b.summary);
    }
    b
}

/// The three pillars of one profile, on its own scales or on shared ones.
pub fn pillars(i: &Indicators, scale: Option<&Scales>) -> Pillars {
    Pillars {
        resources: resources(i),
        human: human(i, scale),
        alliances: alliances(i, scale),
    }
}

/// The cohort's average profile (the mirror's last row): the mean of each share, of the
/// largest funder's share, of resource types, FTE and alliances. `None` for no profile.
/// The average is never flagged dependent or hybridised: those describe one association.
pub fn average(items: &[Indicators]) -> Option<Indicators> {
    let first = items.first()?;
    let n = items.len();
    let mean = |f: &dyn Fn(&Indicators) -> u64| -> u64 {
        let sum: u64 = items.iter().map(f).sum();
        (sum + n as u64 / 2) / n as u64
    };
    let with_money: Vec<&Indicators> = items.iter().filter(|i| i.total_cents > 0).collect();
    let shares = first
        .shares
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let bp = if with_money.is_empty() {
                0
            } else {
                let sum: u64 = with_money
                    .iter()
                    .map(|i| u64::from(i.shares.get(k).map_or(0, |s| s.bp)))
                    .sum();
                ((sum + with_money.len() as u64 / 2) / with_money.len() as u64) as u32
            };
            Share {
                family: s.family,
                label: s.label,
                cents: 0,
                bp,
                percent: percent(bp),
            }
        })
        .collect();
    let tops: Vec<u32> = with_money
        .iter()
        .filter_map(|i| top_share(i).map(|(b, _)| b))
        .collect();
    let total_cents = if with_money.is_empty() {
        0
    } else {
        with_money.iter().map(|i| i.total_cents).sum::<i64>() / with_money.len() as i64
    };
    let resource_types = if with_money.is_empty() {
        0
    } else {
        (with_money.iter().map(|i| i.resource_types).sum::<usize>() + with_money.len() / 2)
            / with_money.len()
    };
    Some(Indicators {
        total_cents,
        total: fr::euros_cents(total_cents),
        shares,
        largest_funder_bp: (!tops.is_empty())
            .then(|| (tops.iter().map(|b| u64::from(*b)).sum::<u64>() / tops.len() as u64) as u32),
        largest_type: None,
        resource_types,
        significant_families: 0,
        dependent: false,
        hybridised: false,
        employees_fte_hundredths: mean(&|i| u64::from(i.employees_fte_hundredths)) as u32,
        volunteer_fte_hundredths: mean(&|i| u64::from(i.volunteer_fte_hundredths)) as u32,
        civic_service: mean(&|i| u64::from(i.civic_service)) as u32,
        skills_sponsorship_days: mean(&|i| u64::from(i.skills_sponsorship_days)) as u32,
        alliances_by_nature: first
            .alliances_by_nature
            .iter()
            .enumerate()
            .map(|(k, (label, _))| {
                let sum: usize = items
                    .iter()
                    .map(|i| i.alliances_by_nature.get(k).map_or(0, |(_, c)| *c))
                    .sum();
                (label.clone(), (sum + n / 2) / n)
            })
            .collect(),
        alliances: (items.iter().map(|i| i.alliances).sum::<usize>() + n / 2) / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::{
        Alliance, Finances, Human, Profile, Resource, ResourceAmount, indicators,
    };

    fn profile(lines: &[(Resource, i64)], largest: Option<i64>) -> Profile {
        Profile {
            finances: Finances {
                year: Some(2025),
                resources: lines
                    .iter()
                    .map(|(r, e)| ResourceAmount {
                        resource: *r,
                        amount_cents: e * 100,
                    })
                    .collect(),
                largest_funder_name: largest.map(|_| "Région".into()).unwrap_or_default(),
                largest_funder_cents: largest.map(|e| e * 100),
            },
            ..Profile::default()
        }
    }

    fn dependent() -> Indicators {
        indicators(&profile(
            &[
                (Resource::SubventionRegion, 140_000),
                (Resource::SubventionCommune, 30_000),
                (Resource::Cotisations, 5_000),
                (Resource::Ventes, 25_000),
            ],
            Some(140_000),
        ))
    }

    #[test]
    fn the_stacked_bar_fills_exactly_the_bar_in_family_order() {
        let r = resources(&dependent());
        let families: Vec<&str> = r.segments.iter().map(|s| s.family).collect();
        assert_eq!(
            families,
            ["public", "private", "earned"],
            "no empty segment"
        );
        assert_eq!(r.segments[0].x, r.bar_x);
        let last = r.segments.last().unwrap();
        assert!((last.x + last.width - (r.bar_x + r.bar_width)).abs() < 0.11);
        for w in r.segments.windows(2) {
            assert!((w[0].x + w[0].width - w[1].x).abs() < 0.11, "no gap");
        }
        // 85 % public: 255 of 300 units.
        assert!((r.segments[0].width - 255.0).abs() < 0.11);
        assert!(
            r.segments[0].show_label && !r.segments[1].show_label,
            "2,5 % is too thin"
        );
        assert_eq!(r.segments[0].percent, "85\u{a0}%");
        assert!(!r.empty);
    }

    #[test]
    fn the_largest_funder_marker_sits_at_its_share_beyond_the_threshold() {
        let r = resources(&dependent());
        let m = r.marker.unwrap();
        assert_eq!(m.kind, "funder");
        assert_eq!(m.x, 10.0 + 300.0 * 0.7);
        assert!(m.x > r.threshold_x, "70 % is beyond the 50 % line");
        // Centred on the mark: 24 letters, about 173 units wide.
        assert!((m.label_x - (m.x - 86.4)).abs() < 0.11, "{}", m.label_x);
        assert_eq!(m.label, "Premier financeur : 70\u{a0}%");
        assert!(
            r.summary.contains("Subventions publiques 85\u{a0}%"),
            "{}",
            r.summary
        );
        assert!(
            r.summary
                .ends_with("Premier financeur : 70\u{a0}% des ressources.")
        );
    }

    #[test]
    fn without_a_named_funder_the_marker_shows_the_largest_type() {
        let i = indicators(&profile(
            &[(Resource::Prestations, 30_000), (Resource::Ventes, 10_000)],
            None,
        ));
        let m = resources(&i).marker.unwrap();
        assert_eq!(m.kind, "type");
        assert_eq!(m.label, "Première ressource : 75\u{a0}%");
        // Near the right edge the label moves left to stay inside the panel.
        assert!(
            m.label_x + 25.0 * 7.2 <= PANEL_WIDTH - 2.0 + 0.11,
            "{}",
            m.label_x
        );
        assert_eq!(top_share(&i), Some((7_500, "type")));
    }

    #[test]
    fn an_empty_profile_draws_empty_panels_without_marker() {
        let p = pillars(&indicators(&Profile::default()), None);
        assert!(p.resources.empty && p.resources.segments.is_empty());
        assert_eq!(p.resources.marker, None);
        assert_eq!(
            p.resources.legend.len(),
            4,
            "the legend still explains colours"
        );
        assert!(p.human.empty && p.alliances.empty);
        assert!(p.human.bars.iter().all(|b| b.width == 0.0));
        assert_eq!(
            p.alliances.summary,
            "Aucune alliance stratégique renseignée."
        );
    }

    #[test]
    fn human_resources_compare_in_fte_on_one_scale() {
        let i = indicators(&Profile {
            human: Human {
                employees: Some(4),
                employees_fte_hundredths: Some(350),
                volunteers: Some(25),
                volunteer_hours: Some(3_214),
                civic_service: Some(2),
                skills_sponsorship_days: Some(6),
            },
            ..Profile::default()
        });
        let h = human(&i, None);
        let labels: Vec<&str> = h.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Salarié·es : 3,5\u{a0}ETP",
                "Bénévoles : 2\u{a0}ETP",
                "Service civique : 2\u{a0}volontaires",
                "Mécénat de compétences : 6\u{a0}jours"
            ]
        );
        // Scale: 3,5 ETP rounds up to 5 ETP.
        assert_eq!(
            h.scale_label,
            "Échelle : une barre entière représente 5\u{a0}ETP (équivalents temps plein)"
        );
        assert_eq!(h.bars[0].width, 300.0 * 0.7);
        assert_eq!(h.bars[1].width, 300.0 * 0.4);
        // Two volontaires ≈ 1,54 ETP; six days of 7 h ≈ 0,02 ETP.
        assert_eq!(CIVIC_SERVICE_FTE_HUNDREDTHS, 77);
        assert!((h.bars[2].width - 300.0 * 1.54 / 5.0).abs() < 0.11);
        assert!((h.bars[3].width - 300.0 * 0.02 / 5.0).abs() < 0.11);
        let ys: Vec<f64> = h.bars.iter().map(|b| b.y).collect();
        assert!(ys.windows(2).all(|w| w[0] < w[1]));
        assert!(h.bars.last().unwrap().y + h.bar_height <= h.height);
    }

    #[test]
    fn shared_scales_make_rows_comparable() {
        let small = indicators(&Profile {
            human: Human {
                employees: Some(1),
                employees_fte_hundredths: Some(100),
                ..Human::default()
            },
            alliances: vec![Alliance {
                partner: "Mairie".into(),
                actor_kind: "collectivite".into(),
                nature: "moyens".into(),
            }],
            ..Profile::default()
        });
        let big = indicators(&Profile {
            human: Human {
                employees: Some(12),
                employees_fte_hundredths: Some(1_000),
                ..Human::default()
            },
            alliances: (0..4)
                .map(|_| Alliance {
                    partner: "P".into(),
                    actor_kind: "entreprise".into(),
                    nature: "production".into(),
                })
                .collect(),
            ..Profile::default()
        });
        let scales = Scales::shared([&small, &big]);
        assert_eq!(
            scales,
            Scales {
                human_fte_hundredths: 1_000,
                alliances: 4
            }
        );
        // Alone, one ETP fills the bar; beside ten, a tenth of it.
        assert_eq!(human(&small, None).bars[0].width, 300.0);
        assert_eq!(human(&small, Some(&scales)).bars[0].width, 30.0);
        let a = alliances(&small, Some(&scales));
        assert_eq!(a.bars[2].width, 75.0, "1 of 4");
        assert_eq!(a.bars[2].label, "De moyens : 1");
        assert_eq!(
            a.scale_label,
            "Échelle : une barre entière représente 4\u{a0}alliances"
        );
        assert_eq!(alliances(&small, None).bars[2].width, 300.0);
    }

    #[test]
    fn the_average_profile_means_each_indicator_and_flags_nothing() {
        let dep = dependent();
        let other = indicators(&profile(
            &[(Resource::Prestations, 50_000), (Resource::Ventes, 50_000)],
            Some(30_000),
        ));
        let empty = indicators(&Profile::default());
        let avg = average(&[dep, other, empty]).unwrap();
        // Public: (85 % + 0) / 2 among those with resources; earned (12,5 % + 100 %) / 2.
        assert_eq!(avg.shares[0].bp, 4_250);
        assert_eq!(avg.shares[2].bp, 5_625);
        assert_eq!(avg.shares[2].percent, "56,25\u{a0}%");
        assert_eq!(avg.largest_funder_bp, Some(5_000), "(70 % + 30 %) / 2");
        assert_eq!(avg.resource_types, 3);
        assert!(!avg.dependent && !avg.hybridised);
        assert_eq!(average(&[]), None);
    }

    #[test]
    fn fte_figures_drop_useless_decimals() {
        assert_eq!(fte(350), "3,5\u{a0}ETP");
        assert_eq!(fte(200), "2\u{a0}ETP");
        assert_eq!(fte(25), "0,25\u{a0}ETP");
        assert_eq!(fte(0), "0\u{a0}ETP");
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(4), 5);
        assert_eq!(nice_ceiling(11), 20);
    }
}
