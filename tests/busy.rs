//! The database kept busy by another writer (the purge, the dispatcher, another instance):
//! a real SQLite file whose write lock a second connection holds (`BEGIN IMMEDIATE`) for
//! longer than the wait budget — on PostgreSQL, a second connection holding every table
//! in `SHARE ROW EXCLUSIVE` mode, which makes every `INSERT`, `UPDATE` and `DELETE` wait
//! (for `lock_timeout`) while reads and `SELECT … FOR UPDATE` go on. People get « Cohorte est très occupé » with a 503 and
//! `Retry-After` — the API as its JSON error, a page as its form again with what was
//! typed — never a 500 « database is locked »; readers are not held up; and the idle
//! dispatcher pass takes no write lock at all.
//!
//! The budget is shortened (`database.lock_wait_ms`) so that the refusals come quickly;
//! nothing here measures time.

mod common;

use actix_web::test::TestRequest;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;

use common::TestApp;

/// What the person reads.
const BUSY: &str = "Cohorte est très occupé en ce moment : réessayez dans quelques secondes.";

async fn spawn() -> TestApp {
    common::spawn_with(|c| {
        c.database.lock_wait_ms = 200;
        c.database.pool_wait_ms = 200;
    })
    .await
}

/// Another connection to the same database holding the write lock until dropped (or
/// `release`d), as a long write transaction of another process would.
enum WriteLock {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl WriteLock {
    fn take(app: &TestApp) -> WriteLock {
        if app.db.is_postgres() {
            let mut conn = PgConnection::establish(&app.config.database.url).unwrap();
            #[derive(QueryableByName)]
            struct Table {
                #[diesel(sql_type = diesel::sql_types::Text)]
                tablename: String,
            }
            let tables: Vec<String> = diesel::sql_query(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' \
                 AND tablename <> '__diesel_schema_migrations'",
            )
            .load::<Table>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|t| format!("\"{}\"", t.tablename))
            .collect();
            conn.batch_execute(&format!(
                "BEGIN; LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                tables.join(", ")
            ))
            .unwrap();
            WriteLock::Pg(conn)
        } else {
            let mut conn = SqliteConnection::establish(&app.config.database.url).unwrap();
            conn.batch_execute("BEGIN IMMEDIATE").unwrap();
            WriteLock::Sqlite(conn)
        }
    }

    fn release(self) {
        match self {
            WriteLock::Sqlite(mut c) => c.batch_execute("COMMIT").unwrap(),
            WriteLock::Pg(mut c) => c.batch_execute("COMMIT").unwrap(),
        }
    }
}

fn cohort_json(dla: &str) -> serde_json::Value {
    json!({
        "dla_id": dla,
        "name": "Cohorte Garonne 2027",
        "territory": "Bordeaux Métropole",
        "approach": "territoriale",
        "start_date": "2027-01-11",
    })
}

#[actix_web::test]
async fn an_api_write_refused_while_the_database_is_busy_answers_503_busy_then_succeeds() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let lock = WriteLock::take(&app);

    let res = app
        .send_while_busy(
            TestRequest::post()
                .uri("/api/v1/cohorts")
                .set_json(cohort_json(&dla)),
        )
        .await
        .expect(503);
    let error = res.api_error("busy");
    assert_eq!(error["message"], BUSY);
    let retry: u32 = res
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!(retry >= 1, "Retry-After: {retry}");

    // Nothing was written; once the other writer is done, the same request goes through.
    lock.release();
    let listed = app.get("/api/v1/cohorts").await.expect(200).json();
    assert!(
        !listed.to_string().contains("Cohorte Garonne 2027"),
        "{listed}"
    );
    app.post_json("/api/v1/cohorts", cohort_json(&dla))
        .await
        .expect(201);
}

#[actix_web::test]
async fn a_page_form_refused_while_busy_comes_back_with_what_was_typed_then_succeeds() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let typed = [
        ("dla_id", dla.as_str()),
        ("name", "Cohorte « Garonne » 2027"),
        ("territory", "Entre-deux-Mers"),
        ("approach", "territoriale"),
        ("start_date", "2027-01-11"),
        ("association_cap", "7"),
    ];
    let lock = WriteLock::take(&app);

    let res = app
        .send_while_busy(TestRequest::post().uri("/cohortes").set_form(typed))
        .await
        .expect(503);
    assert!(res.content_type().starts_with("text/html"));
    assert!(res.header("retry-after").is_some(), "Retry-After");
    let html = res.text();
    assert!(html.contains(BUSY), "{html}");
    // The form itself, filled as it was sent.
    assert!(html.contains("action=\"/cohortes\""), "{html}");
    for (field, value) in [
        ("name", "Cohorte « Garonne » 2027"),
        ("territory", "Entre-deux-Mers"),
        ("association_cap", "7"),
    ] {
        let around = common::around_field(&html, field);
        assert!(
            around.contains(&format!("value=\"{value}\"")),
            "{field} keeps {value:?}: {around}"
        );
    }

    lock.release();
    let res = app
        .send(TestRequest::post().uri("/cohortes").set_form(typed))
        .await
        .expect(303);
    let location = res.header("location").unwrap().to_string();
    assert!(location.starts_with("/cohortes/"), "{location}");
    let page = app.get(&location).await.expect(200).text();
    assert!(page.contains("Entre-deux-Mers"), "{page}");
}

