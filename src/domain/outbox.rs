//! The outbox's rules, with no I/O: an email's statuses, its deduplication key, when a
//! failed attempt is retried, when retrying stops (by time, not by count), and what
//! happens to an email after each attempt.
//!
//! Time always comes in as an argument (`now`), so the dispatcher can replay any instant
//! (`cohorte dispatch --now …`) and the rules are tested without a clock.

use chrono::{DateTime, Duration, Utc};

/// The wait after the first failed attempt; it doubles with each further failure.
pub const FIRST_RETRY: Duration = Duration::minutes(1);

/// The longest wait between two attempts: a few minutes, so that emails leave within
/// minutes of an SMTP server's recovery however long it was down (1, 2, 4, then every 5
/// minutes). Retrying often costs nothing: an unreachable server refuses at once.
pub const MAX_RETRY: Duration = Duration::minutes(5);

/// How long an email that concerns no session (`not_after` unset) is retried, counted from
/// when it was first due, when `mail.give_up_after_hours` does not say otherwise: two days
/// outlast a weekend's outage of the SMTP server, and someone sees the failure after that.
pub const GIVE_UP_AFTER: Duration = Duration::hours(48);

/// Sends whose outcome stayed unknown (the whole message went out, but no reply came) an
/// email may have: the first is sent again with the same Message-ID, the second ends it.
pub const MAX_UNCONFIRMED: i32 = 2;

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
    /// Refused for good, retried until its time ran out, or sent twice without the
    /// server's confirmation: someone has to act.
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

/// One email per message kind, item, recipient and revision of the item: the digest
/// ([`key_digest`]) of `kind|item|recipient|revision`. The address is compared trimmed
/// and lower-cased, as mail servers do in practice.
///
/// Stored as a digest, not as the text: the key is the outbox's unique index, whose old
/// pages SQLite may leave in the file's free space (see `db::erase_from_files`); a digest
/// leaves no address there when a person is erased, so that index, the largest with an
/// address in it, needs no rebuild after an erasure (858,000 keys at a network's size: a
/// rebuild held every writer past its wait).
pub fn dedup_key(kind: &str, item_id: &str, recipient_email: &str, revision: i32) -> String {
    key_digest(&format!(
        "{}|{}|{}|{revision}",
        kind.trim(),
        item_id.trim(),
        recipient_email.trim().to_lowercase()
    ))
}

/// The stored form of a deduplication key: the first 128 bits of the SHA-256 of its text,
/// in lower-case hexadecimal (32 characters). The same digest as the migration that turned
/// the keys stored as text into digests (`cohorte_key_digest` on SQLite, `sha256` on
/// PostgreSQL).
pub fn key_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// The key of an email whose recipient was erased (anonymised, purged): unique to the row,
/// nothing of the person in it. The planner never queues for an erased person, so no key it
/// computes needs to meet this one; and two emails to one person at two addresses, which
/// would share a key once their addresses are the same placeholder, keep theirs distinct.
pub fn erased_key(email_id: &str) -> String {
    key_digest(&format!("erased|{email_id}"))
}

/// The wait before the next attempt, after `failures` failed attempts (1 for the first):
/// 1 min, 2 min, 4 min, then [`MAX_RETRY`] (5 min) for every later one.
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
    /// Worth retrying unchanged (4xx, server unreachable, connection dropped before the
    /// end of the message).
    Temporary,
    /// Will fail again unchanged (5xx, invalid address).
    Permanent,
    /// Unknown outcome: the whole message was sent, then the reply to its final dot never
    /// came (timeout, dropped connection). It may have been delivered.
    Unconfirmed,
}

/// Why an email ended `failed`: what the French note adds to the last error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaveUp {
    /// The server refused it for good (5xx, invalid address).
    Refused,
    /// Temporary failures until [`Tries::give_up_at`].
    TimeUp,
    /// A second send without confirmation: sending again could deliver it twice.
    Unconfirmed,
}

/// Where an email goes after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Sent,
    Retry { at: DateTime<Utc> },
    Failed(GaveUp),
    Missed,
}

impl Next {
    pub fn status(self) -> Status {
        match self {
            Next::Sent => Status::Sent,
            Next::Retry { .. } => Status::Scheduled,
            Next::Failed(_) => Status::Failed,
            Next::Missed => Status::Missed,
        }
    }
}

/// What the rules need to know of an email's attempts so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tries {
    /// Attempts made, this one included.
    pub attempts: i32,
    /// Sends whose outcome stayed unknown, before this one.
    pub unconfirmed: i32,
    /// When the email was first due.
    pub first_due: DateTime<Utc>,
    /// Never sent at or after this instant (a reminder: its session's start).
    pub not_after: Option<DateTime<Utc>>,
}

