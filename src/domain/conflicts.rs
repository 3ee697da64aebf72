//! Conflicts between sessions (issue #17): what makes two sessions unable to happen as
//! planned. Flagged, never refused: the chargé·e de mission decides.
//!
//! - the same consultant in two sessions that overlap (touching is not overlapping);
//! - the same consultant at two different places on one Paris day with less than the
//!   travel gap between the end of one and the start of the other (exactly the gap is
//!   enough);
//! - the same place (a DLA's place, not free text) taken by two sessions that overlap;
//! - a participant (the same normalised email) concerned by sessions of two different
//!   cohorts on the same Paris day.
//!
//! Pure: the sessions come in as [`Slot`]s, the gap as an argument.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::calendar::utc_to_paris;

/// What the rules need of a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    pub id: String,
    pub cohort_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The cohort's consultant.
    pub consultant_id: Option<String>,
    /// The DLA place picked by the session.
    pub place_id: Option<String>,
    /// Where the session happens, for the travel rule: the place, else the free-text
    /// location compared without case and spaces; `None` for a session by video.
    pub location_key: Option<String>,
    /// The normalised emails of the participants the session concerns (everyone enrolled
    /// for a collective session, the association's people for a bilan).
    pub emails: BTreeSet<String>,
}

impl Slot {
    fn day(&self) -> NaiveDate {
        utc_to_paris(self.starts_at).date()
    }

    fn overlaps(&self, other: &Slot) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }
}

/// The location key of a session: its place, else its free text (trimmed, lower case,
/// inner spaces collapsed), else none.
pub fn location_key(place_id: Option<&str>, location: &str) -> Option<String> {
    if let Some(p) = place_id {
        return Some(format!("place:{p}"));
    }
    let text = location
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (!text.is_empty()).then(|| format!("text:{text}"))
}

/// Which rule two sessions break.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// The same consultant in both, at the same time.
    ConsultantOverlap,
    /// The same consultant at two places on one day, `gap` minutes apart (less than the
    /// travel gap).
    ConsultantTravel { gap_minutes: i64 },
    /// The same place taken by both at the same time.
    PlaceTaken,
    /// Participants of both cohorts on the same day (how many addresses).
    ParticipantSameDay { people: usize },
}

impl Rule {
    pub fn code(&self) -> &'static str {
        match self {
            Rule::ConsultantOverlap => "conflict_consultant",
            Rule::ConsultantTravel { .. } => "conflict_travel",
            Rule::PlaceTaken => "conflict_place",
            Rule::ParticipantSameDay { .. } => "conflict_participant",
        }
    }
}

/// `session` conflicts with `other` under `rule`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    pub session_id: String,
    pub other_id: String,
    pub rule: Rule,
}

