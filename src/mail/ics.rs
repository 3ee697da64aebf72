//! Calendar invites (iCalendar, RFC 5545, with the iTIP methods of RFC 5546): one VEVENT per
//! session, built with the `icalendar` crate.
//!
//! Choices, and why:
//! - **Times in UTC** (`DTSTART:20270111T083000Z`, RFC 5545 §3.3.5 form #2). Sessions are
//!   stored in UTC already, every client shows UTC times in its user's own zone, and there is
//!   no VTIMEZONE to get wrong: a hand-written or stale Europe/Paris VTIMEZONE is a classic
//!   cause of events shifted by one hour around the March and October changes.
//! - **One UID per session** (`<session-id>@cohorte`) and a **SEQUENCE** raised on every
//!   change: an update or a cancellation with the same UID and a higher SEQUENCE replaces the
//!   event instead of adding a second one (RFC 5546 §2.1.4, §2.1.5).
//! - `RSVP=FALSE`: Cohorte does not read replies; attendance is taken on the sheet.
//! - DTSTAMP is an argument, so that the output is a pure function of its input.
//!
//! The crate escapes TEXT values (`,` `;` `\` and newlines), quotes parameter values that
//! hold `:` `;` `,`, folds lines at 75 octets on character boundaries and ends them with
//! CRLF; tests here pin all of that down.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

/// iTIP method of the invite (RFC 5546 §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A new event, or an update of one (same UID, higher SEQUENCE).
    Request,
    /// The event is cancelled.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// Someone on the invite: the organizer (the DLA's chargé·e de mission) or the attendee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarPerson {
    pub name: String,
    pub email: String,
}

/// Everything one invite says.
#[derive(Clone, Debug)]
pub struct Invite {
    /// Stable per session: see [`session_uid`].
    pub uid: String,
    /// 0 for the first invite, raised on every change (the session's `sequence` column).
    pub sequence: u32,
    pub method: Method,
    pub summary: String,
    pub description: String,
    /// A place, or the video link when there is no place.
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub organizer: CalendarPerson,
    pub attendee: CalendarPerson,
    /// When the invite was produced (DTSTAMP).
    pub stamp: DateTime<Utc>,
}

/// The UID of a session's event: the same for every invite, update and cancellation.
pub fn session_uid(session_id: &str) -> String {
    format!("{session_id}@cohorte")
}

/// `20270111T083000Z`.
fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

fn person(key: &str, who: &CalendarPerson) -> Property {
    let mut p = Property::new(key, format!("mailto:{}", who.email));
    // A double quote cannot appear in a parameter value at all (RFC 5545 §3.2).
    p.add_parameter("CN", &who.name.replace('"', "'"));
    p
}

impl Invite {
    /// The VEVENT of this invite.
    fn event(&self) -> Event {
        let mut event = Event::new();
        event
            .uid(&self.uid)
            .sequence(self.sequence)
            .timestamp(self.stamp)
            .summary(&self.summary)
            .description(&self.description)
            .status(match self.method {
                Method::Request => EventStatus::Confirmed,
                Method::Cancel => EventStatus::Cancelled,
            })
            .add_property("DTSTART", utc(self.starts_at))
            .add_property("DTEND", utc(self.ends_at))
            .add_property("TRANSP", "OPAQUE")
            .append_property(person("ORGANIZER", &self.organizer));
        if !self.location.trim().is_empty() {
            event.location(self.location.trim());
        }
        let mut attendee = person("ATTENDEE", &self.attendee);
        attendee
            .add_parameter("CUTYPE", "INDIVIDUAL")
            .add_parameter("ROLE", "REQ-PARTICIPANT")
            .add_parameter("PARTSTAT", "NEEDS-ACTION")
            .add_parameter("RSVP", "FALSE");
        event.append_multi_property(attendee);
        event.done()
    }

    /// The `.ics` text: CRLF line ends, folded at 75 octets.
    pub fn to_ics(&self) -> String {
        let mut calendar = calendar(self.method.as_str());
        calendar.push(self.event());
        calendar.to_string()
    }
}

