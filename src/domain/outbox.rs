//! The outbox's rules, with no I/O: an email's statuses, its deduplication key, when a
//! failed attempt is retried, and what happens to an email after each attempt.
//!
//! Time always comes in as an argument (`now`), so the dispatcher can replay any instant
//! (`cohorte dispatch --now …`) and the rules are tested without a clock.

use chrono::{DateTime, Duration, Utc};

/// How many attempts an email gets before it is marked failed. With [`backoff`], the last
/// one comes about 8 h 30 after the first: long enough to outlast an SMTP server down for
/// a night's maintenance, short enough that someone sees the failure the same day.
pub const MAX_ATTEMPTS: i32 = 10;

/// The wait after the first failed attempt; it doubles with each further failure.
pub const FIRST_RETRY: Duration = Duration::minutes(1);

/// The longest wait between two attempts.
pub const MAX_RETRY: Duration = Duration::hours(6);

/// Where an email stands. Stored as `as_str()`; shown as `label()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the chargé·e de mission to release it (« valider les envois »).
    Draft,
    /// Will be sent at `next_attempt_at`.
    Scheduled,
    /// Claimed by a dispatcher, being sent now.
    Sending,
    Sent,
    /// Permanent failure, or attempts exhausted: someone has to act.
    Failed,
    /// Its moment passed before it could be sent (a reminder after its session began).
    Missed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::Scheduled,
        Status::Sending,
        Status::Sent,
        Status::Failed,
        Status::Missed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Missed => "missed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The French word the outbox page shows.
    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "à valider",
            Status::Scheduled => "programmé",
            Status::Sending => "en cours d'envoi",
            Status::Sent => "envoyé",
            Status::Failed => "échec",
            Status::Missed => "manqué",
            Status::Cancelled => "annulé",
        }
    }
}

/// `kind|item|recipient|revision`: one email per message kind, item, recipient and
/// revision of the item. The address is compared trimmed and lower-cased, as mail servers
/// do in practice.
pub fn dedup_key(kind: &str, item_id: &str, recipient_email: &str, revision: i32) -> String {
    format!(
        "{}|{}|{}|{revision}",
        kind.trim(),
        item_id.trim(),
        recipient_email.trim().to_lowercase()
    )
}

/// The wait before the next attempt, after `failures` failed attempts (1 for the first):
/// 1 min, 2 min, 4 min… doubling, never more than [`MAX_RETRY`].
pub fn backoff(failures: i32) -> Duration {
    let exponent = (failures.max(1) - 1).min(20) as u32;
    let wait = FIRST_RETRY * 2_i32.pow(exponent);
    wait.min(MAX_RETRY)
}

/// An email whose deadline has come is no longer sent.
pub fn is_missed(now: DateTime<Utc>, not_after: Option<DateTime<Utc>>) -> bool {
    not_after.is_some_and(|limit| limit <= now)
}

/// What one attempt to send gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Worth retrying unchanged (4xx, server unreachable, connection dropped).
    Temporary,
    /// Will fail again unchanged (5xx, invalid address).
    Permanent,
}

/// Where an email goes after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Sent,
    Retry { at: DateTime<Utc> },
    Failed,
    Missed,
}

impl Next {
    pub fn status(self) -> Status {
        match self {
            Next::Sent => Status::Sent,
            Next::Retry { .. } => Status::Scheduled,
            Next::Failed => Status::Failed,
            Next::Missed => Status::Missed,
        }
    }
}

/// The next state of an email after an attempt made at `now`; `attempts` counts this one.
/// A temporary failure is retried after [`backoff`], unless that was the last allowed
/// attempt (failed) or the retry would come at or after `not_after` (missed).
pub fn decide(
    now: DateTime<Utc>,
    attempts: i32,
    not_after: Option<DateTime<Utc>>,
    attempt: Attempt,
) -> Next {
    match attempt {
        Attempt::Sent => Next::Sent,
        Attempt::Permanent => Next::Failed,
        Attempt::Temporary if attempts >= MAX_ATTEMPTS => Next::Failed,
        Attempt::Temporary => {
            let at = now + backoff(attempts);
            if is_missed(at, not_after) {
                Next::Missed
            } else {
                Next::Retry { at }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 28, h, m, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_from_one_minute_and_stops_at_six_hours() {
        let minutes: Vec<i64> = (1..=12).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(
            backoff(0),
            FIRST_RETRY,
            "never zero: a retry is always later"
        );
        assert_eq!(backoff(i32::MAX), MAX_RETRY, "no overflow");
    }

    #[test]
    fn every_attempt_fits_in_a_working_day() {
        let total: Duration = (1..MAX_ATTEMPTS).map(backoff).sum();
        assert!(
            total > Duration::hours(6) && total < Duration::hours(10),
            "{total}"
        );
    }

    #[test]
    fn a_reminder_is_missed_from_the_instant_its_session_begins() {
        assert!(!is_missed(at(9, 0), None));
        assert!(!is_missed(at(9, 29), Some(at(9, 30))));
        assert!(is_missed(at(9, 30), Some(at(9, 30))));
        assert!(is_missed(at(10, 0), Some(at(9, 30))));
    }

    #[test]
    fn a_sent_email_is_sent_and_a_permanent_failure_is_failed_at_once() {
        assert_eq!(decide(at(9, 0), 1, None, Attempt::Sent), Next::Sent);
        assert_eq!(decide(at(9, 0), 1, None, Attempt::Permanent), Next::Failed);
    }

    #[test]
    fn a_temporary_failure_is_retried_later_until_the_attempts_run_out() {
        assert_eq!(
            decide(at(9, 0), 1, None, Attempt::Temporary),
            Next::Retry { at: at(9, 1) }
        );
        assert_eq!(
            decide(at(9, 0), 3, None, Attempt::Temporary),
            Next::Retry { at: at(9, 4) }
        );
        assert_eq!(
            decide(at(9, 0), MAX_ATTEMPTS, None, Attempt::Temporary),
            Next::Failed
        );
    }

    #[test]
    fn a_retry_that_would_come_after_the_deadline_is_missed_instead() {
        assert_eq!(
            decide(at(9, 0), 2, Some(at(9, 30)), Attempt::Temporary),
            Next::Retry { at: at(9, 2) }
        );
        assert_eq!(
            decide(at(9, 29), 2, Some(at(9, 30)), Attempt::Temporary),
            Next::Missed
        );
        assert_eq!(Next::Missed.status(), Status::Missed);
    }

    #[test]
    fn the_dedup_key_ignores_case_and_spaces_in_the_address() {
        assert_eq!(
            dedup_key("convocation", "s1", " Nadia@Jardins.FR ", 2),
            "convocation|s1|nadia@jardins.fr|2"
        );
        assert_ne!(
            dedup_key("convocation", "s1", "nadia@jardins.fr", 2),
            dedup_key("convocation", "s1", "nadia@jardins.fr", 3)
        );
    }

    #[test]
    fn statuses_round_trip_and_speak_french() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("envoyé"), None);
        assert_eq!(Status::Draft.label(), "à valider");
        assert_eq!(Status::Missed.label(), "manqué");
    }
}
