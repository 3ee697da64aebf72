//! The programme engine: the four-session template of the collective
//! accompaniment (source 003), generation of a cohort's sessions and
//! intersession tasks from a start date, consistency checks run after every
//! edit, and moving a session with its linked tasks.
//!
//! Dates are planned on French working days; times are Paris wall-clock times
//! stored as UTC instants.

use chrono::{DateTime, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::domain::Warning;
use crate::domain::calendar::{
    LocalTimeError, holiday_name, next_working_day, non_working_reason, paris_to_utc,
    previous_working_day, utc_to_paris,
};
use crate::domain::fr;

/// Maximum duration of one session or bilan slot, in minutes.
pub const MAX_DURATION_MINUTES: u32 = 600;
/// Maximum number of days a task may be due before its session.
pub const MAX_DAYS_BEFORE: u32 = 60;
/// Maximum gap, in calendar days, between two consecutive sessions of a template.
pub const MAX_OFFSET_DAYS: u32 = 180;

/// Serde helpers for `NaiveTime` written as `"HH:MM"` (e.g. `"09:30"`).
/// Use with `#[serde(with = "hhmm")]`, or `hhmm::list` for `Vec<NaiveTime>`.
pub mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `"09:30"`.
    pub fn format(t: NaiveTime) -> String {
        t.format("%H:%M").to_string()
    }

    /// Parses `"09:30"` (also `"9:30"` and `"09:30:00"`).
    pub fn parse(s: &str) -> Option<NaiveTime> {
        let s = s.trim();
        NaiveTime::parse_from_str(s, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
            .ok()
    }

    fn invalid<E: serde::de::Error>(s: &str) -> E {
        E::custom(format!(
            "heure invalide « {s} » : format attendu HH:MM (ex. 09:30)"
        ))
    }

    pub fn serialize<S: Serializer>(t: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(deserializer)?;
        parse(&s).ok_or_else(|| invalid::<D::Error>(&s))
    }

    /// The same for a list of times: `["09:30", "14:00"]`.
    pub mod list {
        use super::*;

        pub fn serialize<S: Serializer>(
            times: &[NaiveTime],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(times.iter().map(|t| format(*t)))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<NaiveTime>, D::Error> {
            let raw = Vec::<String>::deserialize(deserializer)?;
            raw.iter()
                .map(|s| parse(s).ok_or_else(|| invalid::<D::Error>(s)))
                .collect()
        }
    }
}

/// Reads a session's length as a chargé·e de mission types it in the template form:
/// "1 h 30", "1h30", "3 h", "1,5" (hours), "90 min", or a bare whole number — read as
/// hours up to 10 (a session lasts at most 10 h) and as minutes above (the form used to
/// show minutes, and « 90 » is what people type for an hour and a half). `None` when
/// unreadable; the range is checked by [`ProgrammeTemplate::validate`].
pub fn parse_duration_minutes(input: &str) -> Option<u32> {
    let s: String = input
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let digits = |d: &str| -> Option<u32> {
        (!d.is_empty() && d.len() <= 5 && d.bytes().all(|b| b.is_ascii_digit()))
            .then(|| d.parse().ok())
            .flatten()
    };
    if let Some(m) = ["minutes", "minute", "min", "mn"]
        .iter()
        .find_map(|suffix| s.strip_suffix(suffix))
    {
        return digits(m);
    }
    if let Some(n) = digits(&s) {
        return Some(if n <= 10 { n * 60 } else { n });
    }
    let s = s
        .strip_suffix("heures")
        .or_else(|| s.strip_suffix("heure"))
        .unwrap_or(&s);
    crate::domain::budget::parse_hours(s).and_then(|m| u32::try_from(m).ok())
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration_minutes as parse;

    #[test]
    fn a_session_length_is_read_in_hours_and_minutes_or_as_minutes() {
        assert_eq!(parse("1 h 30"), Some(90));
        assert_eq!(parse("1h30"), Some(90));
        assert_eq!(parse("1\u{a0}h\u{a0}30"), Some(90), "as the form shows it");
        assert_eq!(parse("3 h"), Some(180));
        assert_eq!(parse("6 h 30"), Some(390));
        assert_eq!(parse("1,5"), Some(90));
        assert_eq!(parse("90 min"), Some(90));
        assert_eq!(parse("45\u{a0}min"), Some(45));
        assert_eq!(parse("2 heures"), Some(120));
        // A bare number: hours up to the 10 h a session may last, minutes above.
        assert_eq!(parse("3"), Some(180));
        assert_eq!(parse("90"), Some(90));
        assert_eq!(parse("390"), Some(390));
        for bad in [
            "",
            "h",
            "trois heures",
            "1h75",
            "-90",
            "1 h 30 min",
            "12:30",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}

/// The four kinds of session of the programme, in programme order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Introductive,
    EtatDesLieux,
    Evolution,
    BilanIndividuel,
}

impl SessionKind {
    pub const ALL: [SessionKind; 4] = [
        SessionKind::Introductive,
        SessionKind::EtatDesLieux,
        SessionKind::Evolution,
        SessionKind::BilanIndividuel,
    ];

    /// Stable identifier: "introductive", "etat_des_lieux", "evolution", "bilan_individuel".
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Introductive => "introductive",
            SessionKind::EtatDesLieux => "etat_des_lieux",
            SessionKind::Evolution => "evolution",
            SessionKind::BilanIndividuel => "bilan_individuel",
        }
    }

    /// Inverse of [`SessionKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        SessionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Short French label.
    pub fn label(self) -> &'static str {
        match self {
            SessionKind::Introductive => "Session introductive",
            SessionKind::EtatDesLieux => "État des lieux",
            SessionKind::Evolution => "Évolution",
            SessionKind::BilanIndividuel => "Bilan individuel",
        }
    }

    /// Full French title, as in the method (source 003).
    pub fn long_label(self) -> &'static str {
        match self {
            SessionKind::Introductive => "Session introductive",
            SessionKind::EtatDesLieux => "1re session collective — État des lieux",
            SessionKind::Evolution => "2de session collective — L'évolution",
            SessionKind::BilanIndividuel => "Session de bilan individuel",
        }
    }

    /// All sessions but the individual bilan gather the whole cohort.
    pub fn is_collective(self) -> bool {
        !matches!(self, SessionKind::BilanIndividuel)
    }

    /// Position in the programme, 0 to 3.
    pub fn rank(self) -> u8 {
        match self {
            SessionKind::Introductive => 0,
            SessionKind::EtatDesLieux => 1,
            SessionKind::Evolution => 2,
            SessionKind::BilanIndividuel => 3,
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Template of a collective session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionTemplate {
    /// Calendar days after the previous session's date (ignored for the
    /// introductive session, which takes place on the start date).
    pub offset_days: u32,
    /// Paris local start time, serialised as "09:30".
    #[serde(with = "hhmm")]
    pub start_time: NaiveTime,
    pub duration_minutes: u32,
    pub planned_half_days: u32,
    pub agenda: String,
}

/// Template of the individual bilans: one slot per association.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BilanTemplate {
    /// Calendar days after the évolution session.
    pub offset_days: u32,
    /// Start times within one day, serialised as ["09:30", "14:00"].
    #[serde(with = "hhmm::list")]
    pub slots: Vec<NaiveTime>,
    pub duration_minutes: u32,
    pub planned_half_days: u32,
    pub agenda: String,
}

/// Template of an intersession task done inside each association.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskTemplate {
    pub title: String,
    pub instructions: String,
    pub prepares: SessionKind,
    /// Calendar days before the prepared session.
    pub days_before: u32,
    /// Estimated director time, in half-days.
    pub preparation_half_days: u32,
}

/// The whole programme template of a cohort.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeTemplate {
    pub introductive: SessionTemplate,
    pub etat_des_lieux: SessionTemplate,
    pub evolution: SessionTemplate,
    pub bilan: BilanTemplate,
    pub tasks: Vec<TaskTemplate>,
    pub min_months: u32,
    pub max_months: u32,
    /// The consultant's time beyond the sessions themselves (issue #13); absent from
    /// templates stored before it, hence the default.
    #[serde(default)]
    pub consultant_time: ConsultantTimeTemplate,
    /// Length of a half-day of collective work, for the method's warnings (source 003:
    /// a collective session lasts « d'une demi-journée à une journée »).
    #[serde(default = "default_half_day_minutes")]
    pub half_day_minutes: u32,
    /// Length of a day of collective work, for the same warnings.
    #[serde(default = "default_day_minutes")]
    pub day_minutes: u32,
    /// Shortest introductive session the method considers (1 h 30 « si les participants
    /// connaissent déjà la notion »).
    #[serde(default = "default_introductive_min_minutes")]
    pub introductive_min_minutes: u32,
}

fn default_half_day_minutes() -> u32 {
    180
}

fn default_day_minutes() -> u32 {
    420
}

fn default_introductive_min_minutes() -> u32 {
    90
}

/// Largest amount of one kind of planned consultant time: 100 hours.
pub const MAX_PLANNED_MINUTES: u32 = 6000;

/// The consultant time the method implies besides the sessions' own planned time, in
/// minutes (source 003: « difficile de mobiliser un·e consultant·e moins de 10 / 12
/// jours pour 8 associations »). Each amount is mapped onto a `domain::budget::TimeKind`
/// by `domain::budget::planned_time`. Missing fields take their default, so older
/// templates and API clients keep working.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsultantTimeTemplate {
    /// Preparation of each collective session (préparation).
    pub preparation_minutes_per_collective_session: u32,
    /// Travel to and from each collective session (déplacement).
    pub travel_minutes_per_collective_session: u32,
    /// Individual support between sessions, per association (appui individuel).
    pub support_minutes_per_association: u32,
    /// Preparation of each bilan individuel: rereading the association's work (bilan).
    pub bilan_preparation_minutes: u32,
    /// Write-up of each bilan individuel (bilan).
    pub bilan_write_up_minutes: u32,
    /// Coordination with the DLA for the whole cohort (coordination).
    pub coordination_minutes: u32,
}

