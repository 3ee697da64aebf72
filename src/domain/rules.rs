//! Rules of the collective accompaniment (source 003): the cohort size cap (a
//! refusal), and the method's figures as warnings only — the chargé·e de
//! mission decides: a cap above 8, the target profile of associations, the
//! sessions' lengths and the director's planned mobilisation.

use chrono::{Datelike, Months, NaiveDate};

use crate::domain::Warning;
use crate::domain::budget::{self, DayLength, MobilisationStatus};
use crate::domain::calendar::utc_to_paris;
use crate::domain::programme::{ScheduledSession, SessionKind};

/// Largest group the method recommends (« 8 structures au maximum »).
pub const METHOD_MAX_ASSOCIATIONS: i32 = 8;

/// Minimum age, in years, of a targeted association at the cohort start.
pub const MIN_ASSOCIATION_AGE_YEARS: i32 = 3;

/// Whether one more association may be enrolled, given `enrolled`
/// associations already in a cohort of capacity `cap`.
pub fn check_cap(enrolled: usize, cap: usize) -> Result<(), String> {
    if enrolled < cap {
        Ok(())
    } else {
        let noun = if cap > 1 {
            "associations"
        } else {
            "association"
        };
        Err(format!(
            "La cohorte est complète : {cap} {noun} au maximum. Augmentez la capacité de la cohorte ou retirez une association."
        ))
    }
}

/// Whether `adding` associations may join a cohort of capacity `cap` whose `taken` places
/// are held by enrolled associations and retained applications (an import: all of them or
/// none).
pub fn check_room(taken: usize, adding: usize, cap: usize) -> Result<(), String> {
    if taken + adding <= cap {
        return Ok(());
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n > 1 { many } else { one });
    Err(format!(
        "La cohorte accueille {} au maximum : {} déjà {} (associations inscrites ou candidatures retenues), {} dans la liste. Augmentez la capacité de la cohorte ou retirez des associations de la liste.",
        plural(cap, "association", "associations"),
        plural(taken, "place", "places"),
        if taken > 1 { "prises" } else { "prise" },
        plural(adding, "nouvelle", "nouvelles"),
    ))
}

/// What the rules need to know about an association and its participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssociationFacts<'a> {
    pub name: &'a str,
    pub salaried_staff: Option<i32>,
    pub creation_year: Option<i32>,
    /// Known creation date; when set, the age is compared by date, not by year.
    pub creation_date: Option<NaiveDate>,
    pub general_interest: bool,
    /// A salaried director is enrolled as a participant.
    pub has_director: bool,
    /// A governance member (board) is enrolled as a participant.
    pub has_governance: bool,
}

/// Whether an association meets one of the method's criteria.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    /// Not told (no staff figure, no creation date or year).
    Unknown,
}

/// One of the method's criteria for an association, met or not, with the warning the
/// enrolment shows when it is not (`None` when met, or unknown without a warning).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Criterion {
    pub code: &'static str,
    /// The criterion in a few French words (a column of the applications list).
    pub label: &'static str,
    pub verdict: Verdict,
    pub warning: Option<Warning>,
}

impl Criterion {
    fn new(code: &'static str, label: &'static str, verdict: Verdict) -> Criterion {
        Criterion {
            code,
            label,
            verdict,
            warning: None,
        }
    }

    fn warn(mut self, code: &'static str, message: String) -> Criterion {
        self.warning = Some(Warning::new(code, message));
        self
    }
}

