//! Enrolment rules of the collective accompaniment (source 003): the cohort
//! size cap (a refusal) and the target profile of associations (warnings
//! only: the chargé·e de mission decides).

use chrono::{Datelike, NaiveDate};

use crate::domain::Warning;

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

/// What the rules need to know about an association and its participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssociationFacts<'a> {
    pub name: &'a str,
    pub salaried_staff: Option<i32>,
    pub creation_year: Option<i32>,
    pub general_interest: bool,
    /// A salaried director is enrolled as a participant.
    pub has_director: bool,
    /// A governance member (board) is enrolled as a participant.
    pub has_governance: bool,
}

/// Warnings about an association that departs from the programme's target
/// profile. None of them prevents enrolment.
pub fn association_warnings(facts: &AssociationFacts, cohort_start: NaiveDate) -> Vec<Warning> {
    let name = facts.name;
    let mut warnings = Vec::new();
    match facts.salaried_staff {
        Some(n) if n <= 0 => warnings.push(Warning::new(
            "no_salaried_staff",
            format!("{name} n'emploie aucun salarié : l'accompagnement vise les associations employeuses."),
        )),
        Some(_) => {}
        None => warnings.push(Warning::new(
            "salaried_staff_unknown",
            format!("{name} : effectif salarié non renseigné (l'accompagnement vise les associations employeuses)."),
        )),
    }
    if let Some(year) = facts.creation_year {
        let age = cohort_start.year() - year;
        if age < MIN_ASSOCIATION_AGE_YEARS {
            warnings.push(Warning::new(
                "too_young",
                format!(
                    "{name} a été créée en {year} : l'accompagnement vise les associations créées depuis au moins {MIN_ASSOCIATION_AGE_YEARS} ans."
                ),
            ));
        }
    }
    if !facts.general_interest {
        warnings.push(Warning::new(
            "not_general_interest",
            format!("{name} n'est pas reconnue d'intérêt général : l'accompagnement vise les associations d'intérêt général."),
        ));
    }
    if !facts.has_director {
        warnings.push(Warning::new(
            "no_director",
            format!("{name} n'a pas de participant·e de direction salariée."),
        ));
    }
    if !facts.has_governance {
        warnings.push(Warning::new(
            "no_governance",
            format!(
                "{name} n'a pas de membre de la gouvernance inscrit·e : associez au moins un·e administrateur·rice."
            ),
        ));
    }
    warnings
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
