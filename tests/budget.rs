//! Consultant days through HTTP: the contract warnings (proration, over-contract), the
//! funders' split to the cent on the page, refused input kept as typed (422), hours
//! converted at the contract's day length, concurrent edits (409), and the time entries'
//! CSV parsed back as French Excel reads it.

mod common;

use serde_json::{Value, json};

use common::{Response, TestApp, spawn};

const NBSP: char = '\u{a0}';
const NNBSP: char = '\u{202f}';

async fn budget(app: &TestApp, cohort: &str) -> Value {
    app.get(&format!("/api/v1/cohorts/{cohort}/budget"))
        .await
        .expect(200)
        .json()
}

fn warning_codes(b: &Value) -> Vec<String> {
    b["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn put_contract(app: &TestApp, cohort: &str, days: &str) -> Response {
    // The version read is required: a change never overwrites one made since.
    let version = budget(app, cohort).await["contract"]["version"].clone();
    app.put_json(
        &format!("/api/v1/cohorts/{cohort}/budget"),
        json!({"contract": {"contracted_days": days, "day_rate": "650", "version": version}}),
    )
    .await
}

async fn add_entry(app: &TestApp, cohort: &str, body: Value) -> Value {
    app.post_json(&format!("/api/v1/cohorts/{cohort}/time-entries"), body)
        .await
        .expect(201)
        .json()
}

fn location(res: &Response) -> &str {
    res.header("location").expect("a redirect")
}

// --- contract warnings -------------------------------------------------------------------

#[actix_web::test]
async fn a_contract_under_ten_days_for_eight_associations_warns_and_the_minimum_is_prorated() {
    let app = spawn().await;
    let (eight, _) = app.cohort_with(8).await;
    // Default: 12 days for 8 associations, nothing to say about the contract.
    let b = budget(&app, &eight).await;
    assert_eq!(b["contract"]["contracted_half_days"], 24);
    assert_eq!(b["contract"]["recorded"], false);
    assert!(!warning_codes(&b).contains(&"contract_too_small".to_owned()));

    let b = put_contract(&app, &eight, "9,5").await.expect(200).json();
    assert!(warning_codes(&b).contains(&"contract_too_small".to_owned()));
    let b = put_contract(&app, &eight, "10").await.expect(200).json();
    assert!(!warning_codes(&b).contains(&"contract_too_small".to_owned()));

    // 4 associations: 5 days is enough, 4,5 is not; the page says so in French.
    let app = spawn().await;
    let (four, _) = app.cohort_with(4).await;
    let b = budget(&app, &four).await;
    assert_eq!(
        b["contract"]["contracted_half_days"], 12,
        "6 days by default"
    );
    let b = put_contract(&app, &four, "5").await.expect(200).json();
    assert!(!warning_codes(&b).contains(&"contract_too_small".to_owned()));
    put_contract(&app, &four, "4,5").await.expect(200);
    let page = app
        .get(&format!("/cohortes/{four}/budget"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("data-code=\"contract_too_small\""), "{page}");
    assert!(page.contains(&format!("4,5{NBSP}jours")));
    assert!(page.contains("au prorata"));
}

#[actix_web::test]
async fn planned_plus_logged_time_above_the_contract_warns_once_it_exceeds() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    app.generate(&cohort).await;
    let planned = budget(&app, &cohort).await["totals"]["planned_minutes"]
        .as_i64()
        .unwrap();
    assert!(planned > 0, "the programme plans consultant time");
    // A contract of the planned time rounded up to the half-day (7 h days: 210 minutes a
    // half-day): less than a half-day to spare.
    let half_days = (planned + 209) / 210;
    let days = format!("{}", half_days as f64 / 2.0).replace('.', ",");
    let b = put_contract(&app, &cohort, &days).await.expect(200).json();
    assert!(!warning_codes(&b).contains(&"over_contract".to_owned()));

    // Logging planned animation time does not count twice…
    add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-11", "kind": "animation_collective", "duration": 1, "unit": "demi_journees"}),
    )
    .await;
    let b = budget(&app, &cohort).await;
    assert!(!warning_codes(&b).contains(&"over_contract".to_owned()));
    // …but coordination beyond the planned 3 h 30 goes beyond the contract.
    add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-12", "kind": "coordination", "duration": "8 h", "unit": "heures"}),
    )
    .await;
    let b = budget(&app, &cohort).await;
    assert!(
        warning_codes(&b).contains(&"over_contract".to_owned()),
        "{b}"
    );
    assert_eq!(b["totals"]["projected_minutes"], planned - 210 + 480);
}

// --- funders -----------------------------------------------------------------------------

