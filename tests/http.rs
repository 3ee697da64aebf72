//! HTTP integration tests: the real app (middleware, routes, templates) on a real SQLite
//! file, through requests a browser or an API client would send. Each test's name says
//! the behaviour it pins down; the harness fails any test that meets a 5xx.

mod common;

use std::collections::BTreeMap;

use actix_web::test::TestRequest;
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{Value, json};

use cohorte::domain::calendar;
use common::{Response, TestApp, spawn};

// --- helpers ------------------------------------------------------------------------------

fn utc(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn date(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().expect("a date"), "%Y-%m-%d").expect("AAAA-MM-JJ")
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Paris wall-clock start of a session as the API returns it.
fn local_start(session: &Value) -> NaiveDateTime {
    calendar::utc_to_paris(utc(&session["starts_at"]))
}

fn sessions_of(app_generated: &Value) -> Vec<Value> {
    app_generated["sessions"]
        .as_array()
        .expect("sessions")
        .clone()
}

async fn tasks(app: &TestApp, cohort_id: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/cohorts/{cohort_id}/tasks"))
        .await
        .expect(200)
        .json()["tasks"]
        .as_array()
        .expect("tasks")
        .clone()
}

async fn session(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/sessions/{id}"))
        .await
        .expect(200)
        .json()
}

async fn move_session(app: &TestApp, id: &str, body: Value) -> Response {
    app.post_json(&format!("/api/v1/sessions/{id}/move"), body)
        .await
}

/// The collective introductive session of a generated programme.
fn introductive(generated: &Value) -> Value {
    sessions_of(generated)
        .into_iter()
        .find(|s| s["kind"] == "introductive")
        .expect("an introductive session")
}

fn assert_french_page(res: &Response) {
    assert!(
        res.content_type().starts_with("text/html"),
        "expected a page, got {:?}",
        res.content_type()
    );
    assert!(
        res.text().contains("lang=\"fr\""),
        "the page must declare lang=\"fr\":\n{}",
        res.text()
    );
}

const FRENCH_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

// --- enrolment cap ------------------------------------------------------------------------

#[actix_web::test]
async fn a_ninth_association_is_refused_with_409_cohort_full_and_nothing_changes() {
    let app = spawn().await;
    let (cohort, ids) = app.cohort_with(8).await;
    assert_eq!(ids.len(), 8);
    let list = format!("/api/v1/cohorts/{cohort}/associations");
    let before = app.get(&list).await.expect(200).json();

    let res = app
        .post_json(
            &list,
            json!({"name": "Association n° 9", "town": "Talence", "sector": "Sport"}),
        )
        .await
        .expect(409);
    let error = res.api_error("cohort_full");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("La cohorte est complète") && message.contains("8 associations"),
        "French message naming the cap, got {message:?}"
    );
    assert_eq!(error["fields"], json!({}));

    let after = app.get(&list).await.expect(200).json();
    assert_eq!(after.as_array().unwrap().len(), 8);
    assert_eq!(after, before, "a refused enrolment changes nothing");
    // The participants of the 8 are all there, too.
    for id in &ids {
        let people = app
            .get(&format!("/api/v1/associations/{id}/participants"))
            .await
            .expect(200)
            .json();
        let roles: Vec<&str> = people
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["direction", "gouvernance"]);
    }
}

#[actix_web::test]
async fn the_enrolment_form_beyond_the_cap_shows_the_refusal_and_keeps_what_was_typed() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(8).await;

    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/associations"),
            &[
                ("name", "La Neuvième Compagnie"),
                ("rna", "W332099999"),
                ("town", "Villenave-d'Ornon"),
                ("sector", "Spectacle vivant"),
                ("creation_year", "2012"),
                ("salaried_staff", "3"),
                ("general_interest", "on"),
                ("version", ""),
            ],
        )
        .await
        .expect(409);
    assert_french_page(&res);
    let html = res.text();
    assert!(
        html.contains("Augmentez la capacité de la cohorte ou retirez une association."),
        "the refusal's French message is shown:\n{html}"
    );
    assert!(html.contains("value=\"La Neuvième Compagnie\""), "{html}");
    assert!(html.contains("value=\"W332099999\""), "{html}");
    assert!(html.contains("value=\"2012\""), "{html}");
    // Escaped apostrophe: what was typed, HTML-encoded.
    assert!(
        html.contains("value=\"Villenave-d&#x27;Ornon\"")
            || html.contains("value=\"Villenave-d&#39;Ornon\""),
        "{html}"
    );

    let list = app
        .get(&format!("/api/v1/cohorts/{cohort}/associations"))
        .await
        .expect(200)
        .json();
    assert_eq!(list.as_array().unwrap().len(), 8);
}

// --- programme ----------------------------------------------------------------------------

#[actix_web::test]
async fn generating_the_programme_makes_three_collective_sessions_and_one_bilan_each_then_needs_replace()
 {
    let app = spawn().await;
    let (cohort, ids) = app.cohort_with(8).await;
    let uri = format!("/api/v1/cohorts/{cohort}/programme");

    let generated = app.generate(&cohort).await;
    let sessions = sessions_of(&generated);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for s in &sessions {
        *kinds
            .entry(s["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("bilan_individuel".to_string(), 8),
            ("etat_des_lieux".to_string(), 1),
            ("evolution".to_string(), 1),
            ("introductive".to_string(), 1),
        ])
    );
    let mut bilan_owners: Vec<String> = sessions
        .iter()
        .filter(|s| s["kind"] == "bilan_individuel")
        .map(|s| s["association_id"].as_str().unwrap().to_string())
        .collect();
    bilan_owners.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(bilan_owners, expected, "one bilan per enrolled association");
    let intro = introductive(&generated);
    assert_eq!(
        local_start(&intro).date(),
        ymd(2027, 1, 11),
        "the introductive session is on the start date"
    );

    let session_ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let generated_tasks = generated["tasks"].as_array().unwrap();
    assert!(!generated_tasks.is_empty(), "default tasks are created");
    let linked: Vec<&Value> = generated_tasks
        .iter()
        .filter(|t| !t["session_id"].is_null())
        .collect();
    assert!(!linked.is_empty(), "tasks prepare sessions");
    for t in &linked {
        assert!(
            session_ids.contains(&t["session_id"].as_str().unwrap()),
            "task {} is linked to a session of this programme",
            t["title"]
        );
    }
    assert_eq!(tasks(&app, &cohort).await.len(), generated_tasks.len());

    // A second generation would overwrite the programme: refused unless asked.
    app.send(TestRequest::post().uri(&uri))
        .await
        .expect(409)
        .api_error("programme_exists");
    app.post_json(&uri, json!({}))
        .await
        .expect(409)
        .api_error("programme_exists");
    app.post_json(&uri, json!({"replace": false}))
        .await
        .expect(409)
        .api_error("programme_exists");
    let listed = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json();
    let mut listed_ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    listed_ids.sort();
    let mut before = session_ids.clone();
    before.sort();
    assert_eq!(listed_ids, before, "a refused generation changes nothing");

    let replaced = app
        .post_json(&uri, json!({"replace": true}))
        .await
        .expect(201)
        .json();
    let new_sessions = sessions_of(&replaced);
    assert_eq!(new_sessions.len(), 11);
    assert!(
        new_sessions
            .iter()
            .all(|s| !session_ids.contains(&s["id"].as_str().unwrap())),
        "the old sessions are replaced"
    );
    let listed = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 11, "no leftovers");
    assert_eq!(
        tasks(&app, &cohort).await.len(),
        replaced["tasks"].as_array().unwrap().len(),
        "the old tasks are replaced too"
    );
}

