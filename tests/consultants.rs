//! Consultant records belong to DLAs (issue #16, point 2): who sees and changes which
//! record, through the pages and the API; assigning a record to a cohort; funders naming
//! only a DLA the cohort involves; and the migration that gave existing records their DLAs.

mod common;

use actix_web::http::header;
use actix_web::test::TestRequest;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use serde_json::{Value, json};

use cohorte::models::account::{self, NewUser, Principal};
use cohorte::web::actor::csrf_for;
use common::{Response, TestApp};

/// A chargé·e de mission of `dla`: a session cookie for the pages, a token for the API.
struct Officer {
    cookie: String,
    token: String,
}

fn officer(app: &TestApp, dla: &str, email: &str) -> Officer {
    let mut conn = app.pool.get().unwrap();
    let user = common::write(&mut conn, |tx| {
        account::create(
            tx,
            NewUser {
                email,
                name: email,
                role: "officer",
                dla_id: Some(dla),
                consultant_id: None,
                password: None,
            },
        )
    })
    .unwrap();
    let (_, token) = common::write(&mut conn, |tx| {
        account::create_api_token(tx, &user.id, "tests")
    })
    .unwrap();
    let cookie = common::write(&mut conn, |tx| {
        account::start_session(
            tx,
            &Principal::User(user.id),
            account::Lifetimes::from_config(&app.config.auth),
            chrono::Utc::now().naive_utc(),
        )
    })
    .unwrap();
    Officer { cookie, token }
}

impl Officer {
    async fn page(&self, app: &TestApp, uri: &str) -> Response {
        app.send_raw(
            TestRequest::get()
                .uri(uri)
                .insert_header((header::COOKIE, format!("cohorte_session={}", self.cookie))),
        )
        .await
    }

    async fn form(&self, app: &TestApp, uri: &str, fields: &[(&str, &str)]) -> Response {
        app.send_raw(
            TestRequest::post()
                .uri(uri)
                .insert_header((header::COOKIE, format!("cohorte_session={}", self.cookie)))
                .insert_header(("x-csrf-token", csrf_for(&self.cookie)))
                .set_form(fields),
        )
        .await
    }

    async fn api(&self, app: &TestApp, method: &str, uri: &str, body: Option<Value>) -> Response {
        let req = match method {
            "GET" => TestRequest::get(),
            "POST" => TestRequest::post(),
            "PUT" => TestRequest::put(),
            other => panic!("method {other}"),
        }
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", self.token)));
        let req = match body {
            Some(b) => req.set_json(b),
            None => req,
        };
        app.send_raw(req).await
    }
}