impl Default for ConsultantTimeTemplate {
    /// With the sessions' defaults, 8 associations plan 11,7 days (10 to 12 in source
    /// 003), 4 associations 8 days: the collective time does not shrink with the group.
    fn default() -> Self {
        ConsultantTimeTemplate {
            preparation_minutes_per_collective_session: 120,
            travel_minutes_per_collective_session: 60,
            support_minutes_per_association: 90,
            bilan_preparation_minutes: 45,
            bilan_write_up_minutes: 45,
            coordination_minutes: 210,
        }
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid constant time")
}

impl Default for ProgrammeTemplate {
    /// The method's defaults (source 003): four sessions over 4 to 5 months.
    fn default() -> Self {
        ProgrammeTemplate {
            introductive: SessionTemplate {
                offset_days: 0,
                start_time: hm(9, 30),
                duration_minutes: 180,
                planned_half_days: 1,
                agenda: [
                    "Accueil et présentation des structures participantes",
                    "Déroulé de l'accompagnement : les quatre sessions et les travaux d'intersession",
                    "Notions clés du modèle socio-économique : les trois piliers (richesses humaines, ressources financières, alliances stratégiques)",
                    "Présentation des travaux préparatoires pour l'état des lieux",
                ]
                .join("\n"),
            },
            etat_des_lieux: SessionTemplate {
                offset_days: 35,
                start_time: hm(9, 30),
                duration_minutes: 390,
                planned_half_days: 2,
                agenda: [
                    "Tour de table : l'état des lieux des missions et du modèle socio-économique de chaque structure, par domaine d'activité stratégique le cas échéant",
                    "Constats et problématiques partagés",
                    "Déjeuner",
                    "Analyse croisée des trois piliers : richesses humaines, ressources financières, alliances stratégiques",
                    "Présentation des travaux préparatoires pour la session « Évolution »",
                ]
                .join("\n"),
            },
            evolution: SessionTemplate {
                offset_days: 42,
                start_time: hm(9, 30),
                duration_minutes: 390,
                planned_half_days: 2,
                agenda: [
                    "Ambition de chaque structure et évolution souhaitée de son modèle socio-économique",
                    "Freins et conditions de réussite",
                    "Déjeuner",
                    "Effet miroir : regards croisés entre pairs",
                    "Premières pistes d'actions",
                    "Préparation des bilans individuels",
                ]
                .join("\n"),
            },
            bilan: BilanTemplate {
                offset_days: 49,
                slots: vec![hm(9, 30), hm(14, 0)],
                duration_minutes: 120,
                planned_half_days: 1,
                agenda: [
                    "Évolution de votre vision du modèle socio-économique depuis la session « Évolution »",
                    "Points spécifiques à votre structure et pistes d'actions retenues",
                    "Votre retour sur l'accompagnement",
                    "Le cas échéant, regard croisé d'un tiers (partenaire, chargé·e de mission DLA)",
                ]
                .join("\n"),
            },
            tasks: vec![
                TaskTemplate {
                    title: "État des lieux des missions et du modèle socio-économique".to_owned(),
                    instructions: "Décrivez les missions de votre structure et, le cas échéant, ses domaines d'activité stratégiques. \
Pour chacun, faites l'état des lieux de votre modèle socio-économique sur ses trois piliers : richesses humaines (salariés, bénévoles, volontaires, mécénat de compétences), ressources financières (subventions, mécénat, revenus d'activité) et alliances stratégiques (partenariats de positionnement, de production ou de moyens). \
Associez un membre de votre gouvernance à ce travail et apportez vos constats à la session."
                        .to_owned(),
                    prepares: SessionKind::EtatDesLieux,
                    days_before: 7,
                    preparation_half_days: 3,
                },
                TaskTemplate {
                    title: "Ambition, freins et conditions de réussite".to_owned(),
                    instructions: "À partir de l'état des lieux partagé en session, formulez l'ambition de votre structure et l'évolution souhaitée de son modèle socio-économique. \
Identifiez les freins qui pourraient l'entraver et les conditions de réussite à réunir. \
Partagez ce travail avec votre conseil d'administration avant la session."
                        .to_owned(),
                    prepares: SessionKind::Evolution,
                    days_before: 7,
                    preparation_half_days: 2,
                },
                TaskTemplate {
                    title: "Vision révisée et pistes d'actions".to_owned(),
                    instructions: "Relisez vos travaux et les retours de vos pairs lors des sessions collectives. \
Rédigez en une page votre vision révisée du modèle socio-économique de votre structure et les pistes d'actions envisagées, par ordre de priorité. \
Notez aussi vos remarques sur l'accompagnement : elles nourriront le bilan individuel."
                        .to_owned(),
                    prepares: SessionKind::BilanIndividuel,
                    days_before: 5,
                    preparation_half_days: 1,
                },
            ],
            min_months: 4,
            max_months: 5,
            consultant_time: ConsultantTimeTemplate::default(),
            half_day_minutes: default_half_day_minutes(),
            day_minutes: default_day_minutes(),
            introductive_min_minutes: default_introductive_min_minutes(),
        }
    }
}

/// Minutes from midnight to `t` plus `duration`, to detect crossing midnight.
fn ends_after_midnight(t: NaiveTime, duration_minutes: u32) -> bool {
    let start = t.signed_duration_since(NaiveTime::MIN).num_minutes();
    start + i64::from(duration_minutes) > 24 * 60
}

fn check_duration(errors: &mut Vec<(String, String)>, prefix: &str, minutes: u32) {
    if minutes == 0 || minutes > MAX_DURATION_MINUTES {
        errors.push((
            format!("{prefix}.duration_minutes"),
            format!("La durée doit être comprise entre 1 et {MAX_DURATION_MINUTES} minutes."),
        ));
    }
}

fn check_offset(errors: &mut Vec<(String, String)>, prefix: &str, offset: u32) {
    if offset == 0 || offset > MAX_OFFSET_DAYS {
        errors.push((
            format!("{prefix}.offset_days"),
            format!("L'écart avec la session précédente doit être compris entre 1 et {MAX_OFFSET_DAYS} jours."),
        ));
    }
}

fn check_session_template(
    errors: &mut Vec<(String, String)>,
    prefix: &str,
    t: &SessionTemplate,
    has_offset: bool,
) {
    if has_offset {
        check_offset(errors, prefix, t.offset_days);
    }
    check_duration(errors, prefix, t.duration_minutes);
    if ends_after_midnight(t.start_time, t.duration_minutes) {
        errors.push((
            format!("{prefix}.start_time"),
            format!(
                "Une session commençant à {} ne peut pas durer {} minutes : elle doit se terminer le jour même.",
                fr::time(t.start_time),
                t.duration_minutes
            ),
        ));
    }
}

impl ProgrammeTemplate {
    /// Checks the template; on failure returns every problem as
    /// (field path, French message), e.g. ("bilan.slots", "…").
    pub fn validate(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors = Vec::new();
        check_session_template(&mut errors, "introductive", &self.introductive, false);
        check_session_template(&mut errors, "etat_des_lieux", &self.etat_des_lieux, true);
        check_session_template(&mut errors, "evolution", &self.evolution, true);

        let bilan = &self.bilan;
        check_offset(&mut errors, "bilan", bilan.offset_days);
        check_duration(&mut errors, "bilan", bilan.duration_minutes);
        if bilan.slots.is_empty() {
            errors.push((
                "bilan.slots".to_owned(),
                "Indiquez au moins un créneau de bilan individuel.".to_owned(),
            ));
        }
        if bilan.slots.windows(2).any(|w| w[0] >= w[1]) {
            errors.push((
                "bilan.slots".to_owned(),
                "Les créneaux de bilan doivent être dans l'ordre chronologique, sans doublon."
                    .to_owned(),
            ));
        } else if let Some(w) = bilan.slots.windows(2).find(|w| {
            w[1].signed_duration_since(w[0]).num_minutes() < i64::from(bilan.duration_minutes)
        }) {
            errors.push((
                "bilan.slots".to_owned(),
                format!(
                    "Les créneaux de {} et de {} se chevauchent : un bilan dure {} minutes.",
                    fr::time(w[0]),
                    fr::time(w[1]),
                    bilan.duration_minutes
                ),
            ));
        }
        if let Some(slot) = bilan
            .slots
            .iter()
            .find(|s| ends_after_midnight(**s, bilan.duration_minutes))
        {
            errors.push((
                "bilan.slots".to_owned(),
                format!(
                    "Le créneau de {} dépasse minuit : un bilan doit se terminer le jour même.",
                    fr::time(*slot)
                ),
            ));
        }

        if self.max_months == 0 {
            errors.push((
                "max_months".to_owned(),
                "La durée maximale doit être d'au moins un mois.".to_owned(),
            ));
        }
        if self.min_months > self.max_months {
            errors.push((
                "min_months".to_owned(),
                "La durée minimale ne peut pas dépasser la durée maximale.".to_owned(),
            ));
        }

        let ct = &self.consultant_time;
        for (field, minutes) in [
            (
                "preparation_minutes_per_collective_session",
                ct.preparation_minutes_per_collective_session,
            ),
            (
                "travel_minutes_per_collective_session",
                ct.travel_minutes_per_collective_session,
            ),
            (
                "support_minutes_per_association",
                ct.support_minutes_per_association,
            ),
            ("bilan_preparation_minutes", ct.bilan_preparation_minutes),
            ("bilan_write_up_minutes", ct.bilan_write_up_minutes),
            ("coordination_minutes", ct.coordination_minutes),
        ] {
            if minutes > MAX_PLANNED_MINUTES {
                errors.push((
                    format!("consultant_time.{field}"),
                    format!(
                        "Le temps prévu doit être compris entre 0 et {} minutes.",
                        MAX_PLANNED_MINUTES
                    ),
                ));
            }
        }
        if !(60..=720).contains(&self.day_minutes) {
            errors.push((
                "day_minutes".to_owned(),
                "Une journée de travail collectif dure entre 60 et 720 minutes.".to_owned(),
            ));
        }
        if self.half_day_minutes < 30 || self.half_day_minutes >= self.day_minutes {
            errors.push((
                "half_day_minutes".to_owned(),
                "Une demi-journée dure au moins 30 minutes et moins qu'une journée.".to_owned(),
            ));
        }
        if self.introductive_min_minutes > self.half_day_minutes {
            errors.push((
                "introductive_min_minutes".to_owned(),
                "La durée minimale de la session introductive ne peut pas dépasser une demi-journée."
                    .to_owned(),
            ));
        }

        for (i, task) in self.tasks.iter().enumerate() {
            if task.title.trim().is_empty() {
                errors.push((
                    format!("tasks[{i}].title"),
                    "Le titre de la tâche est obligatoire.".to_owned(),
                ));
            }
            if task.days_before > MAX_DAYS_BEFORE {
                errors.push((
                    format!("tasks[{i}].days_before"),
                    format!("L'échéance doit se situer au plus {MAX_DAYS_BEFORE} jours avant la session."),
                ));
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// An association to plan a bilan for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociationRef {
    pub id: String,
    pub name: String,
}

/// A generated session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedSession {
    pub kind: SessionKind,
    /// Set for an individual bilan only.
    pub association_id: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub planned_half_days: u32,
    pub agenda: String,
}

/// A generated intersession task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedTask {
    pub title: String,
    pub instructions: String,
    /// Index into `Programme::sessions` of the session it prepares, if planned.
    pub session_index: Option<usize>,
    pub prepares: SessionKind,
    pub due_date: NaiveDate,
    pub days_before: u32,
    pub preparation_half_days: u32,
}

/// A generated programme: sessions sorted by start, tasks, and the warnings
/// of [`check_programme`] on it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Programme {
    pub sessions: Vec<PlannedSession>,
    pub tasks: Vec<PlannedTask>,
    pub warnings: Vec<Warning>,
}

/// Why a programme could not be generated.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgrammeError {
    InvalidTemplate(Vec<(String, String)>),
    LocalTime(LocalTimeError),
    /// [`next_bilan_slot`] found every slot of the year taken.
    NoFreeBilanSlot,
}

impl fmt::Display for ProgrammeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgrammeError::InvalidTemplate(errors) => {
                let details: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
                write!(
                    f,
                    "Le modèle de programme est invalide : {}",
                    details.join(" ")
                )
            }
            ProgrammeError::LocalTime(e) => write!(f, "{e}"),
            ProgrammeError::NoFreeBilanSlot => f.write_str(
                "Aucun créneau de bilan individuel libre n'a été trouvé dans l'année qui suit \
                 le dernier bilan : planifiez ce bilan à la main.",
            ),
        }
    }
}

impl std::error::Error for ProgrammeError {}

