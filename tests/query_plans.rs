//! The hot queries' plans, on SQLite: the app runs its hot paths (the list pages, the DLA
//! overview, the cohort page, the API's outbox pages, a session move, a participant
//! delete, the dispatcher's passes, the planner, the purge, the banner of late emails on
//! every staff page and the sending status) on a database built through
//! its migrations, every statement it sends is recorded (diesel's instrumentation: the very queries the app
//! runs, not copies of their text), and `EXPLAIN QUERY PLAN` of each must not read the
//! whole of `outbox_emails`, `sessions`, `participants` or `cohorts` (`SCAN <table>`
//! without an index). A scan of an index (`SCAN cohorts USING INDEX …`: the paged cohort
//! lists walk `cohorts_start` in order, the planner's scan walks the partial
//! `cohorts_mail_dirty`) is fine: it reads the rows the page shows, or the marked ones.
//!
//! The plan does not depend on the data: without `ANALYZE`, SQLite plans every table as if
//! large, so a small database gives the plans of a national one.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration, Utc};
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::json;

use cohorte::models::cohort::{self, CohortFilter};
use cohorte::models::outbox_status::{self, Watch};
use cohorte::models::scope::CohortScope;

/// The tables a full scan of which fails the test.
const LARGE: [&str; 4] = ["outbox_emails", "sessions", "participants", "cohorts"];

