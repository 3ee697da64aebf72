//! Applications to a cohort's call (issue #14): their statuses, duplicates within a call,
//! and the decision emails' texts (defaults and placeholders). Pure: no clock, no database.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::calendar::{paris_to_utc, utc_to_paris};

/// The instant a call closes: the end of its closing day in Europe/Paris (midnight that
/// starts the next day; midnight always exists in Paris).
pub fn closes_at(closes_on: NaiveDate) -> DateTime<Utc> {
    let next = closes_on.succ_opt().unwrap_or(closes_on);
    paris_to_utc(next.and_hms_opt(0, 0, 0).unwrap_or_default())
        .unwrap_or_else(|_| next.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// Whether a call closing on `closes_on` still takes applications (and their changes) at
/// `now`.
pub fn is_open(closes_on: NaiveDate, now: DateTime<Utc>) -> bool {
    now < closes_at(closes_on)
}

/// Today in Paris: the earliest closing date a call may be given.
pub fn paris_today(now: DateTime<Utc>) -> NaiveDate {
    utc_to_paris(now).date()
}

/// Whether the retention period of a call's applications not retained is over at `now`:
/// `months` calendar months after its closing day ended (`months = 0`: never).
pub fn past_retention(closes_on: NaiveDate, months: u32, now: DateTime<Utc>) -> bool {
    months > 0
        && closes_at(closes_on)
            .checked_add_months(chrono::Months::new(months))
            .is_some_and(|limit| now >= limit)
}

/// Whether the retention purge deletes an application: not retained, and never enrolled.
pub fn purged_after_closing(status: Status, enrolled: bool) -> bool {
    status != Status::Retained && !enrolled
}

/// Where an application stands. Stored as its [`Status::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Status {
    /// Reçue: waiting for a decision.
    Received,
    /// Retenue: takes one of the cohort's places (enrolled or about to be).
    Retained,
    /// Liste d'attente: proposed a place when a retained association withdraws.
    Waiting,
    /// Non retenue.
    Declined,
    /// Désistée: the association withdrew (from its private link, or noted by the staff).
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Received,
        Status::Retained,
        Status::Waiting,
        Status::Declined,
        Status::Withdrawn,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Received => "recue",
            Status::Retained => "retenue",
            Status::Waiting => "attente",
            Status::Declined => "non_retenue",
            Status::Withdrawn => "desistee",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The French label shown on the screens (feminine: « une candidature »).
    pub fn label(self) -> &'static str {
        match self {
            Status::Received => "Reçue",
            Status::Retained => "Retenue",
            Status::Waiting => "Liste d'attente",
            Status::Declined => "Non retenue",
            Status::Withdrawn => "Désistée",
        }
    }

    /// Whether the application holds one of the cohort's places (before and after its
    /// enrolment: the cap counts an enrolled association once, through the association).
    pub fn holds_a_place(self) -> bool {
        self == Status::Retained
    }
}

/// The statuses a decision email goes with, in the order the settings page shows them.
pub const DECIDED: [Status; 3] = [Status::Retained, Status::Waiting, Status::Declined];

/// A name compared for duplicates: lower case, accents folded, every run of other
/// characters than letters and digits one space (« L'Atelier  Vélo » = « l atelier velo »).
pub fn normalised_name(name: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = crate::domain::fr::fold_accent(c);
        if folded.is_some() || c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            match folded {
                Some(f) => out.push_str(f),
                None => out.push(c),
            }
        } else {
            gap = true;
        }
    }
    out
}

/// What tells two applications of a call apart.
#[derive(Clone, Copy, Debug)]
pub struct Identity<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub rna: Option<&'a str>,
    pub siret: Option<&'a str>,
}

/// For each application of a call that has a duplicate, the ids of the others with the
/// same RNA, the same SIRET or the same [`normalised_name`], in the given order.
pub fn duplicates<'a>(call: &[Identity<'a>]) -> BTreeMap<&'a str, Vec<&'a str>> {
    let names: Vec<String> = call.iter().map(|a| normalised_name(a.name)).collect();
    let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, a) in call.iter().enumerate() {
        for (j, b) in call.iter().enumerate() {
            let same = i != j
                && ((a.rna.is_some() && a.rna == b.rna)
                    || (a.siret.is_some() && a.siret == b.siret)
                    || (!names[i].is_empty() && names[i] == names[j]));
            if same {
                out.entry(a.id).or_default().push(b.id);
            }
        }
    }
    out
}

/// The placeholders a decision email may hold, each filled from the cohort's data (never
/// from what the applicant typed).
pub const PLACEHOLDERS: [(&str, &str); 4] = [
    ("{cohorte}", "le nom de la cohorte"),
    ("{dla}", "le nom du DLA"),
    ("{date_debut}", "la date de début de la cohorte"),
    (
        "{signature}",
        "le nom de la chargée ou du chargé de mission",
    ),
];

/// The values of [`PLACEHOLDERS`] for one cohort.
#[derive(Clone, Debug)]
pub struct LetterValues {
    pub cohort: String,
    pub dla: String,
    pub start: String,
    pub signature: String,
}

/// `text` with its placeholders filled.
pub fn fill(text: &str, v: &LetterValues) -> String {
    text.replace("{cohorte}", &v.cohort)
        .replace("{dla}", &v.dla)
        .replace("{date_debut}", &v.start)
        .replace("{signature}", &v.signature)
}

