//! Emails through a real SMTP server: Python's aiosmtpd on loopback (`scripts/smtp_sink.py`),
//! which this project did not write. What it received is parsed with a real MIME parser
//! (mail-parser) and the invite with an iCalendar parser (icalendar's).
//!
//! The sink, and how it is started, are in `tests/common/smtp.rs`.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mail_parser::{Message as Parsed, MessageParser, MimeHeaders, PartType};

use cohorte::config::Config;
use cohorte::domain::outbox::Attempt;
use cohorte::domain::programme::SessionKind;
use cohorte::mail::{
    CalendarPerson, Email, Renderer, SendError, SessionEmail, SessionFacts, TaskDue, Transport,
    new_message_id, sender,
};

#[path = "common/smtp.rs"]
mod smtp;
use smtp::{received, smtp};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn session_email(to: &str) -> SessionEmail {
    SessionEmail {
        session: SessionFacts {
            id: "7d1e5b9a-1111-4000-8000-0000000000aa".into(),
            kind: SessionKind::EtatDesLieux,
            association_name: None,
            cohort_name: "Modèles socio-économiques 2027".into(),
            starts_at: at(2027, 2, 15, 8, 30),
            ends_at: at(2027, 2, 15, 15, 0),
            location: "Maison des associations, Bordeaux".into(),
            video_link: String::new(),
            agenda: "Tour de table\nConstats partagés\nAnalyse croisée des trois piliers".into(),
            sequence: 0,
        },
        recipient: CalendarPerson {
            name: "Nadia Benali".into(),
            email: to.into(),
        },
        association_name: "Les Jardins partagés".into(),
        organizer: CalendarPerson {
            name: "Claire Martin".into(),
            email: "claire.martin@dla33.fr".into(),
        },
        dla_name: "DLA de la Gironde".into(),
        tasks: vec![TaskDue {
            title: "État des lieux des missions et du modèle socio-économique".into(),
            due: NaiveDate::from_ymd_opt(2027, 2, 8).unwrap(),
        }],
        participant_url: "https://cohorte.example.org/p/8f3c2a".into(),
        calendar_url: None,
    }
}

fn renderer() -> Renderer {
    Renderer::build("").unwrap()
}

/// Sends through SMTP; returns the Message-ID.
fn send(email: &Email) -> Result<String, SendError> {
    let from = sender(&Config::defaults().mail).unwrap();
    let message = email.to_message(&from, &new_message_id(&from)).unwrap();
    smtp().send(&message)
}

fn content_type(message: &Parsed, part: u32) -> String {
    let c = message.parts[part as usize].content_type().unwrap();
    format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default())
}

fn children(message: &Parsed, part: u32) -> Vec<u32> {
    match &message.parts[part as usize].body {
        PartType::Multipart(ids) => ids.clone(),
        _ => panic!("part {part} is not multipart"),
    }
}

/// The VEVENT's properties (unfolded, unescaped) of the invite inside a received message.
fn event(ics: &str) -> Vec<(String, String)> {
    let unfolded = icalendar::parser::unfold(ics);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    let mut props: Vec<(String, String)> = calendar
        .properties
        .iter()
        .map(|p| (format!("VCALENDAR.{}", p.name), p.val.to_string()))
        .collect();
    let vevent = calendar
        .components
        .iter()
        .find(|c| c.name == "VEVENT")
        .expect("a VEVENT");
    props.extend(
        vevent
            .properties
            .iter()
            .map(|p| (p.name.to_string(), p.val.to_string())),
    );
    props
}

fn prop<'a>(props: &'a [(String, String)], name: &str) -> &'a str {
    props
        .iter()
        .find(|p| p.0 == name)
        .map(|p| p.1.as_str())
        .unwrap_or_else(|| panic!("no {name} in {props:?}"))
}

/// The invite of a received message: the text/calendar part of its alternative.
fn received_invite(raw: &[u8]) -> (String, Vec<(String, String)>) {
    let message = MessageParser::default().parse(raw).expect("a MIME message");
    let alternative = children(&message, 0)[0];
    let calendar = *children(&message, alternative).last().unwrap();
    let ct = message.parts[calendar as usize].content_type().unwrap();
    let method = ct.attribute("method").unwrap().to_string();
    let ics = message.parts[calendar as usize].text_contents().unwrap();
    (method, event(ics))
}