// --- moving a session ---------------------------------------------------------------------

#[actix_web::test]
async fn moving_a_session_moves_its_linked_tasks_by_the_same_days_and_says_so_in_french() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let before_tasks = tasks(&app, &cohort).await;

    // A session that some task prepares.
    let task = before_tasks
        .iter()
        .find(|t| !t["session_id"].is_null())
        .expect("a task linked to a session")
        .clone();
    let sid = task["session_id"].as_str().unwrap().to_string();
    let s = sessions_of(&generated)
        .into_iter()
        .find(|s| s["id"] == sid.as_str())
        .unwrap();
    let old_start = local_start(&s);
    let duration = utc(&s["ends_at"]) - utc(&s["starts_at"]);
    let old_due = date(&task["due_date"]);

    // Whole weeks later, onto a working day for both the session and the task, so that
    // neither is adjusted to another day.
    let shift = (1..=8)
        .map(|w| Days::new(7 * w))
        .find(|d| {
            calendar::is_working_day(old_start.date() + *d, false)
                && calendar::is_working_day(old_due + *d, false)
        })
        .expect("a working day within 8 weeks");
    let new_date = old_start.date() + shift;
    let res = move_session(
        &app,
        &sid,
        json!({
            "date": new_date.format("%Y-%m-%d").to_string(),
            "start_time": old_start.format("%H:%M").to_string(),
            "avoid_non_working_days": true,
        }),
    )
    .await
    .expect(200);
    let body = res.json();

    let moved = &body["session"];
    assert_eq!(local_start(moved), new_date.and_time(old_start.time()));
    assert_eq!(
        utc(&moved["ends_at"]) - utc(&moved["starts_at"]),
        duration,
        "without an end time the duration is kept"
    );

    let summary: Vec<&str> = body["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(!summary.is_empty(), "the move is summarised");
    // The last line says who is told (nobody before publication); every line before it is
    // a dated change.
    let (notice, changes) = summary.split_last().unwrap();
    assert!(
        notice.contains("pas encore publié : aucun e-mail ne part"),
        "what happens to the emails is said: {notice:?}"
    );
    for line in changes {
        assert!(
            line.ends_with('.') && FRENCH_MONTHS.iter().any(|m| line.contains(m)),
            "a French sentence with a French date, got {line:?}"
        );
    }
    insta::assert_snapshot!("move_summary", summary.join("\n"));

    let after_tasks = tasks(&app, &cohort).await;
    for before in &before_tasks {
        let after = after_tasks
            .iter()
            .find(|t| t["id"] == before["id"])
            .expect("no task disappears");
        let (b, a) = (date(&before["due_date"]), date(&after["due_date"]));
        if before["session_id"] == sid.as_str() {
            assert_eq!(a, b + shift, "task {} follows its session", before["title"]);
        } else {
            assert_eq!(a, b, "task {} is not linked: unchanged", before["title"]);
        }
    }
    assert_eq!(
        date(&after_tasks.iter().find(|t| t["id"] == task["id"]).unwrap()["due_date"]),
        old_due + shift
    );
}

#[actix_web::test]
async fn moving_a_session_to_end_before_it_starts_is_refused_on_end_time() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let intro = introductive(&app.generate(&cohort).await);
    let id = intro["id"].as_str().unwrap();

    let res = move_session(
        &app,
        id,
        json!({"date": "2027-01-13", "start_time": "14:00", "end_time": "10:00"}),
    )
    .await
    .expect(422);
    let error = res.api_error("validation_failed");
    assert!(error["fields"]["end_time"].is_string(), "{error}");
    assert_eq!(session(&app, id).await["starts_at"], intro["starts_at"]);
}

#[actix_web::test]
async fn moving_a_session_into_the_spring_forward_gap_is_refused_on_the_field_in_the_gap() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let intro = introductive(&app.generate(&cohort).await);
    let id = intro["id"].as_str().unwrap();

    // 28 March 2027, 02:30 does not exist in Paris: clocks jump from 02:00 to 03:00.
    for avoid in [false, true] {
        let res = move_session(
            &app,
            id,
            json!({"date": "2027-03-28", "start_time": "02:30", "avoid_non_working_days": avoid}),
        )
        .await
        .expect(422);
        let error = res.api_error("validation_failed");
        let message = error["fields"]["start_time"]
            .as_str()
            .unwrap_or_else(|| panic!("start_time error expected: {error}"));
        assert!(message.contains("n'existe pas"), "says why: {message:?}");
    }
    // When only the end falls in the gap, the message goes beside the end.
    let res = move_session(
        &app,
        id,
        json!({"date": "2027-03-28", "start_time": "01:30", "end_time": "02:30"}),
    )
    .await
    .expect(422);
    let error = res.api_error("validation_failed");
    assert!(error["fields"]["end_time"].is_string(), "{error}");
    assert!(error["fields"].get("start_time").is_none(), "{error}");
    assert_eq!(session(&app, id).await["starts_at"], intro["starts_at"]);
}

#[actix_web::test]
async fn moving_a_session_to_a_public_holiday_is_refused_only_when_avoiding_non_working_days() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let intro = introductive(&app.generate(&cohort).await);
    let id = intro["id"].as_str().unwrap();
    let ascension = json!({"date": "2027-05-06", "start_time": "10:00"});

    let mut refused = ascension.clone();
    refused["avoid_non_working_days"] = json!(true);
    let res = move_session(&app, id, refused).await.expect(422);
    let error = res.api_error("validation_failed");
    let message = error["fields"]["date"]
        .as_str()
        .unwrap_or_else(|| panic!("date error expected: {error}"));
    assert!(
        message.contains("férié"),
        "says why, in French: {message:?}"
    );
    assert_eq!(session(&app, id).await["starts_at"], intro["starts_at"]);

    let mut accepted = ascension.clone();
    accepted["avoid_non_working_days"] = json!(false);
    let body = move_session(&app, id, accepted).await.expect(200).json();
    assert_eq!(
        local_start(&body["session"]),
        ymd(2027, 5, 6).and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap())
    );
}

// --- bad input never a 500 ----------------------------------------------------------------

#[actix_web::test]
async fn malformed_json_is_a_400_invalid_json_with_the_error_shape() {
    let app = spawn().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/cohorts")
                .insert_header(("content-type", "application/json"))
                .set_payload(r#"{"name": "Cohorte", "dla_id": "#),
        )
        .await
        .expect(400);
    let error = res.api_error("invalid_json");
    assert_eq!(error["fields"], json!({}));
    assert!(error["message"].as_str().unwrap().contains("JSON"));
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_refused_with_a_4xx_and_the_error_shape() {
    let app = spawn().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/cohorts")
                .insert_header(("content-type", "text/plain"))
                .set_payload("name=Cohorte"),
        )
        .await;
    assert!(res.status.is_client_error(), "got {}", res.status);
    res.api_error("unsupported_media_type");

    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/dlas")
                .set_form([("name", "DLA"), ("area", "Gironde")]),
        )
        .await;
    assert!(res.status.is_client_error(), "got {}", res.status);
    res.api_error("unsupported_media_type");
    assert_eq!(app.get("/api/v1/dlas").await.expect(200).json(), json!([]));
}