/// The first `{…}` of `text` that is not one of [`PLACEHOLDERS`], to refuse it by name.
pub fn unknown_placeholder(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let close = after.find('}')?;
        let token = &after[..=close];
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == token) {
            return Some(token.to_string());
        }
        rest = &after[close + 1..];
    }
    None
}

/// The French default subject and body of a decision's email.
pub fn default_letter(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Retained => (
            "Votre candidature à « {cohorte} » est retenue",
            "Bonjour,\n\nNous avons le plaisir de vous annoncer que la candidature de votre association à l'accompagnement collectif « {cohorte} » est retenue. L'accompagnement commence le {date_debut}.\n\nVous recevrez prochainement les convocations aux sessions et la demande de confirmer votre engagement à y participer toutes les quatre.\n\nBien cordialement,\n\n{signature}\n{dla}",
        ),
        Status::Waiting => (
            "Votre candidature à « {cohorte} » est sur liste d'attente",
            "Bonjour,\n\nMerci pour la candidature de votre association à l'accompagnement collectif « {cohorte} ». Les places de cette cohorte sont toutes attribuées pour l'instant : votre candidature est inscrite sur la liste d'attente. Si une place se libère avant le {date_debut}, nous reviendrons vers vous.\n\nBien cordialement,\n\n{signature}\n{dla}",
        ),
        _ => (
            "Votre candidature à « {cohorte} »",
            "Bonjour,\n\nMerci pour la candidature de votre association à l'accompagnement collectif « {cohorte} ». Nous ne pouvons malheureusement pas la retenir pour cette cohorte. N'hésitez pas à nous contacter pour en parler ou pour connaître les autres accompagnements possibles.\n\nBien cordialement,\n\n{signature}\n{dla}",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_without_case_accents_or_punctuation() {
        assert_eq!(normalised_name("L'Atelier  Vélo !"), "l atelier velo");
        assert_eq!(
            normalised_name("  Cœur de Ville "),
            normalised_name("COEUR-DE-VILLE")
        );
        assert_ne!(normalised_name("Vélo 33"), normalised_name("Vélo 34"));
    }

    #[test]
    fn duplicates_share_an_identifier_or_a_name() {
        let call = [
            Identity {
                id: "a",
                name: "Atelier Vélo",
                rna: Some("W331000001"),
                siret: None,
            },
            Identity {
                id: "b",
                name: "L'atelier vélo de Bègles",
                rna: Some("W331000001"),
                siret: None,
            },
            Identity {
                id: "c",
                name: "ATELIER VELO",
                rna: None,
                siret: None,
            },
            Identity {
                id: "d",
                name: "Jardins partagés",
                rna: None,
                siret: Some("12345678901234"),
            },
            Identity {
                id: "e",
                name: "Autre",
                rna: None,
                siret: Some("12345678901234"),
            },
            Identity {
                id: "f",
                name: "Seule",
                rna: None,
                siret: None,
            },
        ];
        let d = duplicates(&call);
        assert_eq!(d["a"], ["b", "c"]);
        assert_eq!(d["b"], ["a"]);
        assert_eq!(d["c"], ["a"]);
        assert_eq!(d["d"], ["e"]);
        assert!(!d.contains_key("f"));
    }

    #[test]
    fn letters_fill_only_the_known_placeholders() {
        let v = LetterValues {
            cohort: "Cohorte Gironde 2027".into(),
            dla: "DLA de la Gironde".into(),
            start: "lundi 11 janvier 2027".into(),
            signature: "Claire Martin".into(),
        };
        for status in DECIDED {
            let (subject, body) = default_letter(status);
            assert_eq!(unknown_placeholder(subject), None);
            assert_eq!(unknown_placeholder(body), None);
            let filled = fill(body, &v);
            assert!(filled.contains("Cohorte Gironde 2027"), "{filled}");
            assert!(!filled.contains('{'));
        }
        assert_eq!(
            unknown_placeholder("Bonjour {nom}, {cohorte}"),
            Some("{nom}".into())
        );
        assert_eq!(unknown_placeholder("accolade { seule"), None);
    }

    #[test]
    fn codes_round_trip_and_labels_are_french() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code("inconnue"), None);
        assert_eq!(Status::Waiting.label(), "Liste d'attente");
        assert!(Status::Retained.holds_a_place());
        assert!(!Status::Waiting.holds_a_place());
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_call_closes_at_the_end_of_its_day_in_paris() {
        let winter = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        // Midnight in Paris is 23:00 UTC in winter, 22:00 in summer.
        assert!(is_open(winter, utc("2027-01-15T22:59:59Z")));
        assert!(!is_open(winter, utc("2027-01-15T23:00:00Z")));
        let summer = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
        assert!(is_open(summer, utc("2027-06-30T21:59:00Z")));
        assert!(!is_open(summer, utc("2027-06-30T22:00:00Z")));
        assert_eq!(
            paris_today(utc("2027-06-30T22:30:00Z")),
            summer.succ_opt().unwrap()
        );
    }

    #[test]
    fn applications_not_retained_are_kept_months_after_the_closing() {
        let closes = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        assert!(!past_retention(closes, 6, utc("2027-07-15T22:59:00Z")));
        assert!(past_retention(closes, 6, utc("2027-07-15T23:00:00Z")));
        assert!(!past_retention(closes, 0, utc("2040-01-01T00:00:00Z")));
        assert!(purged_after_closing(Status::Waiting, false));
        assert!(purged_after_closing(Status::Withdrawn, false));
        assert!(!purged_after_closing(Status::Retained, false));
        assert!(!purged_after_closing(Status::Withdrawn, true));
    }
}
