//! Applications, staff side (issue #14): the list with the method's criteria, duplicates and
//! « déjà accompagnée », decisions with their emails (outbox, « valider les envois », a real
//! SMTP server), the cap counting enrolled associations and retained applications once,
//! the waiting list's first proposed when a place frees, and enrolment without retyping.
//! Real database; applications are sent through the call's public form.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::sync::Arc;

use actix_web::test::TestRequest;
use chrono::Utc;
use serde_json::{Value, json};

use cohorte::db::schema::applications;
use cohorte::jobs::Dispatcher;
use cohorte::mail::render::sender;
use cohorte::models::outbox::MailContext;
use common::TestApp;
use diesel::prelude::*;

const NAMES: [&str; 9] = [
    "Atelier Vélo Solidaire",
    "Les Jardins de Bègles",
    "Culture en Partage",
    "Recyclerie du Médoc",
    "Sport pour Tous 33",
    "Cinéma de Quartier",
    "Épicerie Sociale",
    "Musique au Village",
    "L'atelier vélo solidaire !",
];

/// The `i`-th application as typed on the public form: all criteria met, except the third
/// (created in 2025: too young), the fifth (not of general interest) and the seventh (not
/// available on every date); the ninth is the first's duplicate (same name once
/// normalised, same RNA).
fn typed(i: usize) -> Vec<(String, String)> {
    let slug = format!("asso{i}");
    let mut f: Vec<(String, String)> = vec![
        ("name".into(), NAMES[i].into()),
        (
            "rna".into(),
            if i == 8 {
                "W331000000".into()
            } else {
                format!("W33100000{i}")
            },
        ),
        ("town".into(), "Bordeaux".into()),
        (
            "creation_year".into(),
            if i == 2 { "2025" } else { "2012" }.into(),
        ),
        ("salaried_staff".into(), "4".into()),
        ("fte".into(), "3,5".into()),
        ("volunteers".into(), "25".into()),
        ("sector".into(), "Culture".into()),
        ("director_name".into(), format!("Direction {i}")),
        ("director_function".into(), "Directrice".into()),
        ("director_email".into(), format!("direction@{slug}.fr")),
        ("board_name".into(), format!("Présidence {i}")),
        ("board_function".into(), "Président".into()),
        ("board_email".into(), format!("president@{slug}.fr")),
        ("motivation".into(), format!("MOTIVATION-SECRETE-{i}")),
        ("consent_data".into(), "on".into()),
        ("site_web".into(), String::new()),
    ];
    if i == 2 {
        f.push(("creation_date".into(), "2025-03-01".into()));
    }
    if i != 4 {
        f.push(("general_interest".into(), "on".into()));
    }
    if i != 6 {
        f.push(("available_all".into(), "on".into()));
    }
    if i.is_multiple_of(2) {
        f.push(("consent_named".into(), "on".into()));
    }
    f
}

/// Nine applications to a new cohort (cap 8) through its public form, each from its own
/// client address, in order; returns the cohort and them (first received first).
async fn call_of_nine(app: &TestApp) -> (String, Vec<String>) {
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte Gironde 2027").await;
    let public = app.open_call(&cohort).await;
    for i in 0..9 {
        let fields = typed(i);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        app.post_public_from(&public, &format!("192.0.2.{}:4000", i + 1), &fields)
            .await
            .expect(200);
    }
    let mut conn = app.pool.get().unwrap();
    let ids = applications::table
        .filter(applications::cohort_id.eq(&cohort))
        .order((applications::submitted_at.asc(), applications::id.asc()))
        .select(applications::id)
        .load(&mut conn)
        .unwrap();
    (cohort, ids)
}

async fn version(app: &TestApp, id: &str) -> i64 {
    app.get(&format!("/api/v1/applications/{id}"))
        .await
        .expect(200)
        .json()["application"]["version"]
        .as_i64()
        .unwrap()
}

async fn decide(app: &TestApp, id: &str, status: &str) -> common::Response {
    let v = version(app, id).await;
    app.post_json(
        &format!("/api/v1/applications/{id}/decision"),
        json!({"status": status, "version": v.to_string()}),
    )
    .await
}

