//! The état des lieux form: flat HTML/JSON fields <-> `domain::profile::Profile`, with French
//! messages per field.
//!
//! The input is a flat map of text fields, the way the HTML form posts them and the JSON API
//! accepts them (numbers and booleans are taken as text):
//!
//! - richesses humaines: `employees`, `employees_fte` (« 3,5 »), `volunteers`,
//!   `volunteer_hours`, `civic_service`, `skills_sponsorship_days`;
//! - ressources financières: `year`, one `resource_<code>` per [`Resource`] (« 12 500 »,
//!   « 12 500,50 € »), `largest_funder_name`, `largest_funder_amount`;
//! - alliances, one row per index from 0: `alliance_<i>_partner`, `alliance_<i>_actor_kind`,
//!   `alliance_<i>_nature` (blank rows are ignored);
//! - domaines d'activité stratégiques: `das_<i>_name`, `das_<i>_share` (« 40 » %),
//!   `das_<i>_notes`;
//! - the reading: `strengths`, `fragilities`, `risks`, `ambition`;
//! - the target model: `lever_human`, `lever_financial`, `lever_alliances`, `actions`;
//! - `version` (« 0 » for a first save).
//!
//! A map rather than ~80 named struct fields: the rows are indexed, and a refused form is
//! shown again from the same map, exactly as typed. Unknown keys are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::fr;
use crate::domain::profile::{
    Alliance, Das, Finances, Human, Levers, Profile, Reading, Resource, ResourceAmount,
};
use crate::error::FieldErrors;
use crate::models::input::{self, lenient};

/// Alliance rows the form shows at least (one more than those filled, up to the maximum).
pub const ALLIANCE_ROWS: usize = 8;
/// DAS rows the form shows at least.
pub const DAS_ROWS: usize = 4;
/// Rows read at most (the API may send more than the form shows).
pub const MAX_ALLIANCES: usize = 40;
pub const MAX_DAS: usize = 12;

/// Longest free text (reading, levers, notes).
const LONG_TEXT: usize = 10_000;
/// Longest name (partner, funder, DAS).
const NAME: usize = 200;
/// Largest amount accepted: one billion euros, in cents.
const MAX_CENTS: i64 = 100_000_000_000;
/// Largest count (people, hours, days).
const MAX_COUNT: u32 = 10_000_000;

/// The fields of the profile form, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ProfileInput(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for ProfileInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Text(#[serde(deserialize_with = "lenient")] String);
        let map = BTreeMap::<String, Text>::deserialize(d)?;
        Ok(ProfileInput(
            map.into_iter().map(|(k, Text(v))| (k, v)).collect(),
        ))
    }
}

/// An amount typed in French: « 12 500 », « 12 500,50 € », « 12500 », « 12.500,50 ».
/// `Err` carries the French message.
pub fn parse_cents(typed: &str) -> Result<Option<i64>, &'static str> {
    let lower = typed.trim().to_lowercase();
    let mut s: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    for unit in ["euros", "euro", "eur", "€"] {
        if let Some(rest) = s.strip_suffix(unit) {
            s = rest.to_owned();
            break;
        }
    }
    if s.is_empty() {
        return Ok(None);
    }
    if s.starts_with('-') {
        return Err("Un montant ne peut pas être négatif.");
    }
    // With a comma, dots group thousands (« 12.500,50 »); a single dot followed by exactly
    // three digits does too (« 12.500 »); otherwise a dot is the decimal separator.
    let normalised = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else if s.matches('.').count() > 1
        || s.split_once('.').is_some_and(|(_, frac)| frac.len() == 3)
    {
        s.replace('.', "")
    } else {
        s
    };
    let unreadable = "Montant illisible : écrivez par exemple « 12 500 » ou « 12 500,50 € ».";
    let (int, frac) = normalised
        .split_once('.')
        .unwrap_or((normalised.as_str(), ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || normalised.ends_with('.') {
        return Err(unreadable);
    }
    if frac.len() > 2 {
        return Err("Au plus deux décimales (les centimes).");
    }
    if int.len() > 12 {
        return Err("Montant trop élevé.");
    }
    let cents = int.parse::<i64>().map_err(|_| unreadable)? * 100
        + match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| unreadable)? * 10,
            _ => frac.parse::<i64>().map_err(|_| unreadable)?,
        };
    if cents > MAX_CENTS {
        return Err("Montant trop élevé.");
    }
    Ok(Some(cents))
}

