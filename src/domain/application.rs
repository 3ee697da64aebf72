//! Applications to a cohort's call (issue #14): their statuses and what a decision may
//! change. Pure: no clock, no database.

use serde::Serialize;

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
}
