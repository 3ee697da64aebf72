//! Consultant budget arithmetic of a cohort (issue #4): consultant days and
//! their cost, the split of that cost between funders (DLAs and co-funders),
//! planned / logged / remaining time per kind, the contract warnings of
//! source 003, and the director's mobilisation against the 4–6 days guidance.
//!
//! No floating point touches a stored figure:
//!
//! - money is in **euro cents** (`i64`);
//! - shares are in **basis points** (`u32`, 10 000 = 100 %);
//! - contracted and planned time is in **half-days** (`i64`), the unit of the
//!   contract and of the feuille d'émargement;
//! - time entered in hours is kept in **minutes** (`i64`).
//!
//! Half-days and minutes meet through a [`DayLength`] (7 h by default: the
//! usual consultant day, 35 h / 5). The ledger always sums exact minutes; a
//! duration is rounded only when it is shown, once, to **one decimal of a
//! day** (half away from zero). Rounding each entry instead (say, to the
//! quarter-day) would drift: ten one-hour entries are 1,4 day at 7 h, not the
//! 2,5 days that ten quarter-days would make. One decimal (42 minutes at 7 h)
//! is as precise as a day count needs to be on a dashboard; two would suggest
//! a precision nobody logs with. Comparisons against the contract use the
//! exact minutes, never the rounded figure.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::domain::Warning;
use crate::domain::fr::{self, NBSP};
use crate::domain::programme::{ProgrammeTemplate, SessionKind};

/// 100 % in basis points.
pub const FULL_SHARE_BP: u32 = 10_000;
/// Group size that the source 003 day figures refer to.
pub const REFERENCE_ASSOCIATIONS: u32 = 8;
/// Minimum consultant days for [`REFERENCE_ASSOCIATIONS`] (source 003: under
/// 10 days, the accompaniment was not conclusive).
pub const MIN_DAYS_FOR_REFERENCE: i64 = 10;
/// Default contracted consultant days for [`REFERENCE_ASSOCIATIONS`].
pub const DEFAULT_DAYS_FOR_REFERENCE: i64 = 12;
/// Lower bound of the director's mobilisation guidance, in days.
pub const MOBILISATION_MIN_DAYS: i64 = 4;
/// Upper bound of the director's mobilisation guidance, in days.
pub const MOBILISATION_MAX_DAYS: i64 = 6;
/// Largest contract accepted: 200 days.
pub const MAX_CONTRACT_HALF_DAYS: i64 = 400;
/// Largest day rate accepted: 10 000,00 € (guards against a misplaced comma).
pub const MAX_DAY_RATE_CENTS: i64 = 1_000_000;

/// Integer division rounding half away from zero (`d > 0`).
fn div_round(n: i128, d: i128) -> i128 {
    let q = (2 * n.abs() + d) / (2 * d);
    if n < 0 { -q } else { q }
}

/// Clamps an `i128` back into `i64` (only reachable with unvalidated input).
fn to_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

// ---- day length -------------------------------------------------------------

/// How many minutes make one consultant day: the rate at which hours entered
/// in a time entry are converted to days. Between 1 h and 12 h, an even number
/// of minutes so that a half-day is a whole number of minutes.
///
/// Serialised as its number of minutes (e.g. `420`); deserialising validates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct DayLength {
    minutes: i64,
}

impl DayLength {
    /// 7 h: the usual consultant day.
    pub const STANDARD: DayLength = DayLength { minutes: 7 * 60 };

    /// A day of `minutes` minutes; French message when out of range or odd.
    pub fn from_minutes(minutes: i64) -> Result<Self, String> {
        if !(60..=720).contains(&minutes) {
            return Err("La durée d'une journée doit être comprise entre 1 h et 12 h.".to_owned());
        }
        if minutes % 2 != 0 {
            return Err(
                "La durée d'une journée doit être un nombre pair de minutes (pour des demi-journées entières)."
                    .to_owned(),
            );
        }
        Ok(DayLength { minutes })
    }

    /// Minutes in one day (420 for 7 h).
    pub fn minutes(self) -> i64 {
        self.minutes
    }

    /// Minutes in one half-day (210 for 7 h).
    pub fn half_day_minutes(self) -> i64 {
        self.minutes / 2
    }

    /// Exact minutes of `half_days` half-days.
    pub fn half_days_to_minutes(self, half_days: i64) -> i64 {
        to_i64(i128::from(half_days) * i128::from(self.half_day_minutes()))
    }

    /// Minutes expressed in tenths of a day, rounded half away from zero:
    /// at 7 h, 60 min → 1 (0,1 day: 1/7 = 0,142…), 105 min → 3 (0,25 → 0,3),
    /// 420 min → 10.
    pub fn tenths_of_day(self, minutes: i64) -> i64 {
        to_i64(div_round(
            i128::from(minutes) * 10,
            i128::from(self.minutes),
        ))
    }

    /// Minutes shown in days with at most one decimal: "1,4 jour", "12 jours".
    pub fn format_days(self, minutes: i64) -> String {
        fr::days(self.tenths_of_day(minutes) as f64 / 10.0)
    }
}

impl Default for DayLength {
    fn default() -> Self {
        DayLength::STANDARD
    }
}

impl TryFrom<i64> for DayLength {
    type Error = String;
    fn try_from(minutes: i64) -> Result<Self, String> {
        DayLength::from_minutes(minutes)
    }
}

impl From<DayLength> for i64 {
    fn from(d: DayLength) -> i64 {
        d.minutes
    }
}

/// Parses a duration typed in hours into minutes: "3", "3,5", "3.25", "3 h",
/// "3h30", "3 h 05", "0h45". Decimal hours are rounded to the nearest minute
/// (half away from zero; at most two decimals). `None` when unreadable,
/// negative, or with minutes ≥ 60.
pub fn parse_hours(input: &str) -> Option<i64> {
    let s: String = input
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.is_empty() {
        return None;
    }
    if let Some((h, m)) = s.split_once('h') {
        let hours: i64 = parse_digits(h)?;
        let minutes: i64 = if m.is_empty() { 0 } else { parse_digits(m)? };
        if minutes >= 60 || (m.len() != 2 && !m.is_empty()) {
            return None;
        }
        return hours.checked_mul(60)?.checked_add(minutes);
    }
    let hundredths = parse_hundredths(&s)?;
    // hundredths of an hour × 60 / 100 = minutes.
    Some(to_i64(div_round(i128::from(hundredths) * 60, 100)))
}

fn parse_digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// "33,33" / "33.3" / "50" → hundredths (3333 / 3330 / 5000).
fn parse_hundredths(s: &str) -> Option<i64> {
    let s = s.replace(',', ".");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if frac.len() > 2 || (frac.is_empty() && s.ends_with('.')) {
        return None;
    }
    let int = parse_digits(int)?;
    let frac = if frac.is_empty() {
        0
    } else {
        let f = parse_digits(frac)?;
        if frac.len() == 1 { f * 10 } else { f }
    };
    int.checked_mul(100)?.checked_add(frac)
}

// ---- time kinds and amounts ------------------------------------------------

/// What a piece of consultant time was spent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeKind {
    AnimationCollective,
    Preparation,
    AppuiIndividuel,
    BilanIndividuel,
    Coordination,
    Deplacement,
}

impl TimeKind {
    pub const ALL: [TimeKind; 6] = [
        TimeKind::AnimationCollective,
        TimeKind::Preparation,
        TimeKind::AppuiIndividuel,
        TimeKind::BilanIndividuel,
        TimeKind::Coordination,
        TimeKind::Deplacement,
    ];