/// The method's criteria (source 003), in the order of the warnings: an employer
/// association, at least 3 years old at the cohort start (by date when the date is known),
/// of general interest, with a salaried director and a board member, and — for an
/// application, which says it (`available_all`) — both available on every planned date.
/// The one copy of these rules: the enrolment warnings ([`association_warnings`]) and the
/// applications list read them from here.
pub fn criteria(
    facts: &AssociationFacts,
    available_all: Option<bool>,
    cohort_start: NaiveDate,
) -> Vec<Criterion> {
    use Verdict::*;
    let name = facts.name;
    let mut out = Vec::new();
    let employer = Criterion::new("employer", "Association employeuse", Met);
    out.push(match facts.salaried_staff {
        Some(n) if n <= 0 => Criterion { verdict: NotMet, ..employer }.warn(
            "no_salaried_staff",
            format!("{name} n'emploie aucun salarié : l'accompagnement vise les associations employeuses."),
        ),
        Some(_) => employer,
        None => Criterion { verdict: Unknown, ..employer }.warn(
            "salaried_staff_unknown",
            format!("{name} : effectif salarié non renseigné (l'accompagnement vise les associations employeuses)."),
        ),
    });
    let age = Criterion::new(
        "age",
        "Au moins 3 ans d'existence",
        if facts.creation_date.is_some() || facts.creation_year.is_some() {
            Met
        } else {
            Unknown
        },
    );
    out.push(if let Some(date) = facts.creation_date {
        let third_birthday =
            date.checked_add_months(Months::new(12 * MIN_ASSOCIATION_AGE_YEARS as u32));
        if third_birthday.is_none_or(|d| d > cohort_start) {
            Criterion { verdict: NotMet, ..age }.warn(
                "too_young",
                format!(
                    "{name} a été créée le {}, moins de {MIN_ASSOCIATION_AGE_YEARS} ans avant le début de la cohorte (le {}) : la méthode vise de préférence des associations créées depuis au moins {MIN_ASSOCIATION_AGE_YEARS} ans, la démarche diffère pour une structure en création.",
                    crate::domain::fr::date_long(date),
                    crate::domain::fr::date_long(cohort_start),
                ),
            )
        } else {
            age
        }
    } else if let Some(year) = facts.creation_year
        && cohort_start.year() - year < MIN_ASSOCIATION_AGE_YEARS
    {
        Criterion { verdict: NotMet, ..age }.warn(
            "too_young",
            format!(
                "{name} a été créée en {year} : l'accompagnement vise les associations créées depuis au moins {MIN_ASSOCIATION_AGE_YEARS} ans."
            ),
        )
    } else {
        age
    });
    let interest = Criterion::new("general_interest", "Intérêt général", Met);
    out.push(if facts.general_interest {
        interest
    } else {
        Criterion { verdict: NotMet, ..interest }.warn(
            "not_general_interest",
            format!("{name} n'est pas reconnue d'intérêt général : l'accompagnement vise les associations d'intérêt général."),
        )
    });
    let director = Criterion::new("director", "Une direction salariée", Met);
    out.push(if facts.has_director {
        director
    } else {
        Criterion {
            verdict: NotMet,
            ..director
        }
        .warn(
            "no_director",
            format!("{name} n'a pas de participant·e de direction salariée."),
        )
    });
    let board = Criterion::new("governance", "Un membre de la gouvernance", Met);
    out.push(if facts.has_governance {
        board
    } else {
        Criterion { verdict: NotMet, ..board }.warn(
            "no_governance",
            format!(
                "{name} n'a pas de membre de la gouvernance inscrit·e : associez au moins un·e administrateur·rice."
            ),
        )
    });
    if let Some(available) = available_all {
        let dates = Criterion::new("available_all", "Disponible à toutes les dates", Met);
        out.push(if available {
            dates
        } else {
            Criterion { verdict: NotMet, ..dates }.warn(
                "not_available_all",
                format!(
                    "{name} ne peut pas être présente à toutes les dates prévues : la méthode demande que la direction et un membre de la gouvernance viennent à chaque session."
                ),
            )
        });
    }
    out
}

/// Warnings about an association that departs from the programme's target
/// profile ([`criteria`] not met). None of them prevents enrolment.
pub fn association_warnings(facts: &AssociationFacts, cohort_start: NaiveDate) -> Vec<Warning> {
    criteria(facts, None, cohort_start)
        .into_iter()
        .filter_map(|c| c.warning)
        .collect()
}