impl From<LocalTimeError> for ProgrammeError {
    fn from(e: LocalTimeError) -> Self {
        ProgrammeError::LocalTime(e)
    }
}

fn minutes(n: u32) -> chrono::Duration {
    chrono::Duration::minutes(i64::from(n))
}

fn add_days(date: NaiveDate, n: u32) -> NaiveDate {
    date.checked_add_days(Days::new(u64::from(n)))
        .expect("date within chrono's range")
}

fn sub_days(date: NaiveDate, n: u32) -> NaiveDate {
    date.checked_sub_days(Days::new(u64::from(n)))
        .expect("date within chrono's range")
}

fn paris_date(instant: DateTime<Utc>) -> NaiveDate {
    utc_to_paris(instant).date()
}

/// Generates the programme of a cohort starting on `start`.
///
/// The introductive session is on the first working day on or after `start`;
/// each following collective session `offset_days` later (moved to the next
/// working day); the bilans fill the template's slots day after day, one
/// association per slot, in the given order. Each task is due on the last
/// working day on or before `days_before` days ahead of the session it
/// prepares (a bilan task prepares the earliest bilan).
pub fn generate(
    start: NaiveDate,
    associations: &[AssociationRef],
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Programme, ProgrammeError> {
    template
        .validate()
        .map_err(ProgrammeError::InvalidTemplate)?;
    let am = alsace_moselle;

    let intro_date = next_working_day(start, am);
    let edl_date = next_working_day(
        add_days(intro_date, template.etat_des_lieux.offset_days),
        am,
    );
    let evo_date = next_working_day(add_days(edl_date, template.evolution.offset_days), am);
    let first_bilan_date = next_working_day(add_days(evo_date, template.bilan.offset_days), am);

    // (session, label) pairs, sorted by start afterwards.
    let mut planned: Vec<(PlannedSession, String)> = Vec::new();
    for (kind, date, t) in [
        (
            SessionKind::Introductive,
            intro_date,
            &template.introductive,
        ),
        (
            SessionKind::EtatDesLieux,
            edl_date,
            &template.etat_des_lieux,
        ),
        (SessionKind::Evolution, evo_date, &template.evolution),
    ] {
        let starts_at = paris_to_utc(date.and_time(t.start_time))?;
        planned.push((
            PlannedSession {
                kind,
                association_id: None,
                starts_at,
                ends_at: starts_at + minutes(t.duration_minutes),
                planned_half_days: t.planned_half_days,
                agenda: t.agenda.clone(),
            },
            kind.label().to_owned(),
        ));
    }

    let bilan = &template.bilan;
    let per_day = bilan.slots.len();
    let mut day = first_bilan_date;
    for (i, association) in associations.iter().enumerate() {
        if i > 0 && i % per_day == 0 {
            day = next_working_day(add_days(day, 1), am);
        }
        let starts_at = paris_to_utc(day.and_time(bilan.slots[i % per_day]))?;
        planned.push((
            PlannedSession {
                kind: SessionKind::BilanIndividuel,
                association_id: Some(association.id.clone()),
                starts_at,
                ends_at: starts_at + minutes(bilan.duration_minutes),
                planned_half_days: bilan.planned_half_days,
                agenda: bilan.agenda.clone(),
            },
            format!(
                "{} — {}",
                SessionKind::BilanIndividuel.label(),
                association.name
            ),
        ));
    }
    planned.sort_by_key(|(s, _)| s.starts_at);

    let index_of = |kind: SessionKind| -> Option<usize> {
        planned
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| s.kind == kind)
            .min_by_key(|(_, (s, _))| s.starts_at)
            .map(|(i, _)| i)
    };

    let tasks: Vec<PlannedTask> = template
        .tasks
        .iter()
        .map(|t| {
            let session_index = index_of(t.prepares);
            let session_date = match session_index {
                Some(i) => paris_date(planned[i].0.starts_at),
                None => first_bilan_date,
            };
            PlannedTask {
                title: t.title.clone(),
                instructions: t.instructions.clone(),
                session_index,
                prepares: t.prepares,
                due_date: previous_working_day(sub_days(session_date, t.days_before), am),
                days_before: t.days_before,
                preparation_half_days: t.preparation_half_days,
            }
        })
        .collect();

    let scheduled: Vec<ScheduledSession> = planned
        .iter()
        .enumerate()
        .map(|(i, (s, label))| ScheduledSession {
            id: i.to_string(),
            kind: s.kind,
            association_id: s.association_id.clone(),
            label: label.clone(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
        })
        .collect();
    let scheduled_tasks: Vec<ScheduledTask> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| ScheduledTask {
            id: i.to_string(),
            title: t.title.clone(),
            session_id: t.session_index.map(|i| i.to_string()),
            due_date: t.due_date,
        })
        .collect();

    let mut warnings = Vec::new();
    if associations.is_empty() {
        warnings.push(Warning::new(
            "no_bilan",
            "Aucune association inscrite : les bilans individuels seront planifiés après les inscriptions.",
        ));
    }
    warnings.extend(check_programme(
        start,
        &scheduled,
        &scheduled_tasks,
        template.min_months,
        template.max_months,
        am,
    ));

    Ok(Programme {
        sessions: planned.into_iter().map(|(s, _)| s).collect(),
        tasks,
        warnings,
    })
}

/// A session as stored, for checks and moves.
#[derive(Clone, Debug)]
pub struct ScheduledSession {
    pub id: String,
    pub kind: SessionKind,
    pub association_id: Option<String>,
    /// e.g. "État des lieux" or "Bilan individuel — Les Petits Débrouillards".
    pub label: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A task as stored, for checks and moves.
#[derive(Clone, Debug)]
pub struct ScheduledTask {
    pub id: String,
    pub title: String,
    /// The session it prepares, if any.
    pub session_id: Option<String>,
    pub due_date: NaiveDate,
}

/// Consistency warnings on a programme, run after every edit.
///
/// Codes: `span_too_long`, `span_too_short` (only once a bilan exists),
/// `out_of_order`, `before_start`, `overlap`, `non_working_day`,
/// `task_after_session`, `missing_session`.
pub fn check_programme(
    start: NaiveDate,
    sessions: &[ScheduledSession],
    tasks: &[ScheduledTask],
    min_months: u32,
    max_months: u32,
    alsace_moselle: bool,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let mut sorted: Vec<&ScheduledSession> = sessions.iter().collect();
    sorted.sort_by_key(|s| (s.starts_at, s.kind.rank()));
    let Some(last) = sorted.iter().copied().max_by_key(|s| s.ends_at) else {
        return warnings;
    };

    // Overall span.
    let last_end = paris_date(last.ends_at);
    if let Some(limit) = start.checked_add_months(Months::new(max_months))
        && last_end > limit
    {
        warnings.push(Warning::new(
            "span_too_long",
            format!(
                "« {} » se termine le {}, soit plus de {} mois après le début de la cohorte (le {}) : la dernière session devrait avoir lieu au plus tard le {}.",
                last.label,
                fr::date_long(last_end),
                max_months,
                fr::date_long(start),
                fr::date_long(limit)
            ),
        ));
    }
    let has_bilan = sorted
        .iter()
        .any(|s| s.kind == SessionKind::BilanIndividuel);
    if has_bilan
        && let Some(minimum) = start.checked_add_months(Months::new(min_months))
        && last_end < minimum
    {
        warnings.push(Warning::new(
            "span_too_short",
            format!(
                "« {} » se termine le {}, moins de {} mois après le début de la cohorte (le {}) : laissez du temps aux travaux d'intersession en terminant au plus tôt le {}.",
                last.label,
                fr::date_long(last_end),
                min_months,
                fr::date_long(start),
                fr::date_long(minimum)
            ),
        ));
    }

    // Programme order: introductive < état des lieux < évolution < bilans.
    for b in &sorted {
        let offender = sorted
            .iter()
            .filter(|a| a.kind.rank() < b.kind.rank() && a.starts_at >= b.starts_at)
            .min_by_key(|a| (a.kind.rank(), a.starts_at));
        if let Some(a) = offender {
            warnings.push(Warning::new(
                "out_of_order",
                format!(
                    "« {} » (le {}) devrait avoir lieu après « {} » (le {}) : l'ordre attendu est session introductive, état des lieux, évolution, puis bilans individuels.",
                    b.label,
                    fr::date_long(paris_date(b.starts_at)),
                    a.label,
                    fr::date_long(paris_date(a.starts_at))
                ),
            ));
        }
    }

    // Before the cohort start.
    for s in &sorted {
        let date = paris_date(s.starts_at);
        if date < start {
            warnings.push(Warning::new(
                "before_start",
                format!(
                    "« {} » a lieu le {}, avant le début de la cohorte (le {}).",
                    s.label,
                    fr::date_long(date),
                    fr::date_long(start)
                ),
            ));
        }
    }

    // Overlaps.
    for (i, a) in sorted.iter().enumerate() {
        for b in &sorted[i + 1..] {
            if a.starts_at < b.ends_at && b.starts_at < a.ends_at {
                warnings.push(Warning::new(
                    "overlap",
                    format!(
                        "« {} » ({}) et « {} » ({}) se chevauchent.",
                        a.label,
                        fr::time_range(a.starts_at, a.ends_at),
                        b.label,
                        fr::time_range(b.starts_at, b.ends_at)
                    ),
                ));
            }
        }
    }

    // Weekends and public holidays.
    for s in &sorted {
        let date = paris_date(s.starts_at);
        if let Some(reason) = non_working_reason(date, alsace_moselle) {
            let message = match holiday_name(date, alsace_moselle) {
                Some(name) => format!(
                    "« {} » est planifiée le {}, jour férié ({}) : préférez un jour ouvré.",
                    s.label,
                    fr::date_long(date),
                    name
                ),
                None => format!(
                    "« {} » est planifiée un {} (le {}) : préférez un jour ouvré.",
                    s.label,
                    reason,
                    fr::date_long(date)
                ),
            };
            warnings.push(Warning::new("non_working_day", message));
        }
    }

    // Tasks due too late.
    for task in tasks {
        let Some(session) = task
            .session_id
            .as_deref()
            .and_then(|id| sessions.iter().find(|s| s.id == id))
        else {
            continue;
        };
        let session_date = paris_date(session.starts_at);
        if task.due_date >= session_date {
            warnings.push(Warning::new(
                "task_after_session",
                format!(
                    "La tâche « {} » arrive à échéance le {}, alors que la session qu'elle prépare, « {} », a lieu le {} : l'échéance doit précéder la session.",
                    task.title,
                    fr::date_long(task.due_date),
                    session.label,
                    fr::date_long(session_date)
                ),
            ));
        }
    }

    // Missing collective sessions.
    for kind in SessionKind::ALL.into_iter().filter(|k| k.is_collective()) {
        if !sorted.iter().any(|s| s.kind == kind) {
            warnings.push(Warning::new(
                "missing_session",
                format!(
                    "Le programme ne comporte pas de session « {} ».",
                    kind.label()
                ),
            ));
        }
    }

    warnings
}

/// A request to move a session (from the edit form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveRequest {
    /// Paris local start.
    pub new_start: NaiveDateTime,
    /// Paris local end; `None` keeps the session's duration.
    pub new_end: Option<NaiveDateTime>,
    /// Refuse weekends and public holidays.
    pub avoid_non_working_days: bool,
}

