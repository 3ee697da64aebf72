//! Regression tests for the outside probe of issue #16, through HTTP: the API cannot blank
//! a record silently (versions required, absent fields kept, wrong shapes refused with the
//! field named), oversized bodies get 413, other methods 405, a password change ends the
//! API tokens, and the session cookie takes the `__Host-` prefix over HTTPS.

mod common;

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use common::{TestApp, spawn, spawn_with};

/// A cohort with one association and its programme; returns (cohort, first session).
async fn cohort_with_session(app: &TestApp) -> (String, Value) {
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    let sessions = app
        .get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json();
    (cohort, sessions[0].clone())
}

#[actix_web::test]
async fn an_empty_or_array_put_changes_nothing_and_names_what_is_missing() {
    let app = spawn().await;
    let (_, session) = cohort_with_session(&app).await;
    let id = session["id"].as_str().unwrap();
    let uri = format!("/api/v1/sessions/{id}");
    let placed = app
        .put_json(
            &uri,
            json!({"location": "Maison des associations", "agenda": "Tour de table",
                   "video_link": "https://visio.example.org/x", "version": session["version"]}),
        )
        .await
        .expect(200)
        .json();

    // `{}`: the version is required, nothing is blanked.
    let e = app.put_json(&uri, json!({})).await.expect(422);
    let error = e.api_error("validation_failed");
    assert!(
        error["fields"]["version"]
            .as_str()
            .unwrap()
            .contains("version")
    );
    // `[]`: not an object.
    let e = app.put_json(&uri, json!([])).await.expect(422);
    assert!(e.api_error("validation_failed")["fields"]["body"].is_string());
    let stored = app.get(&uri).await.expect(200).json();
    assert_eq!(stored["location"], "Maison des associations");
    assert_eq!(stored["agenda"], "Tour de table");
    assert_eq!(stored["video_link"], "https://visio.example.org/x");
    assert_eq!(stored["version"], placed["version"]);
}

