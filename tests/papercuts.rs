//! What a new user stumbled on (issue #13, part 7), each pinned through HTTP.

mod common;

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::json;

use cohorte::models::account::{self, Lifetimes, NewUser, Principal};
use common::{TestApp, spawn};

/// A session cookie for `principal`, as the sign-in would make it.
fn session_for(app: &TestApp, principal: Principal) -> String {
    let mut c = app.pool.get().unwrap();
    common::write(&mut c, |tx| {
        account::start_session(
            tx,
            &principal,
            Lifetimes::from_config(&app.config.auth),
            chrono::Utc::now().naive_utc(),
        )
    })
    .unwrap()
}

async fn page_as(app: &TestApp, cookie: &str, uri: &str) -> String {
    app.send_raw(
        TestRequest::get()
            .uri(uri)
            .insert_header((header::COOKIE, format!("cohorte_session={cookie}"))),
    )
    .await
    .expect(200)
    .text()
}

#[actix_web::test]
async fn the_new_cohort_form_names_the_signed_in_officer() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let officer = {
        let mut c = app.pool.get().unwrap();
        common::write(&mut c, |tx| {
            account::create(
                tx,
                NewUser {
                    email: "julie.martin@dla33.fr",
                    name: "Julie Martin",
                    role: "officer",
                    dla_id: Some(&dla),
                    consultant_id: None,
                    password: None,
                },
            )
        })
        .unwrap()
    };
    let cookie = session_for(&app, Principal::User(officer.id));
    let page = page_as(&app, &cookie, "/cohortes/nouvelle").await;
    let name = common::around_field(&page, "officer_name");
    assert!(name.contains("value=\"Julie Martin\""), "{name}");
    let email = common::around_field(&page, "officer_email");
    assert!(email.contains("julie.martin@dla33.fr"), "{email}");
}

#[actix_web::test]
async fn the_portal_says_when_the_etat_des_lieux_is_already_filled_in() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let people = app
        .get(&format!(
            "/api/v1/associations/{}/participants",
            associations[0]
        ))
        .await
        .expect(200)
        .json();
    let pid = people[0]["id"].as_str().unwrap().to_string();
    let cookie = session_for(&app, Principal::Participant(pid));
    let before = page_as(&app, &cookie, "/portail").await;
    assert!(before.contains("Remplir l'état des lieux"));
    app.put_json(
        &format!(
            "/api/v1/associations/{}/profile/etat_des_lieux",
            associations[0]
        ),
        json!({"version": 0, "employees": "4"}),
    )
    .await
    .expect(200);
    let after = page_as(&app, &cookie, "/portail").await;
    assert!(
        !after.contains("Remplir l'état des lieux"),
        "not « remplir » once filled"
    );
    assert!(after.contains("Relire ou compléter l'état des lieux"));
}

#[actix_web::test]
async fn no_mobilisation_forecast_before_the_programme_exists() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    let uri = format!("/associations/{}", associations[0]);
    let page = app.get(&uri).await.expect(200).text();
    assert!(page.contains("Le programme n'est pas encore généré"));
    assert!(!page.contains("En dessous"));
    app.generate(&cohort).await;
    let page = app.get(&uri).await.expect(200).text();
    assert!(!page.contains("Le programme n'est pas encore généré"));
}

#[actix_web::test]
async fn the_anonymise_page_breadcrumb_goes_through_the_cohort() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    let page = app
        .get(&format!("/associations/{}/anonymiser", associations[0]))
        .await
        .expect(200)
        .text();
    let crumbs = page.split("class=\"crumbs\"").nth(1).unwrap();
    let crumbs = crumbs.split("</nav>").next().unwrap();
    assert!(
        crumbs.contains(&format!("href=\"/cohortes/{cohort}\"")),
        "{crumbs}"
    );
}

#[actix_web::test]
async fn the_same_collective_day_logged_twice_for_one_session_is_a_warning() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let session = generated["sessions"][1]["id"].as_str().unwrap().to_string();
    let entry = json!({"date": "2027-02-15", "kind": "animation_collective",
                       "duration": "2", "unit": "demi_journees", "session_id": session});
    let uri = format!("/api/v1/cohorts/{cohort}/time-entries");
    app.post_json(&uri, entry.clone()).await.expect(201);
    let budget = format!("/cohortes/{cohort}/budget");
    assert!(
        !app.get(&budget)
            .await
            .expect(200)
            .text()
            .contains("saisi 2 fois")
    );
    // Co-animation happens: the second one is saved, with a warning.
    app.post_json(&uri, entry).await.expect(201);
    let page = app.get(&budget).await.expect(200).text();
    assert!(
        page.contains("saisi 2 fois"),
        "the warning is on the budget page"
    );
    assert!(page.contains("co-animation"));
}

#[actix_web::test]
async fn wide_tables_reflow_on_a_phone_with_each_cell_named() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let session = generated["sessions"][1]["id"].as_str().unwrap().to_string();
    let log = app
        .get(&format!("/seances/{session}/journal"))
        .await
        .expect(200)
        .text();
    assert!(log.contains("class=\"attendance reflow\""));
    assert!(log.contains("data-label=\"Matin\"") || log.contains("data-label=\""));
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let outbox = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    assert!(outbox.contains("class=\"outbox reflow\""));
    assert!(outbox.contains("data-label=\"Actions\""));
    let css = app.get("/static/app.css").await.expect(200).text();
    assert!(css.contains("table.reflow td[data-label]::before"));
}