#[actix_web::test]
async fn three_funders_split_the_cost_to_the_cent_and_the_parts_add_up_on_the_page() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(8).await;
    // Without funders, the owning DLA at 100 % is proposed (not saved).
    let b = budget(&app, &cohort).await;
    assert_eq!(b["funders"], json!([]));
    assert_eq!(b["proposed_funders"][0]["share_bp"], 10_000);
    assert!(warning_codes(&b).contains(&"funders_incomplete".to_owned()));

    app.post_form(
        &format!("/cohortes/{cohort}/budget/contrat"),
        &[
            ("contracted_days", "10,5"),
            ("day_rate", "650,00 €"),
            ("day_length", "7"),
            ("version", "0"),
        ],
    )
    .await
    .expect(303);
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/budget/financeurs"),
            &[
                ("funder_name", "DLA de la Gironde"),
                ("funder_share", "33,33"),
                ("funder_dla", ""),
                ("funder_name", "DLA régional Nouvelle-Aquitaine"),
                ("funder_share", "33,33"),
                ("funder_dla", ""),
                ("funder_name", "Fondation du Sud-Ouest"),
                ("funder_share", "33,34 %"),
                ("funder_dla", ""),
                ("funder_name", ""),
                ("funder_share", ""),
                ("funder_dla", ""),
            ],
        )
        .await
        .expect(303);
    assert!(location(&res).contains("notice=financeurs_enregistres"));

    let b = budget(&app, &cohort).await;
    assert_eq!(b["cost_cents"], 682_500, "10,5 days × 650,00 €");
    let parts: Vec<i64> = b["funders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cost_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(parts, vec![227_477, 227_477, 227_546]);
    assert_eq!(parts.iter().sum::<i64>(), 682_500);
    assert!(!warning_codes(&b).contains(&"funders_incomplete".to_owned()));

    let page = app
        .get(&format!(
            "/cohortes/{cohort}/budget?notice=financeurs_enregistres"
        ))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Les financeurs et leurs parts ont été enregistrés."));
    for amount in [
        format!("2{NNBSP}274,77{NBSP}€"),
        format!("2{NNBSP}275,46{NBSP}€"),
        format!("6{NNBSP}825,00{NBSP}€"),
        format!("650,00{NBSP}€"),
    ] {
        assert!(page.contains(&amount), "{amount} on the page:\n{page}");
    }
    assert!(page.contains(&format!("33,34{NBSP}%")));
    assert!(page.contains(&format!("10,5{NBSP}jours")));
}

#[actix_web::test]
async fn shares_not_totalling_100_percent_are_refused_beside_the_field_with_what_was_typed() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(3).await;
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/budget/financeurs"),
            &[
                ("funder_name", "DLA de la Gironde"),
                ("funder_share", "50"),
                ("funder_dla", ""),
                ("funder_name", "Conseil départemental"),
                ("funder_share", "40"),
                ("funder_dla", ""),
                ("funder_name", "Mécène « local »"),
                ("funder_share", "dix"),
                ("funder_dla", ""),
            ],
        )
        .await
        .expect(422);
    let page = res.text();
    assert!(page.contains("value=\"Conseil départemental\""));
    assert!(page.contains("value=\"40\""));
    assert!(page.contains("value=\"dix\""));
    assert!(page.contains("Mécène « local »"));
    // The unreadable share is pointed out on its own row.
    let third = &page[page.find("value=\"dix\"").unwrap()..];
    assert!(third[..400].contains("Part illisible"), "{third}");

    // Readable shares that total 90 %: the message says so on the list.
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/budget/financeurs"),
            &[
                ("funder_name", "DLA de la Gironde"),
                ("funder_share", "50"),
                ("funder_dla", ""),
                ("funder_name", "Conseil départemental"),
                ("funder_share", "40"),
                ("funder_dla", ""),
            ],
        )
        .await
        .expect(422);
    let page = res.text();
    assert!(
        page.contains(&format!(
            "totalisent 90{NBSP}% : elles doivent totaliser exactement 100{NBSP}%"
        )),
        "{page}"
    );
    assert!(page.contains("id=\"f-funders-error\""));
    assert!(page.contains("value=\"Conseil départemental\""));
    assert_eq!(
        budget(&app, &cohort).await["funders"],
        json!([]),
        "nothing saved"
    );

    // Same rule through the API, with the field names.
    let res = app
        .put_json(
            &format!("/api/v1/cohorts/{cohort}/budget"),
            json!({"funders": {"funders": [{"name": "A", "share": 50}, {"name": "B", "share": "40"}],
                               "version": budget(&app, &cohort).await["funders_version"]}}),
        )
        .await
        .expect(422);
    let e = res.api_error("validation_failed");
    assert!(e["fields"]["funders"].as_str().unwrap().contains("100"));
}

// --- time entries ------------------------------------------------------------------------