impl Tries {
    /// When retries stop: the session's start for an email about a session (`not_after`:
    /// it is then missed), otherwise `give_up_after` after it was first due (failed).
    pub fn give_up_at(&self, give_up_after: Duration) -> DateTime<Utc> {
        self.not_after.unwrap_or(self.first_due + give_up_after)
    }
}

/// The next state of an email after an attempt made at `now`. A temporary failure is
/// retried after [`backoff`], unless the retry would come at or after [`Tries::give_up_at`]:
/// then it is missed (a `not_after` deadline) or failed (time is up). An unknown outcome
/// is retried the same way once; the second ends the email failed, since a third send
/// could deliver it a third time.
pub fn decide(
    now: DateTime<Utc>,
    tries: &Tries,
    give_up_after: Duration,
    attempt: Attempt,
) -> Next {
    match attempt {
        Attempt::Sent => Next::Sent,
        Attempt::Permanent => Next::Failed(GaveUp::Refused),
        Attempt::Unconfirmed if tries.unconfirmed + 1 >= MAX_UNCONFIRMED => {
            Next::Failed(GaveUp::Unconfirmed)
        }
        Attempt::Temporary | Attempt::Unconfirmed => {
            let at = now + backoff(tries.attempts);
            if at < tries.give_up_at(give_up_after) {
                Next::Retry { at }
            } else if tries.not_after.is_some() {
                Next::Missed
            } else {
                Next::Failed(GaveUp::TimeUp)
            }
        }
    }
}

/// What the French note of a failed email adds after the explanation of its last error:
/// why nothing more will be tried, and what to do.
pub fn gave_up_note(why: GaveUp, give_up_after: Duration) -> Option<String> {
    match why {
        GaveUp::Refused => None,
        GaveUp::TimeUp => Some(format!(
            "Abandonné après {} d'essais : vérifiez le serveur d'envoi, puis renvoyez-le.",
            duration_fr(give_up_after)
        )),
        GaveUp::Unconfirmed => Some(
            "Deuxième envoi sans confirmation du serveur : l'e-mail est peut-être arrivé. \
             Vérifiez auprès du destinataire avant de le renvoyer."
                .to_string(),
        ),
    }
}