    /// Stable identifier: "animation_collective", "preparation",
    /// "appui_individuel", "bilan_individuel", "coordination", "deplacement".
    pub fn as_str(self) -> &'static str {
        match self {
            TimeKind::AnimationCollective => "animation_collective",
            TimeKind::Preparation => "preparation",
            TimeKind::AppuiIndividuel => "appui_individuel",
            TimeKind::BilanIndividuel => "bilan_individuel",
            TimeKind::Coordination => "coordination",
            TimeKind::Deplacement => "deplacement",
        }
    }

    /// Inverse of [`TimeKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        TimeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// French label.
    pub fn label(self) -> &'static str {
        match self {
            TimeKind::AnimationCollective => "Animation collective",
            TimeKind::Preparation => "Préparation",
            TimeKind::AppuiIndividuel => "Appui individuel",
            TimeKind::BilanIndividuel => "Bilan individuel",
            TimeKind::Coordination => "Coordination",
            TimeKind::Deplacement => "Déplacement",
        }
    }

    /// The kind of consultant time a programme session plans: animation for
    /// the three collective sessions, bilan individuel for the bilans.
    pub fn for_session(kind: SessionKind) -> Self {
        if kind.is_collective() {
            TimeKind::AnimationCollective
        } else {
            TimeKind::BilanIndividuel
        }
    }
}

impl fmt::Display for TimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A duration as entered: in half-days, or in minutes when typed in hours.
/// Serialised as `{"half_days": 1}` or `{"minutes": 90}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeAmount {
    HalfDays(i64),
    Minutes(i64),
}

impl TimeAmount {
    /// Exact minutes at the given day length.
    pub fn to_minutes(self, day: DayLength) -> i64 {
        match self {
            TimeAmount::HalfDays(n) => day.half_days_to_minutes(n),
            TimeAmount::Minutes(m) => m,
        }
    }

    /// Checks one time entry's duration (one entry is one date): 1 or 2
    /// half-days, or 1 minute to 24 h.
    pub fn validate(self) -> Result<(), String> {
        match self {
            TimeAmount::HalfDays(1 | 2) => Ok(()),
            TimeAmount::HalfDays(_) => {
                Err("Une saisie compte une ou deux demi-journées.".to_owned())
            }
            TimeAmount::Minutes(1..=1440) => Ok(()),
            TimeAmount::Minutes(_) => {
                Err("La durée doit être comprise entre 1 minute et 24 h.".to_owned())
            }
        }
    }
}

// ---- contract ---------------------------------------------------------------

/// Minimum consultant half-days for a group of `associations`: 10 days for
/// 8 associations, prorated (10 × n / 8 days) and rounded **up** to the
/// half-day, so the minimum is never under the source's ratio: 8 → 10 days,
/// 6 → 7,5, 4 → 5, 3 → 4 (3,75 rounded up), 1 → 1,5 (1,25 rounded up).
/// Beyond 8 the same ratio applies. 0 associations gives 0 (no minimum yet).
pub fn minimum_half_days(associations: u32) -> i64 {
    prorated_half_days(MIN_DAYS_FOR_REFERENCE, associations)
}

/// Default contracted half-days for a group of `associations`: 12 days for 8,
/// prorated the same way (3 half-days per association): 4 → 6 days.
pub fn default_half_days(associations: u32) -> i64 {
    prorated_half_days(DEFAULT_DAYS_FOR_REFERENCE, associations)
}

/// ceil(days × 2 × n / 8) half-days.
fn prorated_half_days(days_for_reference: i64, associations: u32) -> i64 {
    let num = days_for_reference * 2 * i64::from(associations);
    let den = i64::from(REFERENCE_ASSOCIATIONS);
    (num + den - 1) / den
}

/// The consultant's contract for a cohort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Contracted consultant time, in half-days (24 = 12 days).
    pub contracted_half_days: i64,
    /// Price of one consultant day, in cents (65 000 = 650,00 €).
    pub day_rate_cents: i64,
    /// Length of a consultant day, for time entered in hours.
    pub day_length: DayLength,
}

impl Contract {
    /// The default contract for `associations` (see [`default_half_days`]),
    /// at the given day rate and a 7 h day.
    pub fn default_for(associations: u32, day_rate_cents: i64) -> Self {
        Contract {
            contracted_half_days: default_half_days(associations),
            day_rate_cents,
            day_length: DayLength::STANDARD,
        }
    }

