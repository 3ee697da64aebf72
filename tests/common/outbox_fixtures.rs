//! Fixtures of the outbox tests (`tests/outbox.rs`, `tests/faults.rs`): a migrated SQLite
//! file per test, a dispatcher sending to the SMTP sink, plain emails queued at a fixed
//! instant to a domain no other test uses.
//!
//! Included with `#[path = "common/outbox_fixtures.rs"] mod fixtures;`, after
//! `#[path = "common/smtp.rs"] mod smtp;` (the dispatcher sends to `smtp::smtp()`).

#![allow(dead_code)] // each binary uses a different part

use chrono::{DateTime, TimeZone, Utc};

use cohorte::config::Config;
use cohorte::db::Pool;
use cohorte::db::{Author, write_with};
use cohorte::jobs::Dispatcher;
use cohorte::mail::{Email, Rendered, Transport, sender};
use cohorte::models::outbox::{self, NewEmail, OutboxEmail};

pub struct Db {
    pub pool: Pool,
    /// `database.url`, for a `cohorte` process to open.
    pub path: String,
    /// The database (a SQLite file, or a PostgreSQL database on that pass) and a working
    /// folder; dropped after the pool.
    pub test: super::db::TestDb,
}

impl Db {
    /// A folder of the test's own.
    pub fn dir(&self) -> &std::path::Path {
        self.test.dir.path()
    }
}

/// A new database, migrated as `cohorte migrate` does.
pub fn db() -> Db {
    let test = super::db::TestDb::new();
    let path = test.url().to_string();
    let pool = cohorte::db::connect(&path, 4).unwrap();
    Db { pool, path, test }
}

pub fn dispatcher_to(pool: &Pool, transport: Transport) -> Dispatcher {
    let from = sender(&Config::defaults().mail).unwrap();
    Dispatcher::new(pool.clone(), transport, from)
}

/// A dispatcher sending to the sink.
pub fn dispatcher(pool: &Pool) -> Dispatcher {
    dispatcher_to(pool, super::smtp::smtp())
}

/// A domain no other test sends to.
pub fn domain() -> String {
    format!("{}.example", uuid::Uuid::new_v4().simple())
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 2, 1, 8, 0, 0).unwrap()
}

/// A plain message (no invite) about `item` to `to`, due at `send_after`.
pub fn plain(item: &str, to: &str, send_after: DateTime<Utc>) -> NewEmail {
    let email = Email {
        to_name: "Nadia Benali".into(),
        to_address: to.into(),
        rendered: Rendered {
            subject: format!("Rappel : séance dans 7 jours — État des lieux ({item})"),
            text: "Bonjour Nadia,\nÀ lundi prochain.\n".into(),
            html: "<p>Bonjour Nadia,</p><p>À lundi prochain.</p>".into(),
        },
        calendar: None,
    };
    NewEmail::from_email("reminder_j7", item, 0, &email, send_after)
}

pub fn enqueue(pool: &Pool, email: NewEmail) -> OutboxEmail {
    write_with(
        &mut pool.get().unwrap(),
        Author::system(),
        Utc::now(),
        |tx| outbox::enqueue(tx, email),
    )
    .unwrap()
    .expect("queued")
}

pub fn reload(pool: &Pool, row: &OutboxEmail) -> OutboxEmail {
    outbox::get(&mut pool.get().unwrap(), &row.id).unwrap()
}