/// A cap above the method's 8 associations is accepted, with this warning.
pub fn cap_warning(cap: i32) -> Option<Warning> {
    (cap > METHOD_MAX_ASSOCIATIONS).then(|| {
        Warning::new(
            "cap_above_method",
            format!(
                "La capacité de la cohorte est de {cap} associations : la méthode recommande {METHOD_MAX_ASSOCIATIONS} structures au maximum, pour que chacune ait le temps de partager son état des lieux et de bénéficier de l'effet miroir."
            ),
        )
    })
}

/// The method's lengths, in minutes (from the programme template).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLengths {
    pub half_day_minutes: i64,
    pub day_minutes: i64,
    pub introductive_min_minutes: i64,
}

fn hours(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (h, 0) => format!("{h}\u{a0}h"),
        (0, m) => format!("{m}\u{a0}min"),
        (h, m) => format!("{h}\u{a0}h\u{a0}{m:02}"),
    }
}

/// Collective sessions (état des lieux, évolution) shorter than a half-day or
/// longer than a day (or spread over two days), and an introductive session
/// shorter than its minimum or longer than a half-day. Bilans are not checked.
///
/// Codes: `collective_session_too_short`, `collective_session_too_long`,
/// `introductive_too_short`, `introductive_too_long`.
pub fn session_length_warnings(
    sessions: &[ScheduledSession],
    lengths: &SessionLengths,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for s in sessions {
        let minutes = (s.ends_at - s.starts_at).num_minutes();
        // Asked only of the sessions whose length is checked (not the bilans).
        let two_days = || utc_to_paris(s.starts_at).date() != utc_to_paris(s.ends_at).date();
        // Written only into a warning: most sessions have none.
        let length = || hours(minutes);
        match s.kind {
            SessionKind::EtatDesLieux | SessionKind::Evolution => {
                if minutes < lengths.half_day_minutes {
                    warnings.push(Warning::new(
                        "collective_session_too_short",
                        format!(
                            "« {} » dure {}, moins d'une demi-journée ({}) : la méthode prévoit des sessions collectives d'une demi-journée à une journée, pour que chaque structure partage son travail.",
                            s.label,
                            length(),
                            hours(lengths.half_day_minutes)
                        ),
                    ));
                } else if minutes > lengths.day_minutes || two_days() {
                    warnings.push(Warning::new(
                        "collective_session_too_long",
                        format!(
                            "« {} » dure {}{}, plus d'une journée ({}) : la méthode prévoit des sessions collectives d'une demi-journée à une journée ; répartissez le contenu sur les travaux d'intersession ou une autre session.",
                            s.label,
                            length(),
                            if two_days() { " sur deux jours" } else { "" },
                            hours(lengths.day_minutes)
                        ),
                    ));
                }
            }
            SessionKind::Introductive => {
                if minutes < lengths.introductive_min_minutes {
                    warnings.push(Warning::new(
                        "introductive_too_short",
                        format!(
                            "La session introductive dure {}, moins de {} : la méthode compte 1\u{a0}h\u{a0}30 si les participant·es connaissent déjà la notion de modèle socio-économique, davantage sinon.",
                            length(),
                            hours(lengths.introductive_min_minutes)
                        ),
                    ));
                } else if minutes > lengths.half_day_minutes || two_days() {
                    warnings.push(Warning::new(
                        "introductive_too_long",
                        format!(
                            "La session introductive dure {}, plus d'une demi-journée ({}) : la méthode la prévoit de 1\u{a0}h\u{a0}30 (participant·es familiers de la notion) à une demi-journée.",
                            length(),
                            hours(lengths.half_day_minutes)
                        ),
                    ));
                }
            }
            SessionKind::BilanIndividuel => {}
        }
    }
    warnings
}