    /// Checks the contract; on failure every problem as (field, French message).
    pub fn validate(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors = Vec::new();
        if !(1..=MAX_CONTRACT_HALF_DAYS).contains(&self.contracted_half_days) {
            errors.push((
                "contracted_half_days".to_owned(),
                format!(
                    "Le nombre de jours contractés doit être compris entre 0,5 et {} jours.",
                    MAX_CONTRACT_HALF_DAYS / 2
                ),
            ));
        }
        if !(1..=MAX_DAY_RATE_CENTS).contains(&self.day_rate_cents) {
            errors.push((
                "day_rate_cents".to_owned(),
                format!(
                    "Le prix de journée doit être compris entre 0,01{NBSP}€ et {}.",
                    fr::euros_cents(MAX_DAY_RATE_CENTS)
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Contracted time in exact minutes.
    pub fn contracted_minutes(&self) -> i64 {
        self.day_length
            .half_days_to_minutes(self.contracted_half_days)
    }

    /// Total cost: days × day rate. Exact for whole days; for an odd number
    /// of half-days at an odd number of cents the half cent is rounded up
    /// (half away from zero), e.g. 0,5 day at 650,01 € = 325,01 €.
    pub fn cost_cents(&self) -> i64 {
        to_i64(div_round(
            i128::from(self.contracted_half_days) * i128::from(self.day_rate_cents),
            2,
        ))
    }
}

// ---- funders ----------------------------------------------------------------

/// A funder of the consultant's cost: a DLA or a co-funder, with its share in
/// basis points (3 333 = 33,33 %).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funder {
    pub name: String,
    pub share_bp: u32,
}

/// A share in basis points shown in French: 5000 → "50 %", 3333 → "33,33 %",
/// 1250 → "12,5 %" (no-break space before "%").
pub fn percent(bp: u32) -> String {
    let (int, frac) = (bp / 100, bp % 100);
    match frac {
        0 => format!("{int}{NBSP}%"),
        f if f.is_multiple_of(10) => format!("{int},{}{NBSP}%", f / 10),
        f => format!("{int},{f:02}{NBSP}%"),
    }
}

/// Parses a percentage typed in French or English notation into basis points:
/// "50" → 5000, "33,33" → 3333, "12.5 %" → 1250. At most two decimals.
pub fn parse_percent(input: &str) -> Option<u32> {
    let s: String = input
        .trim()
        .trim_end_matches('%')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    u32::try_from(parse_hundredths(&s)?).ok()
}

/// Checks a list of funders: at least one, each named once, each share above
/// 0, shares summing to exactly 100 %. Errors as (field, French message) with
/// fields "funders", "funders[i].name", "funders[i].share_bp".
pub fn validate_funders(funders: &[Funder]) -> Result<(), Vec<(String, String)>> {
    let mut errors = Vec::new();
    if funders.is_empty() {
        errors.push((
            "funders".to_owned(),
            "Indiquez au moins un financeur (le DLA ou un cofinanceur).".to_owned(),
        ));
        return Err(errors);
    }
    for (i, f) in funders.iter().enumerate() {
        let name = f.name.trim();
        if name.is_empty() {
            errors.push((
                format!("funders[{i}].name"),
                "Indiquez le nom du financeur.".to_owned(),
            ));
        } else if funders[..i]
            .iter()
            .any(|g| g.name.trim().eq_ignore_ascii_case(name))
        {
            errors.push((
                format!("funders[{i}].name"),
                format!("« {name} » figure déjà dans la liste des financeurs."),
            ));
        }
        if f.share_bp == 0 {
            errors.push((
                format!("funders[{i}].share_bp"),
                format!("La part d'un financeur doit être supérieure à 0{NBSP}%."),
            ));
        }
    }
    let sum = share_sum(funders);
    if sum != u64::from(FULL_SHARE_BP) {
        errors.push((
            "funders".to_owned(),
            format!(
                "Les parts des financeurs totalisent {} : elles doivent totaliser exactement 100{NBSP}%.",
                percent_u64(sum)
            ),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn share_sum(funders: &[Funder]) -> u64 {
    funders.iter().map(|f| u64::from(f.share_bp)).sum()
}

fn percent_u64(bp: u64) -> String {
    percent(u32::try_from(bp).unwrap_or(u32::MAX))
}

/// Splits `total_cents` in proportion to `weights` by the largest-remainder
/// method: each part gets the floor of its exact share, then the cents left
/// over go one each to the parts with the largest remainders, ties going to
/// the earlier part. The parts always add up exactly to the total, and no
/// part is more than one cent away from its exact share. A negative total is
/// split as its opposite, then negated. `None` when the weights sum to 0.
pub fn split_cents(total_cents: i64, weights: &[u32]) -> Option<Vec<i64>> {
    let weight_sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if weight_sum == 0 {
        return None;
    }
    let total = i128::from(total_cents).abs();
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = total * i128::from(w);
        parts.push(exact / weight_sum);
        remainders.push((exact % weight_sum, i));
    }
    let leftover = total - parts.iter().sum::<i128>();
    // Largest remainder first; stable on index for ties.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(leftover as usize) {
        parts[i] += 1;
    }
    let sign = if total_cents < 0 { -1 } else { 1 };
    Some(parts.into_iter().map(|p| to_i64(p * sign)).collect())
}

/// Each funder's part of `total_cents`, in the funders' order (see
/// [`split_cents`]). `None` when there are no funders or all shares are 0.
pub fn split_among_funders(total_cents: i64, funders: &[Funder]) -> Option<Vec<i64>> {
    let weights: Vec<u32> = funders.iter().map(|f| f.share_bp).collect();
    split_cents(total_cents, &weights)
}

// ---- planned, logged, remaining ---------------------------------------------

/// The programme's planned consultant time as time amounts: one
/// `(session kind, planned half-days)` per session (one per association for
/// the bilans), mapped with [`TimeKind::for_session`].
pub fn planned_from_sessions(sessions: &[(SessionKind, i64)]) -> Vec<(TimeKind, TimeAmount)> {
    sessions
        .iter()
        .map(|&(kind, half_days)| (TimeKind::for_session(kind), TimeAmount::HalfDays(half_days)))
        .collect()
}

/// The cohort's whole planned consultant time (issue #13): each session's planned
/// half-days, plus what the method implies around them, from the template's
/// `consultant_time`:
///
/// - preparation ([`TimeKind::Preparation`]) and travel ([`TimeKind::Deplacement`])
///   for each collective session;
/// - individual support between sessions ([`TimeKind::AppuiIndividuel`]) per
///   enrolled association;
/// - each bilan's preparation and write-up ([`TimeKind::BilanIndividuel`], beside
///   the bilan session's own planned time);
/// - coordination ([`TimeKind::Coordination`]), once per cohort.
///
/// `sessions` are the stored `(kind, planned half-days)`; while there are none, the
/// plan is forecast from the template: its three collective sessions and one bilan
/// per association. The one function behind every « temps prévu » figure.
pub fn planned_time(
    template: &ProgrammeTemplate,
    sessions: &[(SessionKind, i64)],
    associations: u32,
) -> Vec<(TimeKind, TimeAmount)> {
    let forecast: Vec<(SessionKind, i64)>;
    let sessions = if sessions.is_empty() {
        forecast = [
            (SessionKind::Introductive, &template.introductive),
            (SessionKind::EtatDesLieux, &template.etat_des_lieux),
            (SessionKind::Evolution, &template.evolution),
        ]
        .into_iter()
        .map(|(kind, t)| (kind, i64::from(t.planned_half_days)))
        .chain((0..associations).map(|_| {
            (
                SessionKind::BilanIndividuel,
                i64::from(template.bilan.planned_half_days),
            )
        }))
        .collect();
        &forecast
    } else {
        sessions
    };
    let t = &template.consultant_time;
    let minutes = |kind: TimeKind, m: u32, times: usize| {
        (0..times).map(move |_| (kind, TimeAmount::Minutes(i64::from(m))))
    };
    let collective = sessions.iter().filter(|(k, _)| k.is_collective()).count();
    let bilans = sessions.len() - collective;
    let mut planned = planned_from_sessions(sessions);
    planned.extend(minutes(
        TimeKind::Preparation,
        t.preparation_minutes_per_collective_session,
        collective,
    ));
    planned.extend(minutes(
        TimeKind::Deplacement,
        t.travel_minutes_per_collective_session,
        collective,
    ));
    planned.extend(minutes(
        TimeKind::AppuiIndividuel,
        t.support_minutes_per_association,
        associations as usize,
    ));
    planned.extend(minutes(
        TimeKind::BilanIndividuel,
        t.bilan_preparation_minutes + t.bilan_write_up_minutes,
        bilans,
    ));
    planned.extend(minutes(TimeKind::Coordination, t.coordination_minutes, 1));
    planned.retain(|(_, a)| *a != TimeAmount::Minutes(0) && *a != TimeAmount::HalfDays(0));
    planned
}

/// Planned, logged and remaining time of one kind, in exact minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KindTotals {
    pub kind: TimeKind,
    pub planned_minutes: i64,
    pub logged_minutes: i64,
    /// `planned − logged`; negative when more was logged than planned
    /// (shown as a dépassement, see [`remaining_label`]).
    pub remaining_minutes: i64,
}

/// Planned, logged and remaining consultant time of a cohort, in exact minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimeTotals {
    /// One row per [`TimeKind`], in [`TimeKind::ALL`] order (zero rows included).
    pub per_kind: Vec<KindTotals>,
    pub planned_minutes: i64,
    pub logged_minutes: i64,
    /// `planned − logged` over all kinds; may be negative.
    pub remaining_minutes: i64,
    /// What the cohort will have consumed if the rest goes to plan: logged
    /// time plus, per kind, the planned time not yet logged, i.e. the sum over
    /// kinds of max(planned, logged). Logging planned time thus never counts
    /// it twice; this is the "planned plus logged" compared to the contract.
    pub projected_minutes: i64,
}

/// Sums planned and logged time per kind at the given day length.
pub fn time_totals(
    planned: &[(TimeKind, TimeAmount)],
    logged: &[(TimeKind, TimeAmount)],
    day: DayLength,
) -> TimeTotals {
    let sum = |items: &[(TimeKind, TimeAmount)], kind: TimeKind| -> i64 {
        items
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, a)| a.to_minutes(day))
            .sum()
    };
    let per_kind: Vec<KindTotals> = TimeKind::ALL
        .into_iter()
        .map(|kind| {
            let (p, l) = (sum(planned, kind), sum(logged, kind));
            KindTotals {
                kind,
                planned_minutes: p,
                logged_minutes: l,
                remaining_minutes: p - l,
            }
        })
        .collect();
    let planned_minutes = per_kind.iter().map(|k| k.planned_minutes).sum();
    let logged_minutes = per_kind.iter().map(|k| k.logged_minutes).sum();
    let projected_minutes = per_kind
        .iter()
        .map(|k| k.planned_minutes.max(k.logged_minutes))
        .sum();
    TimeTotals {
        per_kind,
        planned_minutes,
        logged_minutes,
        remaining_minutes: planned_minutes - logged_minutes,
        projected_minutes,
    }
}

/// A day amount that never reads "0 jour" for a non-zero duration:
/// "moins de 0,1 jour" when it rounds to zero.
fn days_at_least_a_tenth(minutes: i64, day: DayLength) -> String {
    if minutes != 0 && day.tenths_of_day(minutes) == 0 {
        format!("moins de 0,1{NBSP}jour")
    } else {
        day.format_days(minutes)
    }
}

/// A remaining amount in French: "3 jours restants", "1,5 jour restant",
/// "0 jour restant", or when negative "dépassement de 0,5 jour"
/// ("dépassement de moins de 0,1 jour" for a few minutes).
pub fn remaining_label(remaining_minutes: i64, day: DayLength) -> String {
    if remaining_minutes < 0 {
        format!(
            "dépassement de {}",
            days_at_least_a_tenth(-remaining_minutes, day)
        )
    } else {
        let tenths = day.tenths_of_day(remaining_minutes);
        let plural = if tenths >= 20 { "s" } else { "" };
        format!("{} restant{plural}", day.format_days(remaining_minutes))
    }
}

// ---- warnings -----------------------------------------------------------------

/// Warnings on a cohort's budget, in this order:
///
/// - `contract_too_small`: contracted half-days under [`minimum_half_days`]
///   for `associations` (none while `associations` is 0);
/// - `plan_below_minimum`: the planned time (see [`planned_time`]) under
///   [`minimum_half_days`] for `associations`, in exact minutes (none while
///   `associations` or the plan is 0);
/// - `over_contract`: projected time (see [`TimeTotals::projected_minutes`])
///   above the contracted time, in exact minutes;
/// - `funders_incomplete`: no funder, or shares not summing to 100 %.
pub fn budget_warnings(
    contract: &Contract,
    associations: u32,
    funders: &[Funder],
    totals: &TimeTotals,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let day = contract.day_length;

    let minimum = minimum_half_days(associations);
    if contract.contracted_half_days < minimum {
        let noun = if associations > 1 {
            "associations"
        } else {
            "association"
        };
        let reference = if associations == REFERENCE_ASSOCIATIONS {
            String::new()
        } else {
            format!(
                " ({} pour {REFERENCE_ASSOCIATIONS} associations, au prorata)",
                fr::days(MIN_DAYS_FOR_REFERENCE as f64)
            )
        };
        warnings.push(Warning::new(
            "contract_too_small",
            format!(
                "Le contrat prévoit {} de consultant pour {associations} {noun}, moins que le minimum conseillé de {}{reference} : en dessous, les accompagnements n'ont pas été concluants pour les associations.",
                fr::half_days(contract.contracted_half_days),
                fr::half_days(minimum),
            ),
        ));
    }

    let minimum_minutes = day.half_days_to_minutes(minimum);
    if associations > 0 && totals.planned_minutes > 0 && totals.planned_minutes < minimum_minutes {
        warnings.push(Warning::new(
            "plan_below_minimum",
            format!(
                "Le temps consultant prévu au programme est de {}, moins que les {} conseillés pour {associations} association{} (10 jours pour 8 associations, au prorata) : la méthode compte, outre les sessions, leur préparation, l'appui individuel entre les sessions, la préparation et le compte rendu de chaque bilan et la coordination.",
                day.format_days(totals.planned_minutes),
                fr::half_days(minimum),
                if associations > 1 { "s" } else { "" },
            ),
        ));
    }

    let contracted = contract.contracted_minutes();
    if totals.projected_minutes > contracted {
        warnings.push(Warning::new(
            "over_contract",
            format!(
                "Le temps consultant prévu et réalisé atteint {} pour un contrat de {} : dépassement de {}. Ajustez le planning ou prévoyez un avenant au contrat.",
                day.format_days(totals.projected_minutes),
                fr::half_days(contract.contracted_half_days),
                days_at_least_a_tenth(totals.projected_minutes - contracted, day),
            ),
        ));
    }

    if funders.is_empty() {
        warnings.push(Warning::new(
            "funders_incomplete",
            format!(
                "Aucun financeur n'est renseigné : indiquez le DLA et, le cas échéant, les cofinanceurs, avec des parts totalisant 100{NBSP}%."
            ),
        ));
    } else {
        let sum = share_sum(funders);
        if sum != u64::from(FULL_SHARE_BP) {
            warnings.push(Warning::new(
                "funders_incomplete",
                format!(
                    "Les parts des financeurs totalisent {} au lieu de 100{NBSP}% : le coût du consultant n'est pas réparti exactement.",
                    percent_u64(sum)
                ),
            ));
        }
    }
    warnings
}

// ---- director mobilisation --------------------------------------------------

/// Where a director's mobilisation stands against the 4–6 days guidance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MobilisationStatus {
    Below,
    Within,
    Above,
}

impl MobilisationStatus {
    /// "below", "within", "above".
    pub fn as_str(self) -> &'static str {
        match self {
            MobilisationStatus::Below => "below",
            MobilisationStatus::Within => "within",
            MobilisationStatus::Above => "above",
        }
    }

