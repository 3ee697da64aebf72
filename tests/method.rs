//! The method's figures through HTTP (issue #13): the consultant time planned to the method
//! — one figure on the cohort page, the budget page, the dashboard and the API — and the
//! method's recommendations as warnings that never refuse (cap above 8, session lengths,
//! an association's age by date).

mod common;

use serde_json::{Value, json};

use common::{TestApp, spawn};

const NBSP: char = '\u{a0}';

async fn warning_codes(app: &TestApp, cohort: &str) -> Vec<String> {
    let w: Value = app
        .get(&format!("/api/v1/cohorts/{cohort}/warnings"))
        .await
        .expect(200)
        .json();
    w.as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn page(app: &TestApp, uri: &str) -> String {
    app.get(uri).await.expect(200).text()
}

#[actix_web::test]
async fn a_cohort_of_eight_plans_ten_to_twelve_days_and_every_page_shows_the_same_figure() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(8).await;
    for generated in [false, true] {
        if generated {
            app.generate(&cohort).await;
        }
        let b: Value = app
            .get(&format!("/api/v1/cohorts/{cohort}/budget"))
            .await
            .expect(200)
            .json();
        let minutes = b["totals"]["planned_minutes"].as_i64().unwrap();
        assert!((10 * 420..=12 * 420).contains(&minutes), "{minutes}");
        assert_eq!(minutes, 4920, "11,7 days with the defaults");
        let figure = format!("11,7{NBSP}jours");
        // Every kind of the method's time is planned, each on its own line of the budget.
        for kind in b["totals"]["per_kind"].as_array().unwrap() {
            assert!(kind["planned_minutes"].as_i64().unwrap() > 0, "{kind}");
        }
        for uri in [
            format!("/cohortes/{cohort}"),
            format!("/cohortes/{cohort}/budget"),
            format!("/cohortes/{cohort}/tableau-de-bord"),
        ] {
            let html = page(&app, &uri).await;
            assert!(html.contains(&figure), "{uri} (generated: {generated})");
        }
        assert!(!b["warnings"].to_string().contains("plan_below_minimum"));
        assert!(!b["warnings"].to_string().contains("over_contract"));
    }
}

#[actix_web::test]
async fn a_plan_under_the_prorated_minimum_or_over_the_contract_is_a_warning_on_the_cohort_page() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(8).await;
    // The cohort plans no support, no bilan preparation or write-up: 9,7 days.
    let t: Value = app
        .get(&format!("/api/v1/cohorts/{cohort}/programme-template"))
        .await
        .expect(200)
        .json();
    app.put_json(
        &format!("/api/v1/cohorts/{cohort}/programme-template"),
        json!({"version": t["version"], "consultant_time": {
            "support_minutes_per_association": 0,
            "bilan_preparation_minutes": 0,
            "bilan_write_up_minutes": 45,
        }}),
    )
    .await
    .expect(200);
    let html = page(&app, &format!("/cohortes/{cohort}")).await;
    assert!(html.contains("data-code=\"plan_below_minimum\""), "{html}");
    let budget = page(&app, &format!("/cohortes/{cohort}/budget")).await;
    assert!(budget.contains("data-code=\"plan_below_minimum\""));

    // A contract of 11 days under the 11,7 planned by default.
    app.send(
        actix_web::test::TestRequest::delete()
            .uri(&format!("/api/v1/cohorts/{cohort}/programme-template")),
    )
    .await
    .expect(200);
    let b: Value = app
        .get(&format!("/api/v1/cohorts/{cohort}/budget"))
        .await
        .expect(200)
        .json();
    let b: Value = app
        .put_json(
            &format!("/api/v1/cohorts/{cohort}/budget"),
            json!({"contract": {"contracted_days": "11", "day_rate": "650", "version": b["contract"]["version"]}}),
        )
        .await
        .expect(200)
        .json();
    assert!(b["warnings"].to_string().contains("over_contract"), "{b}");
    let html = page(&app, &format!("/cohortes/{cohort}")).await;
    assert!(html.contains("data-code=\"over_contract\""));
    assert!(!html.contains("data-code=\"plan_below_minimum\""));
}