#[test]
fn a_convocation_sent_over_smtp_arrives_as_an_invitation() {
    let email = session_email("nadia.benali@jardins-partages.fr")
        .convocation(&renderer(), Utc::now())
        .unwrap();
    let message_id = send(&email).expect("accepted by the SMTP server");
    let raw = received(&message_id);
    let message = MessageParser::default()
        .parse(&raw[..])
        .expect("a MIME message");

    assert_eq!(
        message.subject(),
        Some("Convocation : 1re session collective — État des lieux, lundi 15 février 2027")
    );
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Cohorte"), Some("cohorte@localhost"))
    );
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("nadia.benali@jardins-partages.fr")
    );

    // multipart/mixed [ multipart/alternative [ text, html, calendar ], invitation.ics ]
    assert_eq!(content_type(&message, 0), "multipart/mixed");
    let mixed = children(&message, 0);
    assert_eq!(content_type(&message, mixed[0]), "multipart/alternative");
    let alternative = children(&message, mixed[0]);
    let types: Vec<String> = alternative
        .iter()
        .map(|&p| content_type(&message, p))
        .collect();
    assert_eq!(types, ["text/plain", "text/html", "text/calendar"]);
    assert_eq!(content_type(&message, mixed[1]), "application/ics");
    assert_eq!(
        message.parts[mixed[1] as usize].attachment_name(),
        Some("invitation.ics")
    );

    let text = message.body_text(0).unwrap();
    assert!(text.contains("Bonjour Nadia Benali,"), "{text}");
    assert!(text.contains("lundi 15 février 2027, 9\u{a0}h\u{a0}30 – 16\u{a0}h\u{a0}00"));
    assert!(text.contains("- État des lieux des missions et du modèle socio-économique"));
    let html = message.body_html(0).unwrap();
    assert!(html.contains("<li>Constats partagés</li>"), "{html}");

    let (method, event) = received_invite(&raw);
    assert_eq!(method, "REQUEST");
    assert_eq!(prop(&event, "VCALENDAR.METHOD"), "REQUEST");
    assert_eq!(
        prop(&event, "UID"),
        "7d1e5b9a-1111-4000-8000-0000000000aa@cohorte"
    );
    assert_eq!(prop(&event, "SEQUENCE"), "0");
    assert_eq!(prop(&event, "DTSTART"), "20270215T083000Z");
    assert_eq!(prop(&event, "DTEND"), "20270215T150000Z");
    assert_eq!(prop(&event, "STATUS"), "CONFIRMED");
    assert_eq!(
        prop(&event, "LOCATION"),
        "Maison des associations, Bordeaux"
    );
    assert_eq!(prop(&event, "ORGANIZER"), "mailto:claire.martin@dla33.fr");
    assert_eq!(
        prop(&event, "ATTENDEE"),
        "mailto:nadia.benali@jardins-partages.fr"
    );
}

#[test]
fn a_move_then_a_cancellation_update_the_same_event_with_a_rising_sequence() {
    let mut email = session_email("pierre.lacoste@jardins-partages.fr");
    let first = send(&email.convocation(&renderer(), Utc::now()).unwrap()).unwrap();

    // Moved past the change to summer time: 9 h 30 in Paris is 7 h 30 UTC.
    let previous = (email.session.starts_at, email.session.ends_at);
    email.session.starts_at = at(2027, 3, 29, 7, 30);
    email.session.ends_at = at(2027, 3, 29, 14, 0);
    email.session.sequence = 1;
    let moved = send(&email.moved(&renderer(), previous, Utc::now()).unwrap()).unwrap();

    email.session.sequence = 2;
    let cancelled = send(&email.cancelled(&renderer(), Utc::now()).unwrap()).unwrap();

    let (m1, e1) = received_invite(&received(&first));
    let (m2, e2) = received_invite(&received(&moved));
    let (m3, e3) = received_invite(&received(&cancelled));
    assert_eq!(
        (m1.as_str(), m2.as_str(), m3.as_str()),
        ("REQUEST", "REQUEST", "CANCEL")
    );
    assert_eq!(prop(&e1, "UID"), prop(&e2, "UID"));
    assert_eq!(prop(&e2, "UID"), prop(&e3, "UID"));
    let seq = |e: &[(String, String)]| prop(e, "SEQUENCE").parse::<u32>().unwrap();
    assert!(seq(&e1) < seq(&e2) && seq(&e2) < seq(&e3));
    assert_eq!(prop(&e2, "DTSTART"), "20270329T073000Z");
    assert_eq!(prop(&e3, "STATUS"), "CANCELLED");
    assert_eq!(prop(&e3, "VCALENDAR.METHOD"), "CANCEL");

    let moved_text = MessageParser::default()
        .parse(&received(&moved)[..])
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(
        moved_text.contains("Nouvel horaire : lundi 29 mars 2027, 9\u{a0}h\u{a0}30"),
        "{moved_text}"
    );
}

