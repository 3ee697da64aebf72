//! `cohorte copy` (issue #15, point 6): a SQLite instance with the demo and compressed
//! outbox bodies is copied by the real command into a new PostgreSQL database, which then
//! serves the same pages and the same emails, row for row and value for value; a target
//! that holds data is refused without a write, a missing source without opening anything.
//!
//! The copies need a PostgreSQL server (`COHORTE_TEST_POSTGRES`, as `scripts/test` sets on
//! its PostgreSQL run); without one those tests say so and return.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::Value;

use cohorte::db::schema::{associations, cohorts, outbox_bodies, outbox_emails, users};
use cohorte::models::outbox;
use common::TestApp;
use common::db::{TestDb, postgres_server};

/// `cohorte copy --from … --to …`, with nothing of the test's environment.
fn cohorte_copy(dir: &std::path::Path, from: &str, to: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cohorte"));
    command
        .args(["copy", "--from", from, "--to", to])
        // Away from any ./cohorte.toml.
        .current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("COHORTE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(&*key);
        }
    }
    command.env("RUST_LOG", "warn").output().unwrap()
}

fn no_postgres(test: &str) -> bool {
    if postgres_server().is_none() {
        eprintln!(
            "{test}: skipped, it needs a PostgreSQL server to copy into \
             (COHORTE_TEST_POSTGRES=postgres://user@host:port/postgres)"
        );
        return true;
    }
    false
}

/// What `cohorte demo` loads: the demo cohort, its programme starting around today, and
/// one account per role; returns the cohort's id.
fn demo(app: &TestApp) -> String {
    let mail = outbox::MailContext::new(
        &app.config,
        Arc::new(cohorte::templates::build("").unwrap()),
    );
    app.write(|tx| {
        let today = cohorte::models::programme::today(tx.now());
        let id = cohorte::demo::load(
            tx,
            &app.config.programme,
            app.config.calendar.alsace_moselle,
            today,
            &mail,
        )?;
        cohorte::demo::accounts(
            tx,
            &id,
            &app.config.server.public_url,
            app.config.auth.participant_link_days,
        )?;
        Ok(id)
    })
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every table of the instance (SQLite's catalogue, without diesel's migrations table).
fn tables(app: &TestApp) -> Vec<String> {
    diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite%' AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
    .load::<Name>(&mut app.pool.get().unwrap())
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect()
}

fn counts(app: &TestApp, tables: &[String]) -> BTreeMap<String, i64> {
    let mut conn = app.pool.get().unwrap();
    tables
        .iter()
        .map(|t| {
            let n = diesel::sql_query(format!("SELECT count(*) AS n FROM {t}"))
                .get_result::<Count>(&mut conn)
                .unwrap()
                .n;
            (t.clone(), n)
        })
        .collect()
}

/// The « table : source → copie » lines the command printed.
fn printed_counts(stdout: &str) -> BTreeMap<String, (i64, i64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let (table, counts) = l.trim().split_once(" : ")?;
            let (source, copy) = counts.split_once(" → ")?;
            Some((
                table.to_string(),
                (source.parse().ok()?, copy.parse().ok()?),
            ))
        })
        .collect()
}

/// The two tables' rows are equal; on failure, shows the first row that differs.
#[track_caller]
fn same_rows<T: PartialEq + std::fmt::Debug>(copied: &[T], source: &[T], what: &str) {
    assert_eq!(copied.len(), source.len(), "{what}: rows");
    if let Some((c, s)) = copied.iter().zip(source).find(|(c, s)| c != s) {
        panic!("{what} differs once copied:\n  copy:   {c:?}\n  source: {s:?}");
    }
}

/// PostgreSQL keeps timestamps to the microsecond (diesel truncates when it writes there).
fn micros(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap()
}

type BodyRow = (
    String,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<NaiveDateTime>,
);