static RECORDING: AtomicBool = AtomicBool::new(false);
static STATEMENTS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Every connection the app opens records the statements it runs while [`RECORDING`].
fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event
            && RECORDING.load(Ordering::SeqCst)
        {
            let text = query.to_string();
            let sql = text.split(" -- binds: ").next().unwrap_or_default().trim();
            STATEMENTS.lock().unwrap().insert(sql.to_string());
        }
    }))
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// `EXPLAIN QUERY PLAN` of `sql`, its parameters unbound (the plan does not depend on them).
fn plan(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<PlanRow>(conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .into_iter()
        .map(|r| r.detail)
        .collect()
}

/// The plan's full scans of a large table (`SCAN cohorts`, not `SCAN cohorts USING …`).
fn full_scans(plan: &[String]) -> Vec<String> {
    plan.iter()
        .filter(|d| {
            let mut words = d.split_whitespace();
            words.next() == Some("SCAN")
                && words.next().is_some_and(|t| LARGE.contains(&t))
                && !d.contains(" USING ")
        })
        .cloned()
        .collect()
}

/// What the statements the app ran while recording read: each one's plan, and the full
/// scans among them.
fn check_recorded(conn: &mut SqliteConnection) -> (usize, Vec<String>) {
    let statements: Vec<String> = std::mem::take(&mut *STATEMENTS.lock().unwrap())
        .into_iter()
        .collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for sql in &statements {
        let verb = sql.split_whitespace().next().unwrap_or("").to_uppercase();
        if !["SELECT", "UPDATE", "DELETE", "WITH"].contains(&verb.as_str()) {
            continue; // BEGIN, SAVEPOINT, PRAGMA, INSERT … VALUES: nothing to scan
        }
        checked += 1;
        let p = plan(conn, sql);
        let scans = full_scans(&p);
        if !scans.is_empty() {
            failures.push(format!("{sql}\n    {}", p.join("\n    ")));
        }
    }
    (checked, failures)
}

#[test]
fn full_scan_detection_reads_sqlite_plans() {
    let plans = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert_eq!(full_scans(&plans(&["SCAN outbox_emails"])).len(), 1);
    assert_eq!(
        full_scans(&plans(&["SCAN cohorts USING INDEX cohorts_start"])).len(),
        0
    );
    assert_eq!(
        full_scans(&plans(&[
            "SCAN cohorts USING COVERING INDEX cohorts_dla_idx"
        ]))
        .len(),
        0
    );
    assert_eq!(
        full_scans(&plans(&[
            "SEARCH sessions USING INDEX sessions_cohort_idx (cohort_id=?)"
        ]))
        .len(),
        0
    );
    assert_eq!(full_scans(&plans(&["SCAN dlas"])).len(), 0, "a small table");
}

#[actix_web::test]
async fn the_hot_queries_never_scan_a_large_table() {
    if common::db::on_postgres() {
        // SQLite's planner, whose plans this reads (`EXPLAIN QUERY PLAN`); PostgreSQL plans
        // by its statistics, and the same indexes exist in both dialects' migrations.
        eprintln!("SQLite's query plans: not run on the PostgreSQL pass");
        return;
    }
    diesel::connection::set_default_instrumentation(recorder).unwrap();
    let app = common::spawn().await;
    let today = cohorte::models::programme::today(chrono::Utc::now());
    let mail = cohorte::models::outbox::MailContext::new(
        &app.config,
        Arc::new(cohorte::templates::build("").unwrap()),
    );
    // A cohort mid-way (sessions, outbox in several statuses, time entries, attendance),
    // a second one of the same DLA with its programme, a consultant on the first.
    let demo = {
        let mut conn = app.pool.get().unwrap();
        common::write(&mut conn, |tx| {
            cohorte::demo::load(
                tx,
                &app.config.programme,
                app.config.calendar.alsace_moselle,
                today,
                &mail,
            )
        })
        .unwrap()
    };
    let first = app
        .get(&format!("/api/v1/cohorts/{demo}"))
        .await
        .expect(200)
        .json();
    let dla = first["dla_id"].as_str().unwrap().to_string();
    let consultant = first["consultant_id"].as_str().map(str::to_string);
    let other = app.create_cohort(&dla, "Seconde cohorte").await;
    let association = app.enrol(&other, "Les Amis du Quai").await;
    app.generate(&other).await;
    app.post_json(&format!("/api/v1/cohorts/{other}/publish"), json!({}))
        .await;
    let sessions = app
        .get(&format!("/api/v1/cohorts/{other}/sessions"))
        .await
        .expect(200)
        .json();
    let session = sessions[0]["id"].as_str().unwrap().to_string();
    let participants = app
        .get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json();
    let participant = participants[0]["id"].as_str().unwrap().to_string();

    let email = app
        .get(&format!("/api/v1/cohorts/{demo}/outbox?limit=1"))
        .await
        .expect(200)
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    RECORDING.store(true, Ordering::SeqCst);
    // The list pages, the DLA overview and the cohort's pages, as the administrator.
    for uri in [
        "/cohortes".to_string(),
        "/cohortes?recherche=socio&statut=en_cours&annee=2027&page=2".to_string(),
        format!("/cohortes?dla={dla}"),
        "/api/v1/cohorts?limit=10&offset=10".to_string(),
        format!("/api/v1/cohorts?status=brouillon&year=2027&dla_id={dla}&search=e"),
        format!("/dla/{dla}"),
        format!("/dla/{dla}?page=2"),
        format!("/dla/{dla}/modifications"),
        // The DLA's calendar (its sessions and their conflicts), filtered, and its places.
        format!("/dla/{dla}/calendrier?vue=mois"),
        format!("/dla/{dla}/calendrier?vue=semaine&date=2027-01-12&cohorte={other}"),
        format!("/dla/{dla}/calendrier?vue=mois&consultant=k&lieu=p"),
        format!("/dla/{dla}/lieux"),
        // The activity reports (a DLA's, the instance's, over a year and a period) and
        // the association search.
        format!("/dla/{dla}/rapport"),
        format!("/dla/{dla}/rapport?du=2026-09-01&au=2027-08-31"),
        "/rapport".to_string(),
        "/rapport?annee=2027".to_string(),
        "/associations?q=amis".to_string(),
        "/compte".to_string(),
        format!("/cohortes/{demo}"),
        format!("/cohortes/{demo}/tableau-de-bord"),
        format!("/cohortes/{demo}/envois"),
        format!("/cohortes/{demo}/modifications"),
        format!("/api/v1/cohorts/{demo}/audit"),
        format!("/api/v1/cohorts/{demo}/outbox?limit=20&offset=40"),
        format!("/api/v1/cohorts/{demo}/outbox/{email}"),
        format!("/api/v1/cohorts/{demo}/budget"),
        format!("/cohortes/{demo}/budget"),
        format!("/cohortes/{demo}/miroir"),
        format!("/cohortes/{demo}/evaluations"),
        format!("/associations/{association}"),
        format!("/associations/{association}/modele"),
        format!("/seances/{session}"),
        format!("/seances/{session}/journal"),
        "/consultants".to_string(),
        "/dla".to_string(),
        "/dla?page=2".to_string(),
        "/utilisateurs".to_string(),
        "/utilisateurs?page=2".to_string(),
        // The banner's link, and the administrators' sending status.
        "/cohortes?envois=en_retard".to_string(),
        "/api/v1/outbox/status".to_string(),
    ] {
        app.get(&uri).await.expect(200);
    }
    // A chargé·e de mission's and a consultant's cohorts list (their scope in the WHERE),
    // and a chargé·e de mission's DLA list.
    let mut banner_in_scope = Vec::new();
    let mut late_in_scope = Vec::new();
    {
        let mut conn = app.pool.get().unwrap();
        let theirs = [dla.clone()];
        cohorte::models::dla::count_visible(&mut conn, Some(&theirs)).unwrap();
        cohorte::models::dla::list_visible(&mut conn, Some(&theirs), 50, 0).unwrap();
        let mut scopes = vec![CohortScope::Dla(dla.clone()), CohortScope::Nothing];
        scopes.extend(consultant.map(CohortScope::Consultant));
        let watch = Watch::new(Utc::now(), app.config.mail.late_after());
        for scope in scopes {
            let filter = CohortFilter {
                search: "cohorte".into(),
                status: Some("en_cours".into()),
                year: Some(2027),
                dla_id: None,
                mail_trouble: None,
            };
            let late = CohortFilter {
                mail_trouble: Some(watch),
                ..CohortFilter::default()
            };
            for f in [CohortFilter::default(), filter, late] {
                let before = STATEMENTS.lock().unwrap().clone();
                cohort::count(&mut conn, &scope, &f).unwrap();
                if f.mail_trouble.is_some() && matches!(scope, CohortScope::Dla(_)) {
                    let after = STATEMENTS.lock().unwrap();
                    late_in_scope.extend(after.difference(&before).cloned());
                }
                let page = cohort::page(&mut conn, &scope, &f, 50, 0).unwrap();
                cohort::summaries(&mut conn, page, Utc::now().naive_utc()).unwrap();
            }
            // The banner of every staff page, with their scope in its WHERE (the
            // administrator's ran with the pages above).
            let before = STATEMENTS.lock().unwrap().clone();
            outbox_status::trouble(&mut conn, &scope, watch).unwrap();
            if matches!(scope, CohortScope::Dla(_)) {
                let after = STATEMENTS.lock().unwrap();
                banner_in_scope.extend(after.difference(&before).cloned());
            }
        }
    }
    // The administrator's private calendar feed (every session of a date range).
    {
        let html = app.get("/compte").await.expect(200).text();
        let start = html.find("/agenda-equipe/").expect("the feed's address");
        let end = start + html[start..].find('"').unwrap();
        app.send_raw(actix_web::test::TestRequest::get().uri(&html[start..end]))
            .await
            .expect(200);
    }
    // A session move (its notices, the planner's rebuild), a participant's removal.
    app.post_json(
        &format!("/api/v1/sessions/{session}/move"),
        json!({"date": "2027-02-03", "start_time": "09:00", "avoid_non_working_days": "false"}),
    )
    .await
    .expect(200);
    app.send(
        actix_web::test::TestRequest::delete().uri(&format!("/api/v1/participants/{participant}")),
    )
    .await;
    // The dispatcher's passes: recovery, deadlines, due rows, a claim; the planner.
    {
        let mut conn = app.pool.get().unwrap();
        let now = Utc::now();
        cohorte::models::outbox::recover_stuck(&mut conn, now.naive_utc(), now).unwrap();
        cohorte::models::outbox::mark_overdue_missed(&mut conn, now).unwrap();
        let due =
            cohorte::models::outbox::due_ids(&mut conn, now + Duration::days(3650), 10).unwrap();
        if let Some(id) = due.first() {
            common::write_at(&mut conn, now + Duration::days(3650), |tx| {
                cohorte::models::outbox::claim(tx, id, || "<plan@cohorte.test>".into())
            })
            .unwrap();
        }
        common::write(&mut conn, |tx| cohorte::models::planner::touch(tx, &demo)).unwrap();
        cohorte::models::planner::plan(&mut conn, &mail, now).unwrap();
        // The weekly summaries on the next Monday at 8 h 30 Paris, their moment open.
        let monday = (now + Duration::days(7 - i64::from(now.weekday().num_days_from_monday())))
            .date_naive()
            .and_hms_opt(7, 30, 0)
            .unwrap()
            .and_utc();
        cohorte::models::planner::queue_summaries(&mut conn, &mail, monday).unwrap();
        // The purge, ten years on: both cohorts ended long ago.
        let purged = cohorte::models::privacy::purge_ended_cohorts(
            &mut conn,
            12,
            now + Duration::days(3650),
        )
        .unwrap();
        assert!(purged >= 1, "the purge ran on the demo cohort");
    }
    RECORDING.store(false, Ordering::SeqCst);

    let mut pooled = app.pool.get().unwrap();
    let cohorte::db::Native::Sqlite(conn) = pooled.native() else {
        unreachable!("the plans are SQLite's (the test returns early on PostgreSQL)")
    };
    // The banner of a chargé·e de mission reads the due range of each of their cohorts,
    // not the instance's: during a long outage, the latter holds tens of thousands of
    // emails (issue #19), read on each of their pages. So does the banner's link, the
    // cohorts with late emails (`?envois=en_retard`).
    for (what, statements) in [
        ("the banner", &banner_in_scope),
        ("the late cohorts' count", &late_in_scope),
    ] {
        assert_eq!(statements.len(), 1, "{what} is one statement");
        let p = plan(conn, &statements[0]);
        assert!(
            p.iter().any(|d| d.starts_with(
                "SEARCH outbox_emails USING INDEX outbox_emails_cohort_status \
                 (cohort_id=? AND status=? AND send_after<?)"
            )),
            "{what} in a person's scope:\n{}\n    {}",
            statements[0],
            p.join("\n    ")
        );
    }
    let (checked, mut failures) = check_recorded(conn);
    assert!(checked > 100, "the hot paths ran their queries ({checked})");

    // What no statement shows: SQLite's own look-ups of the rows that point at a deleted
    // participant, session or association (ON DELETE SET NULL / CASCADE), which read an
    // index on the child column when there is one.
    for (child, column) in [
        ("outbox_emails", "participant_id"),
        ("attendances", "participant_id"),
        ("auth_sessions", "participant_id"),
        ("auth_links", "participant_id"),
        ("evaluations", "answered_by"),
        ("evaluations", "followup_by"),
        ("sessions", "association_id"),
        ("participants", "association_id"),
        ("time_entries", "association_id"),
        ("time_entries", "session_id"),
        ("intersession_tasks", "session_id"),
        ("action_leads", "session_id"),
        ("task_returns", "association_id"),
        ("session_guests", "session_id"),
    ] {
        let sql = format!("UPDATE {child} SET {column} = NULL WHERE {column} = ?");
        let p = plan(conn, &sql);
        if !p.iter().any(|d| d.starts_with("SEARCH")) {
            failures.push(format!("{sql}\n    {}", p.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "full scans of a large table:\n{}",
        failures.join("\n")
    );
}
