//! What a person's calendar holds of a session, and what must be sent so that it stays true
//! (issue #18, point 4).
//!
//! Every email that carries an invite (convocation, notice, cancellation) is recorded with
//! the event it described ([`Copy`]: times, place, link, title, agenda, SEQUENCE). What an
//! address's calendar holds is the last copy *delivered* to it ([`held`]) — not the last
//! one queued: a notice replaced before it left was never received, so the next one is
//! described from what was (« ancien horaire » is the time the person has). [`decide`]
//! compares that with what the address should hold now and answers: nothing, an update
//! (same UID, higher SEQUENCE), or a cancellation; and which pending notices it replaces.
//!
//! Pure: copies and states come in as arguments; the models read and write them
//! (`models::invite`).

use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

/// What a calendar shows of a session: the invite's times, place, video link, title
/// (SUMMARY) and agenda (in its DESCRIPTION).
///
/// The title and the agenda are kept as digests: only whether they changed matters, and a
/// digest keeps no name (a bilan's title names its association) once it is anonymised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventState {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Trimmed.
    pub location: String,
    /// Trimmed.
    pub video_link: String,
    /// [`digest`] of the title; empty when unknown (a copy recorded by the migration,
    /// before digests existed), which compares as unchanged.
    pub title_digest: String,
    /// [`digest`] of the agenda's points, one per line; empty when unknown.
    pub agenda_digest: String,
}

impl EventState {
    pub fn new(
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        location: &str,
        video_link: &str,
        title: &str,
        agenda_points: &[String],
    ) -> EventState {
        EventState {
            starts_at,
            ends_at,
            location: location.trim().to_string(),
            video_link: video_link.trim().to_string(),
            title_digest: digest(title.trim()),
            agenda_digest: digest(&agenda_points.join("\n")),
        }
    }

    /// What differs from `self` (what the person holds) to `now`.
    /// Recorded by the migration from the session as it was then, not from the invite
    /// itself: what the address really holds may be older (see [`decide`]).
    pub fn is_recorded_at_upgrade(&self) -> bool {
        self.title_digest.is_empty() && self.agenda_digest.is_empty()
    }

    pub fn changes(&self, now: &EventState) -> Changes {
        let same = |a: &str, b: &str| a.is_empty() || b.is_empty() || a == b;
        Changes {
            time: self.starts_at != now.starts_at || self.ends_at != now.ends_at,
            place: self.location != now.location,
            link: self.video_link != now.video_link,
            title: !same(&self.title_digest, &now.title_digest),
            agenda: !same(&self.agenda_digest, &now.agenda_digest),
        }
    }

    /// Whether a calendar holding `self` shows what `other` says.
    pub fn shows(&self, other: &EventState) -> bool {
        !self.changes(other).any()
    }
}

/// Hex SHA-256 of a text.
pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What changed between two states of an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub time: bool,
    pub place: bool,
    pub link: bool,
    pub title: bool,
    pub agenda: bool,
}

impl Changes {
    pub fn any(&self) -> bool {
        self.time || self.place || self.link || self.title || self.agenda
    }
}

/// Where an email carrying an invite stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, or being sent (it may have arrived).
    Delivered,
    /// Waiting: draft, scheduled, or failed (someone may send it again).
    Pending,
    /// Cancelled or missed: never arrived.
    Dropped,
}

/// One email that carried, or will carry, an invite for a session to an address.
#[derive(Clone, Debug)]
pub struct Copy {
    pub email_id: String,
    /// The convocation (the planner's), rather than a notice sent because of a change.
    pub convocation: bool,
    /// The participant or guest whose convocation this is (`None` for notices).
    pub convoked: Option<String>,
    /// `METHOD:CANCEL`.
    pub cancel: bool,
    pub sequence: i32,
    pub state: EventState,
    pub delivery: Delivery,
    /// When it was queued: orders copies of the same SEQUENCE.
    pub created_at: NaiveDateTime,
}

/// What the address's calendar holds: the last copy delivered to it (a CANCEL: nothing,
/// but the event is known), or `None` when nothing ever arrived.
pub fn held<'a>(copies: &[&'a Copy]) -> Option<&'a Copy> {
    copies
        .iter()
        .copied()
        .filter(|c| c.delivery == Delivery::Delivered)
        .max_by_key(|c| (c.sequence, c.created_at))
}