/// The director's planned mobilisation (sessions they are expected at plus the
/// homework's preparation estimates) outside the method's 4–6 days, as a
/// warning (`director_mobilisation`); `None` within.
pub fn mobilisation_warning(
    session_minutes: &[i64],
    preparation_half_days: &[i64],
    day: DayLength,
) -> Option<Warning> {
    let m = budget::mobilisation_figures(session_minutes, preparation_half_days, day);
    let advice = match m.status {
        MobilisationStatus::Within => return None,
        MobilisationStatus::Below => {
            "la méthode prévoit que la personne dirigeante se mobilise 4 à 6 jours, travaux préparatoires compris : en deçà, les sessions collectives risquent de manquer de matière."
        }
        MobilisationStatus::Above => {
            "la méthode prévoit que la personne dirigeante se mobilise 4 à 6 jours, travaux préparatoires compris : au-delà, l'engagement demandé risque de décourager les associations."
        }
    };
    let total = day.format_days(m.total_minutes);
    Some(Warning::new(
        "director_mobilisation",
        format!(
            "Le programme prévoit {total} de mobilisation pour la direction de chaque association ({} en session, {} de travaux préparatoires) : {advice}",
            day.format_days(m.session_minutes),
            crate::domain::fr::half_days(m.preparation_half_days),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 11).unwrap()
    }

    fn ideal() -> AssociationFacts<'static> {
        AssociationFacts {
            name: "Les Petits Débrouillards",
            salaried_staff: Some(12),
            creation_year: Some(2010),
            creation_date: None,
            general_interest: true,
            has_director: true,
            has_governance: true,
        }
    }

    fn codes(w: &[Warning]) -> Vec<&'static str> {
        w.iter().map(|w| w.code).collect()
    }

    #[test]
    fn cap_accepts_below_and_refuses_at_capacity_with_the_real_cap() {
        assert!(check_cap(7, 8).is_ok());
        assert!(check_room(2, 6, 8).is_ok());
        assert_eq!(
            check_room(3, 6, 8).unwrap_err(),
            "La cohorte accueille 8 associations au maximum : 3 places déjà prises (associations inscrites ou candidatures retenues), 6 nouvelles dans la liste. Augmentez la capacité de la cohorte ou retirez des associations de la liste."
        );
        assert_eq!(
            check_cap(8, 8).unwrap_err(),
            "La cohorte est complète : 8 associations au maximum. Augmentez la capacité de la cohorte ou retirez une association."
        );
        assert!(
            check_cap(6, 6)
                .unwrap_err()
                .contains("6 associations au maximum")
        );
        assert!(
            check_cap(1, 1)
                .unwrap_err()
                .contains("1 association au maximum")
        );
    }

    #[test]
    fn ideal_association_has_no_warning() {
        assert!(association_warnings(&ideal(), start()).is_empty());
    }

    #[test]
    fn association_without_employees_is_flagged() {
        let facts = AssociationFacts {
            salaried_staff: Some(0),
            ..ideal()
        };
        let w = association_warnings(&facts, start());
        assert_eq!(codes(&w), ["no_salaried_staff"]);
        assert_eq!(
            w[0].message,
            "Les Petits Débrouillards n'emploie aucun salarié : l'accompagnement vise les associations employeuses."
        );
    }

    #[test]
    fn unknown_staff_is_a_distinct_warning() {
        let facts = AssociationFacts {
            salaried_staff: None,
            ..ideal()
        };
        let w = association_warnings(&facts, start());
        assert_eq!(codes(&w), ["salaried_staff_unknown"]);
        assert!(w[0].message.contains("effectif salarié non renseigné"));
    }

    #[test]
    fn association_younger_than_three_years_is_flagged() {
        let young = AssociationFacts {
            creation_year: Some(2025),
            ..ideal()
        };
        assert_eq!(codes(&association_warnings(&young, start())), ["too_young"]);
        let three = AssociationFacts {
            creation_year: Some(2024),
            ..ideal()
        };
        assert!(association_warnings(&three, start()).is_empty());
        let unknown = AssociationFacts {
            creation_year: None,
            ..ideal()
        };
        assert!(association_warnings(&unknown, start()).is_empty());
    }

    #[test]
    fn a_known_creation_date_is_compared_by_date_not_by_year() {
        // Created 2024-03-01, cohort starts 2027-01-11: 3 years by year, 2 years 10 months by date.
        let facts = AssociationFacts {
            creation_year: Some(2024),
            creation_date: NaiveDate::from_ymd_opt(2024, 3, 1),
            ..ideal()
        };
        let w = association_warnings(&facts, start());
        assert_eq!(codes(&w), ["too_young"]);
        assert!(
            w[0].message.contains("créée le vendredi 1er mars 2024"),
            "{}",
            w[0].message
        );
        assert!(
            w[0].message
                .contains("moins de 3 ans avant le début de la cohorte")
        );
        // Exactly three years before the start is old enough.
        let facts = AssociationFacts {
            creation_date: NaiveDate::from_ymd_opt(2024, 1, 11),
            ..facts
        };
        assert!(association_warnings(&facts, start()).is_empty());
        // Year only: 2024 is three years before 2027.
        let facts = AssociationFacts {
            creation_date: None,
            ..facts
        };
        assert!(association_warnings(&facts, start()).is_empty());
    }

    #[test]
    fn a_cap_above_eight_is_a_warning_saying_what_the_method_recommends() {
        assert_eq!(cap_warning(8), None);
        assert_eq!(cap_warning(6), None);
        let w = cap_warning(10).unwrap();
        assert_eq!(w.code, "cap_above_method");
        assert!(w.message.starts_with("La capacité de la cohorte est de 10 associations : la méthode recommande 8 structures au maximum"));
    }

    fn session(
        kind: SessionKind,
        start: (u32, u32, u32),
        end: (u32, u32, u32),
    ) -> ScheduledSession {
        let at = |(d, h, m): (u32, u32, u32)| {
            crate::domain::calendar::paris_to_utc(
                NaiveDate::from_ymd_opt(2027, 2, d)
                    .unwrap()
                    .and_hms_opt(h, m, 0)
                    .unwrap(),
            )
            .unwrap()
        };
        ScheduledSession {
            id: "s".into(),
            kind,
            association_id: None,
            label: kind.label().to_owned(),
            starts_at: at(start),
            ends_at: at(end),
        }
    }

    const LENGTHS: SessionLengths = SessionLengths {
        half_day_minutes: 180,
        day_minutes: 420,
        introductive_min_minutes: 90,
    };

    #[test]
    fn a_collective_session_of_an_hour_and_a_half_is_too_short() {
        let w = session_length_warnings(
            &[session(SessionKind::EtatDesLieux, (2, 9, 30), (2, 11, 0))],
            &LENGTHS,
        );
        assert_eq!(codes(&w), ["collective_session_too_short"]);
        assert!(w[0].message.starts_with(
            "« État des lieux » dure 1\u{a0}h\u{a0}30, moins d'une demi-journée (3\u{a0}h)"
        ));
        assert!(w[0].message.contains("d'une demi-journée à une journée"));
    }

    #[test]
    fn a_collective_session_over_a_day_or_over_two_days_is_too_long() {
        let w = session_length_warnings(
            &[
                session(SessionKind::Evolution, (2, 9, 0), (2, 17, 30)),
                session(SessionKind::EtatDesLieux, (3, 14, 0), (4, 12, 0)),
            ],
            &LENGTHS,
        );
        assert_eq!(
            codes(&w),
            ["collective_session_too_long", "collective_session_too_long"]
        );
        assert!(w[1].message.contains("sur deux jours"));
    }

    #[test]
    fn collective_sessions_from_a_half_day_to_a_day_pass() {
        let w = session_length_warnings(
            &[
                session(SessionKind::Evolution, (2, 9, 0), (2, 12, 0)),
                session(SessionKind::EtatDesLieux, (3, 9, 30), (3, 16, 30)),
                session(SessionKind::BilanIndividuel, (4, 9, 0), (4, 9, 30)),
            ],
            &LENGTHS,
        );
        assert!(w.is_empty());
    }

    #[test]
    fn an_introductive_session_runs_from_an_hour_and_a_half_to_a_half_day() {
        let check = |end: (u32, u32, u32)| {
            codes(&session_length_warnings(
                &[session(SessionKind::Introductive, (2, 9, 0), end)],
                &LENGTHS,
            ))
        };
        assert_eq!(check((2, 10, 0)), ["introductive_too_short"]);
        assert!(check((2, 10, 30)).is_empty());
        assert!(check((2, 12, 0)).is_empty());
        assert_eq!(check((2, 13, 0)), ["introductive_too_long"]);
    }

    #[test]
    fn a_director_planned_outside_four_to_six_days_is_warned() {
        let day = DayLength::STANDARD;
        // Defaults: 3 h + 6 h 30 + 6 h 30 + 2 h of sessions, 6 half-days of homework.
        assert_eq!(
            mobilisation_warning(&[180, 390, 390, 120], &[3, 2, 1], day),
            None
        );
        let low = mobilisation_warning(&[180, 390, 390, 120], &[1], day).unwrap();
        assert_eq!(low.code, "director_mobilisation");
        assert!(low.message.contains("en deçà"));
        assert!(low.message.contains("4 à 6 jours"));
        let high = mobilisation_warning(&[420, 420, 420], &[10], day).unwrap();
        assert!(high.message.contains("au-delà"));
    }

    #[test]
    fn criteria_say_met_not_met_or_unknown_with_the_warnings_wording() {
        let verdicts = |facts: &AssociationFacts, available: Option<bool>| {
            criteria(facts, available, start())
                .into_iter()
                .map(|c| (c.code, c.verdict))
                .collect::<Vec<_>>()
        };
        use Verdict::*;
        assert_eq!(
            verdicts(&ideal(), Some(true)),
            [
                ("employer", Met),
                ("age", Met),
                ("general_interest", Met),
                ("director", Met),
                ("governance", Met),
                ("available_all", Met),
            ]
        );
        // An enrolled association says nothing of its availability: no such criterion.
        assert_eq!(criteria(&ideal(), None, start()).len(), 5);
        let unknown = AssociationFacts {
            salaried_staff: None,
            creation_year: None,
            ..ideal()
        };
        let c = criteria(&unknown, Some(false), start());
        assert_eq!(c[0].verdict, Unknown);
        assert_eq!(c[1].verdict, Unknown);
        assert_eq!(c[1].warning, None, "an unknown age is not a warning");
        assert_eq!(c[5].verdict, NotMet);
        assert_eq!(c[5].warning.as_ref().unwrap().code, "not_available_all");
        // The same words as the enrolment warnings, from the same place.
        let young = AssociationFacts {
            creation_date: NaiveDate::from_ymd_opt(2025, 6, 1),
            creation_year: Some(2025),
            general_interest: false,
            ..ideal()
        };
        let from_criteria: Vec<Warning> = criteria(&young, Some(true), start())
            .into_iter()
            .filter_map(|c| c.warning)
            .collect();
        assert_eq!(from_criteria, association_warnings(&young, start()));
        assert_eq!(codes(&from_criteria), ["too_young", "not_general_interest"]);
    }

    #[test]
    fn missing_director_governance_and_general_interest_are_all_reported() {
        let facts = AssociationFacts {
            general_interest: false,
            has_director: false,
            has_governance: false,
            ..ideal()
        };
        let w = association_warnings(&facts, start());
        assert_eq!(
            codes(&w),
            ["not_general_interest", "no_director", "no_governance"]
        );
        assert_eq!(
            w[1].message,
            "Les Petits Débrouillards n'a pas de participant·e de direction salariée."
        );
        assert_eq!(
            w[2].message,
            "Les Petits Débrouillards n'a pas de membre de la gouvernance inscrit·e : associez au moins un·e administrateur·rice."
        );
    }
}