#[actix_web::test]
async fn an_absent_field_keeps_its_value_and_a_stale_version_is_refused() {
    let app = spawn().await;
    let (_, session) = cohort_with_session(&app).await;
    let id = session["id"].as_str().unwrap();
    let uri = format!("/api/v1/sessions/{id}");
    let first = app
        .put_json(
            &uri,
            json!({"location": "Salle A", "agenda": "Ordre du jour", "version": session["version"]}),
        )
        .await
        .expect(200)
        .json();
    // Only the place: the agenda stays.
    let second = app
        .put_json(
            &uri,
            json!({"location": "Salle B", "version": first["version"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(second["location"], "Salle B");
    assert_eq!(second["agenda"], "Ordre du jour");
    // The version read before the second change is stale now.
    let e = app
        .put_json(
            &uri,
            json!({"location": "Salle C", "version": first["version"]}),
        )
        .await
        .expect(409);
    e.api_error("stale_version");
    // A client may send back what it read (with read-only fields) plus its change.
    let mut read = app.get(&uri).await.expect(200).json();
    read["agenda"] = json!("Nouvel ordre du jour");
    let third = app.put_json(&uri, read).await.expect(200).json();
    assert_eq!(third["agenda"], "Nouvel ordre du jour");
    assert_eq!(third["location"], "Salle B");
}

#[actix_web::test]
async fn unknown_fields_and_wrong_types_are_422_with_the_field_named() {
    let app = spawn().await;
    let (cohort, session) = cohort_with_session(&app).await;
    let uri = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    let e = app
        .put_json(
            &uri,
            json!({"lieu": "Salle", "version": session["version"]}),
        )
        .await
        .expect(422);
    assert!(
        e.api_error("validation_failed")["fields"]["lieu"]
            .as_str()
            .unwrap()
            .contains("inconnu")
    );
    let e = app
        .put_json(
            &uri,
            json!({"location": {"a": 1}, "version": session["version"]}),
        )
        .await
        .expect(422);
    assert!(e.api_error("validation_failed")["fields"]["location"].is_string());
    // An array where an object is expected, nested.
    let e = app
        .put_json(
            &format!("/api/v1/cohorts/{cohort}/budget"),
            json!({"contract": []}),
        )
        .await
        .expect(422);
    let fields = &e.api_error("validation_failed")["fields"];
    assert!(fields.get("contract").is_some(), "{fields}");
    // Creations too: an unknown field is refused, not dropped.
    let e = app
        .post_json(
            "/api/v1/dlas",
            json!({"name": "DLA", "area": "Gironde", "zone": "33"}),
        )
        .await
        .expect(422);
    assert!(e.api_error("validation_failed")["fields"]["zone"].is_string());
    // Unreadable JSON stays a 400.
    let e = app
        .send(
            TestRequest::post()
                .uri("/api/v1/dlas")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"name\": "),
        )
        .await
        .expect(400);
    e.api_error("invalid_json");
}

#[actix_web::test]
async fn the_programme_template_and_mail_settings_need_the_version_read() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let uri = format!("/api/v1/cohorts/{cohort}/programme-template");
    let read = app.get(&uri).await.expect(200).json();
    assert!(read["version"].is_i64());
    app.put_json(&uri, json!({"introductive": {"duration_minutes": 90}}))
        .await
        .expect(422)
        .api_error("validation_failed");
    // With the version: only the introductive session's length changes.
    let saved = app
        .put_json(
            &uri,
            json!({"introductive": {"duration_minutes": 90}, "version": read["version"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(saved["introductive"]["duration_minutes"], 90);
    assert_eq!(
        saved["introductive"]["start_time"],
        read["introductive"]["start_time"]
    );
    assert_eq!(saved["etat_des_lieux"], read["etat_des_lieux"]);
    assert_eq!(saved["tasks"], read["tasks"]);
    app.put_json(
        &uri,
        json!({"introductive": {"duration_minutes": 120}, "version": read["version"]}),
    )
    .await
    .expect(409)
    .api_error("stale_version");

    let uri = format!("/api/v1/cohorts/{cohort}/mail-settings");
    app.put_json(&uri, json!({"reminder_hour": "18"}))
        .await
        .expect(422);
    app.put_json(&uri, json!({"reminder_hour": "18", "version": null}))
        .await
        .expect(422);
    let read = app.get(&uri).await.expect(200).json();
    let saved = app
        .put_json(
            &uri,
            json!({"reminder_hour": "18", "version": read["version"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(saved["effective"]["reminder_hour"], 18);
}

#[actix_web::test]
async fn the_template_is_audited_under_the_person_who_changed_it() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let uri = format!("/api/v1/cohorts/{cohort}/programme-template");
    let read = app.get(&uri).await.expect(200).json();
    app.put_json(
        &uri,
        json!({"introductive": {"duration_minutes": 90}, "version": read["version"]}),
    )
    .await
    .expect(200);
    let audit = app
        .get(&format!("/api/v1/cohorts/{cohort}/audit"))
        .await
        .expect(200)
        .json();
    let text = audit.to_string();
    assert!(text.contains("Alice Admin"), "{text}");
}

#[actix_web::test]
async fn an_oversized_body_gets_413_on_the_api_and_on_pages() {
    let app = spawn().await;
    let big = "x".repeat(10 * 1024 * 1024);
    let e = app
        .send(
            TestRequest::post()
                .uri("/api/v1/dlas")
                .insert_header(("content-type", "application/json"))
                .set_payload(format!("{{\"name\": \"{big}\"}}")),
        )
        .await
        .expect(413);
    e.api_error("payload_too_large");
    let res = app
        .send(
            TestRequest::post()
                .uri("/dla")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .insert_header(("origin", "http://127.0.0.1:8080"))
                .set_payload(format!("name={big}")),
        )
        .await
        .expect(413);
    assert!(res.text().contains("trop volumineux"));
}

#[actix_web::test]
async fn other_methods_get_405_with_the_methods_allowed() {
    let app = spawn().await;
    for method in ["HEAD", "OPTIONS", "TRACE", "PATCH"] {
        let m = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app
            .send_raw(
                TestRequest::default()
                    .method(m.clone())
                    .uri("/api/v1/cohorts"),
            )
            .await
            .expect(405);
        let allow = res.header("allow").unwrap_or_default().to_string();
        assert!(
            allow.contains("GET") && allow.contains("POST"),
            "{method}: {allow}"
        );
        if method != "HEAD" {
            res.api_error("method_not_allowed");
        }
        let res = app
            .send_raw(TestRequest::default().method(m).uri("/connexion"))
            .await
            .expect(405);
        assert!(res.header("allow").unwrap_or_default().contains("GET"));
    }
}

#[actix_web::test]
async fn a_password_change_revokes_the_api_tokens() {
    use cohorte::models::account;
    let app = spawn().await;
    // The administrator gets a password, then a token and a session made with it.
    let (token, session) = {
        let mut c = app.pool.get().unwrap();
        common::write(&mut c, |tx| {
            account::set_password(tx, &app.admin_id, "une ancienne phrase de passe")
        })
        .unwrap();
        let (_, token) = common::write(&mut c, |tx| {
            account::create_api_token(tx, &app.admin_id, "tableur")
        })
        .unwrap();
        let session = common::write(&mut c, |tx| {
            account::start_session(
                tx,
                &account::Principal::User(app.admin_id.clone()),
                account::Lifetimes::from_config(&app.config.auth),
                chrono::Utc::now().naive_utc(),
            )
        })
        .unwrap();
        (token, session)
    };
    let with_token = || {
        TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("authorization", format!("Bearer {token}")))
    };
    app.send_raw(with_token()).await.expect(200);
    let page = app
        .send_raw(
            TestRequest::get()
                .uri("/compte")
                .insert_header(("cookie", format!("cohorte_session={session}"))),
        )
        .await
        .expect(200)
        .text();
    assert!(
        page.contains("révoque tous vos jetons"),
        "« Mon compte » says so"
    );
    let res = app
        .send_raw(
            TestRequest::post()
                .uri("/compte/mot-de-passe")
                .insert_header(("cookie", format!("cohorte_session={session}")))
                .insert_header(("x-csrf-token", cohorte::web::actor::csrf_for(&session)))
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(
                    "current_password=une+ancienne+phrase+de+passe\
                     &password=une+nouvelle+phrase+de+passe\
                     &password_confirm=une+nouvelle+phrase+de+passe",
                ),
        )
        .await
        .expect(303);
    assert!(res.header("location").unwrap().starts_with("/compte"));
    app.send_raw(with_token())
        .await
        .expect(401)
        .api_error("unauthorized");
}

#[actix_web::test]
async fn over_https_the_session_cookie_takes_the_host_prefix() {
    let app = spawn_with(|c| c.server.public_url = "https://cohorte.example.org".into()).await;
    // The prefixed cookie is the one read: the administrator's pages open with it.
    app.get("/cohortes").await.expect(200);
    let cookie = cohorte::web::actor::session_cookie("abc", true).to_string();
    assert!(cookie.starts_with("__Host-cohorte_session=abc"), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/"));
    assert!(!cookie.contains("Domain"));
    // Over plain HTTP (the embedded default) the name stays, without Secure.
    let plain = cohorte::web::actor::session_cookie("abc", false).to_string();
    assert!(plain.starts_with("cohorte_session=abc") && !plain.contains("Secure"));
}

#[actix_web::test]
async fn behind_a_proxy_the_throttle_counts_the_hop_the_proxy_added() {
    let app = spawn_with(|c| {
        c.server.trust_forwarded_for = true;
        c.auth.max_failures_per_address = 3;
    })
    .await;
    // Each attempt makes up a new first hop; the proxy's own hop stays the same.
    let attempt = |i: usize| {
        TestRequest::post()
            .uri("/connexion")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(("x-forwarded-for", format!("198.51.100.{i}, 203.0.113.7")))
            .set_payload(format!("email=inconnu{i}%40exemple.fr&password=mauvais"))
    };
    for i in 0..3 {
        app.send_raw(attempt(i)).await.expect(401);
    }
    app.send_raw(attempt(3)).await.expect(429);
    // Another real client (another last hop) is not held up.
    app.send_raw(
        TestRequest::post()
            .uri("/connexion")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(("x-forwarded-for", "203.0.113.8"))
            .set_payload("email=autre%40exemple.fr&password=mauvais"),
    )
    .await
    .expect(401);
}
