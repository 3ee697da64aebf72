//! The outbox's bodies in their own table (issue #19): the scans never read them, a sent
//! email's bodies are compressed after `[mail] compress_after_days` and read back the same
//! everywhere, and the purge of many cohorts runs in short transactions while people keep
//! writing. The API lists a cohort's emails in pages, without their bodies, and gives one
//! email with them.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use cohorte::db::schema::{outbox_bodies, outbox_emails};
use cohorte::models::outbox;
use common::{TestApp, spawn};

fn mail(app: &TestApp) -> outbox::MailContext {
    outbox::MailContext::new(
        &app.config,
        Arc::new(cohorte::templates::build("").unwrap()),
    )
}

/// The demo cohort, its programme starting around `today`; returns its id.
fn demo(app: &TestApp, today: NaiveDate) -> String {
    let mut conn = app.pool.get().unwrap();
    common::write(&mut conn, |tx| {
        cohorte::demo::load(
            tx,
            &app.config.programme,
            app.config.calendar.alsace_moselle,
            today,
            &mail(app),
        )
    })
    .unwrap()
}

/// Every email of the cohort as the API gives it with its bodies: listed, then read one
/// by one (what the compte rendu history reads).
async fn listed(app: &TestApp, cohort: &str) -> Value {
    let mut full = Vec::new();
    for e in app.outbox(cohort).await {
        full.push(app.outbox_email(cohort, e["id"].as_str().unwrap()).await);
    }
    Value::Array(full)
}

fn packed_count(app: &TestApp) -> i64 {
    outbox_bodies::table
        .filter(outbox_bodies::packed.is_not_null())
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap()
}

/// Every email of the cohort marked sent at `at`, as the dispatcher records it.
fn mark_all_sent(app: &TestApp, cohort: &str, at: chrono::DateTime<Utc>) {
    let mut conn = app.pool.get().unwrap();
    let ids: Vec<String> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort))
        .filter(outbox_emails::status.ne("sent"))
        .select(outbox_emails::id)
        .load(&mut conn)
        .unwrap();
    for id in ids {
        diesel::update(outbox_emails::table.find(&id))
            .set((
                outbox_emails::status.eq("sending"),
                outbox_emails::claim_token.eq("mark-all-sent"),
            ))
            .execute(&mut conn)
            .unwrap();
        let row = outbox::get(&mut conn, &id).unwrap();
        let sent = outbox::Outcome {
            next: cohorte::domain::outbox::Next::Sent,
            attempts: 1,
            unconfirmed: 0,
            error: None,
            detail: None,
        };
        assert!(common::write_at(&mut conn, at, |tx| outbox::record(tx, &row, &sent)).unwrap());
    }
}

