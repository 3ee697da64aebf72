//! The durable outbox and its dispatcher, on a fresh SQLite file per test and a real SMTP
//! server on loopback (`tests/common/smtp.rs`). Time is replayed: each pass is given its
//! `now`, as `cohorte dispatch --now` does.
//!
//! Every test sends to addresses on its own random domain, so that counting what the
//! shared sink received says something about this test alone.

use std::sync::{Arc, Barrier};

use chrono::{Duration, Utc};
use diesel::prelude::*;
use mail_parser::{MessageParser, MimeHeaders, PartType};

use cohorte::config::Config;
use cohorte::db::Pool;
use cohorte::db::schema::outbox_emails;
use cohorte::db::{Author, write_with};
use cohorte::domain::outbox::{MAX_RETRY, Next, Status, backoff};
use cohorte::error::AppError;
use cohorte::jobs::{Dispatcher, Stats};
use cohorte::mail::{Transport, sender};
use cohorte::models::outbox::{self, OutboxEmail};

#[path = "common/smtp.rs"]
mod smtp;

#[path = "common/db.rs"]
mod db;
#[path = "common/outbox_fixtures.rs"]
mod fixtures;
use fixtures::{db, dispatcher, domain, enqueue, plain, reload, t0};

#[path = "common/convocation.rs"]
mod convocation;
use convocation::convocation;

fn count_rows(pool: &Pool) -> i64 {
    outbox_emails::table
        .count()
        .get_result(&mut pool.get().unwrap())
        .unwrap()
}

#[test]
fn the_same_email_queued_twice_is_one_row() {
    let db = db();
    let to = format!("nadia@{}", domain());
    let first = write_with(
        &mut db.pool.get().unwrap(),
        Author::system(),
        Utc::now(),
        |tx| outbox::enqueue(tx, plain("s1", &to, t0())),
    )
    .unwrap();
    assert!(first.is_some());
    // Same kind, item, revision; the address differs only by case and spaces.
    let again = plain("s1", &format!("  {}  ", to.to_uppercase()), t0());
    let second = write_with(
        &mut db.pool.get().unwrap(),
        Author::system(),
        Utc::now(),
        |tx| outbox::enqueue(tx, again),
    )
    .unwrap();
    assert!(
        second.is_none(),
        "a duplicate is not an error and adds nothing"
    );
    assert_eq!(count_rows(&db.pool), 1);

    // Another revision of the item is another email.
    let mut next = plain("s1", &to, t0());
    next.revision = 1;
    assert!(
        write_with(
            &mut db.pool.get().unwrap(),
            Author::system(),
            Utc::now(),
            |tx| outbox::enqueue(tx, next)
        )
        .unwrap()
        .is_some()
    );
    assert_eq!(count_rows(&db.pool), 2);
}

