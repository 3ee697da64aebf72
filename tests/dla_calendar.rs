//! The DLA's calendar, its places and the conflicts between sessions (issue #17, point 1),
//! end to end on a real database: places listed, added, edited and archived from the DLA
//! page; sessions picking one; the calendar by week and month with its filters; the
//! private feed of a staff member and its revocation; conflicts flagged where the decision
//! is made (adding, moving, generating, changing the consultant·e) and on the calendar, and
//! never describing a session of a cohort the person may not see.

mod common;

use actix_web::http::header;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use serde_json::{Value, json};

use cohorte::models::account::{self, NewUser, Principal};
use cohorte::web::actor::csrf_for;
use common::{Response, TestApp};

/// A staff member other than the administrator: a cookie for the pages, a token for the API.
struct Member {
    id: String,
    cookie: String,
    token: String,
}

fn member(
    app: &TestApp,
    role: &str,
    dla: Option<&str>,
    consultant: Option<&str>,
    email: &str,
) -> Member {
    let mut conn = app.pool.get().unwrap();
    let user = common::write(&mut conn, |tx| {
        account::create(
            tx,
            NewUser {
                email,
                name: email,
                role,
                dla_id: dla,
                consultant_id: consultant,
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
            &Principal::User(user.id.clone()),
            account::Lifetimes::from_config(&app.config.auth),
            chrono::Utc::now().naive_utc(),
        )
    })
    .unwrap();
    Member {
        id: user.id,
        cookie,
        token,
    }
}

impl Member {
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

    async fn post(&self, app: &TestApp, uri: &str, body: Value) -> Response {
        app.send_raw(
            TestRequest::post()
                .uri(uri)
                .insert_header((header::AUTHORIZATION, format!("Bearer {}", self.token)))
                .set_json(body),
        )
        .await
    }
}

/// Handlebars escapes `=`, `&` and quotes in attributes and text.
fn unescape(html: &str) -> String {
    html.replace("&#x3D;", "=")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace('\u{a0}', " ")
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

async fn cohort(app: &TestApp, dla: &str, name: &str, partners: &[&str]) -> String {
    app.post_json(
        "/api/v1/cohorts",
        json!({
            "dla_id": dla,
            "name": name,
            "territory": "Bordeaux Métropole",
            "approach": "territoriale",
            "start_date": "2027-01-11",
            "partner_dla_ids": partners,
        }),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn consultant(app: &TestApp, name: &str, dlas: &[&str]) -> String {
    let email = format!("{}@cabinet.test", name.to_lowercase().replace(' ', "."));
    app.post_json(
        "/api/v1/consultants",
        json!({"name": name, "firm": "Cabinet", "email": email, "dla_ids": dlas}),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Assigns the consultant·e to the cohort (as the administrator); the `PUT`'s body.
async fn assign(app: &TestApp, cohort: &str, consultant: &str) -> Value {
    let c = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    let mut body = c.clone();
    body["consultant_id"] = json!(consultant);
    body["version"] = json!(c["version"].as_i64().unwrap().to_string());
    body["association_cap"] = json!(c["association_cap"].as_i64().unwrap().to_string());
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), body)
        .await
        .expect(200)
        .json()
}

fn place(app: &TestApp, dla: &str, name: &str) -> String {
    app.write(|tx| {
        cohorte::models::place::create(
            tx,
            dla,
            &cohorte::models::place::PlaceInput {
                name: name.into(),
                address: "12 rue Sainte-Catherine, Bordeaux".into(),
                version: String::new(),
            },
        )
    })
    .id
}

/// A collective session through the API (as the administrator); its body (with `warnings`).
async fn session(
    app: &TestApp,
    cohort: &str,
    date: &str,
    start: &str,
    end: &str,
    more: Value,
) -> Value {
    let mut body = json!({
        "kind": "evolution",
        "date": date,
        "start_time": start,
        "end_time": end,
    });
    for (k, v) in more.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post_json(&format!("/api/v1/cohorts/{cohort}/sessions"), body)
        .await
        .expect(201)
        .json()
}

fn codes(warnings: &Value) -> Vec<String> {
    warnings
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect()
}

fn messages(warnings: &Value) -> String {
    warnings
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

// --- Places --------------------------------------------------------------------------------

#[actix_web::test]
async fn places_are_added_edited_and_archived_from_the_dla_page() {
    let app = common::spawn().await;
    let d = dla(&app, "DLA de la Gironde").await;
    let c = cohort(&app, &d, "Cohorte des lieux", &[]).await;
    let html = app.get(&format!("/dla/{d}")).await.expect(200).text();
    assert!(
        html.contains(&format!("/dla/{d}/lieux")),
        "the DLA page links its places"
    );
    assert!(
        html.contains(&format!("/dla/{d}/calendrier")),
        "and its calendar"
    );

    // Refused: the message beside the field, what was typed kept.
    let res = app
        .post_form(
            &format!("/dla/{d}/lieux"),
            &[("name", "  "), ("address", "3 place Pey-Berland")],
        )
        .await
        .expect(422);
    let html = res.text();
    assert!(common::around_field(&html, "name").contains("Ce champ est obligatoire."));
    assert!(common::around_field(&html, "address").contains("3 place Pey-Berland"));

    let res = app
        .post_form(
            &format!("/dla/{d}/lieux"),
            &[
                ("name", "Maison des associations"),
                ("address", "3 place Pey-Berland, Bordeaux"),
            ],
        )
        .await
        .expect(303);
    assert_eq!(
        res.header("location"),
        Some(format!("/dla/{d}/lieux?notice=lieu_ajoute").as_str())
    );
    let places = app.write(|tx| cohorte::models::place::list_for_dla(tx, &d));
    assert_eq!(places.len(), 1);
    let p = places[0].id.clone();
    let html = app.get(&format!("/dla/{d}/lieux")).await.expect(200).text();
    assert!(html.contains("Maison des associations") && html.contains("3 place Pey-Berland"));

    // Edited, with the version read; a stale version is refused.
    app.get(&format!("/dla/{d}/lieux/{p}/modifier"))
        .await
        .expect(200);
    app.post_form(
        &format!("/dla/{d}/lieux/{p}/modifier"),
        &[
            ("name", "Maison des associations — salle 2"),
            ("address", "3 place Pey-Berland"),
            ("version", "1"),
        ],
    )
    .await
    .expect(303);
    app.post_form(
        &format!("/dla/{d}/lieux/{p}/modifier"),
        &[("name", "Écrasé"), ("address", ""), ("version", "1")],
    )
    .await
    .expect(409);
    assert_eq!(
        app.write(|tx| cohorte::models::place::get(tx, &p)).name,
        "Maison des associations — salle 2"
    );
    // Another DLA's place is not reached through this DLA's path.
    let other = dla(&app, "DLA des Landes").await;
    let q = place(&app, &other, "Salle des Landes");
    app.get(&format!("/dla/{d}/lieux/{q}/modifier"))
        .await
        .expect(404);
    app.post_form(
        &format!("/dla/{d}/lieux/{q}/archiver"),
        &[("archived", "1")],
    )
    .await
    .expect(404);

    // The session form offers the DLA's places; archived, no longer; restored, again.
    let form = app
        .get(&format!("/cohortes/{c}/seances/nouvelle"))
        .await
        .expect(200)
        .text();
    assert!(form.contains(&format!("value=\"{p}\"")));
    assert!(
        !form.contains(&format!("value=\"{q}\"")),
        "not another DLA's"
    );
    app.post_form(
        &format!("/dla/{d}/lieux/{p}/archiver"),
        &[("archived", "1")],
    )
    .await
    .expect(303);
    let form = app
        .get(&format!("/cohortes/{c}/seances/nouvelle"))
        .await
        .expect(200)
        .text();
    assert!(!form.contains(&format!("value=\"{p}\"")));
    assert!(
        app.get(&format!("/dla/{d}/lieux"))
            .await
            .expect(200)
            .text()
            .contains("archivé")
    );
    app.post_form(
        &format!("/dla/{d}/lieux/{p}/archiver"),
        &[("archived", "0")],
    )
    .await
    .expect(303);
    let form = app
        .get(&format!("/cohortes/{c}/seances/nouvelle"))
        .await
        .expect(200)
        .text();
    assert!(form.contains(&format!("value=\"{p}\"")));
}

#[actix_web::test]
async fn a_session_picks_a_place_of_its_dla_or_keeps_free_text() {
    let app = common::spawn().await;
    let d = dla(&app, "DLA de la Gironde").await;
    let other = dla(&app, "DLA des Landes").await;
    let c = cohort(&app, &d, "Cohorte des lieux", &[]).await;
    let p = place(&app, &d, "Maison des associations");
    let q = place(&app, &other, "Salle des Landes");

    let s = session(
        &app,
        &c,
        "2027-01-12",
        "09:30",
        "12:30",
        json!({"place_id": p, "location": "ignorée"}),
    )
    .await;
    assert_eq!(s["place_id"], json!(p));
    assert_eq!(
        s["location"], "Maison des associations, 12 rue Sainte-Catherine, Bordeaux",
        "the invites say the place's name and address"
    );
    // Another DLA's place: refused beside the field (API and form).
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{c}/sessions"),
            json!({"kind": "evolution", "date": "2027-01-13", "start_time": "09:30", "end_time": "12:30", "place_id": q}),
        )
        .await
        .expect(422);
    assert!(res.json()["error"]["fields"]["place_id"].is_string());
    let res = app
        .post_form(
            &format!("/cohortes/{c}/seances"),
            &[
                ("kind", "evolution"),
                ("date", "2027-01-13"),
                ("start_time", "09:30"),
                ("end_time", "12:30"),
                ("place_id", q.as_str()),
                ("agenda", "Tour de table"),
            ],
        )
        .await
        .expect(422);
    let html = res.text();
    assert!(
        common::around_field(&html, "place_id").contains("Choisissez un lieu de la liste du DLA.")
    );
    assert!(html.contains("Tour de table"), "what was typed stays");

    // The edit form shows the place picked; back to free text through the API.
    let sid = s["id"].as_str().unwrap();
    let edit = app
        .get(&format!("/seances/{sid}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(edit.contains(&format!("<option value=\"{p}\" selected>")));
    let res = app
        .put_json(
            &format!("/api/v1/sessions/{sid}"),
            json!({"place_id": "", "location": "Salle libre, Mérignac", "version": s["version"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(res["place_id"], Value::Null);
    assert_eq!(res["location"], "Salle libre, Mérignac");
}

// --- The calendar --------------------------------------------------------------------------

#[actix_web::test]
async fn the_calendar_shows_what_the_dla_owns_or_shares_by_week_and_month_with_filters() {
    let app = common::spawn().await;
    let a = dla(&app, "DLA de la Gironde").await;
    let b = dla(&app, "DLA des Landes").await;
    let k = consultant(&app, "Claire Martin", &[&a]).await;
    let own = cohort(&app, &a, "Cohorte girondine", &[]).await;
    let shared = cohort(&app, &b, "Cohorte partagée", &[&a]).await;
    let foreign = cohort(&app, &b, "Cohorte landaise", &[]).await;
    assign(&app, &own, &k).await;
    let p = place(&app, &a, "Maison des associations");
    let s1 = session(
        &app,
        &own,
        "2027-01-12",
        "09:30",
        "12:30",
        json!({"place_id": p}),
    )
    .await;
    let s2 = session(
        &app,
        &shared,
        "2027-01-14",
        "14:00",
        "17:00",
        json!({"location": "Mont-de-Marsan"}),
    )
    .await;
    session(&app, &foreign, "2027-01-12", "09:30", "12:30", json!({})).await;
    let later = session(&app, &own, "2027-01-28", "09:30", "12:30", json!({})).await;
    let officer = member(&app, "officer", Some(&a), None, "cm@dla33.test");

    let week = unescape(
        &officer
            .page(
                &app,
                &format!("/dla/{a}/calendrier?vue=semaine&date=2027-01-13"),
            )
            .await
            .expect(200)
            .text(),
    );
    assert!(
        week.contains("Semaine du lundi 11 janvier 2027"),
        "Monday first"
    );
    assert!(week.contains("mardi 12 janvier 2027") && week.contains("dimanche 17 janvier 2027"));
    assert!(week.contains("Cohorte girondine") && week.contains("Cohorte partagée"));
    assert!(
        !week.contains("Cohorte landaise"),
        "a cohort the DLA neither owns nor shares"
    );
    assert!(week.contains(&format!("/seances/{}", s1["id"].as_str().unwrap())));
    assert!(week.contains(&format!("/seances/{}", s2["id"].as_str().unwrap())));
    assert!(!week.contains(&format!("/seances/{}", later["id"].as_str().unwrap())));
    assert!(week.contains("9 h 30 – 12 h 30"), "Paris time");
    assert!(week.contains("Claire Martin") && week.contains("Maison des associations"));
    assert!(
        week.contains("date=2027-01-04") && week.contains("date=2027-01-18"),
        "previous and next"
    );
    assert!(
        week.contains(&format!("/dla/{a}/calendrier?vue=semaine\"")),
        "today"
    );

    let month = unescape(
        &officer
            .page(
                &app,
                &format!("/dla/{a}/calendrier?vue=mois&date=2027-01-13"),
            )
            .await
            .expect(200)
            .text(),
    );
    assert!(month.contains("Janvier 2027"));
    assert!(month.contains(&format!("/seances/{}", later["id"].as_str().unwrap())));
    assert!(month.contains("3 séances"));
    assert!(month.contains("date=2026-12-01") && month.contains("date=2027-02-01"));

    // Filters: cohort, consultant·e, place.
    for (query, expected) in [
        (format!("cohorte={shared}"), vec![&s2]),
        (format!("consultant={k}"), vec![&s1, &later]),
        (format!("lieu={p}"), vec![&s1]),
    ] {
        let html = officer
            .page(
                &app,
                &format!("/dla/{a}/calendrier?vue=mois&date=2027-01-13&{query}"),
            )
            .await
            .expect(200)
            .text();
        for s in [&s1, &s2, &later] {
            let id = s["id"].as_str().unwrap();
            assert_eq!(
                html.contains(&format!("/seances/{id}")),
                expected.iter().any(|e| e["id"] == s["id"]),
                "{query}: session {id}"
            );
        }
    }
    // A consultant·e has no DLA calendar; the other DLA's officer not this one.
    let theirs = member(&app, "officer", Some(&b), None, "cm@dla40.test");
    assert_eq!(
        theirs
            .page(&app, &format!("/dla/{a}/calendrier"))
            .await
            .status,
        403
    );
    // The partner DLA sees the shared cohort on its own calendar too.
    let html = theirs
        .page(&app, &format!("/dla/{b}/calendrier?date=2027-01-13"))
        .await
        .expect(200)
        .text();
    assert!(html.contains("Cohorte partagée") && html.contains("Cohorte landaise"));
    assert!(!html.contains("Cohorte girondine"));
}

// --- Conflicts -----------------------------------------------------------------------------

#[actix_web::test]
async fn a_consultant_double_booked_is_flagged_when_the_session_is_added_and_moved() {
    let app = common::spawn().await;
    let a = dla(&app, "DLA de la Gironde").await;
    let k = consultant(&app, "Claire Martin", &[&a]).await;
    let one = cohort(&app, &a, "Cohorte une", &[]).await;
    let two = cohort(&app, &a, "Cohorte deux", &[]).await;
    assign(&app, &one, &k).await;
    assign(&app, &two, &k).await;
    let first = session(
        &app,
        &one,
        "2027-01-12",
        "09:30",
        "12:30",
        json!({"location": "Lyon"}),
    )
    .await;
    assert!(codes(&first["warnings"]).is_empty(), "nothing else yet");

    // Overlapping: flagged, not refused, naming the other session for someone who sees it.
    let clash = session(
        &app,
        &two,
        "2027-01-12",
        "11:00",
        "13:00",
        json!({"location": "Lyon"}),
    )
    .await;
    assert_eq!(codes(&clash["warnings"]), vec!["conflict_consultant"]);
    assert!(messages(&clash["warnings"]).contains("Cohorte une"));
    let cid = clash["id"].as_str().unwrap();
    let page = unescape(&app.get(&format!("/seances/{cid}")).await.expect(200).text());
    assert!(page.contains("Même consultant·e au même moment que « Évolution » (Cohorte une)"));

    // Moved to 12:30 elsewhere: touching is no overlap, but 0 min to travel.
    let moved = app
        .post_json(
            &format!("/api/v1/sessions/{cid}/move"),
            json!({"date": "2027-01-12", "start_time": "12:30", "end_time": "14:00", "version": clash["version"].to_string()}),
        )
        .await
        .expect(200)
        .json();
    assert!(
        codes(&moved["warnings"]).is_empty(),
        "same place, back to back"
    );
    let s = app
        .get(&format!("/api/v1/sessions/{cid}"))
        .await
        .expect(200)
        .json();
    app.put_json(
        &format!("/api/v1/sessions/{cid}"),
        json!({"location": "Vienne", "version": s["version"]}),
    )
    .await
    .expect(200);
    let s = app
        .get(&format!("/api/v1/sessions/{cid}"))
        .await
        .expect(200)
        .json();
    // The move page says it too: exactly the gap (13:30) is enough, 13:29 is not.
    let res = app
        .post_form(
            &format!("/seances/{cid}/deplacer"),
            &[
                ("date", "2027-01-12"),
                ("start_time", "13:29"),
                ("end_time", "15:00"),
                ("version", &s["version"].to_string()),
            ],
        )
        .await
        .expect(200);
    let html = unescape(&res.text());
    assert!(html.contains("Séance déplacée"));
    assert!(html.contains("data-code=\"conflict_travel\""), "{html}");
    assert!(html.contains("Même consultant·e dans un autre lieu le même jour, 59 min"));
    let s = app
        .get(&format!("/api/v1/sessions/{cid}"))
        .await
        .expect(200)
        .json();
    let moved = app
        .post_json(
            &format!("/api/v1/sessions/{cid}/move"),
            json!({"date": "2027-01-12", "start_time": "13:30", "end_time": "15:00", "version": s["version"].to_string()}),
        )
        .await
        .expect(200)
        .json();
    assert!(
        codes(&moved["warnings"]).is_empty(),
        "exactly the travel gap"
    );
    assert!(
        moved["summary"].is_array(),
        "the move's own answer is still there"
    );
    // Another day: nothing.
    let _ = first;
}

#[actix_web::test]
async fn a_place_taken_twice_and_a_participant_of_two_cohorts_on_one_day_are_flagged() {
    let app = common::spawn().await;
    let a = dla(&app, "DLA de la Gironde").await;
    let one = cohort(&app, &a, "Cohorte une", &[]).await;
    let two = cohort(&app, &a, "Cohorte deux", &[]).await;
    let p = place(&app, &a, "Maison des associations");
    session(
        &app,
        &one,
        "2027-01-12",
        "09:30",
        "12:30",
        json!({"place_id": p}),
    )
    .await;
    let taken = session(
        &app,
        &two,
        "2027-01-12",
        "12:00",
        "13:00",
        json!({"place_id": p}),
    )
    .await;
    assert_eq!(codes(&taken["warnings"]), vec!["conflict_place"]);
    assert!(
        messages(&taken["warnings"])
            .contains("Lieu déjà pris au même moment par « Évolution » (Cohorte une)")
    );
    let free = session(
        &app,
        &two,
        "2027-01-12",
        "13:00",
        "14:00",
        json!({"place_id": p}),
    )
    .await;
    assert!(codes(&free["warnings"]).is_empty(), "back to back");

    // The same person (same address, whatever its case) in both cohorts, the same day.
    let x = app.enrol(&one, "Les Jardins partagés").await;
    let y = app.enrol(&two, "Ressourcerie du Bassin").await;
    for (association, email) in [(&x, "nadia@jardins.test"), (&y, "Nadia@Jardins.test")] {
        app.post_json(
            &format!("/api/v1/associations/{association}/participants"),
            json!({"name": "Nadia Benali", "email": email, "role": "direction", "function": "Directrice"}),
        )
        .await
        .expect(201);
    }
    let same_day = session(&app, &two, "2027-01-12", "15:00", "17:00", json!({})).await;
    assert_eq!(codes(&same_day["warnings"]), vec!["conflict_participant"]);
    assert!(
        messages(&same_day["warnings"]).contains("Un·e participant·e aussi inscrit·e le même jour")
    );
    let next_day = session(&app, &two, "2027-01-13", "15:00", "17:00", json!({})).await;
    assert!(codes(&next_day["warnings"]).is_empty());
    // The cohort's page, whose participants come from what it read of the cohort
    // (`calendar::Known`), flags the same day, and that day only.
    let page = unescape(
        &app.get(&format!("/cohortes/{two}"))
            .await
            .expect(200)
            .text(),
    );
    let flagged = |when: &str| {
        page.contains(&format!(
            "Évolution ({when}) : Un·e participant·e aussi inscrit·e le même jour"
        ))
    };
    assert!(flagged("mardi 12 janvier 2027, 15 h 00"), "{page}");
    assert!(!flagged("mercredi 13 janvier 2027, 15 h 00"), "{page}");
    // On the DLA's month, whose subjects are both cohorts' sessions (the people they share
    // asked of SQL as a subquery, not as a list of addresses): the same day flagged.
    let cal = unescape(
        &app.get(&format!("/dla/{a}/calendrier?vue=mois&date=2027-01-12"))
            .await
            .expect(200)
            .text(),
    );
    assert!(
        cal.contains("Un·e participant·e aussi inscrit·e le même jour"),
        "{cal}"
    );
}

#[actix_web::test]
async fn generating_a_programme_or_changing_the_consultant_flags_the_double_bookings() {
    let app = common::spawn().await;
    let a = dla(&app, "DLA de la Gironde").await;
    let k = consultant(&app, "Claire Martin", &[&a]).await;
    let one = cohort(&app, &a, "Cohorte une", &[]).await;
    let two = cohort(&app, &a, "Cohorte deux", &[]).await;
    let three = cohort(&app, &a, "Cohorte trois", &[]).await;
    for c in [&one, &two, &three] {
        app.enrol(c, &format!("Association de {c}")).await;
    }
    assign(&app, &one, &k).await;
    assign(&app, &two, &k).await;
    let generated = app.generate(&one).await;
    assert!(!codes(&generated["warnings"]).contains(&"conflict_consultant".to_string()));
    // The same start date, the same consultant·e: the same collective sessions at once.
    let generated = app.generate(&two).await;
    assert!(
        codes(&generated["warnings"]).contains(&"conflict_consultant".to_string()),
        "{}",
        generated["warnings"]
    );
    let page = unescape(
        &app.get(&format!("/cohortes/{two}"))
            .await
            .expect(200)
            .text(),
    );
    assert!(page.contains("data-code=\"conflict_consultant\""));
    assert!(page.contains("(Cohorte une)"));

    // A third cohort without consultant·e: nothing, until it gets the busy one.
    app.generate(&three).await;
    let html = app
        .get(&format!("/cohortes/{three}"))
        .await
        .expect(200)
        .text();
    assert!(!html.contains("conflict_consultant"));
    let out = assign(&app, &three, &k).await;
    assert!(codes(&out["warnings"]).contains(&"conflict_consultant".to_string()));
    // And the DLA's calendar marks the sessions in conflict, with the reason.
    let cal = unescape(
        &app.get(&format!("/dla/{a}/calendrier?vue=mois&date=2027-01-11"))
            .await
            .expect(200)
            .text(),
    );
    assert!(cal.contains("class=\"badge conflict\""));
    assert!(cal.contains("Même consultant·e au même moment que"));
    assert!(cal.contains("en conflit"));
}

#[actix_web::test]
async fn a_conflict_with_a_cohort_one_may_not_see_says_only_busy_elsewhere() {
    let app = common::spawn().await;
    let a = dla(&app, "DLA de la Gironde").await;
    let b = dla(&app, "DLA des Landes").await;
    // One consultant·e working for both DLAs.
    let k = consultant(&app, "Claire Martin", &[&a, &b]).await;
    let hidden = cohort(&app, &a, "Cohorte secrète girondine", &[]).await;
    let mine = cohort(&app, &b, "Cohorte landaise", &[]).await;
    assign(&app, &hidden, &k).await;
    assign(&app, &mine, &k).await;
    let secret_place = place(&app, &a, "Salle confidentielle");
    let x = app.enrol(&hidden, "Association Discrète").await;
    app.post_json(
        &format!("/api/v1/associations/{x}/participants"),
        json!({"name": "Nadia Benali", "email": "nadia@discrete.test", "role": "direction", "function": "Directrice"}),
    )
    .await
    .expect(201);
    session(
        &app,
        &hidden,
        "2027-01-12",
        "09:30",
        "12:30",
        json!({"place_id": secret_place}),
    )
    .await;

    let officer = member(&app, "officer", Some(&b), None, "cm@dla40.test");
    let y = officer
        .post(
            &app,
            &format!("/api/v1/cohorts/{mine}/associations"),
            json!({"name": "Association Landaise", "town": "Dax", "sector": "Culture", "creation_year": 2010, "salaried_staff": 5, "general_interest": true}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    officer
        .post(
            &app,
            &format!("/api/v1/associations/{y}/participants"),
            json!({"name": "Nadia Benali", "email": "nadia@discrete.test", "role": "gouvernance", "function": "Présidente"}),
        )
        .await
        .expect(201);
    let res = officer
        .post(
            &app,
            &format!("/api/v1/cohorts/{mine}/sessions"),
            json!({"kind": "evolution", "date": "2027-01-12", "start_time": "10:00", "end_time": "11:00"}),
        )
        .await
        .expect(201)
        .json();
    let mut found = codes(&res["warnings"]);
    found.sort();
    assert_eq!(found, vec!["conflict_consultant", "conflict_participant"]);
    let text = messages(&res["warnings"]);
    assert!(
        text.contains("Consultant·e occupé·e (autre cohorte)."),
        "{text}"
    );
    assert!(
        text.contains("Participant·e occupé·e (autre cohorte) le même jour."),
        "{text}"
    );
    for detail in [
        "secrète",
        "Salle confidentielle",
        "Discrète",
        "nadia@",
        "Nadia",
        "Gironde",
        "9\u{a0}h\u{a0}30",
    ] {
        assert!(!text.contains(detail), "{detail} shown in: {text}");
    }
    // On the page of the session and on the DLA's calendar: the same words, no more.
    let sid = res["id"].as_str().unwrap();
    for uri in [
        format!("/seances/{sid}"),
        format!("/dla/{b}/calendrier?date=2027-01-12"),
    ] {
        let html = unescape(&officer.page(&app, &uri).await.expect(200).text());
        assert!(
            html.contains("Consultant·e occupé·e (autre cohorte)."),
            "{uri}"
        );
        for detail in ["secrète", "Salle confidentielle", "Discrète", "Gironde"] {
            assert!(!html.contains(detail), "{detail} shown on {uri}");
        }
    }
    // The administrator, who sees both, gets the detail.
    let html = unescape(&app.get(&format!("/seances/{sid}")).await.expect(200).text());
    assert!(html.contains("(Cohorte secrète girondine)"));
}

// --- The staff feed ------------------------------------------------------------------------

/// The feed's address shown on a page, as a path.
fn feed_path(html: &str) -> String {
    let start = html.find("/agenda-equipe/").expect("feed address shown");
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

#[actix_web::test]
async fn the_staff_feed_is_private_valid_icalendar_and_revocable() {
    let app = common::spawn().await;
    let a = dla(&app, "DLA de la Gironde").await;
    let k = consultant(&app, "Claire Martin", &[&a]).await;
    let theirs = cohort(&app, &a, "Cohorte de Claire", &[]).await;
    let other = cohort(&app, &a, "Cohorte sans Claire", &[]).await;
    assign(&app, &theirs, &k).await;
    // Within the feed's window (from 60 days back), whatever the day the test runs.
    let day = (chrono::Utc::now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let s1 = session(
        &app,
        &theirs,
        &day,
        "09:30",
        "12:30",
        json!({"location": "Maison des associations"}),
    )
    .await;
    let s2 = session(&app, &other, &day, "14:00", "17:00", json!({})).await;

    let officer = member(&app, "officer", Some(&a), None, "cm@dla33.test");
    let html = officer
        .page(&app, &format!("/dla/{a}/calendrier"))
        .await
        .expect(200)
        .text();
    assert!(html.contains("Adresse à copier"));
    let path = feed_path(&html);
    assert!(path.starts_with(&format!("/agenda-equipe/{}/", officer.id)));
    // No credentials: the address is the key.
    let res = app
        .send_raw(TestRequest::get().uri(&path))
        .await
        .expect(200);
    assert!(res.content_type().starts_with("text/calendar"));
    let ics = res.text();
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{line:?}");
    }
    let unfolded = icalendar::parser::unfold(&ics);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    let uids: Vec<String> = calendar
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .filter_map(|c| {
            c.properties
                .iter()
                .find(|p| p.name == "UID")
                .map(|p| p.val.to_string())
        })
        .collect();
    for s in [&s1, &s2] {
        assert!(
            uids.contains(&format!("{}@cohorte", s["id"].as_str().unwrap())),
            "{uids:?}"
        );
    }
    assert!(ics.contains("METHOD:PUBLISH") && !ics.contains("ATTENDEE"));
    assert!(ics.contains("Maison des associations"));

    // A consultant·e's feed holds their cohorts only (from « Mon compte »).
    let claire = member(&app, "consultant", None, Some(&k), "claire@cabinet.test");
    let account = claire.page(&app, "/compte").await.expect(200).text();
    let ics = app
        .send_raw(TestRequest::get().uri(&feed_path(&account)))
        .await
        .expect(200)
        .text();
    assert!(ics.contains(&format!("{}@cohorte", s1["id"].as_str().unwrap())));
    assert!(!ics.contains(&format!("{}@cohorte", s2["id"].as_str().unwrap())));

    // Altered or revoked: not found.
    let last = &path[path.len() - 5..path.len() - 4];
    let altered = format!(
        "{}{}.ics",
        &path[..path.len() - 5],
        if last == "0" { "1" } else { "0" }
    );
    app.send_raw(TestRequest::get().uri(&altered))
        .await
        .expect(404);
    let res = officer
        .form(
            &app,
            "/compte/agenda/renouveler",
            &[("back", &format!("/dla/{a}/calendrier"))],
        )
        .await
        .expect(303);
    assert_eq!(
        res.header("location"),
        Some(format!("/dla/{a}/calendrier?notice=agenda_renouvele").as_str())
    );
    app.send_raw(TestRequest::get().uri(&path))
        .await
        .expect(404);
    let html = officer
        .page(
            &app,
            &format!("/dla/{a}/calendrier?notice=agenda_renouvele"),
        )
        .await
        .expect(200)
        .text();
    assert!(
        html.contains("Votre adresse d&#x27;agenda a été renouvelée")
            || html.contains("Votre adresse d'agenda a été renouvelée")
    );
    let renewed = feed_path(&html);
    assert_ne!(renewed, path);
    app.send_raw(TestRequest::get().uri(&renewed))
        .await
        .expect(200);
    // A disabled account's feed stops too.
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(cohorte::db::schema::users::table.find(&officer.id))
            .set(cohorte::db::schema::users::disabled.eq(true))
            .execute(&mut conn)
            .unwrap();
    }
    app.send_raw(TestRequest::get().uri(&renewed))
        .await
        .expect(404);
}