    /// Short French label.
    pub fn label(self) -> &'static str {
        match self {
            MobilisationStatus::Below => "En dessous",
            MobilisationStatus::Within => "Dans la fourchette",
            MobilisationStatus::Above => "Au-delà",
        }
    }
}

/// A director's mobilisation: time in sessions plus preparation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mobilisation {
    /// Sum of the attended sessions' durations.
    pub session_minutes: i64,
    /// Sum of the tasks' preparation estimates.
    pub preparation_half_days: i64,
    /// `session_minutes` plus the preparation, in exact minutes.
    pub total_minutes: i64,
    /// Total shown in tenths of a day (what the sentence says).
    pub total_tenths_of_day: i64,
    pub status: MobilisationStatus,
    /// Complete French sentence, e.g. "Mobilisation de la direction : 4,5 jours
    /// (2,5 jours en session, 2 jours de travaux préparatoires), dans la
    /// fourchette conseillée de 4 à 6 jours."
    pub message: String,
}

/// A director's mobilisation from the durations (minutes) of the sessions
/// they attended and the preparation estimates (half-days) of their tasks.
/// Pass the planned sessions instead of the attended ones for a forecast.
///
/// The status is decided on the total rounded to the tenth of a day, the
/// figure the sentence shows, so "6 jours" is never called "au-delà": the
/// guidance is approximate, the sentence must not contradict itself. Since
/// preparation is whole half-days, the two displayed parts add up to the
/// displayed total.
pub fn mobilisation(
    session_minutes: &[i64],
    preparation_half_days: &[i64],
    day: DayLength,
) -> Mobilisation {
    let MobilisationFigures {
        session_minutes,
        preparation_half_days,
        total_minutes,
        total_tenths_of_day,
        status,
    } = mobilisation_figures(session_minutes, preparation_half_days, day);
    let position = match status {
        MobilisationStatus::Below => "en dessous des 4 à 6 jours conseillés",
        MobilisationStatus::Within => "dans la fourchette conseillée de 4 à 6 jours",
        MobilisationStatus::Above => "au-delà des 4 à 6 jours conseillés",
    };
    let message = format!(
        "Mobilisation de la direction : {} ({} en session, {} de travaux préparatoires), {position}.",
        day.format_days(total_minutes),
        day.format_days(session_minutes),
        fr::half_days(preparation_half_days),
    );
    Mobilisation {
        session_minutes,
        preparation_half_days,
        total_minutes,
        total_tenths_of_day,
        status,
        message,
    }
}

/// A [`Mobilisation`] without its sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MobilisationFigures {
    pub session_minutes: i64,
    pub preparation_half_days: i64,
    pub total_minutes: i64,
    pub total_tenths_of_day: i64,
    pub status: MobilisationStatus,
}