#[test]
fn an_email_is_queued_in_the_transaction_of_the_change_that_causes_it() {
    let db = db();
    let to = format!("nadia@{}", domain());
    let mut conn = db.pool.get().unwrap();
    let refused: Result<(), AppError> = write_with(&mut conn, Author::system(), t0(), |tx| {
        outbox::enqueue(tx, plain("s1", &to, t0()))?;
        Err(AppError::Conflict {
            code: "test",
            message: "la modification est refusée".into(),
        })
    });
    assert!(refused.is_err());
    assert_eq!(count_rows(&db.pool), 0, "rolled back with the change");

    write_with(&mut conn, Author::system(), t0(), |tx| {
        outbox::enqueue(tx, plain("s1", &to, t0()))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(count_rows(&db.pool), 1);
}

#[test]
fn due_emails_are_sent_once_each_with_the_message_id_stored_on_their_row() {
    let db = db();
    let d = domain();
    let a = enqueue(&db.pool, plain("s1", &format!("a@{d}"), t0()));
    let b = enqueue(&db.pool, convocation(&format!("b@{d}"), t0()));
    let later = enqueue(
        &db.pool,
        plain("s2", &format!("c@{d}"), t0() + Duration::hours(1)),
    );
    let dispatcher = dispatcher(&db.pool);

    let stats = dispatcher.run_once(t0()).unwrap();
    assert_eq!(
        stats,
        Stats {
            sent: 2,
            ..Stats::default()
        }
    );
    for row in [&a, &b] {
        let row = reload(&db.pool, row);
        assert_eq!(row.status(), Status::Sent);
        assert_eq!(row.attempts, 1);
        assert_eq!(row.sent_at, Some(t0().naive_utc()));
        let message_id = row.message_id.expect("stored");
        assert!(message_id.ends_with("@localhost>"), "{message_id}");
        assert_eq!(smtp::count_with_message_id(&message_id), 1);
    }
    assert_eq!(reload(&db.pool, &later).status(), Status::Scheduled);

    // The convocation arrives as stored: subject, text, and its invite.
    let raw = smtp::received(&reload(&db.pool, &b).message_id.unwrap());
    let message = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(message.subject(), Some(b.subject.as_str()));
    assert_eq!(
        message.body_text(0).unwrap().replace("\r\n", "\n"),
        outbox::bodies(&mut db.pool.get().unwrap(), &b.id)
            .unwrap()
            .body_text
    );
    let PartType::Multipart(mixed) = &message.parts[0].body else {
        panic!("multipart/mixed")
    };
    let PartType::Multipart(alternative) = &message.parts[mixed[0] as usize].body else {
        panic!("multipart/alternative")
    };
    let calendar = &message.parts[*alternative.last().unwrap() as usize];
    assert_eq!(
        calendar.content_type().unwrap().attribute("method"),
        Some("REQUEST")
    );
    let sequence = format!("SEQUENCE:{}\r\n", convocation::SEQUENCE);
    assert!(calendar.text_contents().unwrap().contains(&sequence));

    // Nothing more is due now; the later one goes at its time.
    assert!(dispatcher.run_once(t0()).unwrap().is_empty());
    let stats = dispatcher.run_once(t0() + Duration::hours(1)).unwrap();
    assert_eq!(stats.sent, 1);
    assert_eq!(smtp::count_to(&format!("a@{d}")), 1, "never twice");
}

#[test]
fn a_deferred_recipient_is_retried_with_back_off_until_its_time_is_up_then_marked_failed() {
    let db = db();
    let row = enqueue(&db.pool, plain("s1", &format!("later@{}", domain()), t0()));
    let mut dispatcher = dispatcher(&db.pool);
    // One hour instead of 48 (mail.give_up_after_hours), counted from t0, when it was due.
    dispatcher.give_up_after = Duration::hours(1);

    let mut now = t0();
    let mut waits = Vec::new();
    loop {
        let stats = dispatcher.run_once(now).unwrap();
        let r = reload(&db.pool, &row);
        assert_eq!(r.attempts as usize, waits.len() + 1);
        assert_eq!(r.first_due_at, Some(t0().naive_utc()));
        let error = r.last_error.as_deref().unwrap();
        assert!(
            error.starts_with("Le serveur du destinataire demande de réessayer plus tard (451)."),
            "{error}"
        );
        assert!(
            r.last_error_detail.as_deref().unwrap().contains("451"),
            "{r:?}"
        );
        if stats.failed == 1 {
            assert_eq!(r.status(), Status::Failed);
            assert!(
                error.ends_with("Abandonné après 1\u{a0}h d'essais : vérifiez le serveur d'envoi, puis renvoyez-le."),
                "{error}"
            );
            break;
        }
        assert_eq!(stats.retried, 1, "attempt {}", r.attempts);
        assert_eq!(r.status(), Status::Scheduled);
        let wait = backoff(r.attempts);
        assert_eq!(r.next_attempt_at, (now + wait).naive_utc());
        // Not before its time.
        let just_before = now + wait - Duration::seconds(1);
        assert!(dispatcher.run_once(just_before).unwrap().is_empty());
        waits.push(wait.num_minutes());
        now += wait;
    }
    // 1, 2, 4, then every 5 minutes; the last attempt within the hour, at 57 min.
    assert_eq!(waits, [1, 2, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    assert_eq!(now, t0() + Duration::minutes(57));
    assert!(waits.iter().all(|&w| w <= MAX_RETRY.num_minutes()));
    let r = reload(&db.pool, &row);
    assert_eq!(r.attempts, 14);
    assert!(
        dispatcher
            .run_once(now + Duration::hours(1))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_claim_needs_the_row_due_at_the_passs_instant_and_a_late_sender_cannot_record() {
    let db = db();
    let row = enqueue(&db.pool, plain("s1", &format!("nadia@{}", domain()), t0()));
    let mut conn = db.pool.get().unwrap();
    let id = || "<claim@cohorte.test>".to_string();
    assert!(
        write_with(
            &mut conn,
            Author::system(),
            t0() - Duration::seconds(1),
            |tx| outbox::claim(tx, &row.id, id)
        )
        .unwrap()
        .is_none(),
        "not due yet"
    );
    // Dispatcher A claims it, fails, and puts it back for a minute later.
    let a = write_with(&mut conn, Author::system(), t0(), |tx| {
        outbox::claim(tx, &row.id, id)
    })
    .unwrap()
    .unwrap();
    assert_eq!(a.status(), Status::Sending);
    assert_eq!(a.first_due_at, Some(t0().naive_utc()));
    let retry = outbox::Outcome {
        next: Next::Retry {
            at: t0() + backoff(1),
        },
        attempts: 1,
        unconfirmed: 0,
        error: Some("Le serveur d'envoi ne répond pas."),
        detail: Some("connexion : refused"),
    };
    assert!(
        write_with(&mut conn, Author::system(), t0(), |tx| outbox::record(
            tx, &a, &retry
        ))
        .unwrap()
    );
    assert!(
        !write_with(&mut conn, Author::system(), t0(), |tx| outbox::record(
            tx, &a, &retry
        ))
        .unwrap(),
        "recorded once"
    );
    // Dispatcher B read the due ids at t0, before A's failure: its claim at t0 fails.
    assert!(
        write_with(&mut conn, Author::system(), t0(), |tx| outbox::claim(
            tx, &row.id, id
        ))
        .unwrap()
        .is_none()
    );
    assert_eq!(reload(&db.pool, &row).attempts, 1);

    // A minute later C claims it, and its send hangs past the lease: the row is recovered
    // and claimed again by D.
    let c = write_with(&mut conn, Author::system(), t0() + backoff(1), |tx| {
        outbox::claim(tx, &row.id, id)
    })
    .unwrap()
    .unwrap();
    assert_eq!(c.message_id.as_deref(), Some("<claim@cohorte.test>"));
    assert_eq!(
        c.first_due_at,
        Some(t0().naive_utc()),
        "kept from the first claim"
    );
    diesel::update(outbox_emails::table.find(&row.id))
        .set(outbox_emails::updated_at.eq((Utc::now() - Duration::hours(1)).naive_utc()))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        outbox::recover_stuck(
            &mut conn,
            (Utc::now() - Duration::minutes(40)).naive_utc(),
            Utc::now(),
        )
        .unwrap(),
        1
    );
    let later = t0() + Duration::minutes(2);
    let d = write_with(&mut conn, Author::system(), later, |tx| {
        outbox::claim(tx, &row.id, id)
    })
    .unwrap()
    .unwrap();
    assert_ne!(c.claim_token, d.claim_token);
    // C's late outcome changes nothing; D's is the one recorded.
    let failed = outbox::Outcome {
        next: Next::Failed(cohorte::domain::outbox::GaveUp::Refused),
        attempts: 3,
        unconfirmed: 1,
        error: Some("Adresse refusée par le serveur du destinataire (550)."),
        detail: Some("RCPT TO : 550"),
    };
    assert!(
        !write_with(&mut conn, Author::system(), later, |tx| outbox::record(
            tx, &c, &failed
        ))
        .unwrap()
    );
    let r = reload(&db.pool, &row);
    assert_eq!(
        (r.status(), r.claim_token.clone()),
        (Status::Sending, d.claim_token.clone())
    );
    let sent = outbox::Outcome {
        next: Next::Sent,
        attempts: 3,
        unconfirmed: 1,
        error: None,
        detail: None,
    };
    assert!(
        write_with(&mut conn, Author::system(), later, |tx| outbox::record(
            tx, &d, &sent
        ))
        .unwrap()
    );
    let r = reload(&db.pool, &row);
    assert_eq!(r.status(), Status::Sent);
    assert_eq!(r.claim_token, None);
    assert_eq!(r.sent_at, Some(later.naive_utc()));
}

#[test]
fn a_refused_recipient_fails_at_once_and_can_be_resent_to_a_corrected_address() {
    let db = db();
    let d = domain();
    let row = enqueue(&db.pool, plain("s1", &format!("refuse@{d}"), t0()));
    let dispatcher = dispatcher(&db.pool);
    assert_eq!(dispatcher.run_once(t0()).unwrap().failed, 1);
    let failed = reload(&db.pool, &row);
    assert_eq!(failed.status(), Status::Failed);
    assert_eq!(failed.attempts, 1);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("Adresse refusée par le serveur du destinataire (550)."),
        "{failed:?}"
    );
    let detail = failed.last_error_detail.as_deref().unwrap();
    assert!(
        detail.starts_with("RCPT TO : ") && detail.contains("550"),
        "{detail}"
    );

    let mut conn = db.pool.get().unwrap();
    let err = write_with(&mut conn, Author::system(), Utc::now(), |tx| {
        outbox::resend(tx, &row.id, Some("nadia@jardins".into()))
    })
    .unwrap_err();
    assert_eq!(
        err.fields().unwrap()["recipient_email"],
        "Adresse e-mail invalide (exemple : prenom.nom@association.fr)."
    );
    let resent = write_with(&mut conn, Author::system(), Utc::now(), |tx| {
        outbox::resend(tx, &row.id, Some(format!("Nadia@{d}")))
    })
    .unwrap();
    assert_eq!(resent.status(), Status::Scheduled);
    assert_eq!(resent.attempts, 0);
    assert_eq!(resent.last_error, None);
    assert_eq!(resent.last_error_detail, None);
    assert_eq!(resent.message_id, None, "never delivered: a new Message-ID");
    assert_eq!(resent.recipient_email, format!("nadia@{d}"));
    let err = write_with(&mut conn, Author::system(), Utc::now(), |tx| {
        outbox::resend(tx, &row.id, None)
    })
    .unwrap_err();
    assert_eq!(err.code(), "outbox_wrong_status");
    assert!(err.to_string().contains("« programmé »"), "{err}");
    drop(conn);

    // Due at once, by the wall clock.
    assert_eq!(dispatcher.run_once(Utc::now()).unwrap().sent, 1);
    let sent = reload(&db.pool, &row);
    assert_eq!(sent.status(), Status::Sent);
    assert_eq!(smtp::count_to(&format!("nadia@{d}")), 1);
}

#[test]
fn an_address_that_cannot_be_parsed_is_a_failure_not_a_crash() {
    let db = db();
    let row = enqueue(&db.pool, plain("s1", "pas une adresse", t0()));
    assert_eq!(dispatcher(&db.pool).run_once(t0()).unwrap().failed, 1);
    let r = reload(&db.pool, &row);
    assert_eq!(r.status(), Status::Failed);
    assert_eq!(
        r.last_error.as_deref(),
        Some("Adresse e-mail invalide : corrigez-la, puis renvoyez l'e-mail."),
        "{r:?}"
    );
    assert!(
        r.last_error_detail
            .as_deref()
            .unwrap()
            .contains("adresse invalide"),
        "{r:?}"
    );
}

#[test]
fn a_reminder_whose_session_has_begun_is_missed_and_never_sent() {
    let db = db();
    let d = domain();
    let mut late = plain("s1", &format!("late@{d}"), t0() - Duration::days(7));
    late.not_after = Some(t0() - Duration::minutes(30));
    let late = enqueue(&db.pool, late);
    let mut draft = plain("s2", &format!("draft@{d}"), t0() - Duration::days(1));
    draft.not_after = Some(t0());
    draft.draft = true;
    let draft = enqueue(&db.pool, draft);
    let mut on_time = plain("s3", &format!("ontime@{d}"), t0());
    on_time.not_after = Some(t0() + Duration::minutes(1));
    let on_time = enqueue(&db.pool, on_time);

    let stats = dispatcher(&db.pool).run_once(t0()).unwrap();
    assert_eq!((stats.missed, stats.sent), (2, 1));
    assert_eq!(reload(&db.pool, &late).status(), Status::Missed);
    assert_eq!(reload(&db.pool, &draft).status(), Status::Missed);
    assert_eq!(reload(&db.pool, &on_time).status(), Status::Sent);
    assert_eq!(smtp::count_to(&format!("late@{d}")), 0);
    assert_eq!(smtp::count_to(&format!("draft@{d}")), 0);

    let mut conn = db.pool.get().unwrap();
    let err = write_with(&mut conn, Author::system(), Utc::now(), |tx| {
        outbox::cancel(tx, &late.id)
    })
    .unwrap_err();
    assert!(err.to_string().contains("« manqué »"), "{err}");
}

#[test]
fn a_row_left_sending_by_a_killed_dispatcher_is_sent_again_with_the_same_message_id() {
    let db = db();
    let d = domain();
    let stuck = enqueue(&db.pool, plain("s1", &format!("stuck@{d}"), t0()));
    let busy = enqueue(&db.pool, plain("s2", &format!("busy@{d}"), t0()));
    let stuck_id = format!("<{}@localhost>", uuid::Uuid::new_v4());
    let mut conn = db.pool.get().unwrap();
    for (row, claimed) in [
        (&stuck, Utc::now() - Duration::hours(1)),
        (&busy, Utc::now()),
    ] {
        diesel::update(outbox_emails::table.find(&row.id))
            .set((
                outbox_emails::status.eq("sending"),
                outbox_emails::message_id.eq(&stuck_id),
                outbox_emails::updated_at.eq(claimed.naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    drop(conn);

    let stats = dispatcher(&db.pool).run_once(t0()).unwrap();
    assert_eq!((stats.recovered, stats.sent), (1, 1));
    let r = reload(&db.pool, &stuck);
    assert_eq!(r.status(), Status::Sent);
    assert_eq!(r.message_id.as_deref(), Some(stuck_id.as_str()));
    assert_eq!(r.attempts, 2, "the interrupted send counts as an attempt");
    assert_eq!(r.unconfirmed, 1, "and as a send whose outcome is unknown");
    assert_eq!(smtp::count_with_message_id(&stuck_id), 1);
    assert_eq!(
        reload(&db.pool, &busy).status(),
        Status::Sending,
        "a dispatcher still at work keeps its row"
    );
}

#[test]
fn a_message_that_interrupts_every_attempt_ends_failed_not_resent_forever() {
    let db = db();
    let d = domain();
    let doomed = enqueue(&db.pool, plain("s1", &format!("doomed@{d}"), t0()));
    diesel::update(outbox_emails::table.find(&doomed.id))
        .set((
            outbox_emails::status.eq("sending"),
            // Interrupted once already: taken over, then interrupted again.
            outbox_emails::attempts.eq(2),
            outbox_emails::unconfirmed.eq(1),
            outbox_emails::updated_at.eq((Utc::now() - Duration::hours(1)).naive_utc()),
        ))
        .execute(&mut db.pool.get().unwrap())
        .unwrap();
    let stats = dispatcher(&db.pool).run_once(t0()).unwrap();
    assert_eq!((stats.recovered, stats.sent), (1, 0));
    let r = reload(&db.pool, &doomed);
    assert_eq!(r.status(), Status::Failed);
    assert_eq!((r.attempts, r.unconfirmed), (3, 2));
    assert!(r.last_error.unwrap().contains("interrompu deux fois"));
    assert_eq!(smtp::count_to(&format!("doomed@{d}")), 0);
}

#[test]
fn two_dispatchers_at_once_send_each_email_exactly_once() {
    let db = db();
    let d = domain();
    let rows: Vec<OutboxEmail> = (0..24)
        .map(|i| {
            enqueue(
                &db.pool,
                plain(&format!("s{i}"), &format!("p{i}@{d}"), t0()),
            )
        })
        .collect();
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            // Its own pool, as another process would have.
            let pool = cohorte::db::connect(&db.path, 2).unwrap();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let dispatcher = dispatcher(&pool);
                barrier.wait();
                dispatcher.run_once(t0()).unwrap()
            })
        })
        .collect();
    let stats: Vec<Stats> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(stats[0].sent + stats[1].sent, rows.len(), "{stats:?}");
    for (i, row) in rows.iter().enumerate() {
        let row = reload(&db.pool, row);
        assert_eq!(row.status(), Status::Sent);
        assert_eq!(smtp::count_to(&format!("p{i}@{d}")), 1, "p{i}");
        assert_eq!(smtp::count_with_message_id(&row.message_id.unwrap()), 1);
    }
}

#[test]
fn drafts_wait_for_release_and_cancelled_emails_are_never_sent() {
    let db = db();
    let d = domain();
    let mut draft = plain("s1", &format!("draft@{d}"), t0());
    draft.draft = true;
    let draft = enqueue(&db.pool, draft);
    let cancelled = enqueue(&db.pool, plain("s2", &format!("cancelled@{d}"), t0()));
    let held = enqueue(&db.pool, plain("s3", &format!("held@{d}"), t0()));
    let mut conn = db.pool.get().unwrap();
    assert_eq!(
        write_with(
            &mut conn,
            Author::system(),
            Utc::now(),
            |tx| outbox::cancel(tx, &cancelled.id)
        )
        .unwrap()
        .status(),
        Status::Cancelled
    );
    assert_eq!(
        write_with(&mut conn, Author::system(), Utc::now(), |tx| outbox::hold(
            tx, &held.id
        ))
        .unwrap()
        .status(),
        Status::Draft
    );
    drop(conn);
    let dispatcher = dispatcher(&db.pool);
    assert!(dispatcher.run_once(t0()).unwrap().is_empty());

    let mut conn = db.pool.get().unwrap();
    assert_eq!(
        write_with(&mut conn, Author::system(), Utc::now(), |tx| {
            outbox::release(tx, &draft.id)
        })
        .unwrap()
        .status(),
        Status::Scheduled
    );
    let err = write_with(&mut conn, Author::system(), Utc::now(), |tx| {
        outbox::release(tx, &draft.id)
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Seul un e-mail à valider peut être validé : cet e-mail est « programmé ». \
         Rechargez la page pour voir son état actuel."
    );
    assert_eq!(
        outbox::get(&mut conn, "nope").unwrap_err().to_string(),
        "E-mail introuvable."
    );
    drop(conn);
    assert_eq!(dispatcher.run_once(t0()).unwrap().sent, 1);
    assert_eq!(smtp::count_to(&format!("draft@{d}")), 1);
    assert_eq!(smtp::count_to(&format!("cancelled@{d}")), 0);
    assert_eq!(smtp::count_to(&format!("held@{d}")), 0);
}

#[test]
fn the_file_transport_works_through_the_outbox_too() {
    let db = db();
    let dir = tempfile::tempdir().unwrap();
    let row = enqueue(&db.pool, plain("s1", "nadia@jardins-partages.fr", t0()));
    let from = sender(&Config::defaults().mail).unwrap();
    let dispatcher = Dispatcher::new(db.pool.clone(), Transport::file(dir.path()), from);
    assert_eq!(dispatcher.run_once(t0()).unwrap().sent, 1);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let message_id = reload(&db.pool, &row).message_id.unwrap();
    let name = files[0].as_ref().unwrap().file_name();
    assert!(
        name.to_str()
            .unwrap()
            .ends_with(&format!("-{}.eml", message_id.trim_matches(['<', '>']))),
        "{name:?}"
    );
}
