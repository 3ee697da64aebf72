//! What a page costs in queries must not grow with the instance's history: the same page
//! of the same cohort (or DLA, or the first page of a list) runs the same number of SQL
//! statements whether the instance holds one cohort or many (and more DLAs, staff
//! accounts and consultant records), and whether the cohort has a short or a long past
//! (time entries, emails sent). Timing is left to `scripts/bench`;
//! this counts statements, which does not depend on the machine.
//!
//! Every statement of every connection is counted through diesel's default
//! instrumentation, so this file holds a single test: the requests run one after the
//! other and nothing else runs in the process.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use serde_json::{Value, json};

use common::TestApp;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// Every statement but the connection's read-only switch (`db::set_read_only` and its
/// reading): the pool sets it only when a connection changes hands between the read entry
/// and a writer, so how often it runs depends on what the connection did last, not on the
/// page.
fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let sql = query.to_string();
            let switch = sql.starts_with("PRAGMA query_only")
                || sql.starts_with("SET default_transaction_read_only")
                || sql.starts_with("SELECT current_setting('default_transaction_read_only')");
            if !switch {
                STATEMENTS.fetch_add(1, Ordering::SeqCst);
            }
        }
    }))
}

/// The statements one GET runs; the page must answer 200.
async fn cost(app: &TestApp, uri: &str) -> usize {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let res = app.get(uri).await;
    assert_eq!(res.status.as_u16(), 200, "GET {uri}: {}", res.text());
    STATEMENTS.load(Ordering::SeqCst) - before
}

/// A cohort of `n` associations in `dla`, its programme generated and published.
async fn published_cohort(app: &TestApp, dla: &str, name: &str, n: usize) -> String {
    let cohort = app.create_cohort(dla, name).await;
    for i in 1..=n {
        app.enrol(&cohort, &format!("{name} — association {i}"))
            .await;
    }
    app.generate(&cohort).await;
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    cohort
}

async fn first_session(app: &TestApp, cohort: &str) -> String {
    let sessions: Value = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json();
    sessions[0]["id"].as_str().expect("a session").to_string()
}

async fn first_association(app: &TestApp, cohort: &str) -> String {
    let associations: Value = app
        .get(&format!("/api/v1/cohorts/{cohort}/associations"))
        .await
        .expect(200)
        .json();
    associations[0]["id"]
        .as_str()
        .expect("an association")
        .to_string()
}

/// The pages whose cost is measured, for one cohort and its DLA.
fn pages(dla: &str, cohort: &str, session: &str, association: &str) -> Vec<String> {
    vec![
        // Lists: their first page.
        "/cohortes".to_string(),
        "/dla".to_string(),
        "/consultants".to_string(),
        "/utilisateurs".to_string(),
        "/api/v1/cohorts".to_string(),
        // The banner's link (the cohorts with late emails) and the sending status.
        "/cohortes?envois=en_retard".to_string(),
        "/api/v1/outbox/status".to_string(),
        // The DLA.
        format!("/dla/{dla}"),
        format!("/dla/{dla}/modifications"),
        // Its calendar: the month of the measured cohort's sessions (the neighbours added
        // later hold theirs on the same days), and its places.
        format!("/dla/{dla}/calendrier?vue=mois&date=2027-01-11"),
        format!("/dla/{dla}/calendrier?vue=semaine&date=2027-01-11"),
        format!("/dla/{dla}/lieux"),
        // The cohort.
        format!("/cohortes/{cohort}"),
        format!("/cohortes/{cohort}/tableau-de-bord"),
        format!("/cohortes/{cohort}/budget"),
        format!("/cohortes/{cohort}/envois"),
        format!("/cohortes/{cohort}/miroir"),
        format!("/cohortes/{cohort}/evaluations"),
        format!("/cohortes/{cohort}/modifications"),
        format!("/seances/{session}"),
        format!("/seances/{session}/journal"),
        format!("/associations/{association}"),
        format!("/api/v1/cohorts/{cohort}"),
        format!("/api/v1/cohorts/{cohort}/sessions"),
        format!("/api/v1/cohorts/{cohort}/budget"),
    ]
}

#[actix_web::test]
async fn no_page_costs_more_queries_as_the_history_grows() {
    set_default_instrumentation(counting).expect("instrumentation");
    let app = common::spawn().await;

    // A small instance: one DLA, one cohort of 8.
    let dla = app.create_dla().await;
    let cohort = published_cohort(&app, &dla, "Cohorte mesurée", 8).await;
    let session = first_session(&app, &cohort).await;
    let association = first_association(&app, &cohort).await;
    let pages = pages(&dla, &cohort, &session, &association);
    let mut small = Vec::new();
    for uri in &pages {
        small.push(cost(&app, uri).await);
    }

    // The history grows: more cohorts in the same DLA and in another one, and a longer
    // past for the measured cohort (time entries).
    for i in 1..=6 {
        published_cohort(&app, &dla, &format!("Cohorte voisine {i}"), 3).await;
    }
    let other = app.create_dla().await;
    for i in 1..=3 {
        published_cohort(&app, &other, &format!("Cohorte d'ailleurs {i}"), 2).await;
    }
    // More staff: chargé·es de mission of both DLAs, consultant·es with their records.
    for i in 1..=4 {
        let record = app
            .post_json(
                "/api/v1/consultants",
                json!({"name": format!("Consultant·e {i}"), "email": format!("conseil{i}@cohorte.test"), "dla_ids": [&other]}),
            )
            .await
            .expect(201)
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut conn = app.pool.get().unwrap();
        for (role, dla_id, consultant_id) in [
            (
                "officer",
                Some(if i % 2 == 0 { &dla } else { &other }),
                None,
            ),
            ("consultant", None, Some(&record)),
        ] {
            common::write(&mut conn, |tx| {
                cohorte::models::account::create(
                    tx,
                    cohorte::models::account::NewUser {
                        email: &format!("{role}{i}@cohorte.test"),
                        name: &format!("{role} {i}"),
                        role,
                        dla_id: dla_id.map(String::as_str),
                        consultant_id: consultant_id.map(String::as_str),
                        password: None,
                    },
                )
            })
            .unwrap();
        }
    }
    for day in 11..=25 {
        app.post_json(
            &format!("/api/v1/cohorts/{cohort}/time-entries"),
            json!({"date": format!("2027-01-{day}"), "kind": "animation_collective",
                   "duration": 1, "unit": "demi_journees"}),
        )
        .await
        .expect(201);
    }

    let mut report = Vec::new();
    let mut grew = false;
    for (uri, before) in pages.iter().zip(&small) {
        let after = cost(&app, uri).await;
        if after > *before {
            grew = true;
        }
        report.push(format!("{uri}: {before} → {after}"));
    }
    assert!(
        !grew,
        "a page runs more queries as the history grows:\n{}",
        report.join("\n")
    );
}