#[actix_web::test]
async fn a_cohort_with_a_cap_of_ten_saves_from_the_form_and_shows_the_method_warning() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let res = app
        .post_form(
            "/cohortes",
            &[
                ("name", "Grande cohorte"),
                ("territory", "Gironde"),
                ("approach", "territoriale"),
                ("start_date", "2027-01-11"),
                ("association_cap", "10"),
                ("status", "brouillon"),
                ("dla_id", &dla),
            ],
        )
        .await
        .expect(303);
    let location = res.header("location").unwrap().to_owned();
    let html = page(&app, &location).await;
    assert!(html.contains("data-code=\"cap_above_method\""), "{html}");
    assert!(html.contains("8 structures au maximum"));

    // The API answers the change with the warning.
    let created: Value = app
        .post_json(
            "/api/v1/cohorts",
            json!({"dla_id": dla, "name": "Autre", "territory": "Gironde",
                   "approach": "territoriale", "start_date": "2027-01-11",
                   "association_cap": 8}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["warnings"], json!([]));
    let id = created["id"].as_str().unwrap();
    let changed: Value = app
        .put_json(
            &format!("/api/v1/cohorts/{id}"),
            json!({"association_cap": 12, "version": created["version"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(changed["association_cap"], 12);
    assert_eq!(changed["warnings"][0]["code"], "cap_above_method");
}

#[actix_web::test]
async fn an_etat_des_lieux_of_an_hour_and_a_half_is_flagged_not_refused() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    assert!(
        !warning_codes(&app, &cohort)
            .await
            .iter()
            .any(|c| c.contains("too_"))
    );
    let edl = generated["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "etat_des_lieux")
        .unwrap();
    let id = edl["id"].as_str().unwrap();
    let date = &edl["starts_at"].as_str().unwrap()[..10];
    app.post_json(
        &format!("/api/v1/sessions/{id}/move"),
        json!({"date": date, "start_time": "09:30", "end_time": "11:00", "version": edl["version"]}),
    )
    .await
    .expect(200);
    let codes = warning_codes(&app, &cohort).await;
    assert!(
        codes.contains(&"collective_session_too_short".to_owned()),
        "{codes:?}"
    );
    let html = page(&app, &format!("/cohortes/{cohort}")).await;
    assert!(html.contains("data-code=\"collective_session_too_short\""));
    assert!(html.contains("d&#x27;une demi-journée à une journée"));
}

#[actix_web::test]
async fn a_creation_date_is_compared_by_date_and_a_year_alone_by_year() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    let enrol = |name: &'static str, extra: Value| {
        let app = &app;
        let cohort = cohort.clone();
        async move {
            let mut body = json!({"name": name, "salaried_staff": 5, "general_interest": true});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            app.post_json(&format!("/api/v1/cohorts/{cohort}/associations"), body)
                .await
                .expect(201)
                .json()
        }
    };
    // Two years before the start (11 January 2027), by date: flagged; its year is filled.
    let two = enrol("Deux ans", json!({"creation_date": "2025-01-11"})).await;
    assert_eq!(two["creation_year"], 2025);
    assert_eq!(two["creation_date"], "2025-01-11");
    // 1 March 2024: three years by year, not by date.
    enrol("Par date", json!({"creation_date": "2024-03-01"})).await;
    enrol("Par année", json!({"creation_year": 2024})).await;
    let w: Value = app
        .get(&format!("/api/v1/cohorts/{cohort}/warnings"))
        .await
        .expect(200)
        .json();
    let young: Vec<&str> = w
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "too_young")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(young.len(), 2, "{young:?}");
    assert!(young[0].starts_with("Deux ans a été créée le samedi 11 janvier 2025"));
    assert!(young[1].starts_with("Par date a été créée le vendredi 1er mars 2024"));

    // A date that contradicts the year is refused on its field, from the form too.
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/associations"),
            &[
                ("name", "Contradiction"),
                ("creation_year", "2010"),
                ("creation_date", "2012-05-04"),
            ],
        )
        .await
        .expect(422);
    let html = res.text();
    let field = common::around_field(&html, "creation_date");
    assert!(field.contains("2012-05-04"), "{field}");
    assert!(
        field.contains("ne tombe pas l&#x27;année de création"),
        "{field}"
    );
}