#[actix_web::test]
async fn hours_are_converted_at_the_contract_day_length() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(8).await;
    app.put_json(
        &format!("/api/v1/cohorts/{cohort}/budget"),
        json!({"contract": {"contracted_days": 12, "day_rate": 650, "day_length": "7 h 30", "version": 0}}),
    )
    .await
    .expect(200);
    // 3 h 45 at 7 h 30 a day: half a day, exactly.
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/temps"),
            &[
                ("date", "15/01/2027"),
                ("kind", "preparation"),
                ("duration", "3 h 45"),
                ("unit", "heures"),
                ("session_id", ""),
                ("association_id", ""),
                ("comment", "Préparation de l'état des lieux"),
            ],
        )
        .await
        .expect(303);
    assert!(location(&res).contains("notice=temps_saisi"));
    let b = budget(&app, &cohort).await;
    assert_eq!(b["totals"]["logged_minutes"], 225);
    let prep = b["totals"]["per_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "preparation")
        .unwrap()
        .clone();
    assert_eq!(prep["logged_minutes"], 225);
    let page = app
        .get(&format!("/cohortes/{cohort}/budget"))
        .await
        .expect(200)
        .text();
    assert!(page.contains(&format!("0,5{NBSP}jour")), "{page}");
    assert!(page.contains("15/01/2027"));

    // "1,5" in hours and "90 min" are the same 90 minutes.
    let e = add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-16", "kind": "coordination", "duration": "1,5", "unit": "heures"}),
    )
    .await;
    assert_eq!(e["minutes"], 90);
    assert_eq!(e["half_days"], Value::Null);
    let e = add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-16", "kind": "coordination", "duration": "90 min"}),
    )
    .await;
    assert_eq!(e["minutes"], 90);
}

#[actix_web::test]
async fn a_bad_date_a_bad_duration_or_another_cohorts_session_is_refused_on_its_field() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(2).await;
    let other = app
        .create_cohort(&app.create_dla().await, "Autre cohorte")
        .await;
    app.enrol(&other, "Association d'ailleurs").await;
    let generated = app.generate(&other).await;
    let foreign_session = generated["sessions"][0]["id"].as_str().unwrap().to_owned();

    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/temps"),
            &[
                ("date", "31/02/2027"),
                ("kind", "preparation"),
                ("duration", "trois heures"),
                ("unit", "heures"),
                ("session_id", &foreign_session),
                ("association_id", &associations[0]),
                ("comment", "Gardé tel quel"),
            ],
        )
        .await
        .expect(422);
    let page = res.text();
    assert!(common::around_field(&page, "date").contains("Date invalide"));
    assert!(common::around_field(&page, "duration").contains("Durée illisible"));
    assert!(common::around_field(&page, "session_id").contains("appartient pas à la cohorte"));
    assert!(page.contains("value=\"31/02/2027\""));
    assert!(page.contains("value=\"trois heures\""));
    assert!(page.contains("value=\"Gardé tel quel\""));

    // Three half-days in one entry is not a duration either.
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/temps"),
            &[
                ("date", "2027-02-01"),
                ("kind", "preparation"),
                ("duration", "3"),
                ("unit", "demi_journees"),
            ],
        )
        .await
        .expect(422);
    assert!(common::around_field(&res.text(), "duration").contains("1 (une demi-journée) ou 2"));

    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/time-entries"),
            json!({"date": "2027-13-01", "kind": "sieste", "duration": "25 h", "unit": "heures", "session_id": foreign_session}),
        )
        .await
        .expect(422);
    let e = res.api_error("validation_failed");
    for field in ["date", "kind", "duration", "session_id"] {
        assert!(e["fields"][field].is_string(), "{field} in {e}");
    }
    let list = app
        .get(&format!("/api/v1/cohorts/{cohort}/time-entries"))
        .await
        .expect(200)
        .json();
    assert_eq!(list, json!([]), "nothing saved");
}