/// Cents as typed back in the form: 1 250 050 → « 12 500,50 », 1 250 000 → « 12 500 ».
pub fn cents_text(cents: i64) -> String {
    let s = fr::decimal(cents as f64 / 100.0, 2).replace(fr::NNBSP, " ");
    s.strip_suffix(",00").map(str::to_owned).unwrap_or(s)
}

/// Full-time equivalents as typed (« 3,5 », « 2 ETP »), in hundredths: « 3,5 » → 350;
/// `None` when blank; the French message when refused.
pub fn fte_hundredths(typed: &str) -> Result<Option<u32>, &'static str> {
    let lower = typed.to_lowercase();
    let v: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    let v = v.strip_suffix("etp").unwrap_or(&v).replace(',', ".");
    if v.is_empty() {
        return Ok(None);
    }
    if v.starts_with('-') {
        return Err("Indiquez un nombre d'ETP positif ou nul.");
    }
    let (int, frac) = v.split_once('.').unwrap_or((&v, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 6 || !digits(int) || !digits(frac) || v.ends_with('.') {
        return Err("Indiquez un nombre d'équivalents temps plein, par exemple 3,5.");
    }
    if frac.len() > 2 {
        return Err("Au plus deux décimales pour les ETP, par exemple 3,5 ou 2,75.");
    }
    let frac = match frac.len() {
        0 => 0,
        1 => frac.parse::<u32>().unwrap_or(0) * 10,
        _ => frac.parse::<u32>().unwrap_or(0),
    };
    Ok(Some(int.parse::<u32>().unwrap_or(0) * 100 + frac))
}

/// Hundredths as typed back: 350 → « 3,5 », 300 → « 3 », 125 → « 1,25 ».
pub fn hundredths_text(h: u32) -> String {
    let mut s = fr::decimal(f64::from(h) / 100.0, 2).replace(fr::NNBSP, " ");
    if s.contains(',') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with(',') {
            s.pop();
        }
    }
    s
}

/// Collects the messages of one parse.
struct Errors(FieldErrors);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }
}

impl ProfileInput {
    /// The value typed for `key` (empty when absent).
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    pub fn version(&self) -> &str {
        self.get("version")
    }

    /// The keys that are no field of the form (the API refuses them rather than ignoring
    /// what a client meant to save).
    pub fn unknown_keys(&self) -> Vec<&str> {
        const FIXED: [&str; 17] = [
            "version",
            "employees",
            "employees_fte",
            "volunteers",
            "volunteer_hours",
            "civic_service",
            "skills_sponsorship_days",
            "year",
            "largest_funder_name",
            "largest_funder_amount",
            "lever_human",
            "lever_financial",
            "lever_alliances",
            "strengths",
            "fragilities",
            "risks",
            "ambition",
        ];
        let row = |key: &str, prefix: &str, max: usize, parts: &[&str]| {
            key.strip_prefix(prefix)
                .and_then(|rest| rest.split_once('_'))
                .is_some_and(|(i, part)| {
                    i.parse::<usize>().is_ok_and(|i| i < max) && parts.contains(&part)
                })
        };
        self.0
            .keys()
            .map(String::as_str)
            .filter(|k| {
                !(FIXED.contains(k)
                    || *k == "actions"
                    || Resource::ALL
                        .iter()
                        .any(|r| k.strip_prefix("resource_") == Some(r.as_str()))
                    || row(
                        k,
                        "alliance_",
                        MAX_ALLIANCES,
                        &["partner", "actor_kind", "nature"],
                    )
                    || row(k, "das_", MAX_DAS, &["name", "share", "notes"]))
            })
            .collect()
    }

    /// How many alliance rows the form shows: at least [`ALLIANCE_ROWS`], one blank row after
    /// the last one typed.
    pub fn alliance_rows(&self) -> usize {
        rows_needed(
            self,
            "alliance",
            &["partner", "actor_kind", "nature"],
            ALLIANCE_ROWS,
            MAX_ALLIANCES,
        )
    }

    pub fn das_rows(&self) -> usize {
        rows_needed(self, "das", &["name", "share", "notes"], DAS_ROWS, MAX_DAS)
    }