#[test]
fn a_recipient_refused_with_550_is_a_permanent_failure() {
    let email = session_email("refuse@jardins-partages.fr")
        .convocation(&renderer(), Utc::now())
        .unwrap();
    let err = send(&email).unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert_eq!(err.code(), Some(550));
    assert_eq!(
        err.explanation(),
        "Adresse refusée par le serveur du destinataire (550)."
    );
    assert!(err.detail.contains("550"), "the raw reply is kept: {err:?}");
}

#[test]
fn a_recipient_deferred_with_451_is_a_temporary_failure() {
    let email = session_email("later@jardins-partages.fr")
        .convocation(&renderer(), Utc::now())
        .unwrap();
    let err = send(&email).unwrap_err();
    assert_eq!(err.attempt(), Attempt::Temporary, "{err:?}");
    assert_eq!(err.code(), Some(451));
    assert_eq!(
        err.explanation(),
        "Le serveur du destinataire demande de réessayer plus tard (451)."
    );
}

#[test]
fn a_server_that_is_down_is_a_temporary_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let email = session_email("nadia@jardins-partages.fr")
        .convocation(&renderer(), Utc::now())
        .unwrap();
    let from = sender(&Config::defaults().mail).unwrap();
    let message = email.to_message(&from, &new_message_id(&from)).unwrap();
    let err = Transport::smtp(&format!("smtp://127.0.0.1:{port}"))
        .unwrap()
        .send(&message)
        .unwrap_err();
    assert_eq!(err.attempt(), Attempt::Temporary, "{err:?}");
    assert_eq!(err.code(), None);
    assert_eq!(err.explanation(), "Le serveur d'envoi ne répond pas.");
}

/// Replaces what changes from one run to the next: Date, Message-ID, MIME boundaries.
fn redact(eml: &str) -> String {
    let mut out = eml.replace("\r\n", "\n");
    let boundaries: Vec<String> = out
        .match_indices("boundary=\"")
        .map(|(i, m)| {
            let rest = &out[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    for (n, b) in boundaries.iter().enumerate() {
        out = out.replace(b.as_str(), &format!("[boundary-{n}]"));
    }
    out.lines()
        .map(|l| {
            if l.starts_with("Date: ") {
                "Date: [date]".to_string()
            } else if l.starts_with("Message-ID: ") {
                "Message-ID: [message-id]".to_string()
            } else if l.starts_with("DTSTAMP:") {
                "DTSTAMP:[dtstamp]".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_file_transport_writes_the_whole_convocation_as_an_eml() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults().mail;
    config.file_dir = dir.path().join("mail").to_str().unwrap().to_string();
    let transport = Transport::from_config(&config).unwrap();
    let from = sender(&config).unwrap();
    let email = session_email("nadia.benali@jardins-partages.fr")
        .convocation(&renderer(), Utc::now())
        .unwrap();
    let id = transport
        .send(&email.to_message(&from, &new_message_id(&from)).unwrap())
        .unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    let parsed = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(parsed.message_id(), Some(id.trim_matches(['<', '>'])));
    // The raw text is quoted-printable/base64 as lettre chose; snapshot it, redacted.
    insta::assert_snapshot!(redact(&String::from_utf8(raw).unwrap()));
}