fn calendar(method: &str) -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("PRODID", "-//Cohorte//Accompagnement collectif//FR"))
        .append_property(("VERSION", "2.0"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", method));
    calendar
}

/// A subscribable calendar (`METHOD:PUBLISH`): one event per session, with the same UID
/// and SEQUENCE as the invites, so that a client holding both shows each session once.
pub fn feed(name: &str, events: &[Invite]) -> String {
    let mut calendar = calendar("PUBLISH");
    calendar
        .append_property(("X-WR-CALNAME", name))
        .append_property(("X-WR-TIMEZONE", "Europe/Paris"))
        // Clients that honour it refresh the feed every six hours.
        .append_property(("REFRESH-INTERVAL;VALUE=DURATION", "PT6H"))
        .append_property(("X-PUBLISHED-TTL", "PT6H"));
    for invite in events {
        calendar.push(invite.event());
    }
    calendar.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn sample(method: Method, sequence: u32) -> Invite {
        Invite {
            uid: session_uid("3f2a9c1e-0000-4000-8000-000000000001"),
            sequence,
            method,
            summary: "1re session collective — État des lieux".into(),
            description: "Modèles socio-économiques 2027\nOrdre du jour :\n- Tour de table ; \
                          constats, problématiques\n- Analyse croisée des trois piliers"
                .into(),
            location: "Maison des associations, 12 rue des Vignes, 33000 Bordeaux".into(),
            starts_at: Utc.with_ymd_and_hms(2027, 2, 15, 8, 30, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2027, 2, 15, 15, 0, 0).unwrap(),
            organizer: CalendarPerson {
                name: "Claire Martin, DLA de la Gironde".into(),
                email: "claire.martin@dla33.fr".into(),
            },
            attendee: CalendarPerson {
                name: "Nadia Benali".into(),
                email: "nadia.benali@jardins.fr".into(),
            },
            stamp: Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap(),
        }
    }

    /// A parsed property: name, value (unescaped), parameters as `KEY=value`.
    type Prop = (String, String, Vec<String>);

    /// Unfolds and parses with the crate's parser; returns (calendar props, event props).
    fn parse(ics: &str) -> (Vec<(String, String)>, Vec<Prop>) {
        let unfolded = icalendar::parser::unfold(ics);
        let cal = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
        let props = cal
            .properties
            .iter()
            .map(|p| (p.name.to_string(), p.val.to_string()))
            .collect();
        assert_eq!(cal.components.len(), 1, "one component");
        let event = &cal.components[0];
        assert_eq!(event.name, "VEVENT");
        let event_props = event
            .properties
            .iter()
            .map(|p| {
                let params = p
                    .params
                    .iter()
                    .map(|x| {
                        format!(
                            "{}={}",
                            x.key,
                            x.val.as_ref().map(|v| v.to_string()).unwrap_or_default()
                        )
                    })
                    .collect();
                (p.name.to_string(), p.val.to_string(), params)
            })
            .collect();
        (props, event_props)
    }

    fn value<'a>(props: &'a [Prop], name: &str) -> &'a str {
        props
            .iter()
            .find(|p| p.0 == name)
            .map(|p| p.1.as_str())
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn request_invite_snapshot() {
        insta::assert_snapshot!(sample(Method::Request, 0).to_ics());
    }

    #[test]
    fn cancel_invite_snapshot() {
        insta::assert_snapshot!(sample(Method::Cancel, 2).to_ics());
    }

    #[test]
    fn invite_parses_back_with_every_field() {
        let ics = sample(Method::Request, 0).to_ics();
        let (cal, ev) = parse(&ics);
        assert!(cal.contains(&("METHOD".into(), "REQUEST".into())));
        assert!(cal.contains(&("VERSION".into(), "2.0".into())));
        assert_eq!(
            value(&ev, "UID"),
            "3f2a9c1e-0000-4000-8000-000000000001@cohorte"
        );
        assert_eq!(value(&ev, "SEQUENCE"), "0");
        assert_eq!(value(&ev, "DTSTAMP"), "20270104T090000Z");
        // 9 h 30 – 16 h 00 in Paris, winter time (UTC+1).
        assert_eq!(value(&ev, "DTSTART"), "20270215T083000Z");
        assert_eq!(value(&ev, "DTEND"), "20270215T150000Z");
        assert_eq!(value(&ev, "STATUS"), "CONFIRMED");
        assert_eq!(
            value(&ev, "SUMMARY"),
            "1re session collective — État des lieux"
        );
        assert_eq!(
            value(&ev, "LOCATION"),
            "Maison des associations, 12 rue des Vignes, 33000 Bordeaux"
        );
        assert!(
            ics.contains("LOCATION:Maison des associations\\, 12 rue des Vignes\\, 33000"),
            "commas in TEXT are escaped on the wire"
        );
        assert!(value(&ev, "DESCRIPTION").contains("\n- Tour de table ; constats"));
        let organizer = ev.iter().find(|p| p.0 == "ORGANIZER").unwrap();
        assert_eq!(organizer.1, "mailto:claire.martin@dla33.fr");
        assert_eq!(organizer.2, vec!["CN=Claire Martin, DLA de la Gironde"]);
        let attendee = ev.iter().find(|p| p.0 == "ATTENDEE").unwrap();
        assert_eq!(attendee.1, "mailto:nadia.benali@jardins.fr");
        for param in [
            "CN=Nadia Benali",
            "ROLE=REQ-PARTICIPANT",
            "PARTSTAT=NEEDS-ACTION",
            "RSVP=FALSE",
        ] {
            assert!(attendee.2.contains(&param.to_string()), "{param}");
        }
    }

    #[test]
    fn moved_session_keeps_its_uid_and_raises_sequence() {
        let first = sample(Method::Request, 0);
        let mut moved = first.clone();
        moved.sequence = 1;
        moved.starts_at = Utc.with_ymd_and_hms(2027, 2, 22, 8, 30, 0).unwrap();
        moved.ends_at = Utc.with_ymd_and_hms(2027, 2, 22, 15, 0, 0).unwrap();
        let (_, a) = parse(&first.to_ics());
        let (_, b) = parse(&moved.to_ics());
        assert_eq!(value(&a, "UID"), value(&b, "UID"));
        let seq = |p: &[Prop]| value(p, "SEQUENCE").parse::<u32>();
        assert!(seq(&b).unwrap() > seq(&a).unwrap());
        assert_eq!(value(&b, "DTSTART"), "20270222T083000Z");
    }

    #[test]
    fn cancel_has_method_cancel_and_status_cancelled_with_the_same_uid() {
        let ics = sample(Method::Cancel, 2).to_ics();
        let (cal, ev) = parse(&ics);
        assert!(cal.contains(&("METHOD".into(), "CANCEL".into())));
        assert_eq!(value(&ev, "STATUS"), "CANCELLED");
        assert_eq!(value(&ev, "SEQUENCE"), "2");
        assert_eq!(
            value(&ev, "UID"),
            "3f2a9c1e-0000-4000-8000-000000000001@cohorte"
        );
    }

    #[test]
    fn lines_end_with_crlf_and_are_folded_at_75_octets() {
        let mut invite = sample(Method::Request, 0);
        invite.description = "Écrire l'état des lieux — ".repeat(20);
        let ics = invite.to_ics();
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF");
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        assert!(ics.contains("\r\n "), "long lines are folded");
        let (_, ev) = parse(&ics);
        assert_eq!(
            value(&ev, "DESCRIPTION"),
            "Écrire l'état des lieux — ".repeat(20),
            "unfolding restores the text, accents intact"
        );
    }

    #[test]
    fn a_double_quote_in_a_name_cannot_break_the_parameter() {
        let mut invite = sample(Method::Request, 0);
        invite.attendee.name = "Nadia \"Nad\" Benali; trésorière".into();
        let (_, ev) = parse(&invite.to_ics());
        let attendee = ev.iter().find(|p| p.0 == "ATTENDEE").unwrap();
        assert_eq!(attendee.1, "mailto:nadia.benali@jardins.fr");
        assert!(
            attendee
                .2
                .contains(&"CN=Nadia 'Nad' Benali; trésorière".to_string())
        );
    }
}
