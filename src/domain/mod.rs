//! Pure domain layer of Cohorte: French calendar rules, French formatting,
//! association identifiers, enrolment rules, the programme engine, what a calendar holds of
//! a session (`invite`) and the rules for line breaks and control characters in typed text.
//!
//! Nothing in here performs I/O or reads the clock: every instant or date comes
//! in as an argument, so the whole layer is deterministic and unit-tested.

pub mod agenda;
pub mod application;
pub mod budget;
pub mod calendar;
pub mod charts;
pub mod conflicts;
pub mod evaluation;
pub mod fr;
pub mod identifiers;
pub mod import;
pub mod invite;
pub mod outbox;
pub mod profile;
pub mod profile_charts;
pub mod programme;
pub mod report;
pub mod rules;
pub mod schedule;
pub mod text;

/// A non-blocking remark shown to the user (the user decides what to do).
///
/// `code` is a stable snake_case identifier (e.g. `"span_too_long"`) that the
/// rest of the app can match on; `message` is a complete French sentence.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

impl Warning {
    /// Builds a warning from its code and French message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Warning {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_serialises_as_code_and_message() {
        let w = Warning::new("no_bilan", "Aucune association inscrite.");
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({ "code": "no_bilan", "message": "Aucune association inscrite." })
        );
    }
}