#[actix_web::test]
async fn a_compressed_email_reads_as_before_in_the_preview_the_history_and_the_export() {
    let app = spawn().await;
    let cohort = demo(&app, cohorte::models::programme::today(chrono::Utc::now()));
    // The demo's history was sent before today; the rest leaves now.
    let sent_at = Utc::now();
    mark_all_sent(&app, &cohort, sent_at);
    let first_sent: chrono::NaiveDateTime = outbox_bodies::table
        .select(diesel::dsl::min(outbox_bodies::settled_at))
        .first::<Option<chrono::NaiveDateTime>>(&mut app.pool.get().unwrap())
        .unwrap()
        .unwrap();

    let before = listed(&app, &cohort).await;
    let rows = before.as_array().unwrap();
    assert!(rows.len() > 20, "the demo queues emails: {}", rows.len());
    assert!(rows.iter().any(|r| r["ics"].is_string()), "with invites");
    let previews_before = {
        let mut pages = Vec::new();
        for r in rows {
            let id = r["id"].as_str().unwrap();
            pages.push(app.get(&format!("/envois/{id}")).await.expect(200).text());
        }
        pages
    };
    let person: String = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(&cohort))
        .filter(outbox_emails::participant_id.is_not_null())
        .select(outbox_emails::participant_id.assume_not_null())
        .first(&mut app.pool.get().unwrap())
        .unwrap();
    let export = |app: &TestApp| -> Value {
        let mut v = cohorte::models::privacy::export_participant(
            &mut app.pool.get().unwrap(),
            &person,
            app.clock.now(),
        )
        .unwrap();
        v["exported_at"] = Value::Null;
        v
    };
    let export_before = export(&app);
    assert!(!export_before["emails"].as_array().unwrap().is_empty());

    // Before the delay has passed for any of them: nothing. After: in batches of 200.
    let mut conn = app.pool.get().unwrap();
    let early = outbox::compact(
        &mut conn,
        first_sent - chrono::Duration::seconds(1),
        10,
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(early.packed, 0);
    let done = outbox::compact(
        &mut conn,
        (sent_at + chrono::Duration::days(1)).naive_utc(),
        10,
        chrono::Utc::now(),
    )
    .unwrap();
    drop(conn);
    assert_eq!(done.packed, rows.len());
    assert_eq!(
        done.transactions,
        rows.len().div_ceil(outbox::COMPACT_BATCH as usize)
    );
    assert_eq!(packed_count(&app) as usize, rows.len());
    // Stored compressed only: the texts are gone from their columns.
    let plain: i64 = outbox_bodies::table
        .filter(
            outbox_bodies::body_text
                .ne("")
                .or(outbox_bodies::body_html.ne(""))
                .or(outbox_bodies::ics.is_not_null()),
        )
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(plain, 0);
    // A second pass finds nothing left to do.
    let again = outbox::compact(
        &mut app.pool.get().unwrap(),
        (sent_at + chrono::Duration::days(1)).naive_utc(),
        10,
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(again.packed, 0);

    assert_eq!(listed(&app, &cohort).await, before);
    for (r, page) in rows.iter().zip(&previews_before) {
        let id = r["id"].as_str().unwrap();
        assert_eq!(
            &app.get(&format!("/envois/{id}")).await.expect(200).text(),
            page
        );
    }
    assert_eq!(export(&app), export_before);
}

#[actix_web::test]
async fn a_compressed_email_sent_again_leaves_as_it_was_stored() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let to = format!("nadia@{}.example", uuid::Uuid::new_v4().simple());
    let bodies = outbox::Bodies {
        body_text: "Bonjour Nadia,\nÀ lundi, 9 h 30, salle des fêtes.\n".repeat(20),
        body_html: "<p>Bonjour Nadia,</p><p>À lundi, 9 h 30.</p>".repeat(20),
        ics: None,
    };
    let email = outbox::NewEmail {
        cohort_id: Some(cohort.clone()),
        kind: "convocation".into(),
        item_id: "s1".into(),
        revision: 0,
        recipient_email: to.clone(),
        recipient_name: "Nadia Benali".into(),
        participant_id: None,
        subject: "Convocation : État des lieux".into(),
        body_text: bodies.body_text.clone(),
        body_html: bodies.body_html.clone(),
        ics: None,
        ics_method: None,
        send_after: Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap(),
        not_after: None,
        draft: false,
    };
    let id = common::write(&mut app.pool.get().unwrap(), |tx| {
        outbox::enqueue(tx, email)
    })
    .unwrap()
    .unwrap()
    .id;
    // A failed email whose bodies are stored compressed, as after a long wait.
    let packed = outbox::pack(&bodies).unwrap();
    assert!(packed.len() * 5 < bodies.body_text.len() + bodies.body_html.len());
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(outbox_bodies::table.find(&id))
            .set((
                outbox_bodies::packed.eq(Some(&packed)),
                outbox_bodies::body_text.eq(""),
                outbox_bodies::body_html.eq(""),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::update(outbox_emails::table.find(&id))
            .set((
                outbox_emails::status.eq("failed"),
                outbox_emails::attempts.eq(1),
            ))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(outbox::bodies(&mut conn, &id).unwrap(), bodies);
    }
    // « Corriger et renvoyer », then the dispatcher's pass.
    app.post_form(
        &format!("/envois/{id}/renvoyer"),
        &[("recipient_email", "")],
    )
    .await
    .expect(303);
    let from = cohorte::mail::sender(&app.config.mail).unwrap();
    let d = cohorte::jobs::Dispatcher::new(app.pool.clone(), smtp::smtp(), from);
    let stats = d.run_once(Utc::now()).unwrap();
    assert_eq!(stats.sent, 1, "{stats:?}");
    let row = outbox::get(&mut app.pool.get().unwrap(), &id).unwrap();
    let raw = smtp::received(row.message_id.as_deref().unwrap());
    let message = mail_parser::MessageParser::default()
        .parse(&raw[..])
        .unwrap();
    assert_eq!(
        message.body_text(0).unwrap().replace("\r\n", "\n"),
        bodies.body_text
    );
}

#[actix_web::test]
async fn the_dispatcher_the_outbox_page_and_the_api_listing_never_read_the_bodies() {
    let app = spawn().await;
    let cohort = demo(&app, cohorte::models::programme::today(chrono::Utc::now()));
    let expected = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    // Hide the bodies' table: any query that touched it would now fail.
    let mut conn = app.pool.get().unwrap();
    diesel::sql_query("ALTER TABLE outbox_bodies RENAME TO outbox_bodies_hidden")
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    // The « Envois » page (rows, groups, counts, paging) and its filters.
    assert_eq!(
        app.get(&format!("/cohortes/{cohort}/envois"))
            .await
            .expect(200)
            .text(),
        expected
    );
    app.get(&format!("/cohortes/{cohort}/envois?statut=scheduled"))
        .await
        .expect(200);
    // The API's listing, its first page and a later one.
    for query in ["", "?limit=20&offset=40"] {
        app.get(&format!("/api/v1/cohorts/{cohort}/outbox{query}"))
            .await
            .expect(200);
    }
    // An idle dispatcher pass: recovery, missed deadlines, the due rows' query — nothing
    // due an hour before the demo's first email.
    let from = cohorte::mail::sender(&app.config.mail).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let transport = cohorte::mail::Transport::file(dir.path());
    let d = cohorte::jobs::Dispatcher::new(app.pool.clone(), transport, from);
    let first: chrono::NaiveDateTime = outbox_emails::table
        .filter(outbox_emails::status.eq("scheduled"))
        .select(diesel::dsl::min(outbox_emails::next_attempt_at))
        .first::<Option<chrono::NaiveDateTime>>(&mut app.pool.get().unwrap())
        .unwrap()
        .expect("scheduled emails");
    let stats = d
        .run_once(first.and_utc() - chrono::Duration::hours(1))
        .unwrap();
    assert!(stats.is_empty(), "{stats:?}");
}

/// The cohort's email ids in the model's order of the API: the latest first, ties by id.
fn ids_latest_first(app: &TestApp, cohort: &str) -> Vec<String> {
    outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort))
        .order((
            outbox_emails::send_after.desc(),
            outbox_emails::created_at.desc(),
            outbox_emails::id.desc(),
        ))
        .select(outbox_emails::id)
        .load(&mut app.pool.get().unwrap())
        .unwrap()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn the_api_lists_a_cohorts_emails_in_pages_the_latest_first_without_overlap() {
    let app = spawn().await;
    let cohort = demo(&app, cohorte::models::programme::today(chrono::Utc::now()));
    let all = ids_latest_first(&app, &cohort);
    assert!(all.len() > 120, "more than a default page: {}", all.len());
    // Emails queued together share their time: the order needs its tie-breaker.
    let send_after: Vec<chrono::NaiveDateTime> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(&cohort))
        .select(outbox_emails::send_after)
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    let distinct: std::collections::BTreeSet<_> = send_after.iter().collect();
    assert!(distinct.len() < send_after.len(), "ties on send_after");

    // By default the first 100, the total in `X-Total-Count`.
    let first = app
        .get(&format!("/api/v1/cohorts/{cohort}/outbox"))
        .await
        .expect(200);
    let total = all.len().to_string();
    assert_eq!(first.header("x-total-count"), Some(total.as_str()));
    let rows = first.json().as_array().unwrap().clone();
    assert_eq!(ids(&rows), all[..100]);
    let dates: Vec<&str> = rows
        .iter()
        .map(|r| r["send_after"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "the latest first");

    // Small pages, one after the other: each email once, in the same order.
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let res = app
            .get(&format!(
                "/api/v1/cohorts/{cohort}/outbox?limit=7&offset={offset}"
            ))
            .await
            .expect(200);
        assert_eq!(res.header("x-total-count"), Some(total.as_str()));
        let page = ids(res.json().as_array().unwrap());
        assert!(page.len() <= 7);
        if page.is_empty() {
            break;
        }
        offset += page.len();
        paged.extend(page);
    }
    assert_eq!(paged, all, "no overlap, no gap");
    let unique: std::collections::BTreeSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), all.len());
    // The largest page, and past the end.
    let most = app
        .get(&format!("/api/v1/cohorts/{cohort}/outbox?limit=500"))
        .await
        .expect(200);
    assert_eq!(ids(most.json().as_array().unwrap()), all);
    let beyond = app
        .get(&format!(
            "/api/v1/cohorts/{cohort}/outbox?offset={}",
            all.len()
        ))
        .await
        .expect(200);
    assert_eq!(beyond.header("x-total-count"), Some(total.as_str()));
    assert_eq!(beyond.json(), json!([]));
}

