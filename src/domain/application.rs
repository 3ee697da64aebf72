//! Applications to a cohort's call (issue #14): their statuses and what a decision may
//! change. Pure: no clock, no database.

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

#[cfg(test)]
mod tests {
    use super::*;

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