/// A linked task whose due date follows the moved session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskMove {
    pub task_id: String,
    pub title: String,
    pub old_due: NaiveDate,
    pub new_due: NaiveDate,
}

/// The result of a move, to be applied by the caller.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MoveOutcome {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub task_moves: Vec<TaskMove>,
    /// French lines describing the change, for confirmation and history.
    pub summary: Vec<String>,
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveError {
    EndBeforeStart,
    LocalTime(LocalTimeError),
    NonWorkingDay { date: NaiveDate, reason: String },
    Unchanged,
}

impl fmt::Display for MoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoveError::EndBeforeStart => f.write_str("La fin doit être après le début."),
            MoveError::LocalTime(e) => write!(f, "{e}"),
            MoveError::NonWorkingDay { date, reason } => {
                let what = if reason.starts_with("jour férié") {
                    format!("est un {reason}")
                } else {
                    "tombe un week-end".to_owned()
                };
                let day = fr::date_long(*date);
                write!(
                    f,
                    "Le {day} {what} : choisissez un jour ouvré ou décochez « éviter les jours non ouvrés »."
                )
            }
            MoveError::Unchanged => f.write_str(
                "La séance n'a pas changé : choisissez une autre date ou un autre horaire.",
            ),
        }
    }
}

impl std::error::Error for MoveError {}

/// Moves `session` as asked. Linked tasks (`session_id == session.id`) shift
/// by the number of calendar days between the old and new Paris start dates,
/// falling back to the previous working day. Nothing is mutated: the caller
/// applies the returned outcome.
pub fn move_session(
    session: &ScheduledSession,
    tasks: &[ScheduledTask],
    req: &MoveRequest,
    alsace_moselle: bool,
) -> Result<MoveOutcome, MoveError> {
    let starts_at = paris_to_utc(req.new_start).map_err(MoveError::LocalTime)?;
    let ends_at = match req.new_end {
        Some(end) => paris_to_utc(end).map_err(MoveError::LocalTime)?,
        None => starts_at + (session.ends_at - session.starts_at),
    };
    if ends_at <= starts_at {
        return Err(MoveError::EndBeforeStart);
    }
    if req.avoid_non_working_days {
        let mut dates = vec![req.new_start.date()];
        let end_date = paris_date(ends_at);
        if end_date != req.new_start.date() {
            dates.push(end_date);
        }
        for date in dates {
            if let Some(reason) = non_working_reason(date, alsace_moselle) {
                return Err(MoveError::NonWorkingDay { date, reason });
            }
        }
    }
    if starts_at == session.starts_at && ends_at == session.ends_at {
        return Err(MoveError::Unchanged);
    }

    let old_local = utc_to_paris(session.starts_at);
    let shift = (req.new_start.date() - old_local.date()).num_days();
    let mut summary = Vec::new();
    if starts_at != session.starts_at {
        summary.push(format!(
            "« {} » passe du {} au {}.",
            session.label,
            fr::datetime_long(session.starts_at),
            fr::datetime_long(starts_at)
        ));
    }
    if ends_at - starts_at != session.ends_at - session.starts_at {
        summary.push(format!(
            "« {} » se terminera le {} (au lieu du {}).",
            session.label,
            fr::datetime_long(ends_at),
            fr::datetime_long(session.ends_at)
        ));
    }

    let linked = tasks
        .iter()
        .filter(|t| t.session_id.as_deref() == Some(session.id.as_str()));
    let (task_moves, lines) = shift_tasks(linked, shift, "", alsace_moselle);
    summary.extend(lines);

    Ok(MoveOutcome {
        starts_at,
        ends_at,
        task_moves,
        summary,
    })
}

/// Shifts each task's due date by `shift` calendar days (back to the previous working day
/// when needed); returns the moves and their French summary lines (`note` ends the line).
fn shift_tasks<'a>(
    tasks: impl Iterator<Item = &'a ScheduledTask>,
    shift: i64,
    note: &str,
    alsace_moselle: bool,
) -> (Vec<TaskMove>, Vec<String>) {
    let mut moves = Vec::new();
    let mut summary = Vec::new();
    if shift == 0 {
        return (moves, summary);
    }
    for task in tasks {
        let new_due = previous_working_day(
            task.due_date + chrono::Duration::days(shift),
            alsace_moselle,
        );
        if new_due != task.due_date {
            summary.push(format!(
                "Travail préparatoire « {} » : échéance du {} au {}{note}.",
                task.title,
                fr::date_long(task.due_date),
                fr::date_long(new_due)
            ));
            moves.push(TaskMove {
                task_id: task.id.clone(),
                title: task.title.clone(),
                old_due: task.due_date,
                new_due,
            });
        }
    }
    (moves, summary)
}

/// Tasks that prepare the bilans individuels are linked to the earliest bilan and due a set
/// number of days before it. When a bilan moves, the earliest one may change (or move): this
/// keeps such tasks the same number of days before the earliest bilan, whichever it is now.
/// Returns the due-date moves, their French summary lines, and the id of the earliest bilan
/// after the move (the tasks' new link).
pub fn realign_bilan_tasks(
    bilans: &[ScheduledSession],
    moved_id: &str,
    new_start: DateTime<Utc>,
    tasks: &[ScheduledTask],
    alsace_moselle: bool,
) -> (Vec<TaskMove>, Vec<String>, Option<String>) {
    let earliest = |list: &[(String, DateTime<Utc>)]| list.iter().min_by_key(|(_, t)| *t).cloned();
    let before: Vec<(String, DateTime<Utc>)> =
        bilans.iter().map(|b| (b.id.clone(), b.starts_at)).collect();
    let after: Vec<(String, DateTime<Utc>)> = before
        .iter()
        .map(|(id, t)| (id.clone(), if id == moved_id { new_start } else { *t }))
        .collect();
    let (Some((_, old_first)), Some((new_id, new_first))) = (earliest(&before), earliest(&after))
    else {
        return (Vec::new(), Vec::new(), None);
    };
    let shift = (utc_to_paris(new_first).date() - utc_to_paris(old_first).date()).num_days();
    let bilan_tasks = tasks.iter().filter(|t| {
        t.session_id
            .as_deref()
            .is_some_and(|sid| bilans.iter().any(|b| b.id == sid))
    });
    let (moves, summary) = shift_tasks(
        bilan_tasks,
        shift,
        " (premier bilan individuel)",
        alsace_moselle,
    );
    (moves, summary, Some(new_id))
}

/// How far [`next_bilan_slot`] looks for a free slot: a year of days is more than any
/// programme spans, so running out means every slot clashes with sessions (not a loop).
const BILAN_SEARCH_DAYS: u32 = 400;

/// The bilan the template gives an association enrolled once the programme exists, as
/// generation would have placed it after the others: the next template slot after the
/// last bilan (the one that starts last, wherever it was moved by hand), on that day or
/// the following working days, that starts once that bilan has ended and overlaps no
/// session; without any bilan, where generation puts the first one, `bilan.offset_days`
/// after the évolution (the stored one, which may have been moved; computed from the
/// template from `start` when absent), then on. Earlier gaps (a withdrawn association's
/// slot) are left as they are: the bilans keep enrolment order. Never before `now`: an
/// association enrolled late into a cohort whose bilans are past gets the first free
/// slot from now on.
pub fn next_bilan_slot(
    start: NaiveDate,
    sessions: &[ScheduledSession],
    association_id: &str,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    now: DateTime<Utc>,
) -> Result<PlannedSession, ProgrammeError> {
    template
        .validate()
        .map_err(ProgrammeError::InvalidTemplate)?;
    let am = alsace_moselle;
    let stored = |kind: SessionKind| {
        sessions
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| paris_date(s.starts_at))
            .min()
    };
    let bilan = &template.bilan;
    let last = sessions
        .iter()
        .filter(|s| s.kind == SessionKind::BilanIndividuel)
        .max_by_key(|s| (s.starts_at, s.ends_at));
    let (mut day, not_before) = match last {
        Some(b) => (paris_date(b.starts_at), Some(b.ends_at)),
        None => {
            let intro =
                stored(SessionKind::Introductive).unwrap_or_else(|| next_working_day(start, am));
            let edl = stored(SessionKind::EtatDesLieux).unwrap_or_else(|| {
                next_working_day(add_days(intro, template.etat_des_lieux.offset_days), am)
            });
            let evo = stored(SessionKind::Evolution).unwrap_or_else(|| {
                next_working_day(add_days(edl, template.evolution.offset_days), am)
            });
            (next_working_day(add_days(evo, bilan.offset_days), am), None)
        }
    };
    let not_before = Some(not_before.map_or(now, |t| t.max(now)));
    day = day.max(paris_date(now));
    let length = minutes(bilan.duration_minutes);
    for _ in 0..BILAN_SEARCH_DAYS {
        if non_working_reason(day, am).is_none() {
            for &slot in &bilan.slots {
                let starts_at = paris_to_utc(day.and_time(slot))?;
                let ends_at = starts_at + length;
                let free = not_before.is_none_or(|t| starts_at >= t)
                    && !sessions
                        .iter()
                        .any(|s| s.starts_at < ends_at && starts_at < s.ends_at);
                if free {
                    return Ok(PlannedSession {
                        kind: SessionKind::BilanIndividuel,
                        association_id: Some(association_id.to_owned()),
                        starts_at,
                        ends_at,
                        planned_half_days: bilan.planned_half_days,
                        agenda: bilan.agenda.clone(),
                    });
                }
            }
        }
        day = next_working_day(add_days(day, 1), am);
    }
    Err(ProgrammeError::NoFreeBilanSlot)
}