#[actix_web::test]
async fn a_bad_limit_or_offset_is_refused_with_422_naming_it_on_every_paged_list() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    for list in [
        format!("/api/v1/cohorts/{cohort}/outbox"),
        "/api/v1/cohorts".to_string(),
        format!("/api/v1/cohorts/{cohort}/audit"),
        "/api/v1/consultants".to_string(),
        "/api/v1/dlas".to_string(),
    ] {
        for (query, bad) in [
            ("limit=0", vec!["limit"]),
            ("limit=501", vec!["limit"]),
            ("limit=dix", vec!["limit"]),
            ("offset=-1", vec!["offset"]),
            ("offset=1.5", vec!["offset"]),
            ("limit=-2&offset=x", vec!["limit", "offset"]),
        ] {
            let res = app.get(&format!("{list}?{query}")).await.expect(422);
            let error = res.api_error("validation_failed");
            let fields: Vec<&str> = error["fields"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(fields, bad, "{list}?{query}: {error}");
            for f in fields {
                assert!(
                    error["fields"][f].as_str().unwrap().starts_with("Indiquez"),
                    "{error}"
                );
            }
        }
        // The bounds themselves, and blanks (the defaults), are fine.
        for query in ["limit=1", "limit=500&offset=0", "limit=&offset="] {
            app.get(&format!("{list}?{query}")).await.expect(200);
        }
    }
}