#[actix_web::test]
async fn the_second_person_saving_the_same_entry_gets_409_and_keeps_what_they_typed() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let e = add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-11", "kind": "animation_collective", "duration": 2, "unit": "demi_journees"}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    // Both open the edit form at version 1.
    let form = app
        .get(&format!("/temps/{id}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(form.contains("name=\"version\" value=\"1\""));
    let fields = |comment: &'static str, duration: &'static str| {
        vec![
            ("date", "2027-01-11"),
            ("kind", "animation_collective"),
            ("duration", duration),
            ("unit", "demi_journees"),
            ("session_id", ""),
            ("association_id", ""),
            ("comment", comment),
            ("version", "1"),
        ]
    };
    app.post_form(
        &format!("/temps/{id}/modifier"),
        &fields("Première personne", "1"),
    )
    .await
    .expect(303);
    let res = app
        .post_form(
            &format!("/temps/{id}/modifier"),
            &fields("Deuxième personne ; avec ses notes", "2"),
        )
        .await
        .expect(409);
    let page = res.text();
    assert!(page.contains("La saisie de temps a été modifiée par quelqu"));
    assert!(page.contains("value=\"Deuxième personne ; avec ses notes\""));
    // The first save stands.
    let list = app
        .get(&format!("/api/v1/cohorts/{cohort}/time-entries"))
        .await
        .expect(200)
        .json();
    assert_eq!(list[0]["comment"], "Première personne");
    assert_eq!(list[0]["half_days"], 1);
    assert_eq!(list[0]["version"], 2);

    // The API says the same.
    let res = app
        .put_json(
            &format!("/api/v1/time-entries/{id}"),
            json!({"date": "2027-01-11", "kind": "preparation", "duration": 1, "unit": "demi_journees", "version": 1}),
        )
        .await
        .expect(409);
    res.api_error("stale_version");

    // The contract form too: a stale version keeps the typed days.
    app.post_form(
        &format!("/cohortes/{cohort}/budget/contrat"),
        &[
            ("contracted_days", "5"),
            ("day_rate", "650"),
            ("day_length", "7"),
            ("version", "0"),
        ],
    )
    .await
    .expect(303);
    let res = app
        .post_form(
            &format!("/cohortes/{cohort}/budget/contrat"),
            &[
                ("contracted_days", "7,5"),
                ("day_rate", "700"),
                ("day_length", "7"),
                ("version", "0"),
            ],
        )
        .await
        .expect(409);
    assert!(res.text().contains("value=\"7,5\""));
    assert!(res.text().contains("Le contrat a été modifié par quelqu"));
}

#[actix_web::test]
async fn deleting_an_entry_asks_for_confirmation_first() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let e = add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-11", "kind": "deplacement", "duration": "45 min"}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    let confirm = app
        .get(&format!("/temps/{id}/supprimer"))
        .await
        .expect(200)
        .text();
    assert!(confirm.contains("Supprimer la saisie"));
    assert!(confirm.contains("lundi 11 janvier 2027"));
    let res = app
        .post_form(&format!("/temps/{id}/supprimer"), &[])
        .await
        .expect(303);
    assert!(location(&res).contains("notice=temps_supprime"));
    app.put_json(&format!("/api/v1/time-entries/{id}"), json!({}))
        .await
        .expect(404);
}

// --- CSV -----------------------------------------------------------------------------------

#[actix_web::test]
async fn the_time_entries_csv_opens_in_french_excel_with_accents_and_decimal_commas() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(2).await;
    add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-12", "kind": "preparation", "duration": "1 h 30", "unit": "heures",
               "association_id": associations[1],
               "comment": "Relecture ; « diagnostic » de l'association \"Les Pêcheurs\"\nà reprendre"}),
    )
    .await;
    add_entry(
        &app,
        &cohort,
        json!({"date": "2027-01-11", "kind": "animation_collective", "duration": 1, "unit": "demi_journees",
               "comment": "=1+1 éléments"}),
    )
    .await;

    let res = app
        .get(&format!("/cohortes/{cohort}/temps.csv"))
        .await
        .expect(200);
    assert_eq!(res.content_type(), "text/csv; charset=utf-8");
    let disposition = res.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"temps-modeles-socio-economiques-2027-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert!(res.body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    let text = std::str::from_utf8(&res.body[3..]).expect("UTF-8");
    let rows = common::parse_csv(text);
    assert_eq!(
        rows[0],
        [
            "Date",
            "Nature",
            "Durée saisie",
            "Jours",
            "Heures",
            "Séance",
            "Association",
            "Commentaire"
        ]
    );
    assert_eq!(rows.len(), 3);
    // Oldest first; a half-day at 7 h: 0,50 day, 3,50 hours.
    assert_eq!(rows[1][0], "11/01/2027");
    assert_eq!(rows[1][1], "Animation collective");
    assert_eq!(rows[1][3], "0,50");
    assert_eq!(rows[1][4], "3,50");
    assert_eq!(rows[1][7], "'=1+1 éléments", "a formula is neutralised");
    // 1 h 30 at 7 h: 0,21 day, 1,50 hours; the comment comes back whole.
    assert_eq!(rows[2][0], "12/01/2027");
    assert_eq!(rows[2][1], "Préparation");
    assert_eq!(rows[2][2], format!("1{NBSP}h{NBSP}30"));
    assert_eq!(rows[2][3], "0,21");
    assert_eq!(rows[2][4], "1,50");
    assert_eq!(rows[2][6], "Association n° 2");
    assert_eq!(
        rows[2][7],
        "Relecture ; « diagnostic » de l'association \"Les Pêcheurs\"\nà reprendre"
    );
    assert!(text.contains("\"Relecture ; « diagnostic » de l'association \"\"Les Pêcheurs\"\""));
}
