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
//! The crate escapes TEXT values (`,` `;` `\` and LF), quotes parameter values that hold
//! `:` `;` `,` and ends lines with CRLF; its folding can leave 76 octets, so lines are
//! folded again here ([`refold`]) at 75 octets on character boundaries.
//! It does not escape a CR, nor touch a parameter value or a CAL-ADDRESS at all: a name
//! holding CR LF would end the line and start a property (or a whole VEVENT) of the
//! sender's choosing, in every invite and in the calendar feed. So every value is made safe
//! here, whatever is stored ([`text`], [`param`], [`address`]), and the input checks refuse
//! such values upstream as well; tests here pin all of that down with the crate's parser.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

use crate::domain::text::{is_forbidden_control, is_line_break, unify_line_breaks};

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

/// Someone on the invite: the organizer (who answers for the cohort:
/// `models::cohort::answerer`) or the attendee.
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
    /// The invite's recipient; none in the calendar feed, which is nobody's invitation.
    pub attendee: Option<CalendarPerson>,
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

/// A TEXT value (RFC 5545 §3.3.11) ready for the crate's escaping: every line break as LF,
/// which the crate writes `\n` (a bare CR would otherwise reach the output as is), and no
/// control character but the tab (§3.1: CONTROL is not allowed in a value).
fn text(value: &str) -> String {
    unify_line_breaks(value)
        .chars()
        .filter(|c| !is_forbidden_control(*c))
        .collect()
}

/// A parameter value (RFC 5545 §3.1, §3.2): no control character may appear in it, quoted
/// or not, nor a DQUOTE. Line breaks and controls become a space (a CRLF one space), a
/// double quote a single one; the crate then quotes the value if it holds `:` `;` `,`.
fn param(value: &str) -> String {
    unify_line_breaks(value)
        .chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() || is_line_break(c) => ' ',
            c => c,
        })
        .collect()
}

/// An email address in a `mailto:` CAL-ADDRESS, which the crate writes unescaped: without
/// any line break, control character or space.
fn address(email: &str) -> String {
    email
        .chars()
        .filter(|c| !(c.is_control() || is_line_break(*c) || c.is_whitespace()))
        .collect()
}

fn person(key: &str, who: &CalendarPerson) -> Property {
    let mut p = Property::new(key, format!("mailto:{}", address(&who.email)));
    p.add_parameter("CN", &param(&who.name));
    p
}

impl Invite {
    /// The VEVENT of this invite.
    fn event(&self) -> Event {
        let mut event = Event::new();
        event
            .uid(&text(&self.uid))
            .sequence(self.sequence)
            .timestamp(self.stamp)
            .summary(&text(&self.summary))
            .description(&text(&self.description))
            .status(match self.method {
                Method::Request => EventStatus::Confirmed,
                Method::Cancel => EventStatus::Cancelled,
            })
            .add_property("DTSTART", utc(self.starts_at))
            .add_property("DTEND", utc(self.ends_at))
            .add_property("TRANSP", "OPAQUE")
            .append_property(person("ORGANIZER", &self.organizer));
        if !self.location.trim().is_empty() {
            event.location(&text(self.location.trim()));
        }
        if let Some(who) = &self.attendee {
            let mut attendee = person("ATTENDEE", who);
            attendee
                .add_parameter("CUTYPE", "INDIVIDUAL")
                .add_parameter("ROLE", "REQ-PARTICIPANT")
                .add_parameter("PARTSTAT", "NEEDS-ACTION")
                .add_parameter("RSVP", "FALSE");
            event.append_multi_property(attendee);
        }
        event.done()
    }

    /// The `.ics` text: CRLF line ends, folded at 75 octets.
    pub fn to_ics(&self) -> String {
        let mut calendar = calendar(self.method.as_str());
        calendar.push(self.event());
        refold(&calendar.to_string())
    }
}

/// The longest content line, in octets, CRLF excluded (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// The crate's output folded again, correctly: its folding lets the last piece of a long
/// line reach 76 octets (75 after the leading space). Values hold no CR or LF once made
/// safe, so every "CRLF space" in the crate's output is one of its folds.
fn refold(ics: &str) -> String {
    let unfolded = ics.replace("\r\n ", "");
    let mut out = String::with_capacity(ics.len() + ics.len() / 20);
    for line in unfolded.split_terminator("\r\n") {
        fold(line, &mut out);
    }
    out
}