#[actix_web::test]
async fn listed_emails_carry_no_bodies_and_one_email_comes_with_them_in_its_cohort_only() {
    let app = spawn().await;
    let cohort = demo(&app, cohorte::models::programme::today(chrono::Utc::now()));
    let rows = app.outbox(&cohort).await;
    let invite = rows
        .iter()
        .find(|r| r["ics_method"] == "REQUEST")
        .expect("a convocation with its invite")
        .clone();
    let id = invite["id"].as_str().unwrap();

    let full = app.outbox_email(&cohort, id).await;
    let body_fields = ["body_text", "body_html", "ics"];
    for field in body_fields {
        assert!(full[field].is_string(), "{field} in {full}");
    }
    assert!(full["ics"].as_str().unwrap().contains("BEGIN:VCALENDAR"));
    let stored = outbox::get_full(&mut app.pool.get().unwrap(), id).unwrap();
    assert_eq!(full["body_text"], stored.body_text.as_str());
    assert_eq!(full["body_html"], stored.body_html.as_str());
    // A list item is the single email without its bodies: every other field, the same.
    let mut summary = full.as_object().unwrap().clone();
    for field in body_fields {
        summary.remove(field);
    }
    assert_eq!(Value::Object(summary), invite);
    for row in &rows {
        for field in body_fields {
            assert!(row.get(field).is_none(), "{field} listed in {row}");
        }
    }

    // Another cohort, even one the caller reaches, does not open this cohort's email.
    let dla = app.create_dla().await;
    let other = app.create_cohort(&dla, "Une autre cohorte").await;
    app.get(&format!("/api/v1/cohorts/{other}/outbox/{id}"))
        .await
        .expect(404)
        .api_error("not_found");
    app.get(&format!("/api/v1/cohorts/{cohort}/outbox/inconnu"))
        .await
        .expect(404)
        .api_error("not_found");
}