#[actix_web::test]
async fn readers_are_not_held_up_by_another_connections_write() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    // A session last seen long ago: reading slides it, which is a write — skipped, not
    // waited for, while another connection writes.
    diesel::update(cohorte::db::schema::auth_sessions::table)
        .set(
            cohorte::db::schema::auth_sessions::last_seen_at
                .eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(10)),
        )
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let lock = WriteLock::take(&app);

    let page = app.get(&format!("/cohortes/{cohort}")).await.expect(200);
    assert!(page.text().contains("Modèles socio-économiques 2027"));
    app.get("/cohortes").await.expect(200);
    let api = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200);
    assert_eq!(api.json()["id"], cohort);
    drop(lock);
}

#[actix_web::test]
async fn no_free_connection_within_the_wait_answers_503_busy() {
    let app = spawn().await;
    // The harness's pool has 4 connections: all taken.
    let held: Vec<_> = (0..4).map(|_| app.pool.get().unwrap()).collect();
    let res = app
        .send_while_busy(TestRequest::get().uri("/api/v1/cohorts"))
        .await
        .expect(503);
    res.api_error("busy");
    assert!(res.header("retry-after").is_some());
    let page = app
        .send_while_busy(TestRequest::get().uri("/cohortes"))
        .await
        .expect(503);
    assert!(page.text().contains(BUSY), "{}", page.text());
    drop(held);
    app.get("/api/v1/cohorts").await.expect(200);
}

/// A dispatcher with the application's planner, writing emails as files.
fn dispatcher(app: &TestApp, dir: &std::path::Path) -> cohorte::jobs::Dispatcher {
    let mut config = app.config.clone();
    config.mail.smtp_url = String::new();
    config.mail.file_dir = dir.to_str().unwrap().to_string();
    let transport = cohorte::mail::Transport::from_config(&config.mail).unwrap();
    let from = cohorte::mail::sender(&config.mail).unwrap();
    let mut dispatcher = cohorte::jobs::Dispatcher::new(app.pool.clone(), transport, from);
    let templates = std::sync::Arc::new(cohorte::templates::build("").unwrap());
    let mail = cohorte::models::outbox::MailContext::new(&config, templates);
    dispatcher.planner = Some(cohorte::jobs::AppHooks::new(mail).planner());
    dispatcher
}

#[actix_web::test]
async fn an_idle_dispatcher_pass_takes_no_write_lock() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    app.generate(&cohort).await;
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let mails = tempfile::tempdir().unwrap();
    let dispatcher = dispatcher(&app, mails.path());
    // Before the programme starts: convocations and reminders are queued, none is due.
    let before = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let queued: i64 = cohorte::db::schema::outbox_emails::table
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert!(queued > 0, "the published cohort has emails waiting");

    // Another connection holds the write lock for longer than the budget: a pass that
    // tried to write would fail with « busy ».
    let lock = WriteLock::take(&app);
    let stats = dispatcher
        .run_once(before)
        .expect("the idle pass needs no write lock");
    assert!(stats.is_empty(), "{stats:?}");

    // With a cohort marked, the pass has something to write: it waits for the lock,
    // then gives up as « busy » (logged by `run_forever`, retried at the next pass).
    drop(lock);
    diesel::update(cohorte::db::schema::cohorts::table)
        .set(cohorte::db::schema::cohorts::mail_dirty.eq(true))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let lock = WriteLock::take(&app);
    match dispatcher.run_once(before) {
        Err(cohorte::error::AppError::Busy) => {}
        other => panic!("a pass with a marked cohort waits for the lock, then is busy: {other:?}"),
    }
    lock.release();
    // Free again: the marked cohort is synced, and the next pass is idle again.
    dispatcher.run_once(before).unwrap();
    let marked: i64 = cohorte::db::schema::cohorts::table
        .filter(cohorte::db::schema::cohorts::mail_dirty.eq(true))
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(marked, 0);
    let lock = WriteLock::take(&app);
    assert!(dispatcher.run_once(before).unwrap().is_empty());
    drop(lock);
}