/// The SEQUENCE of a new notice to an address: at least `floor` (the session's), and above
/// every SEQUENCE already sent or queued to it — replaced notices included, since their
/// outbox slot (kind, session, address, revision) is taken.
pub fn next_sequence(floor: i32, copies: &[&Copy]) -> i32 {
    copies.iter().map(|c| c.sequence + 1).fold(floor, i32::max)
}

/// The SEQUENCE of `person`'s convocation to an address: the session's, unless another
/// email already delivered an invite of this session there (a person removed and added
/// again, a mailbox two people share): then above it, or the calendar would ignore it.
/// The person's own convocation does not count, so that rebuilding it changes nothing.
pub fn convocation_sequence(session_sequence: i32, copies: &[&Copy], person: &str) -> i32 {
    copies
        .iter()
        .filter(|c| c.delivery == Delivery::Delivered)
        .filter(|c| !(c.convocation && c.convoked.as_deref() == Some(person)))
        .map(|c| c.sequence + 1)
        .fold(session_sequence, i32::max)
}

/// What to send to one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Send {
    /// An updated invite (METHOD:REQUEST), described from what the address holds.
    Update {
        from: EventState,
        sequence: i32,
        changes: Changes,
    },
    /// A cancellation (METHOD:CANCEL).
    Cancel { sequence: i32 },
}

/// The outcome of [`decide`] for one address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub send: Option<Send>,
    /// Pending notices that no longer say the right thing: to cancel.
    pub replaced: Vec<String>,
}