#[actix_web::test]
async fn a_purge_of_many_cohorts_takes_short_transactions_while_writes_go_through() {
    let app = spawn().await;
    // Eight cohorts of 2020, each with its people, sessions, emails and logs.
    const COHORTS: usize = 8;
    let start = NaiveDate::from_ymd_opt(2020, 1, 6).unwrap();
    for i in 0..COHORTS {
        demo(&app, start + chrono::Duration::days(7 * i as i64));
    }
    let people: i64 = cohorte::db::schema::participants::table
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();

    let pool = app.pool.clone();
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let purge = std::thread::spawn(move || {
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 3, 0, 0).unwrap();
        let report = cohorte::models::privacy::purge_ended(&mut pool.get().unwrap(), 24, now);
        done.store(true, Ordering::SeqCst);
        report
    });
    // Meanwhile, someone keeps writing through the app (each write fails the test on a
    // 5xx, "database is locked" included).
    let mut writes = 0;
    loop {
        app.create_dla().await;
        writes += 1;
        if finished.load(Ordering::SeqCst) {
            break;
        }
    }
    let report = purge.join().unwrap().unwrap();
    assert_eq!(report.cohorts, COHORTS);
    // Per cohort at least: the cancellation, one batch of bodies, one transaction per
    // person, the closing one.
    assert!(
        report.transactions >= COHORTS * 3 + people as usize,
        "{report:?} for {people} people"
    );
    assert!(writes >= 1);
    let unpurged: i64 = cohorte::db::schema::cohorts::table
        .filter(cohorte::db::schema::cohorts::purged_at.is_null())
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(unpurged, 0);
    // Once is enough: a second purge finds nothing.
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 4, 0, 0).unwrap();
    let again =
        cohorte::models::privacy::purge_ended(&mut app.pool.get().unwrap(), 24, now).unwrap();
    assert_eq!(again.cohorts, 0);
    assert_eq!(again.transactions, 0);
    // A purge interrupted before its last step (purged_at not set) resumes cleanly.
    diesel::update(cohorte::db::schema::cohorts::table)
        .set(cohorte::db::schema::cohorts::purged_at.eq(None::<chrono::NaiveDateTime>))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let resumed =
        cohorte::models::privacy::purge_ended(&mut app.pool.get().unwrap(), 24, now).unwrap();
    assert_eq!(resumed.cohorts, COHORTS);
    // Nothing left to blank nor anyone to anonymise: two transactions per cohort, plus
    // the (empty) batch of bodies.
    assert_eq!(resumed.transactions, COHORTS * 3, "{resumed:?}");
}

