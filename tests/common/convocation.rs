//! A realistic email for the fault tests and the outbox benchmark: the convocation to the
//! « État des lieux » session, rendered by the mail code (templates, invite), as a trigger
//! would queue it.
//!
//! Included with `#[path = "common/convocation.rs"] mod convocation;` (from `benches/`:
//! `#[path = "../tests/common/convocation.rs"]`). The one place that builds a
//! `SessionEmail` outside `tests/mail.rs` and `tests/outbox.rs`.

#![allow(dead_code)] // each binary uses a different part

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use cohorte::domain::programme::SessionKind;
use cohorte::mail::{CalendarPerson, Email, Renderer, SessionEmail, SessionFacts, TaskDue};
use cohorte::models::outbox::NewEmail;

/// The session every convocation here is about.
pub const SESSION_ID: &str = "7d1e5b9a-3333-4000-8000-0000000000cc";
/// Its `sequence`, which is the outbox row's revision.
pub const SEQUENCE: i32 = 1;

pub fn session_email(to: &str) -> SessionEmail {
    SessionEmail {
        session: SessionFacts {
            id: SESSION_ID.into(),
            kind: SessionKind::EtatDesLieux,
            association_name: None,
            cohort_name: "Modèles socio-économiques 2027".into(),
            starts_at: Utc.with_ymd_and_hms(2027, 2, 15, 8, 30, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2027, 2, 15, 15, 0, 0).unwrap(),
            location: "Maison des associations, Bordeaux".into(),
            video_link: String::new(),
            agenda: "Tour de table\nConstats partagés\nAnalyse croisée des trois piliers".into(),
            sequence: SEQUENCE as u32,
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

/// The rendered convocation to `to` (text, HTML, invite), stamped `stamp`.
pub fn email(renderer: &Renderer, to: &str, stamp: DateTime<Utc>) -> Email {
    session_email(to).convocation(renderer, stamp).unwrap()
}

/// The outbox row a trigger queues for `email`, due at `send_after`.
pub fn new_email(email: &Email, send_after: DateTime<Utc>) -> NewEmail {
    NewEmail::from_email("convocation", SESSION_ID, SEQUENCE, email, send_after)
}

/// The convocation to `to` as an outbox row due at `send_after`.
pub fn convocation(to: &str, send_after: DateTime<Utc>) -> NewEmail {
    let email = email(&Renderer::build("").unwrap(), to, send_after);
    new_email(&email, send_after)
}