/// Eight retained, the ninth on the waiting list.
async fn eight_and_one(app: &TestApp, ids: &[String]) {
    for id in &ids[..8] {
        decide(app, id, "retenue").await.expect(200);
    }
    decide(app, &ids[8], "attente").await.expect(200);
}

fn decision_rows(outbox: &[Value]) -> Vec<&Value> {
    outbox
        .iter()
        .filter(|e| e["kind"] == "application_decision")
        .collect()
}

fn mail(app: &TestApp) -> MailContext {
    MailContext::new(
        &app.config,
        Arc::new(cohorte::templates::build("").unwrap()),
    )
}

#[actix_web::test]
async fn the_list_shows_each_criterion_met_or_not_and_duplicates() {
    let app = common::spawn().await;
    let (cohort, ids) = call_of_nine(&app).await;
    let res = app
        .get(&format!("/api/v1/cohorts/{cohort}/applications"))
        .await
        .expect(200);
    assert_eq!(res.header("x-total-count"), Some("9"));
    let list = res.json();
    let verdict = |i: usize, code: &str| -> String {
        list[i]["eligibility"]["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap_or_else(|| panic!("criterion {code}"))["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(list[0]["application"]["id"], ids[0].as_str());
    for code in [
        "employer",
        "age",
        "general_interest",
        "director",
        "governance",
        "available_all",
    ] {
        assert_eq!(verdict(0, code), "met", "{code}");
    }
    assert_eq!(verdict(2, "age"), "not_met");
    assert_eq!(verdict(4, "general_interest"), "not_met");
    assert_eq!(verdict(6, "available_all"), "not_met");
    // The same words as the enrolment warnings.
    let young = list[2]["eligibility"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "age")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        young.contains("Culture en Partage a été créée le samedi 1er mars 2025, moins de 3 ans avant le début de la cohorte"),
        "{young}"
    );
    // The ninth repeats the first (same RNA, same name once normalised).
    assert_eq!(
        list[8]["eligibility"]["duplicates"][0]["id"],
        ids[0].as_str()
    );
    assert_eq!(
        list[0]["eligibility"]["duplicates"][0]["id"],
        ids[8].as_str()
    );
    assert!(
        list[1]["eligibility"]["duplicates"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The page shows the same, paged and filtered in SQL.
    let page = app
        .get(&format!("/cohortes/{cohort}/candidatures"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Culture en Partage"));
    assert!(page.contains("<li class=\"criterion-not_met\" data-code=\"age\">"));
    assert!(page.contains("Doublon possible"));
    assert!(page.contains("Places prises : <strong>0 sur 8</strong>"));
    decide(&app, &ids[1], "retenue").await.expect(200);
    let filtered = app
        .get(&format!("/cohortes/{cohort}/candidatures?statut=retenue"))
        .await
        .expect(200)
        .text();
    assert!(filtered.contains("Les Jardins de Bègles"));
    assert!(!filtered.contains("Culture en Partage"));
    let api = app
        .get(&format!(
            "/api/v1/cohorts/{cohort}/applications?status=retenue&limit=5"
        ))
        .await
        .expect(200);
    assert_eq!(api.header("x-total-count"), Some("1"));
    app.get(&format!(
        "/api/v1/cohorts/{cohort}/applications?status=acceptee"
    ))
    .await
    .expect(422)
    .api_error("validation_failed");
    let detail = app
        .get(&format!("/candidatures/{}", ids[6]))
        .await
        .expect(200)
        .text();
    assert!(detail.contains("Disponible à toutes les dates : non"));
    assert!(detail.contains("ne peut pas être présente à toutes les dates prévues"));
}

#[actix_web::test]
async fn eight_are_retained_the_ninth_waits_and_the_cap_refuses_it_and_decisions_are_emailed() {
    let app = common::spawn().await;
    let (cohort, ids) = call_of_nine(&app).await;
    eight_and_one(&app, &ids).await;
    // The ninth retained: every place is taken (8 retained, none enrolled yet).
    let refused = decide(&app, &ids[8], "retenue").await.expect(409);
    let err = refused.api_error("cohort_full");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("La cohorte est complète : 8 associations au maximum."),
        "{err}"
    );
    // On the page: the same refusal, in French, on the application's page.
    let v = version(&app, &ids[8]).await.to_string();
    let page = app
        .post_form(
            &format!("/candidatures/{}/decision", ids[8]),
            &[("status", "retenue"), ("version", &v)],
        )
        .await
        .expect(409)
        .text();
    assert!(page.contains("La cohorte est complète"));
    // Nor can a ninth association be typed in by hand.
    app.post_json(
        &format!("/api/v1/cohorts/{cohort}/associations"),
        json!({"name": "En plus"}),
    )
    .await
    .expect(409)
    .api_error("cohort_full");

    // Decision emails: 9 applications × 2 addresses, queued, without the applicant's text.
    let outbox = app.outbox(&cohort).await;
    let rows = decision_rows(&outbox);
    assert_eq!(rows.len(), 18, "{outbox:#?}");
    assert!(rows.iter().all(|r| r["status"] == "scheduled"));
    let to_first: Vec<&&Value> = rows
        .iter()
        .filter(|r| r["recipient_email"] == "direction@asso0.fr")
        .collect();
    assert_eq!(to_first.len(), 1);
    let full = app
        .outbox_email(&cohort, to_first[0]["id"].as_str().unwrap())
        .await;
    assert_eq!(
        full["subject"],
        "Votre candidature à « Cohorte Gironde 2027 » est retenue"
    );
    let text = full["body_text"].as_str().unwrap();
    assert!(text.contains("lundi 11 janvier 2027"), "{text}");
    for typed_by_applicant in ["Atelier Vélo", "MOTIVATION-SECRETE", "Direction 0"] {
        assert!(!text.contains(typed_by_applicant), "{text}");
        assert!(
            !full["body_html"]
                .as_str()
                .unwrap()
                .contains(typed_by_applicant)
        );
    }
    let waiting = rows
        .iter()
        .find(|r| r["recipient_email"] == "president@asso8.fr")
        .unwrap();
    assert!(
        waiting["subject"]
            .as_str()
            .unwrap()
            .contains("liste d'attente")
    );

    // They leave through the SMTP server.
    let mut d = Dispatcher::new(
        app.pool.clone(),
        smtp::smtp(),
        sender(&app.config.mail).unwrap(),
    );
    d.planner = Some(cohorte::jobs::AppHooks::new(mail(&app)).planner());
    d.run_once(Utc::now()).unwrap();
    // Each address gets its acknowledgement, then its decision.
    assert_eq!(smtp::count_to("president@asso8.fr"), 2);
    assert_eq!(smtp::count_to("direction@asso3.fr"), 2);
    let decisions_to = |address: &str| {
        smtp::all_received()
            .iter()
            .filter_map(|raw| mail_parser::MessageParser::default().parse(raw.as_slice()))
            .filter(|m| {
                m.to()
                    .and_then(|to| to.first())
                    .and_then(|a| a.address())
                    .is_some_and(|a| a == address)
            })
            .filter(|m| m.subject().is_some_and(|s| !s.contains("est bien reçue")))
            .count()
    };
    assert_eq!(decisions_to("president@asso8.fr"), 1);
    assert_eq!(decisions_to("direction@asso3.fr"), 1);

    // Every application received and every decision is in the audit log.
    let audit = app
        .get(&format!("/api/v1/cohorts/{cohort}/audit?limit=500"))
        .await
        .expect(200)
        .json();
    let of = |action: &str| {
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["entity"] == "application" && e["action"] == action)
            .count()
    };
    assert_eq!(of("create"), 9);
    assert_eq!(of("update"), 9);
}

#[actix_web::test]
async fn decision_emails_wait_for_review_and_use_the_cohorts_own_text() {
    let app = common::spawn().await;
    let (cohort, ids) = call_of_nine(&app).await;
    let settings = format!("/api/v1/cohorts/{cohort}/mail-settings");
    let v = app.get(&settings).await.expect(200).json()["version"].clone();
    app.put_json(
        &settings,
        json!({"review_before_send": "oui", "version": v}),
    )
    .await
    .expect(200);
    // The cohort's own text for « non retenue »; an unknown placeholder is refused by name.
    let letters = format!("/cohortes/{cohort}/candidatures/courriers");
    let refused = app
        .post_form(
            &format!("{letters}/non_retenue"),
            &[
                ("subject", "Réponse à {nom}"),
                ("body", "Bonjour"),
                ("version", "0"),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(
        refused.contains("{nom} n&#x27;est pas un champ connu")
            || refused.contains("{nom} n'est pas un champ connu"),
        "{refused}"
    );
    assert!(refused.contains("value=\"Réponse à {nom}\""));
    app.post_form(
        &format!("{letters}/non_retenue"),
        &[
            ("subject", "{dla} : votre candidature à {cohorte}"),
            ("body", "Bonjour,\n\nPas cette fois-ci.\n\n{signature}"),
            ("version", "0"),
        ],
    )
    .await
    .expect(303);
    let d = decide(&app, &ids[4], "non_retenue")
        .await
        .expect(200)
        .json();
    assert_eq!(d["held"], true);
    assert_eq!(d["emails"], 2);
    let outbox = app.outbox(&cohort).await;
    let rows = decision_rows(&outbox);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "draft"), "{rows:#?}");
    assert_eq!(
        rows[0]["subject"],
        "DLA de la Gironde : votre candidature à Cohorte Gironde 2027"
    );
    // Changed mind before validating: the draft is cancelled, the new decision queued.
    let d = decide(&app, &ids[4], "attente").await.expect(200).json();
    assert_eq!(d["emails"], 2);
    let outbox = app.outbox(&cohort).await;
    let rows = decision_rows(&outbox);
    assert_eq!(
        rows.iter().filter(|r| r["status"] == "cancelled").count(),
        2
    );
    assert_eq!(rows.iter().filter(|r| r["status"] == "draft").count(), 2);
    // A stale version is refused.
    app.post_json(
        &format!("/api/v1/applications/{}/decision", ids[4]),
        json!({"status": "retenue", "version": "1"}),
    )
    .await
    .expect(409)
    .api_error("stale_version");
    app.post_json(
        &format!("/api/v1/applications/{}/decision", ids[4]),
        json!({"status": "acceptee"}),
    )
    .await
    .expect(422);
}

#[actix_web::test]
async fn a_withdrawal_proposes_the_first_of_the_waiting_list_and_nothing_is_decided_for_you() {
    let app = common::spawn().await;
    let (cohort, ids) = call_of_nine(&app).await;
    eight_and_one(&app, &ids).await;
    let list = format!("/cohortes/{cohort}/candidatures");
    assert!(
        !app.get(&list)
            .await
            .expect(200)
            .text()
            .contains("Une place est libre")
    );
    // A retained application withdraws (noted by the staff).
    let v = version(&app, &ids[3]).await.to_string();
    let res = app
        .post_form(
            &format!("/candidatures/{}/decision", ids[3]),
            &[("status", "desistee"), ("version", &v)],
        )
        .await
        .expect(303);
    assert!(res.header("location").unwrap().starts_with(&list));
    let page = app.get(&list).await.expect(200).text();
    assert!(page.contains("Une place est libre"), "{page}");
    assert!(page.contains(&format!(
        "La première candidature de la liste d'attente est <a href=\"/candidatures/{}\">",
        ids[8]
    )));
    // Proposed, not decided.
    let waiting = app
        .get(&format!("/api/v1/applications/{}", ids[8]))
        .await
        .expect(200)
        .json();
    assert_eq!(waiting["application"]["status"], "attente");
    decide(&app, &ids[8], "retenue").await.expect(200);
    assert!(
        !app.get(&list)
            .await
            .expect(200)
            .text()
            .contains("Une place est libre")
    );

    // An enrolled association withdrawn from the cohort: its application is désistée and
    // the screen proposes the waiting list's first again.
    decide(&app, &ids[3], "attente").await.expect(200);
    let enrolled = app
        .post_json(&format!("/api/v1/applications/{}/enrol", ids[0]), json!({}))
        .await
        .expect(201)
        .json();
    let association = enrolled["association"]["id"].as_str().unwrap().to_string();
    let res = app
        .post_form(&format!("/associations/{association}/retirer"), &[])
        .await
        .expect(303);
    assert_eq!(
        res.header("location"),
        Some(format!("{list}?notice=place_liberee").as_str())
    );
    let first = app
        .get(&format!("/api/v1/applications/{}", ids[0]))
        .await
        .expect(200)
        .json();
    assert_eq!(first["application"]["status"], "desistee");
    let page = app
        .get(&format!("{list}?notice=place_liberee"))
        .await
        .text();
    assert!(page.contains(&format!("<a href=\"/candidatures/{}\">", ids[3])));
}

#[actix_web::test]
async fn enrolment_makes_the_association_its_participants_and_its_human_pillar_without_retyping() {
    let app = common::spawn().await;
    let (cohort, ids) = call_of_nine(&app).await;
    eight_and_one(&app, &ids).await;
    // The cap is full with 8 retained: enrolling one of them does not count it twice.
    let res = app
        .post_form(&format!("/candidatures/{}/inscrire", ids[0]), &[])
        .await
        .expect(303);
    let location = res.header("location").unwrap().to_string();
    assert!(location.starts_with("/associations/"), "{location}");
    let first = app
        .get(&format!("/api/v1/applications/{}", ids[0]))
        .await
        .expect(200)
        .json();
    let aid = first["application"]["association_id"]
        .as_str()
        .expect("association_id set")
        .to_string();
    let a = app
        .get(&format!("/api/v1/associations/{aid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(a["name"], "Atelier Vélo Solidaire");
    assert_eq!(a["rna"], "W331000000");
    assert_eq!(a["creation_year"], 2012);
    assert_eq!(a["salaried_staff"], 4);
    assert_eq!(a["general_interest"], true);
    assert_eq!(a["mirror_named"], true, "consent_named of the first");
    let people = app
        .get(&format!("/api/v1/associations/{aid}/participants"))
        .await
        .expect(200)
        .json();
    let people = people.as_array().unwrap();
    assert_eq!(people.len(), 2);
    assert_eq!(people[0]["role"], "direction");
    assert_eq!(people[0]["email"], "direction@asso0.fr");
    assert_eq!(people[0]["function"], "Directrice");
    assert_eq!(people[1]["role"], "gouvernance");
    assert_eq!(people[1]["name"], "Présidence 0");
    let profile = app
        .get(&format!(
            "/api/v1/associations/{aid}/profile/etat_des_lieux"
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(profile["profile"]["human"]["employees"], 4);
    assert_eq!(profile["profile"]["human"]["employees_fte_hundredths"], 350);
    assert_eq!(profile["profile"]["human"]["volunteers"], 25);
    // Twice is refused.
    app.post_json(&format!("/api/v1/applications/{}/enrol", ids[0]), json!({}))
        .await
        .expect(409)
        .api_error("application_enrolled");
    // The waiting one is not enrolled.
    app.post_json(&format!("/api/v1/applications/{}/enrol", ids[8]), json!({}))
        .await
        .expect(409)
        .api_error("application_not_retained");
    // « Inscrire toutes les candidatures retenues »: the seven others, in one action.
    app.post_form(&format!("/cohortes/{cohort}/candidatures/inscrire"), &[])
        .await
        .expect(303);
    let associations = app
        .get(&format!("/api/v1/cohorts/{cohort}/associations"))
        .await
        .expect(200)
        .json();
    assert_eq!(associations.as_array().unwrap().len(), 8);
    let list = app
        .get(&format!("/cohortes/{cohort}/candidatures"))
        .await
        .expect(200)
        .text();
    assert!(list.contains("Places prises : <strong>8 sur 8</strong>"));
    assert!(!list.contains("Inscrire toutes les candidatures retenues"));
    // Still full: the ninth cannot be retained.
    decide(&app, &ids[8], "retenue")
        .await
        .expect(409)
        .api_error("cohort_full");
    // An enrolled application's status no longer changes here.
    decide(&app, &ids[1], "non_retenue")
        .await
        .expect(409)
        .api_error("application_enrolled");
}

/// An officer of `dla`, with an API token.
fn officer_token(app: &TestApp, dla: &str) -> String {
    use cohorte::models::account::{self, NewUser};
    let mut conn = app.pool.get().unwrap();
    let user = common::write(&mut conn, |tx| {
        account::create(
            tx,
            NewUser {
                email: "officer@dla33.fr",
                name: "Claire Martin",
                role: "officer",
                dla_id: Some(dla),
                consultant_id: None,
                password: None,
            },
        )
    })
    .unwrap();
    common::write(&mut conn, |tx| {
        account::create_api_token(tx, &user.id, "tests")
    })
    .unwrap()
    .1
}

#[actix_web::test]
async fn already_accompanied_says_the_cohort_within_reach_and_only_year_and_dla_elsewhere() {
    let app = common::spawn().await;
    let (cohort, ids) = call_of_nine(&app).await;
    let dla_a = app.get(&format!("/api/v1/cohorts/{cohort}")).await.json()["dla_id"]
        .as_str()
        .unwrap()
        .to_string();
    let dla_b = app
        .post_json(
            "/api/v1/dlas",
            json!({"name": "DLA des Landes", "area": "Landes (40)"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The first application's association went through a cohort of each DLA before.
    for (dla, name, start) in [
        (&dla_a, "Gironde 2024", "2024-01-15"),
        (&dla_b, "Landes 2025", "2025-02-03"),
    ] {
        let old = app
            .post_json(
                "/api/v1/cohorts",
                json!({"dla_id": dla, "name": name, "territory": "Sud-Ouest",
                       "approach": "territoriale", "start_date": start}),
            )
            .await
            .expect(201)
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_json(
            &format!("/api/v1/cohorts/{old}/associations"),
            json!({"name": "Atelier Vélo", "rna": "W331000000"}),
        )
        .await
        .expect(201);
    }
    let token = officer_token(&app, &dla_a);
    let res = app
        .send_raw(
            TestRequest::get()
                .uri(&format!("/api/v1/applications/{}", ids[0]))
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await
        .expect(200)
        .json();
    let seen = res["eligibility"]["accompanied"].as_array().unwrap();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let landes = &seen[0];
    assert_eq!(landes["visible"], false);
    assert_eq!(
        landes["text"],
        "Déjà accompagnée en 2025 par un autre DLA : DLA des Landes."
    );
    assert!(landes.get("cohort_name").is_none() && landes.get("cohort_id").is_none());
    let gironde = &seen[1];
    assert_eq!(gironde["visible"], true);
    assert_eq!(gironde["cohort_name"], "Gironde 2024");
    assert_eq!(
        gironde["text"],
        "Déjà accompagnée en 2024 dans la cohorte « Gironde 2024 » (DLA de la Gironde)."
    );
    // The administrator sees every DLA's cohorts.
    let admin = app
        .get(&format!("/api/v1/applications/{}", ids[0]))
        .await
        .expect(200)
        .json();
    assert!(
        admin["eligibility"]["accompanied"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["visible"] == true)
    );
    // The page says the same; the other DLA's cohort is not linked.
    let page = app
        .get(&format!("/cohortes/{cohort}/candidatures"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Déjà accompagnée en 2024 dans la cohorte « Gironde 2024 »"));
    // The officer of another DLA may not open the application at all.
    let other = {
        use cohorte::models::account::{self, NewUser};
        let mut conn = app.pool.get().unwrap();
        let user = common::write(&mut conn, |tx| {
            account::create(
                tx,
                NewUser {
                    email: "officer@dla40.fr",
                    name: "Paul Durand",
                    role: "officer",
                    dla_id: Some(&dla_b),
                    consultant_id: None,
                    password: None,
                },
            )
        })
        .unwrap();
        common::write(&mut conn, |tx| {
            account::create_api_token(tx, &user.id, "tests")
        })
        .unwrap()
        .1
    };
    app.send_raw(
        TestRequest::get()
            .uri(&format!("/api/v1/applications/{}", ids[0]))
            .insert_header(("Authorization", format!("Bearer {other}"))),
    )
    .await
    .expect(403);
}