/// One content line, CRLF-ended, cut into pieces of at most 75 octets (the first) and
/// 74 plus the leading space (the others), on character boundaries. A cut with a space on
/// either side is avoided when it can be: some mail transports strip trailing spaces and
/// some parsers leading ones.
fn fold(line: &str, out: &mut String) {
    let space_at = |s: &str, i: usize| s[i..].starts_with(char::is_whitespace);
    let space_before = |s: &str, i: usize| s[..i].ends_with(char::is_whitespace);
    let mut rest = line;
    let mut room = LINE_OCTETS;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        cut = (cut.saturating_sub(16).max(1)..=cut)
            .rev()
            .find(|&i| rest.is_char_boundary(i) && !space_at(rest, i) && !space_before(rest, i))
            .unwrap_or(cut);
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = LINE_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
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
/// and SEQUENCE as the invites and the same ORGANIZER. Its events carry no ATTENDEE: a
/// published calendar invites nobody (RFC 5546 §3.2.1), and clients shown an attendee
/// offer to answer an invitation that was never sent. Google and Outlook still show a
/// subscribed session beside the invite's event, so the emails and the portal say to
/// choose one of the two.
pub fn feed(name: &str, events: &[Invite]) -> String {
    let mut calendar = calendar("PUBLISH");
    calendar
        .append_property(("X-WR-CALNAME", text(name).as_str()))
        .append_property(("X-WR-TIMEZONE", "Europe/Paris"))
        // Clients that honour it refresh the feed every six hours.
        .append_property(("REFRESH-INTERVAL;VALUE=DURATION", "PT6H"))
        .append_property(("X-PUBLISHED-TTL", "PT6H"));
    for invite in events {
        let published = Invite {
            attendee: None,
            ..invite.clone()
        };
        calendar.push(published.event());
    }
    refold(&calendar.to_string())
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
            attendee: Some(CalendarPerson {
                name: "Nadia Benali".into(),
                email: "nadia.benali@jardins.fr".into(),
            }),
            stamp: Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap(),
        }
    }

    /// A parsed property: name, value (unescaped), parameters as `KEY=value`.
    type Prop = (String, String, Vec<String>);

    /// Unfolds and parses with the crate's parser; returns (calendar props, event props).
    fn parse(ics: &str) -> (Vec<(String, String)>, Vec<Prop>) {
        let (props, mut events) = parse_all(ics);
        assert_eq!(events.len(), 1, "one component");
        (props, events.remove(0))
    }

    /// Unfolds and parses with the crate's parser; returns (calendar props, the props of
    /// each component, which must all be VEVENTs without sub-components).
    fn parse_all(ics: &str) -> (Vec<(String, String)>, Vec<Vec<Prop>>) {
        let unfolded = icalendar::parser::unfold(ics);
        let cal = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
        let props = cal
            .properties
            .iter()
            .map(|p| (p.name.to_string(), p.val.to_string()))
            .collect();
        let events = cal
            .components
            .iter()
            .map(|event| {
                assert_eq!(event.name, "VEVENT");
                assert!(event.components.is_empty(), "no sub-component");
                event
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
                    .collect()
            })
            .collect();
        (props, events)
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
        invite.attendee.as_mut().unwrap().name = "Nadia \"Nad\" Benali; trésorière".into();
        let (_, ev) = parse(&invite.to_ics());
        let attendee = ev.iter().find(|p| p.0 == "ATTENDEE").unwrap();
        assert_eq!(attendee.1, "mailto:nadia.benali@jardins.fr");
        assert!(
            attendee
                .2
                .contains(&"CN=Nadia 'Nad' Benali; trésorière".to_string())
        );
    }

    /// The properties every VEVENT has, in the order the crate writes them, and no other.
    const EVENT_PROPERTIES: [&str; 12] = [
        "DESCRIPTION",
        "DTEND",
        "DTSTAMP",
        "DTSTART",
        "LOCATION",
        "ORGANIZER",
        "SEQUENCE",
        "STATUS",
        "SUMMARY",
        "TRANSP",
        "UID",
        "ATTENDEE",
    ];

    fn names(props: &[Prop]) -> Vec<&str> {
        props.iter().map(|p| p.0.as_str()).collect()
    }

    fn param_of<'a>(props: &'a [Prop], name: &str, key: &str) -> &'a str {
        let prop = props.iter().find(|p| p.0 == name).unwrap();
        prop.2
            .iter()
            .find_map(|p| p.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} on {name}"))
    }

    /// Every physical line ends with CRLF, and no CR or LF stands anywhere else.
    fn assert_crlf_only(ics: &str) {
        assert!(ics.ends_with("\r\n"));
        let bare = ics.replace("\r\n", "");
        assert!(!bare.contains('\r'), "bare CR in {ics:?}");
        assert!(!bare.contains('\n'), "bare LF in {ics:?}");
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "control character in {line:?}"
            );
        }
    }

    /// Names, places, summaries and texts holding CR LF, a lone CR, NUL, ESC and the
    /// characters that delimit parameters and values.
    fn hostile(method: Method) -> Invite {
        let mut invite = sample(method, 0);
        invite.attendee.as_mut().unwrap().name = "Evil\r\nX-Injected: 1".into();
        invite.organizer.name =
            "Claire \"Boss\" Martin;ROLE=CHAIR:\rEND:VEVENT\r\nBEGIN:VEVENT".into();
        invite.summary = "État des lieux\r\nX-Injected: 2; a:b, c".into();
        invite.location = "Salle 1\rX-Injected: 3\u{0}\u{1b}[31m, 1er étage".into();
        invite.description =
            "Ordre du jour :\r\n- un\r- deux\nX-Injected: 4\u{2028}fin\t\u{0}\u{1b}".into();
        invite.attendee.as_mut().unwrap().email = "nadia.benali@jardins.fr\r\nX-Injected: 5".into();
        invite
    }

    #[test]
    fn hostile_values_cannot_add_a_property_or_an_event_to_an_invite() {
        for method in [Method::Request, Method::Cancel] {
            let ics = hostile(method).to_ics();
            assert_crlf_only(&ics);
            let (cal, ev) = parse(&ics);
            assert_eq!(
                cal.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
                ["PRODID", "VERSION", "CALSCALE", "METHOD"]
            );
            assert_eq!(
                names(&ev),
                EVENT_PROPERTIES,
                "exactly the expected properties"
            );
            assert!(!ics.to_uppercase().contains("\r\nX-INJECTED"), "{ics}");
            assert_eq!(
                ics.split("\r\n").filter(|l| *l == "BEGIN:VEVENT").count(),
                1
            );
            assert_eq!(param_of(&ev, "ATTENDEE", "CN"), "Evil X-Injected: 1");
            assert_eq!(
                param_of(&ev, "ORGANIZER", "CN"),
                "Claire 'Boss' Martin;ROLE=CHAIR: END:VEVENT BEGIN:VEVENT"
            );
            assert_eq!(
                ev.iter().find(|p| p.0 == "ORGANIZER").unwrap().2.len(),
                1,
                "the organizer has no ROLE"
            );
            assert_eq!(
                value(&ev, "SUMMARY"),
                "État des lieux\nX-Injected: 2; a:b, c"
            );
            assert_eq!(
                value(&ev, "LOCATION"),
                "Salle 1\nX-Injected: 3[31m, 1er étage"
            );
            assert_eq!(
                value(&ev, "DESCRIPTION"),
                "Ordre du jour :\n- un\n- deux\nX-Injected: 4\nfin\t"
            );
            let attendee = ev.iter().find(|p| p.0 == "ATTENDEE").unwrap();
            assert_eq!(attendee.1, "mailto:nadia.benali@jardins.frX-Injected:5");
        }
    }

    #[test]
    fn hostile_values_cannot_add_a_property_or_an_event_to_the_feed() {
        let mut second = hostile(Method::Request);
        second.uid = session_uid("3f2a9c1e-0000-4000-8000-000000000002\r\nX-Injected: 6");
        let ics = feed(
            "Cohorte \"MSE\"\r\nX-Injected: 7\rBEGIN:VEVENT",
            &[hostile(Method::Request), second],
        );
        assert_crlf_only(&ics);
        let (cal, events) = parse_all(&ics);
        assert_eq!(
            cal.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
            [
                "PRODID",
                "VERSION",
                "CALSCALE",
                "METHOD",
                "X-WR-CALNAME",
                "X-WR-TIMEZONE",
                "REFRESH-INTERVAL",
                "X-PUBLISHED-TTL"
            ]
        );
        let calname = cal.iter().find(|p| p.0 == "X-WR-CALNAME").unwrap();
        assert_eq!(calname.1, "Cohorte \"MSE\"\nX-Injected: 7\nBEGIN:VEVENT");
        assert_eq!(events.len(), 2, "two sessions, two events");
        for ev in &events {
            assert_eq!(
                names(ev),
                EVENT_PROPERTIES[..11],
                "the same, without an ATTENDEE"
            );
            assert_eq!(
                param_of(ev, "ORGANIZER", "CN"),
                "Claire 'Boss' Martin;ROLE=CHAIR: END:VEVENT BEGIN:VEVENT"
            );
        }
        assert_eq!(
            value(&events[1], "UID"),
            "3f2a9c1e-0000-4000-8000-000000000002\nX-Injected: 6@cohorte"
        );
    }

    #[test]
    fn every_piece_of_a_folded_line_fits_in_75_octets() {
        // The crate's own folding let a last piece of exactly 75 octets through after the
        // space: 76 in all.
        for n in 60..300 {
            for filler in ["a", "é", "— ", "老虎 ", " "] {
                let mut invite = sample(Method::Request, 0);
                invite.description = format!("{}{}", "x".repeat(n % 7), filler.repeat(n));
                let ics = invite.to_ics();
                for line in ics.split("\r\n") {
                    assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
                }
                let (_, ev) = parse(&ics);
                assert_eq!(value(&ev, "DESCRIPTION"), invite.description);
            }
        }
    }

    #[test]
    fn a_name_that_is_all_quotes_stays_one_parameter() {
        let mut invite = sample(Method::Request, 0);
        invite.attendee.as_mut().unwrap().name = "\"Nadia\"".into();
        let ics = invite.to_ics();
        let (_, ev) = parse(&ics);
        assert_eq!(param_of(&ev, "ATTENDEE", "CN"), "'Nadia'");
        assert_eq!(names(&ev), EVENT_PROPERTIES);
    }
}