#[actix_web::test]
async fn an_impossible_date_is_a_422_on_start_date() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let res = app
        .post_json(
            "/api/v1/cohorts",
            json!({
                "dla_id": dla,
                "name": "Cohorte du 30 février",
                "territory": "Gironde",
                "approach": "territoriale",
                "start_date": "2027-02-30",
            }),
        )
        .await
        .expect(422);
    let error = res.api_error("validation_failed");
    let fields = error["fields"].as_object().unwrap();
    assert!(
        fields["start_date"]
            .as_str()
            .unwrap()
            .contains("Date invalide")
    );
    assert_eq!(fields.len(), 1, "only the date is wrong: {error}");
    assert_eq!(
        app.get("/api/v1/cohorts").await.expect(200).json(),
        json!([])
    );
}

#[actix_web::test]
async fn an_unknown_id_is_a_json_404_under_the_api_and_a_french_page_elsewhere() {
    let app = spawn().await;
    for uri in [
        "/api/v1/cohorts/inconnue",
        "/api/v1/associations/inconnue",
        "/api/v1/sessions/inconnue",
        "/api/v1/cohorts/inconnue/tasks",
        "/api/v1/pas-une-route",
    ] {
        let res = app.get(uri).await.expect(404);
        res.api_error("not_found");
    }
    // An address no route has, at the API's root and inside its nested scopes
    // (`web::routes`): the API's own message, not the pages'.
    for uri in [
        "/api/v1/pas-une-route",
        "/api/v1/cohorts/pas-une-route/ni/celle-ci",
        "/api/v1/cohorts/inconnue/pas-une-route",
    ] {
        let res = app.get(uri).await.expect(404);
        let error = res.api_error("not_found");
        assert_eq!(error["message"], "Point d'accès inconnu de l'API.", "{uri}");
    }
    let res = move_session(
        &app,
        "inconnue",
        json!({"date": "2027-01-12", "start_time": "09:30"}),
    )
    .await
    .expect(404);
    res.api_error("not_found");

    for uri in [
        "/cohortes/inconnue",
        "/associations/inconnue",
        "/pas-une-page",
        "/cohortes/inconnue/pas-une-page",
        "/cohortes/pas/une/page",
    ] {
        let res = app.get(uri).await.expect(404);
        assert_french_page(&res);
        assert!(
            !res.text().trim_start().starts_with('{'),
            "{uri}: a page, not JSON"
        );
    }
}

#[actix_web::test]
async fn association_rna_and_siret_format_errors_are_422_on_their_fields() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    let uri = format!("/api/v1/cohorts/{cohort}/associations");

    let res = app
        .post_json(
            &uri,
            json!({"name": "Les Amis du Quartier", "rna": "12345", "siret": "1234"}),
        )
        .await
        .expect(422);
    let error = res.api_error("validation_failed");
    assert!(
        error["fields"]["rna"].as_str().unwrap().contains("RNA"),
        "{error}"
    );
    assert!(
        error["fields"]["siret"].as_str().unwrap().contains("SIRET"),
        "{error}"
    );

    // A SIRET of the right length with a wrong check key.
    let res = app
        .post_json(
            &uri,
            json!({"name": "Les Amis du Quartier", "siret": "73282932000075"}),
        )
        .await
        .expect(422);
    let error = res.api_error("validation_failed");
    assert!(error["fields"]["siret"].is_string(), "{error}");
    assert!(error["fields"].get("rna").is_none(), "{error}");
    assert_eq!(app.get(&uri).await.expect(200).json(), json!([]));

    // Well-formed numbers, typed with spaces, are accepted and normalised.
    let created = app
        .post_json(
            &uri,
            json!({"name": "Les Amis du Quartier", "rna": "w332 004 518", "siret": "732 829 320 00074"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["rna"], "W332004518");
    assert_eq!(created["siret"], "73282932000074");
}

// --- pages --------------------------------------------------------------------------------

#[actix_web::test]
async fn hostile_text_is_escaped_in_pages() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let hostile = "<script>alert(1)</script>";
    let cohort = app.create_cohort(&dla, hostile).await;

    for uri in ["/cohortes".to_string(), format!("/cohortes/{cohort}")] {
        let res = app.get(&uri).await.expect(200);
        assert_french_page(&res);
        let html = res.text();
        assert!(!html.contains(hostile), "{uri} shows the name raw:\n{html}");
        assert!(!html.contains("<script>alert"), "{uri}:\n{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)"),
            "{uri} shows the name, escaped:\n{html}"
        );
    }
}

#[actix_web::test]
async fn the_cohort_form_shows_typed_values_and_french_errors_beside_their_fields() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let res = app
        .post_form(
            "/cohortes",
            &[
                ("name", ""),
                ("dla_id", dla.as_str()),
                ("territory", "Gironde <Nord> & Médoc"),
                ("approach", "territoriale"),
                ("thematic", "Hybridation des ressources"),
                ("start_date", "2027-02-30"),
                ("association_cap", "8"),
                ("status", "brouillon"),
                ("consultant_id", ""),
                ("version", ""),
            ],
        )
        .await
        .expect(422);
    assert_french_page(&res);
    let html = res.text();

    assert!(
        common::around_field(&html, "name").contains("Ce champ est obligatoire."),
        "the name's error is beside it:\n{html}"
    );
    let date_field = common::around_field(&html, "start_date");
    assert!(date_field.contains("value=\"2027-02-30\""), "{date_field}");
    assert!(
        date_field.contains("Date invalide"),
        "the date's error is beside it:\n{date_field}"
    );
    assert!(
        common::around_field(&html, "territory")
            .contains("value=\"Gironde &lt;Nord&gt; &amp; Médoc\""),
        "what was typed is kept, escaped:\n{html}"
    );
    assert!(
        html.contains("value=\"Hybridation des ressources\""),
        "{html}"
    );
    assert!(
        !common::around_field(&html, "territory").contains("class=\"error\""),
        "no error beside a valid field"
    );
    assert!(
        html.contains("2 erreurs"),
        "the summary counts the errors:\n{html}"
    );

    assert_eq!(
        app.get("/api/v1/cohorts").await.expect(200).json(),
        json!([])
    );
}

#[actix_web::test]
async fn security_headers_are_on_pages_api_responses_and_404s() {
    let app = spawn().await;
    let responses = [
        ("page", app.get("/cohortes").await.expect(200)),
        ("api", app.get("/api/v1/cohorts").await.expect(200)),
        ("page 404", app.get("/cohortes/inconnue").await.expect(404)),
        (
            "api 404",
            app.get("/api/v1/cohorts/inconnue").await.expect(404),
        ),
        ("route 404", app.get("/nulle-part").await.expect(404)),
    ];
    for (what, res) in &responses {
        let csp = res
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
}

/// What the log's request span says: the route's pattern, recorded by the access guard
/// (which finds it anyway), never the path with the secret a link carries.
#[actix_web::test]
async fn the_logs_name_a_requests_route_by_its_pattern_never_its_path() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let app = spawn().await;
    let sink = Sink::default();
    let out = sink.0.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .finish();
    let secret = "jeton-secret-0123456789abcdef";
    {
        // The test's runtime runs on this thread: the request's events are caught here.
        let _caught = tracing::subscriber::set_default(subscriber);
        // A sign-in link asked with a method it does not take: the guard logs the 405.
        app.send(TestRequest::delete().uri(&format!("/connexion/lien/{secret}")))
            .await
            .expect(405);
    }
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("http.route=/connexion/lien/{token}"),
        "the route's pattern on the request's span:\n{text}"
    );
    assert!(text.contains("method not allowed"), "{text}");
    assert!(
        !text.contains(secret),
        "the path's secret in the logs:\n{text}"
    );
}