/// The tasks that prepare the bilans when the first bilan of a programme is added: a
/// programme generated without associations left them linked to no session, due
/// `days_before` the date the first bilan would have had. Each of them — a task linked to
/// no session whose title is that of a template task preparing the bilan — is linked to
/// the new bilan and due `days_before` its date (the previous working day if needed), as
/// generation would have done. Returns every such task, moved or not.
pub fn first_bilan_tasks(
    template: &ProgrammeTemplate,
    tasks: &[ScheduledTask],
    bilan_start: DateTime<Utc>,
    alsace_moselle: bool,
) -> Vec<TaskMove> {
    let day = paris_date(bilan_start);
    tasks
        .iter()
        .filter(|t| t.session_id.is_none())
        .filter_map(|t| {
            let model = template
                .tasks
                .iter()
                .find(|m| m.prepares == SessionKind::BilanIndividuel && m.title == t.title)?;
            Some(TaskMove {
                task_id: t.id.clone(),
                title: t.title.clone(),
                old_due: t.due_date,
                new_due: previous_working_day(sub_days(day, model.days_before), alsace_moselle),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::is_working_day;
    use chrono::{TimeZone, Timelike};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn local(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
        d(y, m, day).and_time(hm(h, min))
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
    }

    fn associations(n: usize) -> Vec<AssociationRef> {
        (1..=n)
            .map(|i| AssociationRef {
                id: format!("a{i}"),
                name: format!("Association {i}"),
            })
            .collect()
    }

    fn session(
        id: &str,
        kind: SessionKind,
        start: NaiveDateTime,
        minutes_long: i64,
    ) -> ScheduledSession {
        let starts_at = paris_to_utc(start).unwrap();
        ScheduledSession {
            id: id.to_owned(),
            kind,
            association_id: None,
            label: kind.label().to_owned(),
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(minutes_long),
        }
    }

    fn bilan(id: &str, name: &str, start: NaiveDateTime) -> ScheduledSession {
        ScheduledSession {
            association_id: Some(id.to_owned()),
            label: format!("Bilan individuel — {name}"),
            ..session(id, SessionKind::BilanIndividuel, start, 120)
        }
    }

    fn task(id: &str, title: &str, session_id: &str, due: NaiveDate) -> ScheduledTask {
        ScheduledTask {
            id: id.to_owned(),
            title: title.to_owned(),
            session_id: Some(session_id.to_owned()),
            due_date: due,
        }
    }

    /// A sound programme starting on Monday 11 January 2027.
    fn sound_programme() -> Vec<ScheduledSession> {
        vec![
            session(
                "s0",
                SessionKind::Introductive,
                local(2027, 1, 11, 9, 30),
                180,
            ),
            session(
                "s1",
                SessionKind::EtatDesLieux,
                local(2027, 2, 15, 9, 30),
                390,
            ),
            session("s2", SessionKind::Evolution, local(2027, 3, 30, 9, 30), 390),
            bilan("b1", "Les Petits Débrouillards", local(2027, 5, 18, 9, 30)),
            bilan("b2", "Emmaüs Connect", local(2027, 5, 18, 14, 0)),
        ]
    }

    fn codes(w: &[Warning]) -> Vec<&'static str> {
        w.iter().map(|w| w.code).collect()
    }

    fn start_2027() -> NaiveDate {
        d(2027, 1, 11)
    }

    // ---- SessionKind -------------------------------------------------------

    #[test]
    fn session_kind_strings_round_trip_and_match_serde() {
        for kind in SessionKind::ALL {
            assert_eq!(SessionKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: SessionKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
        assert_eq!(SessionKind::parse("bilan"), None);
        assert_eq!(SessionKind::EtatDesLieux.as_str(), "etat_des_lieux");
    }

    #[test]
    fn session_kind_labels_rank_and_collectiveness() {
        assert_eq!(SessionKind::EtatDesLieux.label(), "État des lieux");
        assert_eq!(SessionKind::Evolution.label(), "Évolution");
        assert_eq!(
            SessionKind::EtatDesLieux.long_label(),
            "1re session collective — État des lieux"
        );
        assert_eq!(
            SessionKind::Evolution.long_label(),
            "2de session collective — L'évolution"
        );
        assert_eq!(
            SessionKind::BilanIndividuel.long_label(),
            "Session de bilan individuel"
        );
        let ranks: Vec<u8> = SessionKind::ALL.iter().map(|k| k.rank()).collect();
        assert_eq!(ranks, [0, 1, 2, 3]);
        assert!(SessionKind::Introductive.is_collective());
        assert!(!SessionKind::BilanIndividuel.is_collective());
    }

    // ---- Template ----------------------------------------------------------

    #[test]
    fn default_template_is_valid_and_follows_the_method() {
        let t = ProgrammeTemplate::default();
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(t.etat_des_lieux.offset_days, 35);
        assert_eq!(t.evolution.offset_days, 42);
        assert_eq!(t.bilan.offset_days, 49);
        assert_eq!(t.bilan.slots, vec![hm(9, 30), hm(14, 0)]);
        assert_eq!((t.min_months, t.max_months), (4, 5));
        assert_eq!(t.tasks.len(), 3);
        assert!(t.tasks[0].instructions.contains("richesses humaines"));
        assert!(t.tasks[0].instructions.contains("alliances stratégiques"));
        // 3 days of preparation: with the 2,6 days of sessions, the director's mobilisation
        // stays within the method's 4 to 6 days (see budget::mobilisation).
        assert_eq!(
            t.tasks.iter().map(|t| t.preparation_half_days).sum::<u32>(),
            6
        );
        assert!(t.introductive.agenda.lines().count() >= 3);
    }

    #[test]
    fn template_serialises_times_as_hh_mm_and_round_trips() {
        let t = ProgrammeTemplate::default();
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["introductive"]["start_time"], "09:30");
        assert_eq!(
            json["bilan"]["slots"],
            serde_json::json!(["09:30", "14:00"])
        );
        assert_eq!(json["tasks"][0]["prepares"], "etat_des_lieux");
        let back: ProgrammeTemplate = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn template_deserialisation_rejects_malformed_times() {
        let mut json = serde_json::to_value(ProgrammeTemplate::default()).unwrap();
        json["bilan"]["slots"] = serde_json::json!(["9h30"]);
        let err = serde_json::from_value::<ProgrammeTemplate>(json).unwrap_err();
        assert!(err.to_string().contains("heure invalide"));
    }

    #[test]
    fn validate_reports_every_problem_with_its_field_path() {
        let mut t = ProgrammeTemplate::default();
        t.etat_des_lieux.duration_minutes = 0;
        t.evolution.duration_minutes = 601;
        t.bilan.slots = vec![hm(14, 0), hm(9, 30)];
        t.min_months = 6;
        t.tasks[1].days_before = 61;
        t.tasks[2].title = "  ".to_owned();
        let errors = t.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "etat_des_lieux.duration_minutes",
                "evolution.duration_minutes",
                "bilan.slots",
                "min_months",
                "tasks[1].days_before",
                "tasks[2].title",
            ]
        );
        assert!(errors.iter().all(|(_, m)| m.ends_with('.')));
    }

    #[test]
    fn validate_refuses_empty_overlapping_or_midnight_crossing_slots() {
        let mut t = ProgrammeTemplate::default();
        t.bilan.slots.clear();
        assert_eq!(t.validate().unwrap_err()[0].0, "bilan.slots");

        t.bilan.slots = vec![hm(9, 30), hm(10, 30)];
        let errors = t.validate().unwrap_err();
        assert!(errors[0].1.contains("se chevauchent"), "{errors:?}");

        t.bilan.slots = vec![hm(23, 0)];
        let errors = t.validate().unwrap_err();
        assert!(errors[0].1.contains("dépasse minuit"), "{errors:?}");

        let mut t = ProgrammeTemplate::default();
        t.introductive.start_time = hm(22, 0);
        assert_eq!(t.validate().unwrap_err()[0].0, "introductive.start_time");
    }

    // ---- Generation --------------------------------------------------------

    /// Everything a generated programme with 8 associations must satisfy.
    fn assert_sound_generation(start: NaiveDate, alsace_moselle: bool) {
        let template = ProgrammeTemplate::default();
        let assos = associations(8);
        let p = generate(start, &assos, &template, alsace_moselle).unwrap();
        let ctx = format!("start {start}, alsace_moselle {alsace_moselle}");

        for kind in SessionKind::ALL {
            assert!(
                p.sessions.iter().any(|s| s.kind == kind),
                "{ctx}: {kind:?} missing"
            );
        }
        let bilans: Vec<&PlannedSession> = p
            .sessions
            .iter()
            .filter(|s| s.kind == SessionKind::BilanIndividuel)
            .collect();
        assert_eq!(bilans.len(), 8, "{ctx}");
        let ids: Vec<&str> = bilans
            .iter()
            .map(|s| s.association_id.as_deref().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"],
            "{ctx}"
        );
        assert!(
            p.sessions
                .windows(2)
                .all(|w| w[0].starts_at <= w[1].starts_at),
            "{ctx}"
        );
        assert!(
            p.sessions
                .windows(2)
                .all(|w| w[0].ends_at <= w[1].starts_at),
            "{ctx}: overlap"
        );
        for s in &p.sessions {
            let date = paris_date(s.starts_at);
            assert!(
                is_working_day(date, alsace_moselle),
                "{ctx}: session on {date}"
            );
            assert!(date >= start, "{ctx}");
            assert_eq!(utc_to_paris(s.starts_at).time().minute() % 30, 0, "{ctx}");
        }
        let last_end = paris_date(p.sessions.last().unwrap().ends_at);
        assert!(
            last_end >= start.checked_add_months(Months::new(4)).unwrap(),
            "{ctx}: too short"
        );
        assert!(
            last_end <= start.checked_add_months(Months::new(5)).unwrap(),
            "{ctx}: too long"
        );
        assert_eq!(p.warnings, vec![], "{ctx}");

        assert_eq!(p.tasks.len(), 3, "{ctx}");
        for t in &p.tasks {
            let i = t.session_index.expect("every task has its session");
            let session = &p.sessions[i];
            assert_eq!(session.kind, t.prepares, "{ctx}");
            let session_date = paris_date(session.starts_at);
            assert!(
                t.due_date < session_date,
                "{ctx}: {} due {}",
                t.title,
                t.due_date
            );
            assert!(
                t.due_date <= session_date - chrono::Duration::days(i64::from(t.days_before)),
                "{ctx}"
            );
            assert!(
                is_working_day(t.due_date, alsace_moselle),
                "{ctx}: task due {}",
                t.due_date
            );
        }
        // The bilan task prepares the earliest bilan.
        let bilan_task = &p.tasks[2];
        assert_eq!(
            p.sessions[bilan_task.session_index.unwrap()].starts_at,
            bilans[0].starts_at,
            "{ctx}"
        );
    }

    #[test]
    fn generation_from_11_january_2027_skips_easter_monday() {
        let p = generate(
            start_2027(),
            &associations(8),
            &ProgrammeTemplate::default(),
            false,
        )
        .unwrap();
        let starts: Vec<DateTime<Utc>> = p.sessions.iter().map(|s| s.starts_at).collect();
        assert_eq!(
            starts,
            vec![
                utc(2027, 1, 11, 8, 30), // introductive, winter time
                utc(2027, 2, 15, 8, 30), // +35 days
                utc(2027, 3, 30, 7, 30), // +42 = Easter Monday → Tuesday, summer time
                utc(2027, 5, 18, 7, 30), // +49 days, 9 h 30
                utc(2027, 5, 18, 12, 0), // 14 h 00
                utc(2027, 5, 19, 7, 30),
                utc(2027, 5, 19, 12, 0),
                utc(2027, 5, 20, 7, 30),
                utc(2027, 5, 20, 12, 0),
                utc(2027, 5, 21, 7, 30),
                utc(2027, 5, 21, 12, 0),
            ]
        );
        assert_eq!(p.sessions[0].ends_at, utc(2027, 1, 11, 11, 30));
        assert_eq!(p.sessions[1].ends_at, utc(2027, 2, 15, 15, 0));
        assert_eq!(p.sessions[3].ends_at, utc(2027, 5, 18, 9, 30));
        assert_eq!(p.sessions[1].planned_half_days, 2);
        assert_eq!(p.sessions[0].association_id, None);
        let dues: Vec<NaiveDate> = p.tasks.iter().map(|t| t.due_date).collect();
        assert_eq!(dues, vec![d(2027, 2, 8), d(2027, 3, 23), d(2027, 5, 13)]);
        let indexes: Vec<Option<usize>> = p.tasks.iter().map(|t| t.session_index).collect();
        assert_eq!(indexes, vec![Some(1), Some(2), Some(3)]);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn generation_from_1_march_2027_crosses_easter_and_skips_whit_monday() {
        let p = generate(
            d(2027, 3, 1),
            &associations(8),
            &ProgrammeTemplate::default(),
            false,
        )
        .unwrap();
        let dates: Vec<NaiveDate> = p.sessions.iter().map(|s| paris_date(s.starts_at)).collect();
        assert_eq!(&dates[..3], &[d(2027, 3, 1), d(2027, 4, 5), d(2027, 5, 18)]);
        assert_eq!(dates[3], d(2027, 7, 6));
        assert_eq!(dates[10], d(2027, 7, 9));
        // Évolution task: 18 May − 7 = 11 May.
        assert_eq!(p.tasks[1].due_date, d(2027, 5, 11));
        assert_sound_generation(d(2027, 3, 1), false);
    }

    #[test]
    fn generation_from_6_september_2027_runs_into_the_next_year() {
        let p = generate(
            d(2027, 9, 6),
            &associations(8),
            &ProgrammeTemplate::default(),
            false,
        )
        .unwrap();
        let dates: Vec<NaiveDate> = p.sessions.iter().map(|s| paris_date(s.starts_at)).collect();
        assert_eq!(
            &dates[..4],
            &[
                d(2027, 9, 6),
                d(2027, 10, 11),
                d(2027, 11, 22),
                d(2028, 1, 10)
            ]
        );
        assert_eq!(dates[10], d(2028, 1, 13));
        assert_sound_generation(d(2027, 9, 6), false);
    }

    #[test]
    fn generation_is_sound_from_the_documented_start_dates() {
        for start in [
            d(2027, 1, 11),
            d(2027, 3, 1),
            d(2027, 9, 6),
            d(2028, 1, 3),
            d(2028, 3, 6),
        ] {
            assert_sound_generation(start, false);
            assert_sound_generation(start, true);
        }
    }

    #[test]
    fn generation_is_sound_from_every_start_date_of_2027_and_2028() {
        let mut start = d(2027, 1, 1);
        while start <= d(2028, 12, 31) {
            assert_sound_generation(start, false);
            assert_sound_generation(start, true);
            start = start.succ_opt().unwrap();
        }
    }

    #[test]
    fn generation_on_a_weekend_start_begins_on_the_next_working_day() {
        let p = generate(
            d(2027, 1, 9),
            &associations(2),
            &ProgrammeTemplate::default(),
            false,
        )
        .unwrap();
        assert_eq!(paris_date(p.sessions[0].starts_at), d(2027, 1, 11));
    }

    #[test]
    fn bilans_skip_ascension_and_the_weekend() {
        // Évolution on Wednesday 17 March 2027 → first bilan day Wednesday 5 May,
        // then Ascension (6 May), Friday 7 May, the weekend, Monday 10 May.
        let p = generate(
            d(2026, 12, 30),
            &associations(7),
            &ProgrammeTemplate::default(),
            false,
        )
        .unwrap();
        let bilan_dates: Vec<NaiveDate> = p
            .sessions
            .iter()
            .filter(|s| s.kind == SessionKind::BilanIndividuel)
            .map(|s| paris_date(s.starts_at))
            .collect();
        assert_eq!(
            bilan_dates,
            vec![
                d(2027, 5, 5),
                d(2027, 5, 5),
                d(2027, 5, 7),
                d(2027, 5, 7),
                d(2027, 5, 10),
                d(2027, 5, 10),
                d(2027, 5, 11),
            ]
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn alsace_moselle_generation_avoids_good_friday() {
        // From Friday 8 January 2027 the évolution would fall on Good Friday 26 March.
        let t = ProgrammeTemplate::default();
        let national = generate(d(2027, 1, 8), &associations(1), &t, false).unwrap();
        let alsace = generate(d(2027, 1, 8), &associations(1), &t, true).unwrap();
        assert_eq!(paris_date(national.sessions[2].starts_at), d(2027, 3, 26));
        assert_eq!(paris_date(alsace.sessions[2].starts_at), d(2027, 3, 30));
    }

    #[test]
    fn generation_with_odd_count_leaves_the_last_afternoon_free() {
        let p = generate(
            start_2027(),
            &associations(3),
            &ProgrammeTemplate::default(),
            false,
        )
        .unwrap();
        let bilans: Vec<(&str, DateTime<Utc>)> = p
            .sessions
            .iter()
            .filter(|s| s.kind == SessionKind::BilanIndividuel)
            .map(|s| (s.association_id.as_deref().unwrap(), s.starts_at))
            .collect();
        assert_eq!(
            bilans,
            vec![
                ("a1", utc(2027, 5, 18, 7, 30)),
                ("a2", utc(2027, 5, 18, 12, 0)),
                ("a3", utc(2027, 5, 19, 7, 30)),
            ]
        );
    }

    #[test]
    fn generation_without_associations_plans_no_bilan_and_warns() {
        let p = generate(start_2027(), &[], &ProgrammeTemplate::default(), false).unwrap();
        let kinds: Vec<SessionKind> = p.sessions.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SessionKind::Introductive,
                SessionKind::EtatDesLieux,
                SessionKind::Evolution
            ]
        );
        assert_eq!(codes(&p.warnings), ["no_bilan"]);
        assert_eq!(
            p.warnings[0].message,
            "Aucune association inscrite : les bilans individuels seront planifiés après les inscriptions."
        );
        // The bilan task is still due before the date the first bilan would have.
        let bilan_task = &p.tasks[2];
        assert_eq!(bilan_task.session_index, None);
        assert_eq!(bilan_task.prepares, SessionKind::BilanIndividuel);
        assert_eq!(bilan_task.due_date, d(2027, 5, 13));
    }

    #[test]
    fn generation_refuses_an_invalid_template() {
        let mut t = ProgrammeTemplate::default();
        t.bilan.duration_minutes = 0;
        let err = generate(start_2027(), &associations(2), &t, false).unwrap_err();
        assert_eq!(
            err,
            ProgrammeError::InvalidTemplate(vec![(
                "bilan.duration_minutes".to_owned(),
                "La durée doit être comprise entre 1 et 600 minutes.".to_owned()
            )])
        );
        assert!(
            err.to_string()
                .starts_with("Le modèle de programme est invalide")
        );
    }

    #[test]
    fn generation_keeps_custom_task_order_and_unplanned_tasks() {
        let mut t = ProgrammeTemplate::default();
        t.tasks.push(TaskTemplate {
            title: "Relire la présentation".to_owned(),
            instructions: "Lisez le support.".to_owned(),
            prepares: SessionKind::Introductive,
            days_before: 3,
            preparation_half_days: 1,
        });
        let p = generate(start_2027(), &associations(2), &t, false).unwrap();
        let last = p.tasks.last().unwrap();
        assert_eq!(last.session_index, Some(0));
        // 11 January − 3 days = Friday 8 January.
        assert_eq!(last.due_date, d(2027, 1, 8));
    }

    // ---- check_programme ---------------------------------------------------

    #[test]
    fn sound_programme_has_no_warning() {
        let tasks = vec![task("t1", "État des lieux", "s1", d(2027, 2, 8))];
        assert_eq!(
            check_programme(start_2027(), &sound_programme(), &tasks, 4, 5, false),
            vec![]
        );
    }

    #[test]
    fn empty_programme_has_no_warning() {
        assert_eq!(check_programme(start_2027(), &[], &[], 4, 5, false), vec![]);
    }

    #[test]
    fn programme_ending_after_five_months_is_too_long() {
        let mut sessions = sound_programme();
        sessions.push(bilan(
            "b3",
            "Les Petits Débrouillards",
            local(2027, 6, 14, 9, 30),
        ));
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["span_too_long"]);
        assert_eq!(
            w[0].message,
            "« Bilan individuel — Les Petits Débrouillards » se termine le lundi 14 juin 2027, soit plus de 5 mois après le début de la cohorte (le lundi 11 janvier 2027) : la dernière session devrait avoir lieu au plus tard le vendredi 11 juin 2027."
        );
    }

    #[test]
    fn programme_ending_before_four_months_is_too_short_only_with_bilans() {
        let mut sessions = sound_programme();
        sessions[3] = bilan("b1", "Les Petits Débrouillards", local(2027, 4, 20, 9, 30));
        sessions[4] = bilan("b2", "Emmaüs Connect", local(2027, 4, 20, 14, 0));
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["span_too_short"]);
        assert!(w[0].message.contains("moins de 4 mois"));
        assert!(w[0].message.contains("mardi 11 mai 2027"));

        // Without any bilan yet, a short programme is not flagged.
        sessions.truncate(3);
        assert_eq!(
            check_programme(start_2027(), &sessions, &[], 4, 5, false),
            vec![]
        );
    }

    #[test]
    fn sessions_out_of_programme_order_are_flagged() {
        let mut sessions = sound_programme();
        // Évolution before état des lieux.
        sessions[2] = session("s2", SessionKind::Evolution, local(2027, 2, 10, 9, 30), 390);
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["out_of_order"]);
        assert_eq!(
            w[0].message,
            "« Évolution » (le mercredi 10 février 2027) devrait avoir lieu après « État des lieux » (le lundi 15 février 2027) : l'ordre attendu est session introductive, état des lieux, évolution, puis bilans individuels."
        );
    }

    #[test]
    fn bilan_before_evolution_is_out_of_order() {
        let mut sessions = sound_programme();
        sessions[3] = bilan("b1", "Les Petits Débrouillards", local(2027, 3, 16, 9, 30));
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["out_of_order"]);
        assert!(w[0].message.starts_with(
            "« Bilan individuel — Les Petits Débrouillards » (le mardi 16 mars 2027) devrait avoir lieu après « Évolution » (le mardi 30 mars 2027)"
        ));
    }

    #[test]
    fn overlapping_sessions_are_flagged() {
        let mut sessions = sound_programme();
        sessions[4] = bilan("b2", "Emmaüs Connect", local(2027, 5, 18, 11, 0));
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["overlap"]);
        assert_eq!(
            w[0].message,
            "« Bilan individuel — Les Petits Débrouillards » (mardi 18 mai 2027, 9\u{a0}h\u{a0}30 – 11\u{a0}h\u{a0}30) et « Bilan individuel — Emmaüs Connect » (mardi 18 mai 2027, 11\u{a0}h\u{a0}00 – 13\u{a0}h\u{a0}00) se chevauchent."
        );
        // Back-to-back sessions do not overlap.
        sessions[4] = bilan("b2", "Emmaüs Connect", local(2027, 5, 18, 11, 30));
        assert_eq!(
            check_programme(start_2027(), &sessions, &[], 4, 5, false),
            vec![]
        );
    }

    #[test]
    fn session_before_the_cohort_start_is_flagged() {
        let sessions = sound_programme();
        let w = check_programme(d(2027, 1, 12), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["before_start"]);
        assert_eq!(
            w[0].message,
            "« Session introductive » a lieu le lundi 11 janvier 2027, avant le début de la cohorte (le mardi 12 janvier 2027)."
        );
    }

    #[test]
    fn sessions_on_holidays_and_weekends_are_flagged_with_the_reason() {
        let mut sessions = sound_programme();
        sessions[2] = session("s2", SessionKind::Evolution, local(2027, 3, 29, 9, 30), 390);
        sessions[1] = session(
            "s1",
            SessionKind::EtatDesLieux,
            local(2027, 2, 13, 9, 30),
            390,
        );
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["non_working_day", "non_working_day"]);
        assert_eq!(
            w[0].message,
            "« État des lieux » est planifiée un samedi (le samedi 13 février 2027) : préférez un jour ouvré."
        );
        assert_eq!(
            w[1].message,
            "« Évolution » est planifiée le lundi 29 mars 2027, jour férié (Lundi de Pâques) : préférez un jour ouvré."
        );
    }

    #[test]
    fn alsace_moselle_holidays_are_checked_only_there() {
        let mut sessions = sound_programme();
        sessions[2] = session("s2", SessionKind::Evolution, local(2027, 3, 26, 9, 30), 390);
        assert!(check_programme(start_2027(), &sessions, &[], 4, 5, false).is_empty());
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, true);
        assert_eq!(codes(&w), ["non_working_day"]);
        assert!(w[0].message.contains("Vendredi saint"));
    }

    #[test]
    fn task_due_on_or_after_its_session_is_flagged() {
        let tasks = vec![
            task("t1", "État des lieux des missions", "s1", d(2027, 2, 15)),
            task("t2", "Ambition", "s2", d(2027, 3, 29)),
            ScheduledTask {
                id: "t3".to_owned(),
                title: "Libre".to_owned(),
                session_id: None,
                due_date: d(2027, 12, 1),
            },
        ];
        let w = check_programme(start_2027(), &sound_programme(), &tasks, 4, 5, false);
        assert_eq!(codes(&w), ["task_after_session"]);
        assert_eq!(
            w[0].message,
            "La tâche « État des lieux des missions » arrive à échéance le lundi 15 février 2027, alors que la session qu'elle prépare, « État des lieux », a lieu le lundi 15 février 2027 : l'échéance doit précéder la session."
        );
    }

    #[test]
    fn missing_collective_session_is_flagged() {
        let mut sessions = sound_programme();
        sessions.remove(1);
        let w = check_programme(start_2027(), &sessions, &[], 4, 5, false);
        assert_eq!(codes(&w), ["missing_session"]);
        assert_eq!(
            w[0].message,
            "Le programme ne comporte pas de session « État des lieux »."
        );
    }

    // ---- move_session ------------------------------------------------------

    fn edl() -> ScheduledSession {
        session(
            "s1",
            SessionKind::EtatDesLieux,
            local(2027, 2, 15, 9, 30),
            390,
        )
    }

    fn req(new_start: NaiveDateTime, new_end: Option<NaiveDateTime>, avoid: bool) -> MoveRequest {
        MoveRequest {
            new_start,
            new_end,
            avoid_non_working_days: avoid,
        }
    }

    #[test]
    fn moving_a_session_shifts_linked_tasks_and_keeps_the_duration() {
        let tasks = vec![
            task(
                "t1",
                "État des lieux des missions et du modèle socio-économique",
                "s1",
                d(2027, 2, 8),
            ),
            task("t2", "Ambition", "s2", d(2027, 3, 23)),
        ];
        let out = move_session(
            &edl(),
            &tasks,
            &req(local(2027, 2, 23, 9, 30), None, true),
            false,
        )
        .unwrap();
        assert_eq!(out.starts_at, utc(2027, 2, 23, 8, 30));
        assert_eq!(out.ends_at, utc(2027, 2, 23, 15, 0));
        assert_eq!(
            out.task_moves,
            vec![TaskMove {
                task_id: "t1".to_owned(),
                title: "État des lieux des missions et du modèle socio-économique".to_owned(),
                old_due: d(2027, 2, 8),
                new_due: d(2027, 2, 16),
            }]
        );
        assert_eq!(
            out.summary,
            vec![
                "« État des lieux » passe du lundi 15 février 2027, 9\u{a0}h\u{a0}30 au mardi 23 février 2027, 9\u{a0}h\u{a0}30.".to_owned(),
                "Travail préparatoire « État des lieux des missions et du modèle socio-économique » : échéance du lundi 8 février 2027 au mardi 16 février 2027.".to_owned(),
            ]
        );
    }

    #[test]
    fn shifted_task_landing_on_a_weekend_moves_back_to_friday() {
        // Wednesday 10 February + 3 days = Saturday 13 → Friday 12.
        let tasks = vec![task("t1", "Préparer", "s1", d(2027, 2, 10))];
        let out = move_session(
            &edl(),
            &tasks,
            &req(local(2027, 2, 18, 9, 30), None, true),
            false,
        )
        .unwrap();
        assert_eq!(out.task_moves[0].new_due, d(2027, 2, 12));
    }

    #[test]
    fn moving_only_the_time_keeps_task_due_dates() {
        let tasks = vec![task("t1", "Préparer", "s1", d(2027, 2, 8))];
        let out = move_session(
            &edl(),
            &tasks,
            &req(local(2027, 2, 15, 13, 30), None, true),
            false,
        )
        .unwrap();
        assert!(out.task_moves.is_empty());
        assert_eq!(out.summary.len(), 1);
    }

    #[test]
    fn moving_across_daylight_saving_keeps_local_time_and_duration() {
        let out = move_session(
            &edl(),
            &[],
            &req(local(2027, 4, 6, 9, 30), None, true),
            false,
        )
        .unwrap();
        assert_eq!(out.starts_at, utc(2027, 4, 6, 7, 30));
        assert_eq!(out.ends_at - out.starts_at, chrono::Duration::minutes(390));
    }

    #[test]
    fn changing_the_end_is_reported_in_the_summary() {
        let out = move_session(
            &edl(),
            &[],
            &req(
                local(2027, 2, 15, 9, 30),
                Some(local(2027, 2, 15, 12, 30)),
                true,
            ),
            false,
        )
        .unwrap();
        assert_eq!(out.ends_at, utc(2027, 2, 15, 11, 30));
        assert_eq!(
            out.summary,
            vec!["« État des lieux » se terminera le lundi 15 février 2027, 12\u{a0}h\u{a0}30 (au lieu du lundi 15 février 2027, 16\u{a0}h\u{a0}00).".to_owned()]
        );
    }

    #[test]
    fn end_before_or_equal_to_start_is_refused_on_the_end_field() {
        for end in [local(2027, 2, 23, 9, 0), local(2027, 2, 23, 9, 30)] {
            let err = move_session(
                &edl(),
                &[],
                &req(local(2027, 2, 23, 9, 30), Some(end), true),
                false,
            )
            .unwrap_err();
            assert_eq!(err, MoveError::EndBeforeStart);
            assert_eq!(err.to_string(), "La fin doit être après le début.");
        }
    }

    #[test]
    fn ending_after_midnight_is_allowed() {
        let out = move_session(
            &edl(),
            &[],
            &req(
                local(2027, 2, 23, 20, 0),
                Some(local(2027, 2, 24, 1, 0)),
                true,
            ),
            false,
        )
        .unwrap();
        assert_eq!(out.ends_at - out.starts_at, chrono::Duration::hours(5));
    }

    #[test]
    fn start_in_the_daylight_saving_gap_is_refused() {
        let err = move_session(
            &edl(),
            &[],
            &req(local(2027, 3, 28, 2, 30), None, false),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err,
            MoveError::LocalTime(LocalTimeError::Nonexistent(local(2027, 3, 28, 2, 30)))
        );
        assert!(err.to_string().contains("n'existe pas à Paris"));
    }

    #[test]
    fn holiday_is_refused_when_avoiding_non_working_days() {
        let err = move_session(
            &edl(),
            &[],
            &req(local(2027, 3, 29, 9, 30), None, true),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err,
            MoveError::NonWorkingDay {
                date: d(2027, 3, 29),
                reason: "jour férié (Lundi de Pâques)".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "Le lundi 29 mars 2027 est un jour férié (Lundi de Pâques) : choisissez un jour ouvré ou décochez « éviter les jours non ouvrés »."
        );
        let weekend = move_session(
            &edl(),
            &[],
            &req(local(2027, 2, 13, 9, 30), None, true),
            false,
        )
        .unwrap_err();
        assert_eq!(
            weekend.to_string(),
            "Le samedi 13 février 2027 tombe un week-end : choisissez un jour ouvré ou décochez « éviter les jours non ouvrés »."
        );
    }

    #[test]
    fn holiday_is_accepted_when_not_avoiding_non_working_days() {
        let tasks = vec![task("t1", "Préparer", "s1", d(2027, 2, 8))];
        let out = move_session(
            &edl(),
            &tasks,
            &req(local(2027, 3, 29, 9, 30), None, false),
            false,
        )
        .unwrap();
        assert_eq!(out.starts_at, utc(2027, 3, 29, 7, 30));
        // 8 February + 42 days = Monday 22 March, a working day.
        assert_eq!(out.task_moves[0].new_due, d(2027, 3, 22));
    }

    #[test]
    fn moving_to_the_same_slot_is_refused_as_unchanged() {
        let err = move_session(
            &edl(),
            &[],
            &req(local(2027, 2, 15, 9, 30), None, true),
            false,
        )
        .unwrap_err();
        assert_eq!(err, MoveError::Unchanged);
    }

    #[test]
    fn programme_error_displays_local_time_errors_in_french() {
        let err = ProgrammeError::from(LocalTimeError::Nonexistent(local(2027, 3, 28, 2, 30)));
        assert!(
            err.to_string()
                .starts_with("L'heure 2\u{a0}h\u{a0}30 du dimanche 28 mars 2027")
        );
    }

    #[test]
    fn bilan_tasks_follow_the_earliest_bilan_whichever_moves() {
        let paris = |d: u32, h: u32| paris_to_utc(local(2027, 5, d, h, 30)).unwrap();
        let bilan = |id: &str, d: u32| ScheduledSession {
            id: id.to_owned(),
            kind: SessionKind::BilanIndividuel,
            association_id: Some(format!("asso-{id}")),
            label: format!("Bilan individuel — {id}"),
            starts_at: paris(d, 9),
            ends_at: paris(d, 11),
        };
        let bilans = [bilan("a", 10), bilan("b", 10), bilan("c", 11)];
        let task = ScheduledTask {
            id: "t".to_owned(),
            title: "Vision révisée et pistes d'actions".to_owned(),
            session_id: Some("a".to_owned()),
            due_date: NaiveDate::from_ymd_opt(2027, 5, 5).unwrap(),
        };
        // Moving a later bilan further changes nothing: the earliest stays on the 10th.
        let (moves, summary, first) = realign_bilan_tasks(
            &bilans,
            "c",
            paris(12, 9),
            std::slice::from_ref(&task),
            false,
        );
        assert!(moves.is_empty() && summary.is_empty());
        assert_eq!(first.as_deref(), Some("a"));
        // Moving the first bilan later: "b" becomes the earliest, still on the 10th.
        let (moves, _, first) = realign_bilan_tasks(
            &bilans,
            "a",
            paris(18, 9),
            std::slice::from_ref(&task),
            false,
        );
        assert!(moves.is_empty());
        assert_eq!(first.as_deref(), Some("b"));
        // Moving a bilan two days earlier (Monday 10 → Friday 7... of the same week: the 7th)
        // moves the task's due date by the same shift, onto a working day.
        let (moves, summary, first) =
            realign_bilan_tasks(&bilans, "c", paris(7, 9), &[task], false);
        assert_eq!(first.as_deref(), Some("c"));
        assert_eq!(moves.len(), 1);
        assert_eq!(
            moves[0].new_due,
            NaiveDate::from_ymd_opt(2027, 4, 30).unwrap()
        );
        assert!(
            summary[0].contains("premier bilan individuel"),
            "{summary:?}"
        );
    }
}