/// The conflicts of each of `subjects` with any session of `others` (which may hold the
/// subjects themselves: a session never conflicts with itself). Each pair and rule once
/// per subject, sorted.
pub fn find(subjects: &[Slot], others: &[Slot], travel_gap: Duration) -> Vec<Conflict> {
    let mut out = Vec::new();
    for s in subjects {
        for o in others {
            if o.id == s.id {
                continue;
            }
            for rule in between(s, o, travel_gap) {
                out.push(Conflict {
                    session_id: s.id.clone(),
                    other_id: o.id.clone(),
                    rule,
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The rules `a` and `b` break together.
pub fn between(a: &Slot, b: &Slot, travel_gap: Duration) -> Vec<Rule> {
    let mut rules = Vec::new();
    let same_consultant = a.consultant_id.is_some() && a.consultant_id == b.consultant_id;
    if same_consultant {
        if a.overlaps(b) {
            rules.push(Rule::ConsultantOverlap);
        } else if a.day() == b.day()
            && let (Some(la), Some(lb)) = (&a.location_key, &b.location_key)
            && la != lb
        {
            let gap = if a.ends_at <= b.starts_at {
                b.starts_at - a.ends_at
            } else {
                a.starts_at - b.ends_at
            };
            if gap < travel_gap {
                rules.push(Rule::ConsultantTravel {
                    gap_minutes: gap.num_minutes(),
                });
            }
        }
    }
    if a.place_id.is_some() && a.place_id == b.place_id && a.overlaps(b) {
        rules.push(Rule::PlaceTaken);
    }
    if a.cohort_id != b.cohort_id && a.day() == b.day() {
        let people = a.emails.intersection(&b.emails).count();
        if people > 0 {
            rules.push(Rule::ParticipantSameDay { people });
        }
    }
    rules
}

/// The French sentence of a conflict. `other` describes the other session when the
/// person may see its cohort (« « Bilan individuel — X » (Cohorte B), lundi 11 janvier
/// 2027, 9 h 30 – 12 h 30 »); `None` when they may not: then nothing of it is said — no
/// cohort, no place, no person —, only « occupé·e (autre cohorte) ».
pub fn message(rule: &Rule, other: Option<&str>) -> String {
    let Some(other) = other else {
        return match rule {
            Rule::ConsultantOverlap | Rule::ConsultantTravel { .. } => {
                "Consultant·e occupé·e (autre cohorte).".to_string()
            }
            Rule::PlaceTaken => "Lieu déjà occupé (autre cohorte).".to_string(),
            Rule::ParticipantSameDay { .. } => {
                "Participant·e occupé·e (autre cohorte) le même jour.".to_string()
            }
        };
    };
    match rule {
        Rule::ConsultantOverlap => {
            format!("Même consultant·e au même moment que {other}.")
        }
        Rule::ConsultantTravel { gap_minutes } => format!(
            "Même consultant·e dans un autre lieu le même jour, {} avant ou après : {other}.",
            minutes(*gap_minutes)
        ),
        Rule::PlaceTaken => format!("Lieu déjà pris au même moment par {other}."),
        Rule::ParticipantSameDay { people } => format!(
            "{} aussi inscrit·e{} le même jour à {other}.",
            if *people > 1 {
                format!("{people} participant·es")
            } else {
                "Un·e participant·e".to_string()
            },
            if *people > 1 { "s" } else { "" }
        ),
    }
}

/// « 45 min », « 1 h », « 1 h 15 » (non-breaking spaces, as `fr::time`).
fn minutes(m: i64) -> String {
    const NBSP: char = '\u{a0}';
    match (m / 60, m % 60) {
        (0, m) => format!("{m}{NBSP}min"),
        (h, 0) => format!("{h}{NBSP}h"),
        (h, m) => format!("{h}{NBSP}h{NBSP}{m:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        // Winter: Paris is UTC+1.
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn slot(id: &str, cohort: &str, start: &str, end: &str) -> Slot {
        Slot {
            id: id.into(),
            cohort_id: cohort.into(),
            starts_at: at(start),
            ends_at: at(end),
            ..Default::default()
        }
    }

    fn with_consultant(mut s: Slot, c: &str, location: Option<&str>) -> Slot {
        s.consultant_id = Some(c.into());
        s.location_key = location.and_then(|l| location_key(None, l));
        s
    }

    fn gap() -> Duration {
        Duration::minutes(60)
    }

    #[test]
    fn the_same_consultant_in_two_overlapping_sessions_conflicts() {
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            None,
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 11:00", "2027-01-11 12:00"),
            "k",
            None,
        );
        assert_eq!(between(&a, &b, gap()), vec![Rule::ConsultantOverlap]);
        assert_eq!(between(&b, &a, gap()), vec![Rule::ConsultantOverlap]);
    }

    #[test]
    fn touching_sessions_do_not_overlap() {
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            Some("Salle A"),
        );
        let b = with_consultant(
            slot("b", "c1", "2027-01-11 11:30", "2027-01-11 12:30"),
            "k",
            Some("salle  a"),
        );
        assert!(
            between(&a, &b, gap()).is_empty(),
            "same place, back to back"
        );
    }

    #[test]
    fn different_consultants_or_none_do_not_conflict() {
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            None,
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 08:30", "2027-01-11 11:30"),
            "j",
            None,
        );
        assert!(between(&a, &b, gap()).is_empty());
        let (mut a, mut b) = (a, b);
        a.consultant_id = None;
        b.consultant_id = None;
        assert!(between(&a, &b, gap()).is_empty(), "no consultant is nobody");
    }

    #[test]
    fn two_places_on_one_day_need_the_travel_gap() {
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            Some("Lyon"),
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 12:00", "2027-01-11 15:00"),
            "k",
            Some("Vienne"),
        );
        assert_eq!(
            between(&a, &b, gap()),
            vec![Rule::ConsultantTravel { gap_minutes: 30 }]
        );
        assert_eq!(
            between(&b, &a, gap()),
            vec![Rule::ConsultantTravel { gap_minutes: 30 }],
            "whichever comes first"
        );
    }

    #[test]
    fn a_gap_exactly_at_the_limit_is_enough() {
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            Some("Lyon"),
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 12:30", "2027-01-11 15:00"),
            "k",
            Some("Vienne"),
        );
        assert!(between(&a, &b, gap()).is_empty());
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 12:29", "2027-01-11 15:00"),
            "k",
            Some("Vienne"),
        );
        assert_eq!(
            between(&a, &b, gap()),
            vec![Rule::ConsultantTravel { gap_minutes: 59 }]
        );
    }

    #[test]
    fn the_travel_rule_needs_two_known_places_on_the_same_paris_day() {
        // 22:00 UTC on the 11th is the 12th in Paris.
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 21:00", "2027-01-11 22:30"),
            "k",
            Some("Lyon"),
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 23:00", "2027-01-12 00:00"),
            "k",
            Some("Vienne"),
        );
        assert!(between(&a, &b, gap()).is_empty(), "different Paris days");
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            None,
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 11:45", "2027-01-11 15:00"),
            "k",
            Some("Vienne"),
        );
        assert!(between(&a, &b, gap()).is_empty(), "by video: no travel");
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            Some("Vienne"),
        );
        assert!(between(&a, &b, gap()).is_empty(), "same place: no travel");
    }

    #[test]
    fn a_place_taken_twice_at_once_conflicts_but_not_back_to_back() {
        let mut a = slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30");
        let mut b = slot("b", "c2", "2027-01-11 10:00", "2027-01-11 12:00");
        a.place_id = Some("p".into());
        b.place_id = Some("p".into());
        assert_eq!(between(&a, &b, gap()), vec![Rule::PlaceTaken]);
        b.starts_at = at("2027-01-11 11:30");
        assert!(between(&a, &b, gap()).is_empty());
        b.starts_at = at("2027-01-11 10:00");
        b.place_id = Some("q".into());
        assert!(between(&a, &b, gap()).is_empty());
    }

    #[test]
    fn a_participant_in_two_cohorts_on_the_same_day_conflicts() {
        let mut a = slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30");
        let mut b = slot("b", "c2", "2027-01-11 13:30", "2027-01-11 16:30");
        a.emails = ["nadia@example.org".to_string(), "x@example.org".to_string()].into();
        b.emails = ["nadia@example.org".to_string()].into();
        assert_eq!(
            between(&a, &b, gap()),
            vec![Rule::ParticipantSameDay { people: 1 }]
        );
        // Another day: nothing.
        b.starts_at = at("2027-01-12 08:30");
        b.ends_at = at("2027-01-12 11:30");
        assert!(between(&a, &b, gap()).is_empty());
        // The same cohort: its own programme, not a conflict.
        b.starts_at = at("2027-01-11 13:30");
        b.ends_at = at("2027-01-11 16:30");
        b.cohort_id = "c1".into();
        assert!(between(&a, &b, gap()).is_empty());
    }

    #[test]
    fn find_lists_each_subjects_conflicts_and_never_a_session_with_itself() {
        let a = with_consultant(
            slot("a", "c1", "2027-01-11 08:30", "2027-01-11 11:30"),
            "k",
            None,
        );
        let b = with_consultant(
            slot("b", "c2", "2027-01-11 09:00", "2027-01-11 10:00"),
            "k",
            None,
        );
        let c = with_consultant(
            slot("c", "c3", "2027-01-12 09:00", "2027-01-12 10:00"),
            "k",
            None,
        );
        let all = [a.clone(), b.clone(), c.clone()];
        let found = find(std::slice::from_ref(&a), &all, gap());
        assert_eq!(
            found,
            vec![Conflict {
                session_id: "a".into(),
                other_id: "b".into(),
                rule: Rule::ConsultantOverlap
            }]
        );
        assert_eq!(find(&all, &all, gap()).len(), 2, "a with b, b with a");
    }

    #[test]
    fn a_hidden_conflict_says_nothing_of_the_other_session() {
        for rule in [
            Rule::ConsultantOverlap,
            Rule::ConsultantTravel { gap_minutes: 20 },
            Rule::PlaceTaken,
            Rule::ParticipantSameDay { people: 2 },
        ] {
            let m = message(&rule, None);
            assert!(m.contains(" (autre cohorte)"), "{m}");
            if rule != Rule::PlaceTaken {
                assert!(m.contains("occupé·e (autre cohorte)"), "{m}");
            }
        }
        let m = message(
            &Rule::ConsultantTravel { gap_minutes: 75 },
            Some("« Évolution » (Cohorte B)"),
        );
        assert!(m.contains("1\u{a0}h\u{a0}15"), "{m}");
        assert!(m.contains("Cohorte B"), "{m}");
        assert_eq!(
            message(
                &Rule::ParticipantSameDay { people: 1 },
                Some("« Évolution » (B)")
            ),
            "Un·e participant·e aussi inscrit·e le même jour à « Évolution » (B)."
        );
    }

    #[test]
    fn location_keys_prefer_the_place_and_ignore_case_and_spaces() {
        assert_eq!(location_key(Some("p1"), "Salle"), Some("place:p1".into()));
        assert_eq!(
            location_key(None, "  Salle   des Fêtes "),
            location_key(None, "salle des fêtes")
        );
        assert_eq!(location_key(None, "   "), None);
    }
}