#[actix_web::test]
async fn the_dispatcher_compresses_a_settled_email_once_its_delay_has_passed() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    // Settling a cancelled email follows the wall clock: so does this test.
    let t0 = Utc::now();
    let bodies = outbox::Bodies {
        body_text: "Bonjour Nadia,\nÀ lundi.\n".into(),
        body_html: "<p>Bonjour Nadia,</p><p>À lundi.</p>".into(),
        ics: None,
    };
    let queue = |item: &str, send_after| {
        common::write(&mut app.pool.get().unwrap(), |tx| {
            outbox::enqueue(
                tx,
                outbox::NewEmail {
                    cohort_id: Some(cohort.clone()),
                    kind: "convocation".into(),
                    item_id: item.into(),
                    revision: 0,
                    recipient_email: format!("nadia@{}.example", uuid::Uuid::new_v4().simple()),
                    recipient_name: "Nadia Benali".into(),
                    participant_id: None,
                    subject: "Convocation : État des lieux".into(),
                    body_text: bodies.body_text.clone(),
                    body_html: bodies.body_html.clone(),
                    ics: None,
                    ics_method: None,
                    send_after,
                    not_after: None,
                    draft: false,
                },
            )
        })
        .unwrap()
        .unwrap()
        .id
    };
    let sent = queue("s1", t0 - chrono::Duration::minutes(1));
    let cancelled = queue("s2", t0 + chrono::Duration::days(30));
    let waiting = queue("s3", t0 + chrono::Duration::days(30));
    common::write(&mut app.pool.get().unwrap(), |tx| {
        outbox::cancel(tx, &cancelled)
    })
    .unwrap();
    let from = cohorte::mail::sender(&app.config.mail).unwrap();
    let mut d = cohorte::jobs::Dispatcher::new(app.pool.clone(), smtp::smtp(), from);
    // As `cohorte serve` wires it, with the default delay.
    assert_eq!(app.config.mail.compress_after_days, 7);
    d.planner = Some(
        cohorte::jobs::AppHooks::new(mail(&app))
            .compacting(app.config.mail.compress_after_days)
            .planner(),
    );
    assert_eq!(d.run_once(t0).unwrap().sent, 1);
    d.run_once(t0 + chrono::Duration::days(6)).unwrap();
    assert_eq!(packed_count(&app), 0, "not before its delay");
    d.run_once(t0 + chrono::Duration::days(7) + chrono::Duration::minutes(5))
        .unwrap();
    let mut conn = app.pool.get().unwrap();
    let packed: Vec<String> = outbox_bodies::table
        .filter(outbox_bodies::packed.is_not_null())
        .select(outbox_bodies::email_id)
        .order(outbox_bodies::email_id)
        .load(&mut conn)
        .unwrap();
    let mut expected = vec![sent.clone(), cancelled.clone()];
    expected.sort();
    assert_eq!(
        packed, expected,
        "the sent and the cancelled one, not {waiting}"
    );
    for id in [&sent, &cancelled, &waiting] {
        assert_eq!(outbox::bodies(&mut conn, id).unwrap(), bodies);
    }
}

/// Trains a dictionary for packed bodies on the emails of three demo cohorts and writes it
/// to the file named by COHORTE_TRAIN_DICTIONARY_TO. Run by hand only, to make the next
/// version (never to overwrite one in use: see `models::outbox::DICTIONARY_1`):
/// `COHORTE_TRAIN_DICTIONARY_TO=src/models/outbox-bodies-2.zdict cargo test --test
/// outbox_bodies train_the_bodies_dictionary -- --ignored`.
#[actix_web::test]
#[ignore]
async fn train_the_bodies_dictionary() {
    let Ok(to) = std::env::var("COHORTE_TRAIN_DICTIONARY_TO") else {
        panic!("set COHORTE_TRAIN_DICTIONARY_TO to the file to write");
    };
    let app = spawn().await;
    for start in [(2027, 1, 11), (2027, 9, 6), (2028, 3, 13)] {
        demo(
            &app,
            NaiveDate::from_ymd_opt(start.0, start.1, start.2).unwrap(),
        );
    }
    let mut conn = app.pool.get().unwrap();
    let ids: Vec<String> = outbox_emails::table
        .select(outbox_emails::id)
        .load(&mut conn)
        .unwrap();
    let samples: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| outbox::serialise(&outbox::bodies(&mut conn, id).unwrap()))
        .collect();
    let dictionary = zstd::dict::from_samples(&samples, 32 * 1024).unwrap();
    std::fs::write(&to, &dictionary).unwrap();
    println!(
        "{} bytes from {} emails written to {to}",
        dictionary.len(),
        samples.len()
    );
}