#[cfg(test)]
mod next_bilan_slot_tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        paris_to_utc(d(y, m, day).and_time(hm(h, min))).unwrap()
    }

    /// A "now" before every programme of these tests.
    fn long_ago() -> DateTime<Utc> {
        at(2020, 1, 1, 0, 0)
    }

    fn refs(n: usize) -> Vec<AssociationRef> {
        (1..=n)
            .map(|i| AssociationRef {
                id: format!("a{i}"),
                name: format!("Association {i}"),
            })
            .collect()
    }

    /// The generated programme as stored.
    fn stored(p: &Programme) -> Vec<ScheduledSession> {
        p.sessions
            .iter()
            .enumerate()
            .map(|(i, s)| ScheduledSession {
                id: format!("s{i}"),
                kind: s.kind,
                association_id: s.association_id.clone(),
                label: s.kind.label().to_owned(),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
            })
            .collect()
    }

    fn collective(kind: SessionKind, starts_at: DateTime<Utc>, minutes: i64) -> ScheduledSession {
        ScheduledSession {
            id: kind.as_str().to_owned(),
            kind,
            association_id: None,
            label: kind.label().to_owned(),
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(minutes),
        }
    }

    fn bilan(id: &str, starts_at: DateTime<Utc>) -> ScheduledSession {
        ScheduledSession {
            id: id.to_owned(),
            association_id: Some(id.to_owned()),
            ..collective(SessionKind::BilanIndividuel, starts_at, 120)
        }
    }

    /// The three collective sessions of a programme starting on 11 January 2027.
    fn collectives() -> Vec<ScheduledSession> {
        vec![
            collective(SessionKind::Introductive, at(2027, 1, 11, 9, 30), 180),
            collective(SessionKind::EtatDesLieux, at(2027, 2, 15, 9, 30), 390),
            collective(SessionKind::Evolution, at(2027, 3, 30, 9, 30), 390),
        ]
    }

    fn next(sessions: &[ScheduledSession], alsace_moselle: bool) -> DateTime<Utc> {
        let t = ProgrammeTemplate::default();
        let s = next_bilan_slot(
            d(2027, 1, 11),
            sessions,
            "new",
            &t,
            alsace_moselle,
            long_ago(),
        )
        .unwrap();
        assert_eq!(s.kind, SessionKind::BilanIndividuel);
        assert_eq!(s.association_id.as_deref(), Some("new"));
        assert_eq!(s.ends_at - s.starts_at, chrono::Duration::minutes(120));
        assert_eq!(s.agenda, t.bilan.agenda);
        s.starts_at
    }

    #[test]
    fn the_next_slot_is_where_generation_puts_one_more_association() {
        // Over two years of start dates and both calendars: holidays, weekends and
        // daylight-saving changes fall where generation met them.
        let template = ProgrammeTemplate::default();
        let mut start = d(2027, 1, 4);
        while start < d(2029, 1, 1) {
            for am in [false, true] {
                for n in [0, 1, 2, 7] {
                    let before = generate(start, &refs(n), &template, am).unwrap();
                    let after = generate(start, &refs(n + 1), &template, am).unwrap();
                    let expected = after
                        .sessions
                        .iter()
                        .find(|s| s.association_id.as_deref() == Some(&format!("a{}", n + 1)))
                        .unwrap();
                    let slot = next_bilan_slot(
                        start,
                        &stored(&before),
                        &format!("a{}", n + 1),
                        &template,
                        am,
                        long_ago(),
                    )
                    .unwrap();
                    assert_eq!(&slot, expected, "start {start}, {n} associations, am {am}");
                }
            }
            start = add_days(start, 11);
        }
    }

    #[test]
    fn without_any_bilan_the_first_comes_49_days_after_the_evolution() {
        // Évolution on Tuesday 30 March 2027 (+49 = Tuesday 18 May).
        assert_eq!(next(&collectives(), false), at(2027, 5, 18, 9, 30));
    }

    #[test]
    fn without_any_bilan_the_first_follows_an_evolution_moved_by_hand() {
        let mut sessions = collectives();
        sessions[2] = collective(SessionKind::Evolution, at(2027, 4, 6, 9, 30), 390);
        // 6 April + 49 = Tuesday 25 May.
        assert_eq!(next(&sessions, false), at(2027, 5, 25, 9, 30));
        // Without an évolution at all, the template's dates from the état des lieux.
        sessions.truncate(2);
        assert_eq!(next(&sessions, false), at(2027, 5, 18, 9, 30));
    }

    #[test]
    fn the_afternoon_slot_follows_a_morning_bilan_the_same_day() {
        let mut sessions = collectives();
        sessions.push(bilan("b1", at(2027, 5, 18, 9, 30)));
        assert_eq!(next(&sessions, false), at(2027, 5, 18, 14, 0));
    }

    #[test]
    fn after_a_friday_afternoon_the_next_slot_is_monday_morning() {
        let mut sessions = collectives();
        sessions.push(bilan("b1", at(2027, 5, 21, 9, 30)));
        sessions.push(bilan("b2", at(2027, 5, 21, 14, 0)));
        assert_eq!(next(&sessions, false), at(2027, 5, 24, 9, 30));
    }

    #[test]
    fn a_public_holiday_is_skipped() {
        // Ascension: Thursday 6 May 2027.
        let mut sessions = collectives();
        sessions.push(bilan("b1", at(2027, 5, 5, 14, 0)));
        assert_eq!(next(&sessions, false), at(2027, 5, 7, 9, 30));
    }

    #[test]
    fn alsace_moselle_skips_good_friday_too() {
        // Thursday 25 March 2027; Good Friday 26 March; Easter Monday 29 March; and the
        // spring change to summer time between them.
        let mut sessions = vec![bilan("b1", at(2027, 3, 25, 14, 0))];
        assert_eq!(next(&sessions, false), at(2027, 3, 26, 9, 30));
        assert_eq!(next(&sessions, true), at(2027, 3, 30, 9, 30));
        // Saint-Étienne: Friday 26 December 2031.
        sessions = vec![bilan("b1", at(2031, 12, 24, 14, 0))];
        assert_eq!(next(&sessions, true), at(2031, 12, 29, 9, 30));
        assert_eq!(next(&sessions, false), at(2031, 12, 26, 9, 30));
    }

    #[test]
    fn slots_taken_by_other_sessions_are_skipped() {
        let mut sessions = collectives();
        sessions.push(bilan("b1", at(2027, 5, 18, 14, 0)));
        // A collective session moved onto Wednesday 19 May, all day.
        sessions[2] = collective(SessionKind::Evolution, at(2027, 5, 19, 9, 30), 390);
        assert_eq!(next(&sessions, false), at(2027, 5, 20, 9, 30));
        // Another session set by hand at 14 h 30 on Thursday takes the afternoon slot.
        sessions.push(bilan("b2", at(2027, 5, 20, 9, 30)));
        sessions.push(ScheduledSession {
            id: "other".into(),
            ..collective(SessionKind::Introductive, at(2027, 5, 20, 14, 30), 60)
        });
        assert_eq!(next(&sessions, false), at(2027, 5, 21, 9, 30));
    }

    #[test]
    fn a_bilan_moved_by_hand_counts_where_it_is_now() {
        let mut sessions = collectives();
        sessions.push(bilan("b1", at(2027, 5, 18, 9, 30)));
        sessions.push(bilan("b2", at(2027, 5, 18, 14, 0)));
        // The first bilan moved to Thursday 11 h: the next slot is that afternoon.
        sessions[3] = bilan("b1", at(2027, 5, 20, 11, 0));
        assert_eq!(next(&sessions, false), at(2027, 5, 20, 14, 0));
        // Moved to 13 h (ends 15 h): the afternoon slot starts before it ends.
        sessions[3] = bilan("b1", at(2027, 5, 20, 13, 0));
        assert_eq!(next(&sessions, false), at(2027, 5, 21, 9, 30));
        // Moved to a Saturday: the following Monday (Whit Monday 17 May 2027 → 18 May).
        sessions[3] = bilan("b1", at(2027, 5, 15, 9, 30));
        sessions[4] = bilan("b2", at(2027, 5, 11, 14, 0));
        assert_eq!(next(&sessions, false), at(2027, 5, 18, 9, 30));
    }

    #[test]
    fn an_invalid_template_is_refused() {
        let mut t = ProgrammeTemplate::default();
        t.bilan.slots.clear();
        let refused = next_bilan_slot(d(2027, 1, 11), &collectives(), "new", &t, false, long_ago());
        assert!(matches!(refused, Err(ProgrammeError::InvalidTemplate(_))));
    }

    #[test]
    fn the_first_bilan_takes_the_unlinked_bilan_tasks_as_generation_would() {
        let template = ProgrammeTemplate::default();
        let start = d(2027, 1, 11);
        let empty = generate(start, &[], &template, false).unwrap();
        let tasks: Vec<ScheduledTask> = empty
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| ScheduledTask {
                id: format!("t{i}"),
                title: t.title.clone(),
                session_id: t.session_index.map(|i| format!("s{i}")),
                due_date: t.due_date,
            })
            .collect();
        assert_eq!(tasks[2].session_id, None);
        // The évolution moved a week later: the bilan too, and its task with it.
        let mut sessions = stored(&empty);
        sessions[2].starts_at += chrono::Duration::days(7);
        sessions[2].ends_at += chrono::Duration::days(7);
        let slot = next_bilan_slot(start, &sessions, "a1", &template, false, long_ago()).unwrap();
        assert_eq!(slot.starts_at, at(2027, 5, 25, 9, 30));
        let moves = first_bilan_tasks(&template, &tasks, slot.starts_at, false);
        assert_eq!(moves.len(), 1, "only the task preparing the bilan");
        assert_eq!(moves[0].task_id, "t2");
        assert_eq!(moves[0].old_due, d(2027, 5, 13));
        // 25 May − 5 = Thursday 20 May.
        assert_eq!(moves[0].new_due, d(2027, 5, 20));
        // Unmoved, generation with one association gives the same due date.
        let one = generate(start, &refs(1), &template, false).unwrap();
        let slot =
            next_bilan_slot(start, &stored(&empty), "a1", &template, false, long_ago()).unwrap();
        let moves = first_bilan_tasks(&template, &tasks, slot.starts_at, false);
        assert_eq!(moves[0].new_due, one.tasks[2].due_date);
        // A task renamed by hand is no longer recognised, and a linked one never moves.
        let mut renamed = tasks.clone();
        renamed[2].title = "Autre chose".into();
        assert!(first_bilan_tasks(&template, &renamed, slot.starts_at, false).is_empty());
    }

    #[test]
    fn a_late_enrolment_gets_its_bilan_from_now_on_not_in_the_past() {
        let t = ProgrammeTemplate::default();
        let start = d(2027, 1, 11);
        let sessions = stored(&generate(start, &refs(2), &t, false).unwrap());
        let last_end = sessions.iter().map(|s| s.ends_at).max().unwrap();
        // Enrolled a week after the last bilan ended, on a Thursday at 10 h.
        let now = last_end + chrono::Duration::days(7);
        let slot = next_bilan_slot(start, &sessions, "late", &t, false, now).unwrap();
        assert!(slot.starts_at >= now, "{} before {now}", slot.starts_at);
        assert!(
            slot.starts_at - now < chrono::Duration::days(4),
            "the first free slot from now: {}",
            slot.starts_at
        );
        assert!(non_working_reason(paris_date(slot.starts_at), false).is_none());
    }
}