#[actix_web::test]
async fn the_openapi_document_is_served_and_describes_programme_generation() {
    let app = spawn().await;
    let res = app.get("/api/v1/openapi.json").await.expect(200);
    assert!(res.content_type().starts_with("application/json"));
    let doc = res.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let programme = &doc["paths"]["/api/v1/cohorts/{id}/programme"];
    assert!(programme["post"].is_object(), "{}", doc["paths"]);
    assert!(doc["paths"]["/api/v1/sessions/{id}/move"]["post"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[actix_web::test]
async fn the_demo_has_eight_associations_a_past_and_a_future_and_some_returns() {
    let app = spawn().await;
    let today = cohorte::models::programme::today(chrono::Utc::now());
    let id = {
        let mut conn = app.pool.get().unwrap();
        common::write(&mut conn, |tx| {
            cohorte::demo::load(
                tx,
                &app.config.programme,
                app.config.calendar.alsace_moselle,
                today,
                &cohorte::models::outbox::MailContext::new(
                    &app.config,
                    std::sync::Arc::new(cohorte::templates::build("").unwrap()),
                ),
            )
        })
        .expect("the demo loads on an empty database")
    };

    // Its consultant·e's record belongs to the cohort's DLA and its partner, whose
    // chargé·es de mission see it in their directory.
    let cohort = app
        .get(&format!("/api/v1/cohorts/{id}"))
        .await
        .expect(200)
        .json();
    let mut dlas = vec![cohort["dla_id"].clone()];
    dlas.extend(
        cohort["partner_dla_ids"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    dlas.sort_by_key(|d| d.as_str().unwrap().to_string());
    let records = app.get("/api/v1/consultants").await.expect(200).json();
    assert_eq!(records[0]["id"], cohort["consultant_id"]);
    assert_eq!(records[0]["dla_ids"], json!(dlas));

    // Its outbox shows every fate an email can have.
    let outbox = app.outbox(&id).await;
    let statuses: std::collections::BTreeSet<&str> = outbox
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [
            "cancelled",
            "draft",
            "failed",
            "missed",
            "scheduled",
            "sent"
        ]
    );
    let page = app
        .get(&format!("/cohortes/{id}/envois"))
        .await
        .expect(200)
        .text();
    for label in [
        "à valider",
        "programmé",
        "envoyé",
        "échec",
        "manqué",
        "annulé",
    ] {
        assert!(page.contains(label), "{label} missing on the outbox page");
    }

    let associations = app
        .get(&format!("/api/v1/cohorts/{id}/associations"))
        .await
        .expect(200)
        .json();
    assert_eq!(associations.as_array().unwrap().len(), 8);

    let sessions = app
        .get(&format!("/api/v1/cohorts/{id}/sessions"))
        .await
        .expect(200)
        .json();
    let now = Utc::now();
    let starts: Vec<DateTime<Utc>> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| utc(&s["starts_at"]))
        .collect();
    assert!(starts.iter().any(|s| *s < now), "some sessions are past");
    assert!(starts.iter().any(|s| *s > now), "some sessions are ahead");

    let tasks = app
        .get(&format!("/api/v1/cohorts/{id}/tasks"))
        .await
        .expect(200)
        .json();
    let returned = tasks["returns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "rendu")
        .count();
    assert!(returned > 0, "some homework has been returned");

    let res = app.get(&format!("/cohortes/{id}")).await.expect(200);
    assert_french_page(&res);
    assert!(res.text().contains("Modèles socio-économiques — Gironde"));
}

#[actix_web::test]
async fn a_malformed_programme_request_body_is_a_400_and_generates_nothing() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let uri = format!("/api/v1/cohorts/{cohort}/programme");
    let res = app
        .send(
            TestRequest::post()
                .uri(&uri)
                .insert_header(("content-type", "application/json"))
                .set_payload(r#"{"replace": tru"#),
        )
        .await
        .expect(400);
    res.api_error("invalid_json");
    let sessions = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200);
    assert_eq!(sessions.json().as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn the_cohort_programme_template_can_be_adjusted_and_drives_generation() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let uri = format!("/api/v1/cohorts/{cohort}/programme-template");
    let mut template = app.get(&uri).await.expect(200).json();
    assert_eq!(template["etat_des_lieux"]["offset_days"], 35);

    // An impossible template is refused field by field and changes nothing.
    template["bilan"]["slots"] = serde_json::json!([]);
    let refused = app.put_json(&uri, template.clone()).await.expect(422);
    let error = refused.api_error("validation_failed");
    assert!(error["fields"]["bilan.slots"].is_string(), "{error}");

    // A shorter gap before the état des lieux moves it in the generated programme.
    template["bilan"]["slots"] = serde_json::json!(["10:00"]);
    template["etat_des_lieux"]["offset_days"] = serde_json::json!(28);
    app.put_json(&uri, template).await.expect(200);
    let generated = app.generate(&cohort).await;
    let sessions = generated["sessions"].as_array().unwrap();
    let starts = |kind: &str| -> String {
        sessions.iter().find(|s| s["kind"] == kind).unwrap()["starts_at"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // 2027-01-11 + 28 days = Monday 8 February 2027, 09:30 in Paris = 08:30 UTC.
    assert_eq!(starts("etat_des_lieux"), "2027-02-08T08:30:00Z");
    // Bilans use the single 10:00 slot: one per working day.
    let bilans: Vec<&str> = sessions
        .iter()
        .filter(|s| s["kind"] == "bilan_individuel")
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    assert_eq!(bilans.len(), 2);
    // In May, Paris is on summer time: 10:00 is 08:00 UTC.
    assert!(
        bilans.iter().all(|b| b.ends_with("T08:00:00Z")),
        "{bilans:?}"
    );
    assert_ne!(bilans[0][..10], bilans[1][..10]);

    // Back to the defaults.
    let reset = app.send(TestRequest::delete().uri(&uri)).await.expect(200);
    assert_eq!(reset.json()["etat_des_lieux"]["offset_days"], 35);
}

#[actix_web::test]
async fn select_lists_show_each_option_by_its_own_label() {
    let app = spawn().await;
    app.create_dla().await;
    let page = app.get("/cohortes/nouvelle").await.expect(200).text();
    // Each choice is readable: the option text is the choice, not the field's label.
    assert!(
        page.contains(r#"<option value="territoriale" selected>Approche territoriale</option>"#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="reseau">Approche par réseau</option>"#));
    assert!(page.contains(r#"<option value="brouillon" selected>Brouillon</option>"#));
    assert!(page.contains(">— À désigner —</option>"));
}

#[actix_web::test]
async fn marking_homework_returned_redirects_to_the_task_with_the_notice_before_the_anchor() {
    let app = spawn().await;
    let (cohort, ids) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let task = generated["tasks"][0]["id"].as_str().unwrap().to_string();
    let back = format!("/cohortes/{cohort}#tache-{task}");
    let res = app
        .post_form(
            &format!("/taches/{task}/associations/{}", ids[0]),
            &[("status", "rendu"), ("back", &back)],
        )
        .await
        .expect(303);
    assert_eq!(
        res.header("location").unwrap(),
        format!("/cohortes/{cohort}?notice=retour_enregistre#tache-{task}")
    );
    let tasks = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .json();
    let returns = tasks["returns"].as_array().unwrap();
    assert_eq!(returns.len(), 1);
    assert_eq!(returns[0]["status"], "rendu");
    assert_eq!(returns[0]["association_id"], ids[0].as_str());
}

#[actix_web::test]
async fn a_stale_edit_is_refused_and_the_form_keeps_what_was_typed() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte partagée").await;
    let fields = |name: &'static str| {
        vec![
            ("name", name),
            ("dla_id", dla.as_str()),
            ("territory", "Gironde"),
            ("approach", "territoriale"),
            ("start_date", "2027-01-11"),
            ("status", "brouillon"),
            ("association_cap", "8"),
            ("version", "1"),
        ]
    };
    // Two people opened the form at version 1; the first one saves.
    app.post_form(
        &format!("/cohortes/{cohort}/modifier"),
        &fields("Premier titre"),
    )
    .await
    .expect(303);
    // The second one is told, and keeps what they typed.
    let page = app
        .post_form(
            &format!("/cohortes/{cohort}/modifier"),
            &fields("Second titre"),
        )
        .await
        .expect(409)
        .text();
    assert!(
        page.contains("modifiée par quelqu&#x27;un d&#x27;autre"),
        "{page}"
    );
    assert!(page.contains(r#"value="Second titre""#));
    let stored = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    assert_eq!(stored["name"], "Premier titre");
}

// --- outbox page ----------------------------------------------------------------------------

/// Queues an e-mail of `cohort` to `to` directly in the outbox; returns its id.
fn queue_email(app: &TestApp, cohort: &str, item: &str, to: &str, draft: bool) -> String {
    use cohorte::models::outbox::{self, NewEmail};
    let email = NewEmail {
        cohort_id: Some(cohort.to_string()),
        kind: "convocation".into(),
        item_id: item.into(),
        revision: 0,
        recipient_email: to.into(),
        recipient_name: "Nadia Benali".into(),
        participant_id: None,
        subject: "Convocation : État des lieux".into(),
        body_text: "Bonjour Nadia,\nÀ lundi.\n".into(),
        body_html: "<p>Bonjour <script>alert(1)</script></p>".into(),
        ics: None,
        ics_method: None,
        send_after: chrono::TimeZone::with_ymd_and_hms(&Utc, 2027, 1, 4, 8, 0, 0).unwrap(),
        not_after: None,
        draft,
    };
    common::write(&mut app.pool.get().unwrap(), |tx| {
        outbox::enqueue(tx, email)
    })
    .unwrap()
    .expect("queued")
    .id
}

fn mark_failed(app: &TestApp, id: &str) {
    use cohorte::db::schema::outbox_emails;
    use diesel::prelude::*;
    diesel::update(outbox_emails::table.find(id))
        .set((
            outbox_emails::status.eq("failed"),
            outbox_emails::attempts.eq(1),
            outbox_emails::last_error.eq(Some("550 adresse inconnue")),
        ))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
}

fn outbox_status(app: &TestApp, id: &str) -> String {
    cohorte::models::outbox::get(&mut app.pool.get().unwrap(), id)
        .unwrap()
        .status
}

#[actix_web::test]
async fn the_outbox_page_lists_each_email_with_its_french_status() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let draft = queue_email(&app, &cohort, "s1", "nadia@jardins.fr", true);
    queue_email(&app, &cohort, "s2", "nadia@jardins.fr", false);

    let res = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200);
    assert_french_page(&res);
    let html = res.text();
    assert!(html.contains("Envois de la cohorte"), "{html}");
    assert!(html.contains("Convocation : État des lieux"), "{html}");
    assert!(html.contains("nadia@jardins.fr"), "{html}");
    assert!(html.contains(">à valider</span>"), "{html}");
    assert!(html.contains(">programmé</span>"), "{html}");
    assert!(html.contains("lundi 4 janvier 2027"), "{html}");
    assert!(html.contains(&format!("/envois/{draft}/valider")), "{html}");
    assert!(html.contains("Valider l'envoi") || html.contains("Valider l&#x27;envoi"));

    // The cohort page links to it.
    let show = app
        .get(&format!("/cohortes/{cohort}"))
        .await
        .expect(200)
        .text();
    assert!(
        show.contains(&format!("/cohortes/{cohort}/envois")),
        "{show}"
    );

    // The preview shows the text and escapes the HTML.
    let preview = app.get(&format!("/envois/{draft}")).await.expect(200);
    assert_french_page(&preview);
    let preview = preview.text();
    assert!(preview.contains("Bonjour Nadia,"), "{preview}");
    assert!(!preview.contains("<script>alert(1)"), "{preview}");
    assert!(preview.contains("&lt;script&gt;"), "{preview}");

    // Validating the draft schedules it and says so.
    let res = app
        .post_form(&format!("/envois/{draft}/valider"), &[])
        .await
        .expect(303);
    let location = res.header("location").unwrap().to_string();
    assert!(location.starts_with(&format!(
        "/cohortes/{cohort}/envois?notice=envoi_valide#envoi-"
    )));
    assert_eq!(outbox_status(&app, &draft), "scheduled");
    let page = app.get(&location).await.expect(200).text();
    assert!(
        page.contains("L&#x27;e-mail a été validé") || page.contains("L'e-mail a été validé"),
        "{page}"
    );
}

#[actix_web::test]
async fn validating_all_releases_the_drafts_shown_but_not_those_held_back_or_newer() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let (other, _) = app.cohort_with(1).await;
    let first = queue_email(&app, &cohort, "s1", "nadia@jardins.fr", true);
    let second = queue_email(&app, &cohort, "s2", "paul@jardins.fr", true);
    let held = queue_email(&app, &cohort, "s3", "nadia@jardins.fr", false);
    let elsewhere = queue_email(&app, &other, "s1", "ines@lac.fr", true);
    // The team holds one back: « Valider tout » must not send it.
    app.post_form(&format!("/envois/{held}/retenir"), &[])
        .await
        .expect(303);
    assert_eq!(outbox_status(&app, &held), "draft");

    let html = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text()
        .replace("&#x27;", "'");
    assert!(
        html.contains("2 e-mails attendent votre validation"),
        "{html}"
    );
    assert!(html.contains("Valider les 2 e-mails à valider"), "{html}");
    assert!(html.contains("Les e-mails que vous avez retenus (1) restent en attente"));
    assert!(html.contains(&format!("action=\"/cohortes/{cohort}/envois/valider\"")));
    let shown_at = html
        .split("name=\"shown_at\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page's time")
        .to_string();
    // A draft planned after the page was shown: nobody has read it yet.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let newer = queue_email(&app, &cohort, "s4", "lea@jardins.fr", true);

    // Without the page's time, nothing happens.
    app.post_form(&format!("/cohortes/{cohort}/envois/valider"), &[])
        .await
        .expect(400);
    assert_eq!(outbox_status(&app, &first), "draft");

    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/envois/valider"),
            &[("shown_at", &shown_at)],
        )
        .await
        .expect(303);
    assert_eq!(
        res.header("location"),
        Some(format!("/cohortes/{cohort}/envois?notice=envois_valides").as_str())
    );
    assert_eq!(outbox_status(&app, &first), "scheduled");
    assert_eq!(outbox_status(&app, &second), "scheduled");
    assert_eq!(
        outbox_status(&app, &held),
        "draft",
        "held back: still waiting"
    );
    assert_eq!(
        outbox_status(&app, &newer),
        "draft",
        "not shown: still waiting"
    );
    assert_eq!(
        outbox_status(&app, &elsewhere),
        "draft",
        "another cohort's draft waits"
    );

    // Its own « Valider l'envoi » releases the held one.
    app.post_form(&format!("/envois/{held}/valider"), &[])
        .await
        .expect(303);
    assert_eq!(outbox_status(&app, &held), "scheduled");
}

#[actix_web::test]
async fn the_outbox_lists_what_leaves_soonest_first_then_what_has_left() {
    use cohorte::db::schema::outbox_emails;
    use diesel::prelude::*;
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let later = queue_email(&app, &cohort, "later", "later@jardins.fr", false);
    let sooner = queue_email(&app, &cohort, "sooner", "sooner@jardins.fr", true);
    let sent = queue_email(&app, &cohort, "sent", "sent@jardins.fr", false);
    let at = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2027, 1, d)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
    };
    let mut conn = app.pool.get().unwrap();
    for (id, day) in [(&later, 20), (&sooner, 6)] {
        diesel::update(outbox_emails::table.find(id))
            .set(outbox_emails::send_after.eq(at(day)))
            .execute(&mut conn)
            .unwrap();
    }
    diesel::update(outbox_emails::table.find(&sent))
        .set((
            outbox_emails::status.eq("sent"),
            outbox_emails::sent_at.eq(Some(at(2))),
        ))
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    let html = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    let pos = |id: &str| {
        html.find(&format!("id=\"envoi-{id}\""))
            .unwrap_or_else(|| panic!("row {id}"))
    };
    assert!(pos(&sooner) < pos(&later), "the soonest to leave first");
    assert!(pos(&later) < pos(&sent), "then what has left");
}

#[actix_web::test]
async fn an_empty_outbox_says_what_will_appear_there() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let html = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    assert!(
        html.contains("Aucun e-mail pour l&#x27;instant")
            || html.contains("Aucun e-mail pour l'instant"),
        "{html}"
    );
    assert!(!html.contains("<table"), "{html}");
}

#[actix_web::test]
async fn cancelling_a_scheduled_email_through_the_form_cancels_it() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let id = queue_email(&app, &cohort, "s1", "nadia@jardins.fr", false);
    let res = app
        .post_form(&format!("/envois/{id}/annuler"), &[])
        .await
        .expect(303);
    assert!(
        res.header("location")
            .unwrap()
            .contains("notice=envoi_annule")
    );
    assert_eq!(outbox_status(&app, &id), "cancelled");
    let html = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    assert!(html.contains(">annulé</span>"), "{html}");
    // A cancelled email cannot be cancelled again: a French refusal, not a 500.
    app.post_form(&format!("/envois/{id}/annuler"), &[])
        .await
        .expect(409);
}

#[actix_web::test]
async fn resending_with_an_invalid_address_is_refused_beside_the_field_and_keeps_it() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let id = queue_email(&app, &cohort, "s1", "nadia@jardins", false);
    mark_failed(&app, &id);

    let res = app
        .post_form(
            &format!("/envois/{id}/renvoyer"),
            &[("recipient_email", "nadia.jardins.fr")],
        )
        .await
        .expect(422);
    assert_french_page(&res);
    let html = res.text();
    assert!(html.contains("Adresse e-mail invalide"), "{html}");
    assert!(html.contains("value=\"nadia.jardins.fr\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert_eq!(outbox_status(&app, &id), "failed");

    // Corrected: scheduled again with the new address.
    app.post_form(
        &format!("/envois/{id}/renvoyer"),
        &[("recipient_email", "nadia@jardins.fr")],
    )
    .await
    .expect(303);
    assert_eq!(outbox_status(&app, &id), "scheduled");
}

#[actix_web::test]
async fn a_failed_email_says_what_happened_in_french_with_the_raw_error_in_a_detail() {
    use cohorte::db::schema::outbox_emails;
    use diesel::prelude::*;
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let id = queue_email(&app, &cohort, "s1", "nadia@jardins.fr", false);
    // As the dispatcher records a 550 at RCPT (tests/outbox.rs checks that it does).
    let raw = "RCPT TO : permanent error (550): 5.1.1 <nadia@jardins.fr>: Mailbox unavailable";
    diesel::update(outbox_emails::table.find(&id))
        .set((
            outbox_emails::status.eq("failed"),
            outbox_emails::attempts.eq(1),
            outbox_emails::last_error.eq(Some(
                "Adresse refusée par le serveur du destinataire (550).",
            )),
            outbox_emails::last_error_detail.eq(Some(raw)),
        ))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();

    let html = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    let row = &html[html.find(&format!("id=\"envoi-{id}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("Adresse refusée par le serveur du destinataire (550)."),
        "{row}"
    );
    // The raw error is there for whoever investigates, folded, and escaped.
    let details = &row[row.find("<details").expect("a <details> element")..];
    assert!(
        details.contains("<summary>Détail technique</summary>"),
        "{row}"
    );
    assert!(
        details.contains("&lt;nadia@jardins.fr&gt;: Mailbox unavailable"),
        "{row}"
    );
    assert!(!row.contains("<nadia@jardins.fr>"), "{row}");

    // The API gives both, and never the dispatcher's claim token.
    let list = app
        .get(&format!("/api/v1/cohorts/{cohort}/outbox"))
        .await
        .expect(200)
        .json();
    let item = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        item["last_error"],
        "Adresse refusée par le serveur du destinataire (550)."
    );
    assert_eq!(item["last_error_detail"], raw);
    assert_eq!(item["unconfirmed"], 0);
    assert!(item.get("claim_token").is_none(), "{item}");
    let one = app
        .get(&format!("/api/v1/cohorts/{cohort}/outbox/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(one["last_error_detail"], raw);
}

#[actix_web::test]
async fn the_owning_dla_is_not_offered_as_its_own_partner() {
    let app = spawn().await;
    let owner = app.create_dla().await;
    let other = app
        .post_json(
            "/api/v1/dlas",
            json!({"name": "DLA régional", "area": "Nouvelle-Aquitaine"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cohort = app.create_cohort(&owner, "Cohorte partenaires").await;
    let page = app
        .get(&format!("/cohortes/{cohort}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(page.contains(&format!(r#"id="p-{other}""#)));
    assert!(!page.contains(&format!(r#"id="p-{owner}""#)));
}

/// The template form as the page shows it, with `changes` made, as a browser sends it.
async fn template_form(
    app: &TestApp,
    cohort: &str,
    changes: &[(&str, &str)],
) -> Vec<(String, String)> {
    let uri = format!("/cohortes/{cohort}/modele");
    let page = app.get(&uri).await.expect(200).text();
    let mut form = common::form_of(&page, &uri);
    for (name, value) in changes {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => form.push((name.to_string(), value.to_string())),
        }
    }
    form
}

async fn post_template(app: &TestApp, cohort: &str, form: &[(String, String)]) -> Response {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form(&format!("/cohortes/{cohort}/modele"), &form)
        .await
}

#[actix_web::test]
async fn the_template_page_sets_the_consultant_time_around_the_sessions_and_the_method_lengths() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte modèle").await;
    let form = template_form(
        &app,
        &cohort,
        &[
            ("consultant_time.coordination_minutes", "7 h"),
            ("consultant_time.travel_minutes_per_collective_session", "0"),
            ("half_day_minutes", "3 h 30"),
        ],
    )
    .await;
    post_template(&app, &cohort, &form).await.expect(303);
    let saved = app
        .get(&format!("/api/v1/cohorts/{cohort}/programme-template"))
        .await
        .expect(200)
        .json();
    assert_eq!(saved["consultant_time"]["coordination_minutes"], 420);
    assert_eq!(
        saved["consultant_time"]["travel_minutes_per_collective_session"],
        0
    );
    assert_eq!(saved["half_day_minutes"], 210);
    // Unreadable: refused beside that field, what was typed kept.
    let form = template_form(
        &app,
        &cohort,
        &[(
            "consultant_time.support_minutes_per_association",
            "beaucoup",
        )],
    )
    .await;
    let res = post_template(&app, &cohort, &form).await.expect(422);
    let html = res.text();
    let around = common::around_field(&html, "consultant_time.support_minutes_per_association");
    assert!(around.contains("Durée illisible"), "{around}");
    assert!(around.contains("beaucoup"));
}

#[actix_web::test]
async fn the_template_form_refuses_bilan_slots_out_of_order_beside_the_field() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte modèle").await;
    // Out of order: the engine's own rule, checked when the template is saved.
    let form = template_form(&app, &cohort, &[("bilan.slots", "14:00, 09:30")]).await;
    let page = post_template(&app, &cohort, &form).await.expect(422).text();
    assert!(page.contains(r#"id="f-bilan.slots-error""#), "{page}");
    assert!(
        page.contains(r#"value="14:00, 09:30""#),
        "what was typed is kept"
    );
    // Nothing saved: the cohort still uses the default template.
    let template = app
        .get(&format!("/api/v1/cohorts/{cohort}/programme-template"))
        .await
        .expect(200)
        .json();
    assert_eq!(template["bilan"]["slots"], json!(["09:30", "14:00"]));
}

#[actix_web::test]
async fn saving_the_template_page_unchanged_saves_the_same_template() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte modèle").await;
    let uri = format!("/api/v1/cohorts/{cohort}/programme-template");
    let before = app.get(&uri).await.expect(200).json();
    let form = template_form(&app, &cohort, &[]).await;
    // Every field the engine checks is on the page, the introductive session's offset
    // excepted: it takes place on the start date.
    assert!(!form.iter().any(|(k, _)| k == "introductive.offset_days"));
    let res = post_template(&app, &cohort, &form).await.expect(303);
    assert!(
        res.header("location")
            .unwrap()
            .contains("modele_enregistre")
    );
    let mut after = app.get(&uri).await.expect(200).json();
    assert_eq!(
        after["version"],
        json!(before["version"].as_i64().unwrap() + 1)
    );
    after["version"] = before["version"].clone();
    assert_eq!(after, before, "nothing changed but the version");
}

#[actix_web::test]
async fn the_template_page_saves_durations_agendas_and_homework_and_adds_or_removes_a_task() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte modèle").await;
    let form = template_form(
        &app,
        &cohort,
        &[
            ("introductive.duration_minutes", "1 h 30"),
            ("etat_des_lieux.duration_minutes", "360"),
            ("introductive.agenda", "Accueil\r\nLes trois piliers"),
            ("bilan.agenda", "Votre vision révisée"),
            ("tasks[0].title", "Portrait de la structure"),
            ("tasks[0].instructions", "Missions\r\nRessources"),
            ("tasks[0].days_before", "10"),
            ("tasks[0].preparation_days", "1,5"),
            ("tasks[1].remove", "on"),
            // The empty row at the end adds a task.
            ("tasks[3].title", "Relecture par le bureau"),
            ("tasks[3].instructions", "Faites relire la vision révisée."),
            ("tasks[3].prepares", "bilan_individuel"),
            ("tasks[3].days_before", "3"),
            ("tasks[3].preparation_days", "0,5"),
        ],
    )
    .await;
    post_template(&app, &cohort, &form).await.expect(303);
    let t = app
        .get(&format!("/api/v1/cohorts/{cohort}/programme-template"))
        .await
        .expect(200)
        .json();
    assert_eq!(t["introductive"]["duration_minutes"], json!(90));
    assert_eq!(t["etat_des_lieux"]["duration_minutes"], json!(360));
    assert_eq!(
        t["introductive"]["agenda"],
        json!("Accueil\nLes trois piliers")
    );
    assert_eq!(t["bilan"]["agenda"], json!("Votre vision révisée"));
    let titles: Vec<&str> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Portrait de la structure",
            "Vision révisée et pistes d'actions",
            "Relecture par le bureau"
        ]
    );
    assert_eq!(t["tasks"][0]["instructions"], json!("Missions\nRessources"));
    assert_eq!(t["tasks"][0]["days_before"], json!(10));
    assert_eq!(t["tasks"][0]["preparation_half_days"], json!(3));
    assert_eq!(t["tasks"][2]["prepares"], json!("bilan_individuel"));
    assert_eq!(t["tasks"][2]["preparation_half_days"], json!(1));
    // The page shows the durations back the way people type them: « 1 h 30 ».
    let page = app
        .get(&format!("/cohortes/{cohort}/modele"))
        .await
        .expect(200)
        .text();
    assert!(
        common::around_field(&page, "introductive.duration_minutes")
            .contains("value=\"1\u{a0}h\u{a0}30\""),
        "{page}"
    );
}

#[actix_web::test]
async fn a_bad_time_in_the_template_form_is_refused_beside_that_field_keeping_what_was_typed() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte modèle").await;
    let form = template_form(
        &app,
        &cohort,
        &[
            ("evolution.start_time", "25h00"),
            ("evolution.agenda", "Effet miroir\r\nPistes"),
            ("tasks[2].title", ""),
            ("tasks[2].instructions", "Sans titre"),
        ],
    )
    .await;
    let page = post_template(&app, &cohort, &form).await.expect(422).text();
    let time = common::around_field(&page, "evolution.start_time");
    assert!(time.contains(r#"value="25h00""#), "{time}");
    assert!(time.contains("Heure invalide"), "{time}");
    assert!(
        page.contains("Effet miroir\r\nPistes") || page.contains("Effet miroir\nPistes"),
        "the agenda typed is kept"
    );
    // The engine's refusal lands on the task row it concerns.
    assert!(
        common::around_field(&page, "tasks[2].title")
            .contains("Le titre de la tâche est obligatoire."),
        "{page}"
    );
    assert!(page.contains(">Sans titre</textarea>"));
    let t = app
        .get(&format!("/api/v1/cohorts/{cohort}/programme-template"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        t["evolution"]["start_time"],
        json!("09:30"),
        "nothing saved"
    );
}

#[actix_web::test]
async fn a_template_form_sent_from_an_older_page_is_refused_with_409_keeping_what_was_typed() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte modèle").await;
    let form = template_form(&app, &cohort, &[("introductive.duration_minutes", "2 h")]).await;
    // Someone else saves the template meanwhile.
    let uri = format!("/api/v1/cohorts/{cohort}/programme-template");
    let version = app.get(&uri).await.expect(200).json()["version"].clone();
    app.put_json(&uri, json!({"version": version, "min_months": 3}))
        .await
        .expect(200);
    let page = post_template(&app, &cohort, &form).await.expect(409).text();
    assert!(
        common::around_field(&page, "introductive.duration_minutes").contains(r#"value="2 h""#),
        "{page}"
    );
    let t = app.get(&uri).await.expect(200).json();
    assert_eq!(t["introductive"]["duration_minutes"], json!(180));
    assert_eq!(t["min_months"], json!(3));
}

/// The cohorts list pages in SQL (50 a page, the most recent start first) with its filters
/// in the address, kept by the pager; the API pages the same list with `limit`/`offset`
/// and says the total in `X-Total-Count`.
#[actix_web::test]
async fn the_cohorts_list_pages_and_filters_on_the_page_and_in_the_api() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let other = app
        .post_json(
            "/api/v1/dlas",
            json!({"name": "DLA de la Dordogne", "area": "Dordogne (24)"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..52 {
        let (owner, year) = if i % 2 == 0 {
            (&dla, 2027)
        } else {
            (&other, 2026)
        };
        app.post_json(
            "/api/v1/cohorts",
            json!({
                "dla_id": owner, "name": format!("Cohorte {i:02}_x%"),
                "territory": "Gironde", "approach": "territoriale",
                "start_date": format!("{year}-03-{:02}", 1 + i % 28),
                "status": if i % 4 == 0 { "en_cours" } else { "brouillon" },
            }),
        )
        .await
        .expect(201);
    }
    let rows = |html: &str| html.matches("<th scope=\"row\">").count();

    let first = app.get("/cohortes").await.expect(200).text();
    assert_eq!(rows(&first), 50);
    assert!(first.contains("Page 1 sur 2 (52 cohortes)"), "{first}");
    let links = |html: &str| html.replace("&#x3D;", "=").replace("&amp;", "&");
    assert!(
        links(&first).contains("href=\"/cohortes?page=2\""),
        "{first}"
    );
    let second = app.get("/cohortes?page=2").await.expect(200).text();
    assert_eq!(rows(&second), 2);
    // The most recent start first: the 2026 cohorts end the list.
    assert!(second.contains("mars 2026"), "{second}");

    // Filters: a piece of the name (`%` and `_` are letters there), the status, the year,
    // the owner; the pager keeps them.
    let found = app
        .get("/cohortes?recherche=7_x%25&statut=brouillon")
        .await
        .expect(200)
        .text();
    assert_eq!(rows(&found), 5, "07, 17, 27, 37 and 47:\n{found}");
    assert!(found.contains("Cohorte 07_x%"));
    for literal in ["e_0", "e%250"] {
        let html = app
            .get(&format!("/cohortes?recherche={literal}"))
            .await
            .expect(200)
            .text();
        assert_eq!(rows(&html), 0, "{literal} is no pattern");
    }
    let named = app
        .get("/cohortes?recherche=Cohorte")
        .await
        .expect(200)
        .text();
    assert!(
        links(&named).contains("href=\"/cohortes?recherche=Cohorte&page=2\""),
        "the pager keeps the filter:\n{named}"
    );
    let mine = app
        .get(&format!("/cohortes?dla={dla}&annee=2027"))
        .await
        .expect(200)
        .text();
    assert_eq!(rows(&mine), 26);
    // A year that is not one: kept in the field, said beside it, not applied.
    let bad_year = app
        .get("/cohortes?annee=deux-mille")
        .await
        .expect(200)
        .text();
    let field = common::around_field(&bad_year, "annee");
    assert!(field.contains("value=\"deux-mille\""), "{field}");
    assert!(field.contains("Indiquez une année"), "{field}");
    let running = app
        .get("/cohortes?statut=en_cours&annee=2027")
        .await
        .expect(200)
        .text();
    assert_eq!(rows(&running), 13);
    let none = app
        .get("/cohortes?recherche=introuvable")
        .await
        .expect(200)
        .text();
    assert!(
        none.contains("Aucune cohorte ne correspond à ces critères."),
        "{none}"
    );
    assert!(
        none.contains("value=\"introuvable\""),
        "the filter typed is kept"
    );

    // The API: the first 100 by default, then `limit` and `offset`, the total in a header.
    let all = app.get("/api/v1/cohorts").await.expect(200);
    assert_eq!(all.header("x-total-count"), Some("52"));
    assert_eq!(all.json().as_array().unwrap().len(), 52);
    let page = app
        .get("/api/v1/cohorts?limit=10&offset=50")
        .await
        .expect(200);
    assert_eq!(page.json().as_array().unwrap().len(), 2);
    let filtered = app
        .get(&format!(
            "/api/v1/cohorts?dla_id={other}&year=2026&status=brouillon"
        ))
        .await
        .expect(200);
    assert_eq!(filtered.header("x-total-count"), Some("26"));
    app.get("/api/v1/cohorts?status=fini")
        .await
        .expect(400)
        .api_error("invalid_status");
}

/// The DLA page pages in SQL (50 a page, by name) with the person's scope in the query: a
/// chargé·e de mission sees their DLA only. A refused « Ajouter un DLA » shows the first
/// page again with what was typed.
#[actix_web::test]
async fn the_dla_page_shows_fifty_dlas_a_page_and_an_officer_only_theirs() {
    let app = spawn().await;
    let mut ids = Vec::new();
    for i in 0..52 {
        let id = app
            .post_json(
                "/api/v1/dlas",
                json!({"name": format!("DLA n° {i:02}"), "area": format!("Zone {i:02}")}),
            )
            .await
            .expect(201)
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        ids.push(id);
    }
    // The ids a page links to (`/dla/{id}`, once a row: the name).
    let listed = |html: &str| -> Vec<String> {
        html.split("<th scope=\"row\"><a href=\"/dla/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_string())
            .collect()
    };
    let links = |html: &str| html.replace("&#x3D;", "=");

    let first = app.get("/dla").await.expect(200).text();
    let on_first = listed(&first);
    assert_eq!(on_first.len(), 50, "{first}");
    assert_eq!(on_first[..], ids[..50], "by name");
    assert!(first.contains("Page 1 sur 2 (52 DLA)"), "{first}");
    assert!(links(&first).contains("href=\"/dla?page=2\""), "{first}");
    let second = app.get("/dla?page=2").await.expect(200).text();
    assert_eq!(listed(&second), ids[50..], "the rest, none twice");
    assert!(links(&second).contains("href=\"/dla?page=1\""), "{second}");
    assert!(
        second.contains("id=\"new-dla\""),
        "the form is on every page"
    );

    // A chargé·e de mission of DLA n° 51: that one only, on one page.
    let cookie = {
        let mut conn = app.pool.get().unwrap();
        let user = common::write(&mut conn, |tx| {
            cohorte::models::account::create(
                tx,
                cohorte::models::account::NewUser {
                    email: "julie@dla51.fr",
                    name: "Julie Martin",
                    role: "officer",
                    dla_id: Some(&ids[51]),
                    consultant_id: None,
                    password: None,
                },
            )
        })
        .unwrap();
        common::write(&mut conn, |tx| {
            cohorte::models::account::start_session(
                tx,
                &cohorte::models::account::Principal::User(user.id),
                cohorte::models::account::Lifetimes::from_config(&app.config.auth),
                Utc::now().naive_utc(),
            )
        })
        .unwrap()
    };
    let theirs = app
        .send_raw(
            TestRequest::get()
                .uri("/dla")
                .insert_header(("cookie", format!("cohorte_session={cookie}"))),
        )
        .await
        .expect(200)
        .text();
    assert_eq!(listed(&theirs), ids[51..], "{theirs}");
    assert!(!theirs.contains("DLA n° 00") && !theirs.contains("class=\"pager\""));
    let asked_further = app
        .send_raw(
            TestRequest::get()
                .uri("/dla?page=2")
                .insert_header(("cookie", format!("cohorte_session={cookie}"))),
        )
        .await
        .expect(200)
        .text();
    assert_eq!(listed(&asked_further), ids[51..]);

    // A refusal keeps what was typed, beside the first page of DLAs.
    let refused = app
        .post_form("/dla", &[("name", "DLA du Lot"), ("area", "")])
        .await
        .expect(422)
        .text();
    assert!(common::around_field(&refused, "name").contains("value=\"DLA du Lot\""));
    assert!(
        common::around_field(&refused, "area").contains("Ce champ est obligatoire"),
        "{refused}"
    );
    assert_eq!(listed(&refused), ids[..50]);
    assert!(refused.contains("Page 1 sur 2 (52 DLA)"));
}