    /// The form's values for a stored profile.
    pub fn from_profile(p: &Profile, version: i32) -> Self {
        let mut m = BTreeMap::new();
        let mut put = |k: String, v: String| {
            if !v.is_empty() {
                m.insert(k, v);
            }
        };
        let h = &p.human;
        let count = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        put("employees".into(), count(h.employees));
        put(
            "employees_fte".into(),
            h.employees_fte_hundredths
                .map(hundredths_text)
                .unwrap_or_default(),
        );
        put("volunteers".into(), count(h.volunteers));
        put("volunteer_hours".into(), count(h.volunteer_hours));
        put("civic_service".into(), count(h.civic_service));
        put(
            "skills_sponsorship_days".into(),
            count(h.skills_sponsorship_days),
        );
        let f = &p.finances;
        put(
            "year".into(),
            f.year.map(|y| y.to_string()).unwrap_or_default(),
        );
        for r in Resource::ALL {
            if f.resources.iter().any(|l| l.resource == r) {
                put(format!("resource_{}", r.as_str()), cents_text(f.amount(r)));
            }
        }
        put("largest_funder_name".into(), f.largest_funder_name.clone());
        put(
            "largest_funder_amount".into(),
            f.largest_funder_cents.map(cents_text).unwrap_or_default(),
        );
        for (i, a) in p.alliances.iter().enumerate() {
            put(format!("alliance_{i}_partner"), a.partner.clone());
            put(format!("alliance_{i}_actor_kind"), a.actor_kind.clone());
            put(format!("alliance_{i}_nature"), a.nature.clone());
        }
        for (i, d) in p.das.iter().enumerate() {
            put(format!("das_{i}_name"), d.name.clone());
            put(
                format!("das_{i}_share"),
                d.budget_share_bp.map(hundredths_text).unwrap_or_default(),
            );
            put(format!("das_{i}_notes"), d.notes.clone());
        }
        let r = &p.reading;
        put("strengths".into(), r.strengths.clone());
        put("fragilities".into(), r.fragilities.clone());
        put("risks".into(), r.risks.clone());
        put("ambition".into(), r.ambition.clone());
        let l = &p.levers;
        put("lever_human".into(), l.human.clone());
        put("lever_financial".into(), l.financial.clone());
        put("lever_alliances".into(), l.alliances.clone());
        put("actions".into(), l.actions.clone());
        m.insert("version".into(), version.to_string());
        ProfileInput(m)
    }

    /// The profile typed, or every problem with its field: what cannot be read, and the
    /// consistency checks of [`Profile::check`] (named after the form's rows).
    pub fn parse(&self) -> Result<Profile, FieldErrors> {
        self.parse_in(chrono::Datelike::year(&chrono::Utc::now()))
    }