#[test]
fn the_migration_moves_the_bodies_out_and_back() {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    let mut conn = cohorte::db::Conn::from(cohorte::db::Native::Sqlite(
        cohorte::db::establish_sqlite(path.to_str().unwrap()).unwrap(),
    ));
    conn.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
    // The database as it was before 000012, with emails in every state.
    loop {
        let pending = conn
            .pending_migrations(cohorte::db::SQLITE_MIGRATIONS)
            .unwrap();
        let next = pending.first().expect("000012 not found");
        if next.name().to_string().contains("000012_outbox_bodies") {
            break;
        }
        conn.run_migration(next.as_ref()).unwrap();
    }
    conn.batch_execute(
        "INSERT INTO outbox_emails (id, kind, item_id, recipient_email, dedup_key, subject,
            body_text, body_html, ics, ics_method, status, send_after, next_attempt_at, sent_at,
            created_at, updated_at) VALUES
         ('sent', 'convocation', 's1', 'a@x.fr', 'k1', 'Convocation', 'Bonjour A', '<p>Bonjour A</p>',
            'BEGIN:VCALENDAR', 'REQUEST', 'sent', '2027-01-04 08:00:00', '2027-01-04 08:00:00',
            '2027-01-04 08:00:05', '2027-01-01 00:00:00', '2027-01-04 08:00:05'),
         ('later', 'reminder_j7', 's1', 'b@x.fr', 'k2', 'Rappel', 'Bonjour B', '<p>Bonjour B</p>',
            NULL, NULL, 'scheduled', '2027-02-04 08:00:00', '2027-02-04 08:00:00', NULL,
            '2027-01-01 00:00:00', '2027-01-01 00:00:00'),
         ('gone', 'reminder_j1', 's1', 'c@x.fr', 'k3', 'Rappel', 'Bonjour C', '<p>Bonjour C</p>',
            NULL, NULL, 'cancelled', '2027-02-10 08:00:00', '2027-02-10 08:00:00', NULL,
            '2027-01-01 00:00:00', '2027-01-02 00:00:00');",
    )
    .expect("rows written before 000012");
    conn.run_next_migration(cohorte::db::SQLITE_MIGRATIONS)
        .unwrap();

    let settled: Vec<(String, Option<chrono::NaiveDateTime>)> = outbox_bodies::table
        .order(outbox_bodies::email_id)
        .select((outbox_bodies::email_id, outbox_bodies::settled_at))
        .load(&mut conn)
        .unwrap();
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(
        settled,
        vec![
            ("gone".to_string(), Some(at("2027-01-02 00:00:00"))),
            ("later".to_string(), None),
            ("sent".to_string(), Some(at("2027-01-04 08:00:05"))),
        ]
    );
    assert_eq!(
        outbox::bodies(&mut conn, "sent").unwrap(),
        outbox::Bodies {
            body_text: "Bonjour A".into(),
            body_html: "<p>Bonjour A</p>".into(),
            ics: Some("BEGIN:VCALENDAR".into()),
        }
    );
    // The row keeps its invitation's method; deleting it deletes its bodies. (Read by
    // column: the row struct has the columns of later migrations, not applied here.)
    assert_eq!(
        outbox_emails::table
            .find("sent")
            .select(outbox_emails::ics_method)
            .first::<Option<String>>(&mut conn)
            .unwrap()
            .as_deref(),
        Some("REQUEST")
    );
    // Packed, then back down: plain bodies return to their rows, a packed one says so.
    let c = outbox::compact(&mut conn, at("2027-01-03 00:00:00"), 1, chrono::Utc::now()).unwrap();
    assert_eq!(c.packed, 1, "the cancelled one only");
    conn.revert_last_migration(cohorte::db::SQLITE_MIGRATIONS)
        .unwrap();
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Old {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        body_text: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        ics: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        ics_method: Option<String>,
    }
    let old: Vec<Old> =
        diesel::sql_query("SELECT id, body_text, ics, ics_method FROM outbox_emails ORDER BY id")
            .load(&mut conn)
            .unwrap();
    let row = |id: &str, text: &str, ics: Option<&str>| Old {
        id: id.into(),
        body_text: text.into(),
        ics: ics.map(Into::into),
        ics_method: ics.map(|_| "REQUEST".to_string()),
    };
    assert_eq!(
        old,
        vec![
            row("gone", "Contenu compressé, non restauré.", None),
            row("later", "Bonjour B", None),
            row("sent", "Bonjour A", Some("BEGIN:VCALENDAR")),
        ]
    );
    // And up again.
    conn.run_pending_migrations(cohorte::db::SQLITE_MIGRATIONS)
        .unwrap();
    assert_eq!(
        outbox::bodies(&mut conn, "later").unwrap().body_text,
        "Bonjour B"
    );
    diesel::delete(outbox_emails::table.find("later"))
        .execute(&mut conn)
        .unwrap();
    let left: i64 = outbox_bodies::table.count().get_result(&mut conn).unwrap();
    assert_eq!(left, 2, "ON DELETE CASCADE");
}