fn bodies(app: &TestApp) -> Vec<BodyRow> {
    outbox_bodies::table
        .select((
            outbox_bodies::email_id,
            outbox_bodies::body_text,
            outbox_bodies::body_html,
            outbox_bodies::ics,
            outbox_bodies::packed,
            outbox_bodies::settled_at,
        ))
        .order(outbox_bodies::email_id)
        .load(&mut app.pool.get().unwrap())
        .unwrap()
}

type AssociationRow = (
    String,
    bool,
    bool,
    Option<NaiveDate>,
    Option<i32>,
    NaiveDateTime,
);

fn associations(app: &TestApp) -> Vec<AssociationRow> {
    associations::table
        .select((
            associations::id,
            associations::general_interest,
            associations::mirror_named,
            associations::creation_date,
            associations::creation_year,
            associations::created_at,
        ))
        .order(associations::id)
        .load(&mut app.pool.get().unwrap())
        .unwrap()
}

type CohortRow = (
    String,
    NaiveDate,
    bool,
    Option<NaiveDateTime>,
    Option<String>,
);

fn cohorts(app: &TestApp) -> Vec<CohortRow> {
    cohorts::table
        .select((
            cohorts::id,
            cohorts::start_date,
            cohorts::mail_dirty,
            cohorts::published_at,
            cohorts::programme_template,
        ))
        .order(cohorts::id)
        .load(&mut app.pool.get().unwrap())
        .unwrap()
}

/// What the administrator sees of the cohort: its page, its « Envois » page, each email's
/// preview, and each email through the API with its bodies.
async fn seen(app: &TestApp, cohort: &str) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for uri in [
        format!("/cohortes/{cohort}"),
        format!("/cohortes/{cohort}/envois"),
    ] {
        let body = app.get(&uri).await.expect(200).text();
        pages.push((uri, body));
    }
    for e in app.outbox(cohort).await {
        let id = e["id"].as_str().unwrap();
        let uri = format!("/envois/{id}");
        let body = app.get(&uri).await.expect(200).text();
        pages.push((uri, body));
        let full: Value = app.outbox_email(cohort, id).await;
        pages.push((
            format!("/api/v1/cohorts/{cohort}/outbox/{id}"),
            full.to_string(),
        ));
    }
    pages
}