/// [`mobilisation`]'s figures without its sentence: the programme's warning asks them of
/// every cohort of a DLA overview, and says something only when the status is not within
/// the range.
pub fn mobilisation_figures(
    session_minutes: &[i64],
    preparation_half_days: &[i64],
    day: DayLength,
) -> MobilisationFigures {
    let session_minutes: i64 = session_minutes.iter().sum();
    let preparation_half_days: i64 = preparation_half_days.iter().sum();
    let total_minutes = session_minutes + day.half_days_to_minutes(preparation_half_days);
    let tenths = day.tenths_of_day(total_minutes);
    let status = if tenths < MOBILISATION_MIN_DAYS * 10 {
        MobilisationStatus::Below
    } else if tenths > MOBILISATION_MAX_DAYS * 10 {
        MobilisationStatus::Above
    } else {
        MobilisationStatus::Within
    };
    MobilisationFigures {
        session_minutes,
        preparation_half_days,
        total_minutes,
        total_tenths_of_day: tenths,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: DayLength = DayLength::STANDARD;

    fn funder(name: &str, share_bp: u32) -> Funder {
        Funder {
            name: name.to_owned(),
            share_bp,
        }
    }

    fn contract(half_days: i64) -> Contract {
        Contract {
            contracted_half_days: half_days,
            day_rate_cents: 65_000,
            day_length: DAY,
        }
    }

    fn full_funding() -> Vec<Funder> {
        vec![funder("DLA de Paris", FULL_SHARE_BP)]
    }

    fn no_time() -> TimeTotals {
        time_totals(&[], &[], DAY)
    }

    fn codes(w: &[Warning]) -> Vec<&'static str> {
        w.iter().map(|w| w.code).collect()
    }

    /// Deterministic pseudo-random generator (no external crate).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    // ---- day length and conversions ----------------------------------------

    #[test]
    fn a_standard_day_is_seven_hours_and_a_half_day_three_and_a_half() {
        assert_eq!(DayLength::default().minutes(), 420);
        assert_eq!(DAY.half_day_minutes(), 210);
        assert_eq!(DAY.half_days_to_minutes(24), 12 * 420);
        assert_eq!(TimeAmount::HalfDays(3).to_minutes(DAY), 630);
        assert_eq!(TimeAmount::Minutes(90).to_minutes(DAY), 90);
    }

    #[test]
    fn hours_convert_to_days_rounded_once_to_the_tenth_half_away_from_zero() {
        assert_eq!(DAY.tenths_of_day(420), 10);
        assert_eq!(DAY.tenths_of_day(60), 1); // 0,142… → 0,1
        assert_eq!(DAY.tenths_of_day(105), 3); // 0,25 → 0,3
        assert_eq!(DAY.tenths_of_day(21), 1); // 0,05 → 0,1
        assert_eq!(DAY.tenths_of_day(20), 0); // 0,047… → 0
        assert_eq!(DAY.tenths_of_day(-105), -3);
        assert_eq!(DAY.format_days(210), "0,5\u{a0}jour");
        assert_eq!(DAY.format_days(5040), "12\u{a0}jours");
        assert_eq!(DAY.format_days(390), "0,9\u{a0}jour"); // a 6 h 30 session
    }

    #[test]
    fn the_ledger_sums_minutes_before_rounding_so_small_entries_do_not_drift() {
        let logged: Vec<_> = (0..10)
            .map(|_| (TimeKind::Coordination, TimeAmount::Minutes(60)))
            .collect();
        let t = time_totals(&[], &logged, DAY);
        assert_eq!(t.logged_minutes, 600);
        // 600 / 420 = 1,428… → 1,4 (ten rounded entries would say 1,0).
        assert_eq!(DAY.format_days(t.logged_minutes), "1,4\u{a0}jour");
    }

    #[test]
    fn the_day_length_is_configurable_and_validated() {
        let eight = DayLength::from_minutes(480).unwrap();
        assert_eq!(eight.tenths_of_day(240), 5);
        assert_eq!(eight.format_days(7 * 60), "0,9\u{a0}jour");
        let seven_thirty = DayLength::from_minutes(450).unwrap();
        assert_eq!(seven_thirty.half_day_minutes(), 225);
        assert!(DayLength::from_minutes(59).is_err());
        assert!(DayLength::from_minutes(722).is_err());
        assert_eq!(
            DayLength::from_minutes(421).unwrap_err(),
            "La durée d'une journée doit être un nombre pair de minutes (pour des demi-journées entières)."
        );
    }

    #[test]
    fn day_length_serialises_as_minutes_and_refuses_bad_values() {
        assert_eq!(serde_json::to_value(DAY).unwrap(), serde_json::json!(420));
        let d: DayLength = serde_json::from_value(serde_json::json!(480)).unwrap();
        assert_eq!(d.minutes(), 480);
        assert!(serde_json::from_value::<DayLength>(serde_json::json!(10)).is_err());
    }

    #[test]
    fn hours_are_parsed_in_french_and_english_notation() {
        assert_eq!(parse_hours("3"), Some(180));
        assert_eq!(parse_hours("3,5"), Some(210));
        assert_eq!(parse_hours("3.25"), Some(195));
        assert_eq!(parse_hours(" 3 h "), Some(180));
        assert_eq!(parse_hours("3h30"), Some(210));
        assert_eq!(parse_hours("3 h 05"), Some(185));
        assert_eq!(parse_hours("0h45"), Some(45));
        assert_eq!(parse_hours("1,33"), Some(80)); // 79,8 min → 80
        for bad in [
            "", "h", "-2", "3h75", "3h5", "1,234", "trois", "3,", "3h30m",
        ] {
            assert_eq!(parse_hours(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_time_entry_is_one_or_two_half_days_or_up_to_a_day_of_minutes() {
        assert!(TimeAmount::HalfDays(1).validate().is_ok());
        assert!(TimeAmount::HalfDays(2).validate().is_ok());
        assert!(TimeAmount::HalfDays(0).validate().is_err());
        assert!(TimeAmount::HalfDays(3).validate().is_err());
        assert!(TimeAmount::Minutes(1440).validate().is_ok());
        assert_eq!(
            TimeAmount::Minutes(0).validate().unwrap_err(),
            "La durée doit être comprise entre 1 minute et 24 h."
        );
        assert!(TimeAmount::Minutes(-30).validate().is_err());
    }

    #[test]
    fn time_amounts_serialise_with_their_unit() {
        assert_eq!(
            serde_json::to_value(TimeAmount::HalfDays(1)).unwrap(),
            serde_json::json!({ "half_days": 1 })
        );
        assert_eq!(
            serde_json::from_value::<TimeAmount>(serde_json::json!({ "minutes": 90 })).unwrap(),
            TimeAmount::Minutes(90)
        );
    }

    // ---- time kinds ---------------------------------------------------------

    #[test]
    fn time_kinds_round_trip_through_their_identifier() {
        for k in TimeKind::ALL {
            assert_eq!(TimeKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
        assert_eq!(TimeKind::parse("Préparation"), None);
        assert_eq!(TimeKind::Deplacement.as_str(), "deplacement");
    }

    #[test]
    fn time_kinds_have_french_labels() {
        let labels: Vec<_> = TimeKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(
            labels,
            [
                "Animation collective",
                "Préparation",
                "Appui individuel",
                "Bilan individuel",
                "Coordination",
                "Déplacement"
            ]
        );
        assert_eq!(TimeKind::Preparation.to_string(), "Préparation");
    }

    #[test]
    fn collective_sessions_plan_animation_and_bilans_plan_bilan_time() {
        assert_eq!(
            TimeKind::for_session(SessionKind::Introductive),
            TimeKind::AnimationCollective
        );
        assert_eq!(
            TimeKind::for_session(SessionKind::Evolution),
            TimeKind::AnimationCollective
        );
        assert_eq!(
            TimeKind::for_session(SessionKind::BilanIndividuel),
            TimeKind::BilanIndividuel
        );
    }

    // ---- contract -----------------------------------------------------------

    #[test]
    fn minimum_days_are_prorated_from_ten_for_eight_and_rounded_up_to_the_half_day() {
        assert_eq!(minimum_half_days(8), 20); // 10 days
        assert_eq!(minimum_half_days(6), 15); // 7,5 days
        assert_eq!(minimum_half_days(4), 10); // 5 days
        assert_eq!(minimum_half_days(3), 8); // 3,75 → 4 days
        assert_eq!(minimum_half_days(1), 3); // 1,25 → 1,5 day
        assert_eq!(minimum_half_days(0), 0);
        assert_eq!(minimum_half_days(16), 40);
    }

    #[test]
    fn default_contract_is_twelve_days_for_eight_prorated() {
        assert_eq!(default_half_days(8), 24);
        assert_eq!(default_half_days(4), 12);
        assert_eq!(default_half_days(1), 3);
        let c = Contract::default_for(8, 65_000);
        assert_eq!(c.contracted_half_days, 24);
        assert_eq!(c.day_length, DAY);
        assert_eq!(c.contracted_minutes(), 5040);
    }

    #[test]
    fn cost_is_days_times_rate_to_the_cent() {
        assert_eq!(contract(24).cost_cents(), 780_000); // 12 × 650,00 €
        assert_eq!(
            fr::euros_cents(contract(24).cost_cents()),
            "7\u{202f}800,00\u{a0}€"
        );
        assert_eq!(contract(21).cost_cents(), 682_500); // 10,5 × 650,00 €
        let odd = Contract {
            contracted_half_days: 1,
            day_rate_cents: 65_001,
            day_length: DAY,
        };
        assert_eq!(odd.cost_cents(), 32_501); // 325,005 € → 325,01 €
    }

    #[test]
    fn contract_validation_names_the_fields_in_french() {
        assert!(contract(24).validate().is_ok());
        let bad = Contract {
            contracted_half_days: 0,
            day_rate_cents: 0,
            day_length: DAY,
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["contracted_half_days", "day_rate_cents"]);
        assert_eq!(
            errors[0].1,
            "Le nombre de jours contractés doit être compris entre 0,5 et 200 jours."
        );
        assert_eq!(
            errors[1].1,
            "Le prix de journée doit être compris entre 0,01\u{a0}€ et 10\u{202f}000,00\u{a0}€."
        );
    }

    // ---- funders -------------------------------------------------------------

    #[test]
    fn twelve_days_at_650_euros_split_50_30_20_exactly() {
        let total = contract(24).cost_cents();
        assert_eq!(
            split_cents(total, &[5000, 3000, 2000]),
            Some(vec![390_000, 234_000, 156_000])
        );
    }

    #[test]
    fn thirds_give_the_leftover_cent_to_the_largest_remainder() {
        // 100,00 € at 33,33 / 33,33 / 33,34 %: exact parts 33,33 / 33,33 / 33,34.
        assert_eq!(
            split_cents(10_000, &[3333, 3333, 3334]),
            Some(vec![3333, 3333, 3334])
        );
        // 1,00 €: exact 33,33 / 33,33 / 33,34 cents → 33 / 33 / 34.
        assert_eq!(
            split_cents(100, &[3333, 3333, 3334]),
            Some(vec![33, 33, 34])
        );
        // 7 800,00 €: exact 259 974 / 259 974 / 260 052 cents.
        let parts = split_cents(780_000, &[3333, 3333, 3334]).unwrap();
        assert_eq!(parts, vec![259_974, 259_974, 260_052]);
        assert_eq!(parts.iter().sum::<i64>(), 780_000);
    }

    #[test]
    fn ties_go_to_the_earlier_funder() {
        assert_eq!(split_cents(1, &[5000, 5000]), Some(vec![1, 0]));
        assert_eq!(split_cents(2, &[3334, 3333, 3333]), Some(vec![1, 1, 0]));
        assert_eq!(split_cents(1, &[3333, 3334, 3333]), Some(vec![0, 1, 0]));
        assert_eq!(split_cents(100, &[2500; 4]), Some(vec![25; 4]));
        assert_eq!(split_cents(3, &[2500; 4]), Some(vec![1, 1, 1, 0]));
    }

    #[test]
    fn zero_and_negative_totals_split_exactly() {
        assert_eq!(split_cents(0, &[5000, 3000, 2000]), Some(vec![0, 0, 0]));
        assert_eq!(split_cents(-1, &[5000, 5000]), Some(vec![-1, 0]));
        assert_eq!(
            split_cents(-780_000, &[5000, 3000, 2000]),
            Some(vec![-390_000, -234_000, -156_000])
        );
    }

    #[test]
    fn splitting_needs_a_positive_weight() {
        assert_eq!(split_cents(100, &[]), None);
        assert_eq!(split_cents(100, &[0, 0]), None);
        assert_eq!(split_cents(100, &[0, 10_000]), Some(vec![0, 100]));
        assert_eq!(split_among_funders(100, &[]), None);
    }

    #[test]
    fn split_parts_always_sum_to_the_total_and_stay_within_a_cent() {
        let mut rng = Lcg(42);
        for round in 0..5_000 {
            let n = 1 + rng.below(8) as usize;
            // Random shares > 0 summing to exactly 10 000.
            let mut cuts: Vec<u32> = (0..n - 1).map(|_| 1 + rng.below(9_999) as u32).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut shares = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([FULL_SHARE_BP]) {
                shares.push(c - prev);
                prev = c;
            }
            assert_eq!(shares.iter().sum::<u32>(), FULL_SHARE_BP);
            let total = match round % 4 {
                0 => rng.below(10) as i64,
                1 => rng.below(100_000_000) as i64,
                2 => -(rng.below(1_000_000) as i64),
                _ => (1 + rng.below(400) as i64) * 65_000 / 2,
            };
            let parts = split_cents(total, &shares).unwrap();
            assert_eq!(parts.len(), shares.len());
            assert_eq!(parts.iter().sum::<i64>(), total, "{total} {shares:?}");
            for (p, &s) in parts.iter().zip(&shares) {
                // |part × 10 000 − total × share| < 10 000: within one cent.
                let diff = i128::from(*p) * 10_000 - i128::from(total) * i128::from(s);
                assert!(diff.abs() < 10_000, "{total} {shares:?} {parts:?}");
            }
            // Same input, same output.
            assert_eq!(split_cents(total, &shares).unwrap(), parts);
        }
    }

    #[test]
    fn funders_split_the_contract_cost_in_their_order() {
        let funders = vec![
            funder("DLA de Paris", 5000),
            funder("DLA des Hauts-de-Seine", 3000),
            funder("Fondation Le RAMEAU", 2000),
        ];
        assert!(validate_funders(&funders).is_ok());
        let parts = split_among_funders(contract(24).cost_cents(), &funders).unwrap();
        assert_eq!(parts, vec![390_000, 234_000, 156_000]);
    }

    #[test]
    fn funder_validation_requires_positive_shares_summing_to_100_percent() {
        let errors = validate_funders(&[funder("DLA de Paris", 6000), funder("", 0)]).unwrap_err();
        assert_eq!(
            errors,
            vec![
                ("funders[1].name".to_owned(), "Indiquez le nom du financeur.".to_owned()),
                (
                    "funders[1].share_bp".to_owned(),
                    "La part d'un financeur doit être supérieure à 0\u{a0}%.".to_owned()
                ),
                (
                    "funders".to_owned(),
                    "Les parts des financeurs totalisent 60\u{a0}% : elles doivent totaliser exactement 100\u{a0}%.".to_owned()
                ),
            ]
        );
        let over = validate_funders(&[funder("A", 6000), funder("B", 4001)]).unwrap_err();
        assert_eq!(over.len(), 1);
        assert!(over[0].1.contains("100,01\u{a0}%"));
    }

    #[test]
    fn funder_validation_refuses_an_empty_list_and_duplicate_names() {
        let empty = validate_funders(&[]).unwrap_err();
        assert_eq!(empty[0].0, "funders");
        let dup =
            validate_funders(&[funder("DLA 75", 5000), funder(" dla 75 ", 5000)]).unwrap_err();
        assert_eq!(
            dup,
            vec![(
                "funders[1].name".to_owned(),
                "« dla 75 » figure déjà dans la liste des financeurs.".to_owned()
            )]
        );
    }

    #[test]
    fn percentages_are_shown_and_parsed_in_french() {
        assert_eq!(percent(5000), "50\u{a0}%");
        assert_eq!(percent(3333), "33,33\u{a0}%");
        assert_eq!(percent(1250), "12,5\u{a0}%");
        assert_eq!(percent(5), "0,05\u{a0}%");
        assert_eq!(parse_percent("50"), Some(5000));
        assert_eq!(parse_percent("33,33"), Some(3333));
        assert_eq!(parse_percent("12.5 %"), Some(1250));
        assert_eq!(parse_percent("33,333"), None);
        assert_eq!(parse_percent("-5"), None);
        assert_eq!(parse_percent(""), None);
    }

    // ---- totals --------------------------------------------------------------

    #[test]
    fn totals_give_planned_logged_and_remaining_per_kind_and_overall() {
        let planned = planned_from_sessions(&[
            (SessionKind::Introductive, 1),
            (SessionKind::EtatDesLieux, 2),
            (SessionKind::Evolution, 2),
            (SessionKind::BilanIndividuel, 1),
            (SessionKind::BilanIndividuel, 1),
        ]);
        let logged = [
            (TimeKind::AnimationCollective, TimeAmount::HalfDays(2)),
            (TimeKind::AnimationCollective, TimeAmount::Minutes(180)),
            (TimeKind::Preparation, TimeAmount::Minutes(90)),
        ];
        let t = time_totals(&planned, &logged, DAY);
        assert_eq!(
            t.per_kind.iter().map(|k| k.kind).collect::<Vec<_>>(),
            TimeKind::ALL
        );
        let anim = t.per_kind[0];
        assert_eq!(
            (
                anim.planned_minutes,
                anim.logged_minutes,
                anim.remaining_minutes
            ),
            (5 * 210, 420 + 180, 5 * 210 - 600)
        );
        let prep = t.per_kind[1];
        assert_eq!(prep.remaining_minutes, -90);
        let bilan = t.per_kind[3];
        assert_eq!((bilan.planned_minutes, bilan.logged_minutes), (420, 0));
        assert_eq!(t.planned_minutes, 7 * 210);
        assert_eq!(t.logged_minutes, 690);
        assert_eq!(t.remaining_minutes, 7 * 210 - 690);
        // Projected: animation 1050 (planned), préparation 90 (logged), bilan 420.
        assert_eq!(t.projected_minutes, 1050 + 90 + 420);
    }

    #[test]
    fn negative_remaining_is_shown_as_a_depassement() {
        assert_eq!(remaining_label(630, DAY), "1,5\u{a0}jour restant");
        assert_eq!(remaining_label(1260, DAY), "3\u{a0}jours restants");
        assert_eq!(remaining_label(0, DAY), "0\u{a0}jour restant");
        assert_eq!(remaining_label(-210, DAY), "dépassement de 0,5\u{a0}jour");
        assert_eq!(
            remaining_label(-10, DAY),
            "dépassement de moins de 0,1\u{a0}jour"
        );
    }

    // ---- warnings -------------------------------------------------------------

    #[test]
    fn a_sound_budget_has_no_warning() {
        assert_eq!(
            budget_warnings(&contract(24), 8, &full_funding(), &no_time()),
            vec![]
        );
        // Exactly the minimum is enough.
        assert_eq!(
            budget_warnings(&contract(20), 8, &full_funding(), &no_time()),
            vec![]
        );
        assert_eq!(
            budget_warnings(&contract(10), 4, &full_funding(), &no_time()),
            vec![]
        );
    }

    #[test]
    fn under_ten_days_for_eight_associations_is_flagged_with_both_figures() {
        let w = budget_warnings(&contract(16), 8, &full_funding(), &no_time());
        assert_eq!(codes(&w), ["contract_too_small"]);
        assert_eq!(
            w[0].message,
            "Le contrat prévoit 8\u{a0}jours de consultant pour 8 associations, moins que le minimum conseillé de 10\u{a0}jours : en dessous, les accompagnements n'ont pas été concluants pour les associations."
        );
        assert!(w[0].message.contains("10\u{a0}jours"));
    }

    #[test]
    fn the_minimum_is_prorated_for_smaller_cohorts() {
        let w = budget_warnings(&contract(9), 4, &full_funding(), &no_time());
        assert_eq!(
            w[0].message,
            "Le contrat prévoit 4,5\u{a0}jours de consultant pour 4 associations, moins que le minimum conseillé de 5\u{a0}jours (10\u{a0}jours pour 8 associations, au prorata) : en dessous, les accompagnements n'ont pas été concluants pour les associations."
        );
        let w = budget_warnings(&contract(14), 6, &full_funding(), &no_time());
        assert!(w[0].message.contains("minimum conseillé de 7,5\u{a0}jours"));
        let w = budget_warnings(&contract(2), 1, &full_funding(), &no_time());
        assert!(w[0].message.contains("pour 1 association,"));
        assert!(w[0].message.contains("minimum conseillé de 1,5\u{a0}jour"));
        assert!(budget_warnings(&contract(3), 1, &full_funding(), &no_time()).is_empty());
        // No association enrolled yet: no minimum.
        assert!(budget_warnings(&contract(1), 0, &full_funding(), &no_time()).is_empty());
    }

    #[test]
    fn planned_plus_logged_above_the_contract_is_flagged() {
        // 12 days contracted; 11 days planned, 13,5 logged as animation.
        let planned = [(TimeKind::AnimationCollective, TimeAmount::HalfDays(22))];
        let logged = [(TimeKind::AnimationCollective, TimeAmount::HalfDays(27))];
        let t = time_totals(&planned, &logged, DAY);
        let w = budget_warnings(&contract(24), 8, &full_funding(), &t);
        assert_eq!(codes(&w), ["over_contract"]);
        assert_eq!(
            w[0].message,
            "Le temps consultant prévu et réalisé atteint 13,5\u{a0}jours pour un contrat de 12\u{a0}jours : dépassement de 1,5\u{a0}jour. Ajustez le planning ou prévoyez un avenant au contrat."
        );
    }

    #[test]
    fn logging_planned_time_does_not_count_it_twice() {
        // 12 days planned, 6 of them already logged: on track, no warning.
        let planned = [(TimeKind::AnimationCollective, TimeAmount::HalfDays(24))];
        let logged = [(TimeKind::AnimationCollective, TimeAmount::HalfDays(12))];
        let t = time_totals(&planned, &logged, DAY);
        assert_eq!(t.projected_minutes, 24 * 210);
        assert!(budget_warnings(&contract(24), 8, &full_funding(), &t).is_empty());
        // Unplanned kinds add up on top of the plan.
        let logged = [
            (TimeKind::AnimationCollective, TimeAmount::HalfDays(12)),
            (TimeKind::Deplacement, TimeAmount::Minutes(30)),
        ];
        let t = time_totals(&planned, &logged, DAY);
        let w = budget_warnings(&contract(24), 8, &full_funding(), &t);
        assert_eq!(codes(&w), ["over_contract"]);
        assert!(w[0].message.contains("dépassement de 0,1\u{a0}jour"));
        // A few minutes over is still over, and still readable.
        let logged = [
            (TimeKind::AnimationCollective, TimeAmount::HalfDays(12)),
            (TimeKind::Deplacement, TimeAmount::Minutes(5)),
        ];
        let t = time_totals(&planned, &logged, DAY);
        let w = budget_warnings(&contract(24), 8, &full_funding(), &t);
        assert!(
            w[0].message
                .contains("dépassement de moins de 0,1\u{a0}jour")
        );
    }

    #[test]
    fn incomplete_funding_is_flagged() {
        let w = budget_warnings(
            &contract(24),
            8,
            &[funder("DLA de Paris", 5000), funder("DLA 92", 3000)],
            &no_time(),
        );
        assert_eq!(codes(&w), ["funders_incomplete"]);
        assert_eq!(
            w[0].message,
            "Les parts des financeurs totalisent 80\u{a0}% au lieu de 100\u{a0}% : le coût du consultant n'est pas réparti exactement."
        );
        let w = budget_warnings(&contract(24), 8, &[], &no_time());
        assert_eq!(codes(&w), ["funders_incomplete"]);
        assert!(w[0].message.starts_with("Aucun financeur n'est renseigné"));
    }

    #[test]
    fn warnings_come_in_a_stable_order() {
        let logged = [(TimeKind::Coordination, TimeAmount::HalfDays(20))];
        let t = time_totals(&[], &logged, DAY);
        let w = budget_warnings(&contract(16), 8, &[], &t);
        assert_eq!(
            codes(&w),
            ["contract_too_small", "over_contract", "funders_incomplete"]
        );
    }

    // ---- the plan ---------------------------------------------------------------

    fn plan_days(associations: u32, sessions: &[(SessionKind, i64)]) -> f64 {
        let planned = planned_time(&ProgrammeTemplate::default(), sessions, associations);
        time_totals(&planned, &[], DAY).planned_minutes as f64 / 420.0
    }

    #[test]
    fn with_the_defaults_eight_associations_plan_ten_to_twelve_days() {
        let days = plan_days(8, &[]);
        assert!((10.0..=12.0).contains(&days), "{days}");
        assert_eq!(DAY.format_days((days * 420.0) as i64), "11,7\u{a0}jours");
    }

    #[test]
    fn with_the_defaults_four_associations_plan_about_two_thirds() {
        let days = plan_days(4, &[]);
        assert_eq!(days, 8.0);
        assert!(days < plan_days(8, &[]) * 0.75);
    }

    #[test]
    fn the_plan_from_a_generated_programme_equals_the_forecast() {
        use SessionKind::*;
        let mut sessions = vec![(Introductive, 1), (EtatDesLieux, 2), (Evolution, 2)];
        sessions.extend((0..8).map(|_| (BilanIndividuel, 1)));
        assert_eq!(plan_days(8, &sessions), plan_days(8, &[]));
    }

    #[test]
    fn each_kind_of_method_time_lands_on_its_time_kind() {
        use SessionKind::*;
        let t = ProgrammeTemplate::default();
        let sessions = [(Introductive, 1), (EtatDesLieux, 2), (BilanIndividuel, 1)];
        let totals = time_totals(&planned_time(&t, &sessions, 3), &[], DAY);
        let of = |k: TimeKind| {
            totals
                .per_kind
                .iter()
                .find(|x| x.kind == k)
                .unwrap()
                .planned_minutes
        };
        let ct = &t.consultant_time;
        assert_eq!(of(TimeKind::AnimationCollective), 3 * 210);
        assert_eq!(
            of(TimeKind::Preparation),
            2 * i64::from(ct.preparation_minutes_per_collective_session)
        );
        assert_eq!(
            of(TimeKind::Deplacement),
            2 * i64::from(ct.travel_minutes_per_collective_session)
        );
        assert_eq!(
            of(TimeKind::AppuiIndividuel),
            3 * i64::from(ct.support_minutes_per_association)
        );
        // One bilan session: its half-day, its preparation and its write-up.
        assert_eq!(
            of(TimeKind::BilanIndividuel),
            210 + i64::from(ct.bilan_preparation_minutes + ct.bilan_write_up_minutes)
        );
        assert_eq!(
            of(TimeKind::Coordination),
            i64::from(ct.coordination_minutes)
        );
    }

    #[test]
    fn a_cohort_that_sets_a_kind_to_zero_plans_nothing_of_it() {
        let mut t = ProgrammeTemplate::default();
        t.consultant_time.travel_minutes_per_collective_session = 0;
        let planned = planned_time(&t, &[], 8);
        assert!(!planned.iter().any(|(k, _)| *k == TimeKind::Deplacement));
    }

    #[test]
    fn a_plan_under_the_prorated_minimum_is_flagged_with_what_the_method_counts() {
        // 8 associations, 9 days planned, 12 contracted.
        let planned = [(TimeKind::AnimationCollective, TimeAmount::HalfDays(18))];
        let t = time_totals(&planned, &[], DAY);
        let w = budget_warnings(&contract(24), 8, &full_funding(), &t);
        assert_eq!(codes(&w), ["plan_below_minimum"]);
        assert!(w[0].message.starts_with(
            "Le temps consultant prévu au programme est de 9\u{a0}jours, moins que les 10\u{a0}jours conseillés pour 8 associations"
        ));
        assert!(w[0].message.contains("l'appui individuel"));
        // At the minimum, nothing; for 4 associations the minimum is 5 days.
        let planned = [(TimeKind::AnimationCollective, TimeAmount::HalfDays(20))];
        let t = time_totals(&planned, &[], DAY);
        assert!(budget_warnings(&contract(24), 8, &full_funding(), &t).is_empty());
        assert!(budget_warnings(&contract(24), 4, &full_funding(), &t).is_empty());
    }

    #[test]
    fn a_plan_over_the_contract_is_flagged() {
        let planned = planned_time(&ProgrammeTemplate::default(), &[], 8);
        let t = time_totals(&planned, &[], DAY);
        let w = budget_warnings(&contract(22), 8, &full_funding(), &t);
        assert_eq!(codes(&w), ["over_contract"]);
        assert!(
            w[0].message
                .contains("atteint 11,7\u{a0}jours pour un contrat de 11\u{a0}jours")
        );
        assert!(budget_warnings(&contract(24), 8, &full_funding(), &t).is_empty());
    }

    // ---- mobilisation ----------------------------------------------------------

    #[test]
    fn mobilisation_within_four_to_six_days() {
        // 2 full days of sessions (840 min) + 5 half-days of preparation = 4,5 days.
        let m = mobilisation(&[420, 420], &[4, 1], DAY);
        assert_eq!(m.total_minutes, 840 + 5 * 210);
        assert_eq!(m.total_tenths_of_day, 45);
        assert_eq!(m.status, MobilisationStatus::Within);
        assert_eq!(
            m.message,
            "Mobilisation de la direction : 4,5\u{a0}jours (2\u{a0}jours en session, 2,5\u{a0}jours de travaux préparatoires), dans la fourchette conseillée de 4 à 6 jours."
        );
    }

    #[test]
    fn mobilisation_below_and_above_the_guidance() {
        let below = mobilisation(&[180], &[2], DAY);
        assert_eq!(below.status, MobilisationStatus::Below);
        assert_eq!(
            below.message,
            "Mobilisation de la direction : 1,4\u{a0}jour (0,4\u{a0}jour en session, 1\u{a0}jour de travaux préparatoires), en dessous des 4 à 6 jours conseillés."
        );
        // The default programme's sessions (3 h + 6 h 30 + 6 h 30 + 2 h) with heavier
        // preparation (4 + 2 + 2 half-days): 6,6 days.
        let above = mobilisation(&[180, 390, 390, 120], &[4, 2, 2], DAY);
        assert_eq!(above.status, MobilisationStatus::Above);
        assert!(above.message.contains("6,6\u{a0}jours"));
        assert!(
            above
                .message
                .ends_with("au-delà des 4 à 6 jours conseillés.")
        );
    }

    #[test]
    fn the_default_programme_keeps_the_director_within_four_to_six_days() {
        let t = crate::domain::programme::ProgrammeTemplate::default();
        let sessions = [
            t.introductive.duration_minutes,
            t.etat_des_lieux.duration_minutes,
            t.evolution.duration_minutes,
            t.bilan.duration_minutes,
        ]
        .map(i64::from);
        let preparation: Vec<i64> = t
            .tasks
            .iter()
            .map(|task| i64::from(task.preparation_half_days))
            .collect();
        let m = mobilisation(&sessions, &preparation, DAY);
        assert_eq!(m.status, MobilisationStatus::Within, "{}", m.message);
    }

    #[test]
    fn mobilisation_bounds_are_inclusive_at_the_displayed_tenth() {
        assert_eq!(
            mobilisation(&[], &[8], DAY).status,
            MobilisationStatus::Within
        );
        assert_eq!(
            mobilisation(&[], &[12], DAY).status,
            MobilisationStatus::Within
        );
        // 6 days + 20 min shows "6 jours": within, not above.
        let m = mobilisation(&[20], &[12], DAY);
        assert_eq!(m.status, MobilisationStatus::Within);
        assert!(m.message.contains("6\u{a0}jours ("));
        // 6 days + 21 min shows "6,1 jours": above.
        assert_eq!(
            mobilisation(&[21], &[12], DAY).status,
            MobilisationStatus::Above
        );
        // 4 days − 22 min shows "3,9 jours": below; − 21 min shows "4 jours".
        assert_eq!(
            mobilisation(&[188], &[7], DAY).status,
            MobilisationStatus::Below
        );
        assert_eq!(
            mobilisation(&[189], &[7], DAY).status,
            MobilisationStatus::Within
        );
        assert_eq!(
            mobilisation(&[], &[], DAY).status,
            MobilisationStatus::Below
        );
    }

    #[test]
    fn mobilisation_status_has_identifiers_and_french_labels() {
        assert_eq!(MobilisationStatus::Within.as_str(), "within");
        assert_eq!(MobilisationStatus::Above.label(), "Au-delà");
        assert_eq!(
            serde_json::to_value(MobilisationStatus::Below).unwrap(),
            serde_json::json!("below")
        );
    }
}