    /// [`parse`](Self::parse) in a given current year (the last closed year is at most the
    /// next one: some associations close their accounts mid-year).
    pub fn parse_in(&self, current_year: i32) -> Result<Profile, FieldErrors> {
        let mut e = Errors(FieldErrors::new());
        let human = Human {
            employees: self.count(&mut e, "employees"),
            employees_fte_hundredths: self.fte(&mut e, "employees_fte"),
            volunteers: self.count(&mut e, "volunteers"),
            volunteer_hours: self.count(&mut e, "volunteer_hours"),
            civic_service: self.count(&mut e, "civic_service"),
            skills_sponsorship_days: self.count(&mut e, "skills_sponsorship_days"),
        };
        let year = match self.get("year").trim() {
            "" => None,
            y => match y.parse::<i32>() {
                Ok(y) if (2000..=current_year + 1).contains(&y) => Some(y),
                _ => {
                    e.add(
                        "year",
                        format!(
                            "Indiquez l'année du dernier exercice clos, entre 2000 et {}.",
                            current_year + 1
                        ),
                    );
                    None
                }
            },
        };
        let mut resources = Vec::new();
        for r in Resource::ALL {
            let field = format!("resource_{}", r.as_str());
            if let Some(cents) = self.amount(&mut e, &field)
                && cents > 0
            {
                resources.push(ResourceAmount {
                    resource: r,
                    amount_cents: cents,
                });
            }
        }
        let largest_funder_name = self.text(&mut e, "largest_funder_name", NAME);
        let largest_funder_cents = self.amount(&mut e, "largest_funder_amount");
        if largest_funder_cents.is_none()
            && !largest_funder_name.is_empty()
            && self.get("largest_funder_amount").trim().is_empty()
        {
            e.add(
                "largest_funder_amount",
                "Indiquez le montant reçu de ce financeur, ou laissez les deux champs vides.",
            );
        }

        // Alliance rows: blank ones are skipped, so the profile's index differs from the
        // form's; `alliance_rows` maps one to the other for the consistency messages.
        let mut alliances = Vec::new();
        let mut alliance_rows = Vec::new();
        for i in 0..MAX_ALLIANCES {
            let key = |what: &str| format!("alliance_{i}_{what}");
            let partner = self.text(&mut e, &key("partner"), NAME);
            let actor_kind = self.get(&key("actor_kind")).trim().to_owned();
            let nature = self.get(&key("nature")).trim().to_owned();
            if partner.is_empty() && actor_kind.is_empty() && nature.is_empty() {
                continue;
            }
            alliance_rows.push(i);
            alliances.push(Alliance {
                partner,
                actor_kind,
                nature,
            });
        }
        let mut das = Vec::new();
        for i in 0..MAX_DAS {
            let key = |what: &str| format!("das_{i}_{what}");
            let name = self.text(&mut e, &key("name"), NAME);
            let share_typed = self.get(&key("share")).trim().to_owned();
            let notes = self.multiline(&mut e, &key("notes"), LONG_TEXT);
            if name.is_empty() && share_typed.is_empty() && notes.is_empty() {
                continue;
            }
            if name.is_empty() {
                e.add(
                    key("name"),
                    "Nommez ce domaine d'activité, ou laissez toute la ligne vide.",
                );
            }
            let budget_share_bp = if share_typed.is_empty() {
                None
            } else {
                match crate::domain::budget::parse_percent(&share_typed) {
                    Some(bp) if bp <= 10_000 => Some(bp),
                    _ => {
                        e.add(
                            key("share"),
                            "Indiquez une part du budget entre 0 et 100 %, par exemple 40.",
                        );
                        None
                    }
                }
            };
            das.push(Das {
                name,
                budget_share_bp,
                notes,
            });
        }
        let reading = Reading {
            strengths: self.multiline(&mut e, "strengths", LONG_TEXT),
            fragilities: self.multiline(&mut e, "fragilities", LONG_TEXT),
            risks: self.multiline(&mut e, "risks", LONG_TEXT),
            ambition: self.multiline(&mut e, "ambition", LONG_TEXT),
        };
        let levers = Levers {
            human: self.multiline(&mut e, "lever_human", LONG_TEXT),
            financial: self.multiline(&mut e, "lever_financial", LONG_TEXT),
            alliances: self.multiline(&mut e, "lever_alliances", LONG_TEXT),
            actions: self.multiline(&mut e, "actions", LONG_TEXT),
        };
        let profile = Profile {
            human,
            finances: Finances {
                year,
                resources,
                largest_funder_name,
                largest_funder_cents,
            },
            alliances,
            das,
            reading,
            levers,
        };
        for (field, message) in profile.check() {
            let field = match field
                .strip_prefix("alliance_")
                .and_then(|rest| rest.split_once('_'))
                .and_then(|(i, what)| Some((i.parse::<usize>().ok()?, what)))
            {
                Some((i, what)) => format!(
                    "alliance_{}_{what}",
                    alliance_rows.get(i).copied().unwrap_or(i)
                ),
                None => field,
            };
            // A value that could not be read already has its message.
            e.add(field, message);
        }
        if e.0.is_empty() {
            Ok(profile)
        } else {
            Err(e.0)
        }
    }

    /// A one-line field (a name): no line break, no control character but the tab.
    fn text(&self, e: &mut Errors, field: &str, max: usize) -> String {
        let v = input::one_line(self.get(field)).unwrap_or_else(|message| {
            e.add(field, message);
            self.get(field).trim().to_owned()
        });
        Self::max_chars(e, field, &v, max);
        v
    }

    /// A textarea: line breaks stored as LF, no control character but the tab.
    fn multiline(&self, e: &mut Errors, field: &str, max: usize) -> String {
        let v = input::multiline(self.get(field)).unwrap_or_else(|message| {
            e.add(field, message);
            self.get(field).trim().to_owned()
        });
        Self::max_chars(e, field, &v, max);
        v
    }

    fn max_chars(e: &mut Errors, field: &str, v: &str, max: usize) {
        if v.chars().count() > max {
            e.add(field, format!("{max} caractères au maximum."));
        }
    }