/// What to do for one address, given every copy of the session sent or queued to it and
/// what it should hold now: `Some(state)` while someone at that address is expected at the
/// session, `None` once nobody is (removed, withdrawn, the session deleted). `floor` is the
/// lowest SEQUENCE a new notice may carry (the session's; one more for a deletion).
///
/// Only an address that holds the event gets a notice: one still waiting for its
/// convocation gets the convocation, rebuilt by the planner, instead. A pending notice that
/// already says what is wanted is kept, so deciding twice queues nothing more.
pub fn decide(wanted: Option<&EventState>, floor: i32, copies: &[&Copy]) -> Decision {
    let pending: Vec<&Copy> = copies
        .iter()
        .copied()
        .filter(|c| !c.convocation && c.delivery == Delivery::Pending)
        .collect();
    let all_replaced = |keep: Option<&str>| -> Vec<String> {
        pending
            .iter()
            .filter(|c| Some(c.email_id.as_str()) != keep)
            .map(|c| c.email_id.clone())
            .collect()
    };
    let Some(holds) = held(copies).filter(|h| !h.cancel) else {
        return Decision {
            send: None,
            replaced: all_replaced(None),
        };
    };
    match wanted {
        None => {
            if let Some(cancel) = pending.iter().find(|c| c.cancel) {
                return Decision {
                    send: None,
                    replaced: all_replaced(Some(&cancel.email_id)),
                };
            }
            Decision {
                send: Some(Send::Cancel {
                    sequence: next_sequence(floor, copies),
                }),
                replaced: all_replaced(None),
            }
        }
        Some(now) => {
            let changes = holds.state.changes(now);
            // A notice queued before the upgrade (a move still waiting for validation)
            // stays: the copy recorded at the upgrade shows the session as it was then,
            // which may be newer than what the address received.
            if holds.state.is_recorded_at_upgrade()
                && let Some(same) = pending.iter().find(|c| !c.cancel && c.state.shows(now))
            {
                return Decision {
                    send: None,
                    replaced: all_replaced(Some(&same.email_id)),
                };
            }
            if !changes.any() {
                return Decision {
                    send: None,
                    replaced: all_replaced(None),
                };
            }
            if let Some(same) = pending.iter().find(|c| !c.cancel && c.state.shows(now)) {
                return Decision {
                    send: None,
                    replaced: all_replaced(Some(&same.email_id)),
                };
            }
            Decision {
                send: Some(Send::Update {
                    from: holds.state.clone(),
                    sequence: next_sequence(floor, copies),
                    changes,
                }),
                replaced: all_replaced(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 2, d, h, 0, 0).unwrap()
    }

    fn state(d: u32, place: &str) -> EventState {
        EventState::new(
            at(d, 9),
            at(d, 16),
            place,
            "",
            "État des lieux (Cohorte 2027)",
            &["Tour de table".to_string()],
        )
    }

    fn copy(id: &str, seq: i32, s: EventState, delivery: Delivery) -> Copy {
        Copy {
            email_id: id.into(),
            convocation: false,
            convoked: None,
            cancel: false,
            sequence: seq,
            state: s,
            delivery,
            created_at: chrono::NaiveDate::from_ymd_opt(2027, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, seq as u32)
                .unwrap(),
        }
    }

    fn convocation(s: EventState, delivery: Delivery) -> Copy {
        Copy {
            convocation: true,
            convoked: Some("p-1".into()),
            ..copy("conv", 0, s, delivery)
        }
    }

    #[test]
    fn changes_name_each_part_and_unknown_digests_count_as_unchanged() {
        let a = state(15, "Salle A");
        let mut b = state(15, "Salle B");
        assert_eq!(
            a.changes(&b),
            Changes {
                place: true,
                ..Changes::default()
            }
        );
        b.starts_at = at(16, 9);
        b.video_link = "https://visio.example.org/x".into();
        let c = a.changes(&b);
        assert!(c.time && c.place && c.link && !c.title && !c.agenda);
        let edited = EventState::new(
            at(15, 9),
            at(15, 16),
            " Salle A ",
            "",
            "Autre titre",
            &["Tour de table".to_string(), "Déjeuner".to_string()],
        );
        let c = a.changes(&edited);
        assert!(!c.place, "trimmed places are the same place");
        assert!(c.title && c.agenda);
        let mut unknown = edited.clone();
        unknown.title_digest.clear();
        unknown.agenda_digest.clear();
        assert!(
            !unknown.changes(&a).any(),
            "a migrated copy's digests match anything"
        );
    }

    #[test]
    fn nothing_goes_to_an_address_that_holds_nothing_yet() {
        let pending = convocation(state(15, "Salle A"), Delivery::Pending);
        let d = decide(Some(&state(15, "Salle B")), 0, &[&pending]);
        assert_eq!(
            d,
            Decision::default(),
            "the convocation, rebuilt, will say it"
        );
        assert_eq!(decide(None, 0, &[&pending]), Decision::default());
    }

    #[test]
    fn a_change_from_what_was_delivered_sends_an_update_with_a_higher_sequence() {
        let sent = convocation(state(15, "Salle A"), Delivery::Delivered);
        let d = decide(Some(&state(15, "Salle B")), 0, &[&sent]);
        assert_eq!(
            d.send,
            Some(Send::Update {
                from: state(15, "Salle A"),
                sequence: 1,
                changes: Changes {
                    place: true,
                    ..Changes::default()
                },
            })
        );
        assert!(
            decide(Some(&state(15, "Salle A")), 0, &[&sent])
                .send
                .is_none()
        );
    }

    #[test]
    fn a_move_notice_waiting_at_the_upgrade_is_kept_though_its_copies_show_the_same_state() {
        // Recorded by the migration: the convocation (sent before the move) and the move
        // notice (waiting for validation) both carry the session as it is now, no digest.
        let upgraded = |d| EventState {
            title_digest: String::new(),
            agenda_digest: String::new(),
            ..state(d, "Salle A")
        };
        let sent = convocation(upgraded(16), Delivery::Delivered);
        let waiting = copy("n1", 1, upgraded(16), Delivery::Pending);
        let d = decide(Some(&state(16, "Salle A")), 1, &[&sent, &waiting]);
        assert_eq!(
            d,
            Decision::default(),
            "the notice stays, nothing more is sent"
        );
        // Copies recorded since the upgrade behave as before: an unchanged state cancels
        // a pending notice that says nothing new.
        let sent = convocation(state(16, "Salle A"), Delivery::Delivered);
        let d = decide(Some(&state(16, "Salle A")), 1, &[&sent, &waiting]);
        assert_eq!(d.replaced, ["n1"]);
    }

    #[test]
    fn after_two_quick_moves_the_notice_describes_what_was_received_not_what_was_queued() {
        // Convocation for the 15th delivered; a notice for the 16th queued, not sent yet.
        let sent = convocation(state(15, "Salle A"), Delivery::Delivered);
        let first = copy("n1", 1, state(16, "Salle A"), Delivery::Pending);
        let d = decide(Some(&state(17, "Salle A")), 2, &[&sent, &first]);
        assert_eq!(d.replaced, ["n1"]);
        let Some(Send::Update { from, sequence, .. }) = d.send else {
            panic!("an update: {d:?}")
        };
        assert_eq!(from.starts_at, at(15, 9), "the time the person has");
        assert_eq!(sequence, 2);
        // That notice left; a third move describes it, not the first one.
        let second = copy("n2", 2, state(17, "Salle A"), Delivery::Delivered);
        let first_replaced = Copy {
            delivery: Delivery::Dropped,
            ..first
        };
        let d = decide(
            Some(&state(18, "Salle A")),
            3,
            &[&sent, &first_replaced, &second],
        );
        let Some(Send::Update { from, sequence, .. }) = d.send else {
            panic!("an update: {d:?}")
        };
        assert_eq!(from.starts_at, at(17, 9));
        assert_eq!(sequence, 3);
        // Moved back to what they hold before the next notice left: that notice goes.
        let pending = copy("n3", 3, state(18, "Salle A"), Delivery::Pending);
        let d = decide(Some(&state(17, "Salle A")), 3, &[&sent, &second, &pending]);
        assert_eq!(d.send, None);
        assert_eq!(d.replaced, ["n3"]);
    }

    #[test]
    fn deciding_again_keeps_the_pending_notice_that_already_says_it() {
        let sent = convocation(state(15, "Salle A"), Delivery::Delivered);
        let pending = copy("n1", 1, state(15, "Salle B"), Delivery::Pending);
        let d = decide(Some(&state(15, "Salle B")), 0, &[&sent, &pending]);
        assert_eq!(d, Decision::default());
    }

    #[test]
    fn an_address_no_longer_expected_gets_one_cancel_above_every_sequence_used() {
        let sent = convocation(state(15, "Salle A"), Delivery::Delivered);
        let replaced = copy("n1", 4, state(16, "Salle A"), Delivery::Dropped);
        let pending = copy("n2", 5, state(17, "Salle A"), Delivery::Pending);
        let d = decide(None, 2, &[&sent, &replaced, &pending]);
        assert_eq!(d.send, Some(Send::Cancel { sequence: 6 }));
        assert_eq!(d.replaced, ["n2"]);
        // Once queued, deciding again keeps it.
        let cancel = Copy {
            cancel: true,
            ..copy("c", 6, state(15, "Salle A"), Delivery::Pending)
        };
        let d = decide(None, 2, &[&sent, &replaced, &cancel]);
        assert_eq!(d, Decision::default());
        // Once delivered, the address holds nothing: nothing more, whatever changes.
        let cancel = Copy {
            delivery: Delivery::Delivered,
            ..cancel
        };
        assert_eq!(decide(None, 2, &[&sent, &cancel]), Decision::default());
        assert_eq!(
            decide(Some(&state(20, "Salle C")), 2, &[&sent, &cancel]),
            Decision::default()
        );
    }

    #[test]
    fn a_convocation_after_a_cancel_to_the_same_address_outranks_it() {
        let cancel = Copy {
            cancel: true,
            ..copy("c", 3, state(15, "Salle A"), Delivery::Delivered)
        };
        assert_eq!(convocation_sequence(1, &[&cancel], "p-2"), 4);
        assert_eq!(convocation_sequence(1, &[], "p-2"), 1);
        let own = convocation(state(15, "Salle A"), Delivery::Delivered);
        assert_eq!(
            convocation_sequence(0, &[&own], "p-1"),
            0,
            "its own copy does not raise it"
        );
        assert_eq!(
            convocation_sequence(0, &[&own], "p-2"),
            1,
            "someone else's at the same address does"
        );
        let waiting = copy("n", 7, state(15, "Salle A"), Delivery::Pending);
        assert_eq!(convocation_sequence(0, &[&waiting], "p-1"), 0);
    }
}