/// « 48 h », « 3 jours », « 90 min »: a delay as the notes say it.
fn duration_fr(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes % (24 * 60) == 0 && minutes >= 72 * 60 {
        format!("{} jours", minutes / (24 * 60))
    } else if minutes % 60 == 0 {
        format!("{}\u{a0}h", minutes / 60)
    } else {
        format!("{minutes}\u{a0}min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 28, h, m, 0).unwrap()
    }

    fn tries(attempts: i32, not_after: Option<DateTime<Utc>>) -> Tries {
        Tries {
            attempts,
            unconfirmed: 0,
            first_due: at(9, 0),
            not_after,
        }
    }

    #[test]
    fn backoff_doubles_from_one_minute_and_stops_at_five_minutes() {
        let minutes: Vec<i64> = (1..=8).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 5, 5, 5, 5, 5]);
        assert_eq!(
            backoff(0),
            FIRST_RETRY,
            "never zero: a retry is always later"
        );
        assert_eq!(backoff(i32::MAX), MAX_RETRY, "no overflow");
    }

    #[test]
    fn after_an_hour_down_the_next_attempt_is_at_most_five_minutes_away() {
        // Attempts at 0, 1, 3, 7, 12, 17… 57 minutes: 14 of them in the first hour.
        let mut t = Duration::zero();
        let mut attempts = 0;
        while t < Duration::hours(1) {
            attempts += 1;
            t += backoff(attempts);
        }
        assert_eq!(attempts, 14);
        assert!(t - Duration::hours(1) <= MAX_RETRY);
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
        let h48 = GIVE_UP_AFTER;
        assert_eq!(
            decide(at(9, 0), &tries(1, None), h48, Attempt::Sent),
            Next::Sent
        );
        assert_eq!(
            decide(at(9, 0), &tries(1, None), h48, Attempt::Permanent),
            Next::Failed(GaveUp::Refused)
        );
    }

    #[test]
    fn a_temporary_failure_is_retried_until_the_delay_counted_from_the_first_due_time() {
        let h48 = GIVE_UP_AFTER;
        assert_eq!(
            decide(at(9, 0), &tries(1, None), h48, Attempt::Temporary),
            Next::Retry { at: at(9, 1) }
        );
        assert_eq!(
            decide(at(9, 3), &tries(3, None), h48, Attempt::Temporary),
            Next::Retry { at: at(9, 7) }
        );
        // Hundreds of attempts later, still within the 48 hours: retried every 5 minutes.
        let day_later = at(9, 0) + Duration::hours(47);
        assert_eq!(
            decide(day_later, &tries(570, None), h48, Attempt::Temporary),
            Next::Retry {
                at: day_later + MAX_RETRY
            }
        );
        // The retry would come at or after first due + 48 h: failed.
        let last = at(9, 0) + h48 - MAX_RETRY;
        assert_eq!(
            decide(last, &tries(580, None), h48, Attempt::Temporary),
            Next::Failed(GaveUp::TimeUp)
        );
        // The delay is configurable.
        assert_eq!(
            decide(
                at(9, 58),
                &tries(14, None),
                Duration::hours(1),
                Attempt::Temporary
            ),
            Next::Failed(GaveUp::TimeUp)
        );
    }

    #[test]
    fn an_email_about_a_session_is_retried_until_the_session_starts_then_missed() {
        let h48 = GIVE_UP_AFTER;
        assert_eq!(
            decide(
                at(9, 0),
                &tries(2, Some(at(9, 30))),
                h48,
                Attempt::Temporary
            ),
            Next::Retry { at: at(9, 2) }
        );
        assert_eq!(
            decide(
                at(9, 29),
                &tries(2, Some(at(9, 30))),
                h48,
                Attempt::Temporary
            ),
            Next::Missed
        );
        assert_eq!(Next::Missed.status(), Status::Missed);
        // A convocation three weeks ahead is retried until its session, beyond 48 h.
        let session = at(9, 0) + Duration::days(21);
        let three_days_on = at(9, 0) + Duration::days(3);
        assert_eq!(
            decide(
                three_days_on,
                &tries(900, Some(session)),
                h48,
                Attempt::Temporary
            ),
            Next::Retry {
                at: three_days_on + MAX_RETRY
            }
        );
    }

    #[test]
    fn an_unknown_outcome_is_sent_again_once_then_ends_failed() {
        let h48 = GIVE_UP_AFTER;
        assert_eq!(
            decide(at(9, 0), &tries(1, None), h48, Attempt::Unconfirmed),
            Next::Retry { at: at(9, 1) }
        );
        let once = Tries {
            unconfirmed: 1,
            ..tries(2, None)
        };
        assert_eq!(
            decide(at(9, 1), &once, h48, Attempt::Unconfirmed),
            Next::Failed(GaveUp::Unconfirmed)
        );
        // A plain temporary failure in between does not count as a send.
        assert_eq!(
            decide(at(9, 1), &once, h48, Attempt::Temporary),
            Next::Retry { at: at(9, 3) }
        );
        assert_eq!(decide(at(9, 1), &once, h48, Attempt::Sent), Next::Sent);
    }

    #[test]
    fn a_failed_email_says_in_french_why_nothing_more_is_tried() {
        assert_eq!(gave_up_note(GaveUp::Refused, GIVE_UP_AFTER), None);
        assert_eq!(
            gave_up_note(GaveUp::TimeUp, GIVE_UP_AFTER).unwrap(),
            "Abandonné après 48\u{a0}h d'essais : vérifiez le serveur d'envoi, puis renvoyez-le."
        );
        assert!(
            gave_up_note(GaveUp::TimeUp, Duration::days(4))
                .unwrap()
                .contains("après 4 jours d'essais")
        );
        assert!(
            gave_up_note(GaveUp::Unconfirmed, GIVE_UP_AFTER)
                .unwrap()
                .contains("peut-être arrivé")
        );
    }

    #[test]
    fn the_dedup_key_ignores_case_and_spaces_in_the_address() {
        assert_eq!(
            dedup_key("convocation", "s1", " Nadia@Jardins.FR ", 2),
            dedup_key("convocation", "s1", "nadia@jardins.fr", 2)
        );
        assert_ne!(
            dedup_key("convocation", "s1", "nadia@jardins.fr", 2),
            dedup_key("convocation", "s1", "nadia@jardins.fr", 3)
        );
    }

    /// The digest the migration computed in SQL for the keys stored before it: the same as
    /// `printf '%s' 'convocation|s1|nadia@jardins.fr|2' | sha256sum | cut -c1-32`.
    #[test]
    fn the_dedup_key_is_the_digest_of_its_text_and_holds_no_address() {
        let key = dedup_key("convocation", "s1", "Nadia@Jardins.fr", 2);
        assert_eq!(key, "f0b662f77269723b8cc26ee406957b3e");
        assert_eq!(key, key_digest("convocation|s1|nadia@jardins.fr|2"));
        assert!(!key.contains("nadia"));
        assert_eq!(erased_key("e1"), "ca0406c2dd2932d41946a5689848569c");
        assert_ne!(erased_key("e1"), erased_key("e2"));
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