    /// A whole number of people, hours or days.
    fn count(&self, e: &mut Errors, field: &str) -> Option<u32> {
        let v: String = self
            .get(field)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if v.is_empty() {
            return None;
        }
        if v.starts_with('-') && v[1..].bytes().all(|b| b.is_ascii_digit()) && v.len() > 1 {
            e.add(field, "Indiquez un nombre positif ou nul.");
            return None;
        }
        match v.parse::<u32>() {
            Ok(n) if n <= MAX_COUNT => Some(n),
            Ok(_) => {
                e.add(field, "Nombre trop élevé.");
                None
            }
            Err(_) => {
                e.add(field, "Indiquez un nombre entier, par exemple 12.");
                None
            }
        }
    }

    /// Full-time equivalents with at most two decimals, in hundredths: « 3,5 » → 350.
    fn fte(&self, e: &mut Errors, field: &str) -> Option<u32> {
        fte_hundredths(self.get(field)).unwrap_or_else(|m| {
            e.add(field, m);
            None
        })
    }

    fn amount(&self, e: &mut Errors, field: &str) -> Option<i64> {
        match parse_cents(self.get(field)) {
            Ok(v) => v,
            Err(message) => {
                e.add(field, message);
                None
            }
        }
    }
}

fn rows_needed(
    input: &ProfileInput,
    prefix: &str,
    parts: &[&str],
    min: usize,
    max: usize,
) -> usize {
    let last_filled = (0..max).rev().find(|i| {
        parts
            .iter()
            .any(|p| !input.get(&format!("{prefix}_{i}_{p}")).trim().is_empty())
    });
    match last_filled {
        Some(i) => (i + 2).clamp(min, max),
        None => min,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> ProfileInput {
        ProfileInput(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn amounts_are_read_as_french_people_type_them() {
        assert_eq!(parse_cents("12 500,50 €"), Ok(Some(1_250_050)));
        assert_eq!(parse_cents("12\u{202f}500"), Ok(Some(1_250_000)));
        assert_eq!(parse_cents("12500"), Ok(Some(1_250_000)));
        assert_eq!(parse_cents("12.500,5"), Ok(Some(1_250_050)));
        assert_eq!(parse_cents("12.500"), Ok(Some(1_250_000)));
        assert_eq!(parse_cents("12.5"), Ok(Some(1_250)));
        assert_eq!(parse_cents("1 000 000 euros"), Ok(Some(100_000_000)));
        assert_eq!(parse_cents("  "), Ok(None));
        assert!(parse_cents("-200").unwrap_err().contains("négatif"));
        assert!(parse_cents("douze").unwrap_err().contains("illisible"));
        assert!(
            parse_cents("12,505")
                .unwrap_err()
                .contains("deux décimales")
        );
        assert!(parse_cents("99999999999999").is_err());
    }

    #[test]
    fn typed_back_values_read_again_to_the_same_profile() {
        let typed = input(&[
            ("employees", "4"),
            ("employees_fte", "3,5"),
            ("volunteers", "25"),
            ("volunteer_hours", "3 214"),
            ("year", "2025"),
            ("resource_subvention_region", "12 500,50 €"),
            ("resource_ventes", "40000"),
            ("largest_funder_name", "Région"),
            ("largest_funder_amount", "12500,50"),
            ("alliance_2_partner", "Mairie de Bègles"),
            ("alliance_2_actor_kind", "collectivite"),
            ("alliance_2_nature", "moyens"),
            ("das_0_name", "Insertion"),
            ("das_0_share", "40"),
            ("strengths", "Une équipe stable"),
            ("version", "0"),
        ]);
        let p = typed.parse_in(2026).unwrap();
        assert_eq!(p.human.employees_fte_hundredths, Some(350));
        assert_eq!(p.finances.amount(Resource::SubventionRegion), 1_250_050);
        assert_eq!(p.finances.total(), 5_250_050);
        assert_eq!(p.alliances.len(), 1);
        assert_eq!(p.das[0].budget_share_bp, Some(4_000));
        let back = ProfileInput::from_profile(&p, 3);
        assert_eq!(back.get("resource_subvention_region"), "12 500,50");
        assert_eq!(back.get("resource_ventes"), "40 000");
        assert_eq!(back.get("employees_fte"), "3,5");
        assert_eq!(back.get("alliance_0_partner"), "Mairie de Bègles");
        assert_eq!(back.get("version"), "3");
        assert_eq!(back.parse_in(2026).unwrap(), p);
    }

    #[test]
    fn each_problem_is_named_by_its_field_and_alliance_rows_keep_their_number() {
        let typed = input(&[
            ("employees", "deux"),
            ("employees_fte", "1,255"),
            ("volunteers", "-3"),
            ("year", "1999"),
            ("resource_ventes", "-200"),
            ("resource_formation", "abc"),
            ("resource_cotisations", "1000"),
            ("largest_funder_name", "Fondation"),
            ("largest_funder_amount", "5 000"),
            ("alliance_3_partner", "Lycée Montaigne"),
            ("alliance_3_actor_kind", "academique"),
            ("das_1_share", "40"),
            ("das_2_name", "Formation"),
            ("das_2_share", "140"),
        ]);
        let errors = typed.parse_in(2026).unwrap_err();
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "alliance_3_nature",
                "das_1_name",
                "das_2_share",
                "employees",
                "employees_fte",
                "largest_funder_amount",
                "resource_formation",
                "resource_ventes",
                "volunteers",
                "year",
            ]
        );
        assert!(errors["largest_funder_amount"].contains("ne peut pas dépasser le total"));
        assert!(errors["resource_ventes"].contains("négatif"));
        assert!(errors["employees_fte"].contains("deux décimales"));
        assert!(errors["year"].contains("2027"));
    }

    #[test]
    fn names_are_one_line_and_textareas_are_stored_with_lf_only() {
        let typed = input(&[
            ("largest_funder_name", "Fondation\r\nX-Injected: 1"),
            ("largest_funder_amount", "5 000"),
            ("resource_cotisations", "10 000"),
            ("das_0_name", "Formation\u{1b}"),
            ("das_0_notes", "Une\r\nDeux\rTrois"),
            ("strengths", "Un réseau\r\nDes bénévoles"),
        ]);
        let errors = typed.parse_in(2026).unwrap_err();
        assert_eq!(
            errors.keys().map(String::as_str).collect::<Vec<_>>(),
            ["das_0_name", "largest_funder_name"]
        );
        assert_eq!(errors["largest_funder_name"], input::LINE_BREAK_REFUSED);
        assert_eq!(errors["das_0_name"], input::CONTROL_REFUSED);

        let typed = input(&[
            ("das_0_name", "Formation"),
            ("das_0_notes", "Une\r\nDeux\rTrois"),
            ("strengths", "Un réseau\r\nDes bénévoles\u{2028}"),
            ("actions", "Piste 1\r\nPiste 2"),
        ]);
        let profile = typed.parse_in(2026).unwrap();
        assert_eq!(profile.das[0].notes, "Une\nDeux\nTrois");
        assert_eq!(profile.reading.strengths, "Un réseau\nDes bénévoles");
        assert_eq!(profile.levers.actions, "Piste 1\nPiste 2");
        let mut c = input(&[("risks", "Un\u{0}")]).parse_in(2026).unwrap_err();
        assert_eq!(c.remove("risks").unwrap(), input::CONTROL_REFUSED);
    }

    #[test]
    fn the_form_shows_one_blank_row_after_the_last_typed() {
        assert_eq!(input(&[]).alliance_rows(), ALLIANCE_ROWS);
        let many = input(&[("alliance_9_partner", "X")]);
        assert_eq!(many.alliance_rows(), 11);
        assert_eq!(input(&[("das_5_notes", "…")]).das_rows(), 7);
    }

    #[test]
    fn json_numbers_and_form_text_both_deserialise() {
        let from_json: ProfileInput =
            serde_json::from_str(r#"{"employees": 4, "employees_fte": 3.5, "strengths": null}"#)
                .unwrap();
        assert_eq!(from_json.get("employees"), "4");
        assert_eq!(from_json.get("employees_fte"), "3.5");
        assert_eq!(from_json.get("strengths"), "");
        let from_form: ProfileInput =
            serde_html_form::from_str("employees=4&employees_fte=3%2C5&resource_ventes=12+500")
                .unwrap();
        assert_eq!(from_form.get("employees_fte"), "3,5");
        assert_eq!(
            from_form.parse_in(2026).unwrap().finances.total(),
            1_250_000
        );
    }
}