async fn dla(app: &TestApp, name: &str) -> String {
    app.post_json(
        "/api/v1/dlas",
        json!({"name": name, "area": "Quelque part"}),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A record made by the administrator for `dlas`; returns its id.
async fn admin_record(app: &TestApp, name: &str, email: &str, dlas: &[&str]) -> String {
    let res = app
        .post_json(
            "/api/v1/consultants",
            json!({"name": name, "firm": "Cabinet", "email": email, "dla_ids": dlas}),
        )
        .await
        .expect(201);
    let body = res.json();
    let mut expected: Vec<&str> = dlas.to_vec();
    expected.sort();
    assert_eq!(body["dla_ids"], json!(expected));
    body["id"].as_str().unwrap().to_string()
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn an_officer_cannot_open_change_or_list_an_unassigned_record_made_for_another_dla() {
    let app = common::spawn().await;
    let (dla_a, dla_b) = (dla(&app, "DLA A").await, dla(&app, "DLA B").await);
    let record = admin_record(&app, "Bruno Berger", "bruno@b.fr", &[&dla_b]).await;
    let (a, b) = (
        officer(&app, &dla_a, "a@dla.test"),
        officer(&app, &dla_b, "b@dla.test"),
    );
    let edit = format!("/consultants/{record}/modifier");
    let api = format!("/api/v1/consultants/{record}");
    let change = json!({"name": "Bruno Berger", "email": "pirate@a.fr"});

    a.page(&app, &edit).await.expect(403);
    a.form(
        &app,
        &edit,
        &[("name", "Bruno Berger"), ("email", "pirate@a.fr")],
    )
    .await
    .expect(403);
    a.api(&app, "PUT", &api, Some(change.clone()))
        .await
        .expect(403)
        .api_error("forbidden");
    let directory = a.page(&app, "/consultants").await.expect(200).text();
    assert!(!directory.contains("bruno@b.fr") && !directory.contains(&record));
    let listed = a
        .api(&app, "GET", "/api/v1/consultants", None)
        .await
        .expect(200);
    assert_eq!(listed.header("x-total-count"), Some("0"));
    assert!(ids_of(&listed.json()).is_empty());

    // The record's DLA sees and changes it; the address officer A sent never landed.
    let directory = b.page(&app, "/consultants").await.expect(200).text();
    assert!(directory.contains("bruno@b.fr") && directory.contains(&edit));
    b.page(&app, &edit).await.expect(200);
    let listed = b
        .api(&app, "GET", "/api/v1/consultants", None)
        .await
        .expect(200)
        .json();
    assert_eq!(ids_of(&listed), vec![record.clone()]);
    assert_eq!(listed[0]["email"], "bruno@b.fr");
    assert_eq!(listed[0]["dla_ids"], json!([dla_b]));
}

#[actix_web::test]
async fn an_unassigned_record_made_by_an_officer_is_theirs_and_not_another_dlas() {
    let app = common::spawn().await;
    let (dla_a, dla_b) = (dla(&app, "DLA A").await, dla(&app, "DLA B").await);
    let (a, b) = (
        officer(&app, &dla_a, "a@dla.test"),
        officer(&app, &dla_b, "b@dla.test"),
    );
    // Through the page: the form has no DLA to choose, the record is officer A's DLA's.
    a.form(
        &app,
        "/consultants",
        &[
            ("name", "Anne Arnaud"),
            ("firm", "Cabinet A"),
            ("email", "anne@a.fr"),
        ],
    )
    .await
    .expect(303);
    // Through the API.
    let made = a
        .api(
            &app,
            "POST",
            "/api/v1/consultants",
            Some(json!({"name": "Alain Aubert", "email": "alain@a.fr"})),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(made["dla_ids"], json!([dla_a]));
    let listed = a
        .api(&app, "GET", "/api/v1/consultants", None)
        .await
        .expect(200)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["dla_ids"] == json!([dla_a]))
    );

    for id in ids_of(&listed) {
        let edit = format!("/consultants/{id}/modifier");
        let api = format!("/api/v1/consultants/{id}");
        // A fresh record is at version 1: the change sends the version it read.
        let change = json!({"name": "Nouveau Nom", "email": "nouveau@a.fr", "version": 1});
        a.page(&app, &edit).await.expect(200);
        a.api(&app, "PUT", &api, Some(change.clone()))
            .await
            .expect(200);
        b.page(&app, &edit).await.expect(403);
        b.api(&app, "PUT", &api, Some(change)).await.expect(403);
        b.form(&app, &edit, &[("name", "X"), ("email", "x@b.fr")])
            .await
            .expect(403);
    }
    let directory = b.page(&app, "/consultants").await.expect(200).text();
    assert!(!directory.contains("nouveau@a.fr"));

    // A record the administrator made without a DLA is the administrators' only.
    let orphan = admin_record(&app, "Odile Orphelin", "odile@o.fr", &[]).await;
    a.page(&app, &format!("/consultants/{orphan}/modifier"))
        .await
        .expect(403);
    app.get(&format!("/consultants/{orphan}/modifier"))
        .await
        .expect(200);
}

#[actix_web::test]
async fn only_an_administrator_shares_a_record_with_another_dla() {
    let app = common::spawn().await;
    let (dla_a, dla_b) = (dla(&app, "DLA A").await, dla(&app, "DLA B").await);
    let (a, b) = (
        officer(&app, &dla_a, "a@dla.test"),
        officer(&app, &dla_b, "b@dla.test"),
    );
    let refused = a
        .api(
            &app,
            "POST",
            "/api/v1/consultants",
            Some(json!({"name": "Anne", "email": "anne@a.fr", "dla_ids": [dla_a, dla_b], "version": 1})),
        )
        .await
        .expect(422);
    assert!(refused.api_error("validation_failed")["fields"]["dla_ids"].is_string());

    let id = a
        .api(
            &app,
            "POST",
            "/api/v1/consultants",
            Some(json!({"name": "Anne", "email": "anne@a.fr"})),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let api = format!("/api/v1/consultants/{id}");
    let refused = a
        .api(
            &app,
            "PUT",
            &api,
            Some(json!({"name": "Anne", "email": "anne@a.fr", "dla_ids": [dla_a, dla_b], "version": 1})),
        )
        .await
        .expect(422);
    let error = refused.api_error("validation_failed");
    assert!(
        error["fields"]["dla_ids"]
            .as_str()
            .unwrap()
            .contains("administrateur")
    );
    // Sending the list unchanged is not a change.
    a.api(
        &app,
        "PUT",
        &api,
        Some(json!({"name": "Anne", "email": "anne@a.fr", "dla_ids": [dla_a], "version": 1})),
    )
    .await
    .expect(200);
    b.api(
        &app,
        "PUT",
        &api,
        Some(json!({"name": "B", "email": "b@b.fr"})),
    )
    .await
    .expect(403);

    // The administrator shares it through the edit page's checkboxes.
    let page = app
        .get(&format!("/consultants/{id}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("name=\"dla_ids\""));
    app.post_form(
        &format!("/consultants/{id}/modifier"),
        &[
            ("name", "Anne"),
            ("email", "anne@a.fr"),
            ("dla_ids", dla_a.as_str()),
            ("dla_ids", dla_b.as_str()),
        ],
    )
    .await
    .expect(303);
    b.api(
        &app,
        "PUT",
        &api,
        // Version 3: the officer's change and the administrator's form raised it twice.
        Some(json!({"name": "Anne", "email": "anne@b.fr", "version": 3})),
    )
    .await
    .expect(200);
    // The officer's page shows the list without checkboxes.
    let page = a
        .page(&app, &format!("/consultants/{id}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(!page.contains("name=\"dla_ids\""));
    assert!(page.contains("DLA A, DLA B") || page.contains("DLA B, DLA A"));
    // Unticking everything leaves it to administrators.
    app.post_form(
        &format!("/consultants/{id}/modifier"),
        &[("name", "Anne"), ("email", "anne@a.fr")],
    )
    .await
    .expect(303);
    a.page(&app, &format!("/consultants/{id}/modifier"))
        .await
        .expect(403);
}

#[actix_web::test]
async fn a_cohort_refuses_a_consultant_record_its_officer_may_not_see() {
    let app = common::spawn().await;
    let (dla_a, dla_b) = (dla(&app, "DLA A").await, dla(&app, "DLA B").await);
    let a = officer(&app, &dla_a, "a@dla.test");
    let theirs = admin_record(&app, "Bruno Berger", "bruno@b.fr", &[&dla_b]).await;
    let ours = admin_record(&app, "Anne Arnaud", "anne@a.fr", &[&dla_a]).await;

    // The form offers only the DLA's records.
    let form = a.page(&app, "/cohortes/nouvelle").await.expect(200).text();
    assert!(form.contains(&ours) && !form.contains(&theirs));
    assert!(!form.contains("Bruno Berger"));

    let cohort = json!({
        "dla_id": dla_a, "name": "Cohorte A", "territory": "Gironde",
        "approach": "territoriale", "start_date": "2027-01-11", "consultant_id": theirs,
    });
    let refused = a
        .api(&app, "POST", "/api/v1/cohorts", Some(cohort.clone()))
        .await
        .expect(422);
    assert!(refused.api_error("validation_failed")["fields"]["consultant_id"].is_string());
    let mut body = cohort.clone();
    body["consultant_id"] = json!(ours);
    let created = a
        .api(&app, "POST", "/api/v1/cohorts", Some(body))
        .await
        .expect(201)
        .json();
    let id = created["id"].as_str().unwrap();

    let refused = a
        .form(
            &app,
            &format!("/cohortes/{id}/modifier"),
            &[
                ("name", "Cohorte A"),
                ("dla_id", dla_a.as_str()),
                ("territory", "Gironde"),
                ("approach", "territoriale"),
                ("start_date", "2027-01-11"),
                ("association_cap", "8"),
                ("status", "brouillon"),
                ("consultant_id", theirs.as_str()),
                ("version", "1"),
            ],
        )
        .await
        .expect(422);
    let html = refused.text();
    assert!(
        common::around_field(&html, "consultant_id").contains("appartient pas à votre DLA"),
        "the message is beside the field:\n{html}"
    );
    assert!(
        !html.contains("Bruno Berger"),
        "the other DLA's record is not offered"
    );
    let stored = app
        .get(&format!("/api/v1/cohorts/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(stored["consultant_id"], json!(ours));

    // The administrator may assign any record; the officer then keeps it when saving.
    let mut body = stored.clone();
    body["consultant_id"] = json!(theirs);
    body["version"] = json!(stored["version"].as_i64().unwrap().to_string());
    body["association_cap"] = json!("8");
    let stored = app
        .put_json(&format!("/api/v1/cohorts/{id}"), body)
        .await
        .expect(200)
        .json();
    let mut body = stored.clone();
    body["name"] = json!("Cohorte A, renommée");
    body["version"] = json!(stored["version"].as_i64().unwrap().to_string());
    body["association_cap"] = json!("8");
    a.api(&app, "PUT", &format!("/api/v1/cohorts/{id}"), Some(body))
        .await
        .expect(200);
}

#[actix_web::test]
async fn a_funder_naming_a_dla_the_cohort_does_not_involve_is_refused_beside_the_field() {
    let app = common::spawn().await;
    let (dla_a, partner, other) = (
        dla(&app, "DLA porteur").await,
        dla(&app, "DLA partenaire").await,
        dla(&app, "DLA sans rapport").await,
    );
    let id = app
        .post_json(
            "/api/v1/cohorts",
            json!({
                "dla_id": dla_a, "partner_dla_ids": [partner], "name": "Cohorte",
                "territory": "Gironde", "approach": "territoriale", "start_date": "2027-01-11",
            }),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The funders list's version, read first and sent back (required by the PUT).
    let read = app
        .get(&format!("/api/v1/cohorts/{id}/budget"))
        .await
        .expect(200)
        .json()["funders_version"]
        .clone();
    let funders = |dla: &str| {
        json!({"funders": {"funders": [
            {"name": "DLA porteur", "share": "50", "dla_id": dla_a},
            {"name": "Un autre", "share": "50", "dla_id": dla},
        ], "version": read.clone()}})
    };
    let refused = app
        .put_json(&format!("/api/v1/cohorts/{id}/budget"), funders(&other))
        .await
        .expect(422);
    let error = refused.api_error("validation_failed");
    assert!(
        error["fields"]["funders[1].dla_id"]
            .as_str()
            .unwrap()
            .contains("ne porte pas la cohorte"),
        "{error}"
    );
    app.put_json(&format!("/api/v1/cohorts/{id}/budget"), funders(&partner))
        .await
        .expect(200);

    // The page offers only the cohort's DLAs, and refuses another beside its row.
    let page = app
        .get(&format!("/cohortes/{id}/budget"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("DLA partenaire") && !page.contains("DLA sans rapport"));
    let refused = app
        .post_form(
            &format!("/cohortes/{id}/budget/financeurs"),
            &[
                ("funder_name", "Un autre"),
                ("funder_share", "100"),
                ("funder_dla", other.as_str()),
            ],
        )
        .await
        .expect(422);
    assert!(
        common::around_field(&refused.text(), "funder_dla").contains("ne porte pas la cohorte")
    );
}

#[test]
fn the_migration_gives_existing_records_the_dlas_of_their_cohorts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    let mut conn = cohorte::db::establish_sqlite(path.to_str().unwrap()).unwrap();
    // The database as it was before 000007.
    loop {
        let version = conn
            .run_next_migration(cohorte::db::SQLITE_MIGRATIONS)
            .unwrap()
            .to_string();
        if version.ends_with("000006") {
            break;
        }
        assert!(!version.ends_with("000007"), "000006 not found");
    }
    conn.batch_execute(
        "INSERT INTO dlas (id, name, area, created_at, updated_at) VALUES
            ('d1', 'DLA 1', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('d2', 'DLA 2', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('d3', 'DLA 3', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
         INSERT INTO consultants (id, name, email, created_at, updated_at) VALUES
            ('shared', 'Sur une cohorte partagée', 's@x.fr', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('two', 'Sur deux cohortes', 't@x.fr', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('none', 'Sur aucune cohorte', 'n@x.fr', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
         INSERT INTO cohorts (id, dla_id, name, territory, approach, start_date, consultant_id, created_at, updated_at) VALUES
            ('c1', 'd1', 'C1', 't', 'territoriale', '2027-01-11', 'shared', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('c2', 'd3', 'C2', 't', 'territoriale', '2027-01-11', 'two', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('c3', 'd1', 'C3', 't', 'territoriale', '2027-01-11', 'two', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('c4', 'd2', 'C4', 't', 'territoriale', '2027-01-11', NULL, '2026-01-01 00:00:00', '2026-01-01 00:00:00');
         INSERT INTO cohort_partners (cohort_id, dla_id) VALUES ('c1', 'd2'), ('c3', 'd3'), ('c4', 'd3');",
    )
    .expect("rows written before 000007");
    conn.run_pending_migrations(cohorte::db::SQLITE_MIGRATIONS)
        .unwrap();

    use cohorte::db::schema::consultant_dlas;
    let rows: Vec<(String, String)> = consultant_dlas::table
        .order((consultant_dlas::consultant_id, consultant_dlas::dla_id))
        .select((consultant_dlas::consultant_id, consultant_dlas::dla_id))
        .load(&mut conn)
        .unwrap();
    let pair = |k: &str, d: &str| (k.to_string(), d.to_string());
    assert_eq!(
        rows,
        vec![
            // Owner and partner of its cohort.
            pair("shared", "d1"),
            pair("shared", "d2"),
            // Both cohorts' DLAs, once each (d3 owns one and is partner of the other).
            pair("two", "d1"),
            pair("two", "d3"),
            // « none » works on no cohort: administrators only.
        ]
    );
}