#[actix_web::test]
async fn a_sqlite_instance_with_the_demo_copied_to_postgresql_serves_the_same_pages() {
    if no_postgres("a_sqlite_instance_with_the_demo_copied_to_postgresql_serves_the_same_pages") {
        return;
    }
    let source = common::spawn_on(TestDb::sqlite(), |_| {}).await;
    assert!(!source.db.is_postgres());
    let cohort = demo(&source);
    // The demo's history is settled: its bodies are packed as the dispatcher would later.
    let packed = outbox::compact(
        &mut source.pool.get().unwrap(),
        chrono::Utc::now().naive_utc() + chrono::Duration::days(1),
        100,
        chrono::Utc::now(),
    )
    .unwrap()
    .packed;
    assert!(packed > 0, "the demo has sent emails to pack");
    let tables = tables(&source);
    let before = counts(&source, &tables);
    assert!(
        before["outbox_emails"] > 100 && before["users"] > 1,
        "{before:?}"
    );

    let target_db = TestDb::new();
    assert!(target_db.is_postgres());
    // The source stays open (its pool), as under a running `cohorte serve`.
    let out = cohorte_copy(source.db.dir.path(), source.db.url(), target_db.url());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // Every table printed once with its count, the same on both sides.
    let printed = printed_counts(&stdout);
    let expected: BTreeMap<String, (i64, i64)> =
        before.iter().map(|(t, n)| (t.clone(), (*n, *n))).collect();
    assert_eq!(printed, expected, "{stdout}");

    let target = source.reopen(target_db).await;
    assert!(target.db.is_postgres());
    assert_eq!(counts(&target, &tables), before);
    assert_eq!(
        counts(&source, &tables),
        before,
        "the source is left as it was"
    );

    // Values keep their types: blobs, booleans, dates, timestamps, nullable texts.
    let (source_bodies, target_bodies) = (bodies(&source), bodies(&target));
    let packed_rows = target_bodies.iter().filter(|b| b.4.is_some()).count();
    assert_eq!(packed_rows, packed, "the packed bodies arrived as bytes");
    let truncated: Vec<BodyRow> = source_bodies
        .into_iter()
        .map(|mut b| {
            b.5 = b.5.map(micros);
            b
        })
        .collect();
    same_rows(&target_bodies, &truncated, "outbox_bodies");
    let truncated: Vec<AssociationRow> = associations(&source)
        .into_iter()
        .map(|mut a| {
            a.5 = micros(a.5);
            a
        })
        .collect();
    same_rows(&associations(&target), &truncated, "associations");
    assert!(truncated.iter().any(|a| a.2) && truncated.iter().any(|a| !a.2));
    let truncated: Vec<CohortRow> = cohorts(&source)
        .into_iter()
        .map(|mut c| {
            c.3 = c.3.map(micros);
            c
        })
        .collect();
    same_rows(&cohorts(&target), &truncated, "cohorts");
    let disabled = |app: &TestApp| -> Vec<(String, bool)> {
        users::table
            .select((users::id, users::disabled))
            .order(users::id)
            .load(&mut app.pool.get().unwrap())
            .unwrap()
    };
    same_rows(&disabled(&target), &disabled(&source), "users");

    // The same pages and emails, served from PostgreSQL with the copied sign-in.
    let (on_sqlite, on_postgres) = (seen(&source, &cohort).await, seen(&target, &cohort).await);
    assert!(on_sqlite.len() > 200, "{}", on_sqlite.len());
    assert_eq!(on_sqlite.len(), on_postgres.len());
    for ((uri, a), (_, b)) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(a, b, "{uri} differs once copied");
    }
    // A packed email reads back the same (its preview is among the pages above).
    let packed_id = target_bodies
        .iter()
        .find(|b| b.4.is_some())
        .unwrap()
        .0
        .clone();
    let subject: String = outbox_emails::table
        .find(&packed_id)
        .select(outbox_emails::subject)
        .first(&mut target.pool.get().unwrap())
        .unwrap();
    let preview = target
        .get(&format!("/envois/{packed_id}"))
        .await
        .expect(200);
    // As the page escapes it (the demo's subjects hold apostrophes).
    let subject = handlebars::html_escape(&subject);
    assert!(preview.text().contains(&subject), "{}", preview.text());
}

#[actix_web::test]
async fn a_copy_into_a_database_that_holds_data_is_refused_and_writes_nothing() {
    if no_postgres("a_copy_into_a_database_that_holds_data_is_refused_and_writes_nothing") {
        return;
    }
    let source = common::spawn_on(TestDb::sqlite(), |_| {}).await;
    let dla = source.create_dla().await;
    // The target already serves: its own administrator, nothing else.
    let target = common::spawn().await;
    assert!(target.db.is_postgres());
    let tables = tables(&source);
    let before = counts(&target, &tables);

    let out = cohorte_copy(source.db.dir.path(), source.db.url(), target.db.url());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("la base cible n'est pas vide")
            && stderr.contains("users")
            && stderr.contains("Rien n'a été écrit"),
        "{stderr}"
    );
    assert!(printed_counts(&stdout).is_empty(), "{stdout}");
    assert_eq!(counts(&target, &tables), before);
    target.get(&format!("/api/v1/dlas/{dla}")).await.expect(404);
}

#[test]
fn a_missing_source_file_is_refused_in_french_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.sqlite3");
    let out = cohorte_copy(
        dir.path(),
        missing.to_str().unwrap(),
        "postgres://cohorte@127.0.0.1:1/nulle_part",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("la base SQLite source") && stderr.contains("n'existe pas"),
        "{stderr}"
    );
    assert!(!missing.exists());
}
