//! The journal of changes: who, what, when, before and after, read through the API and
//! the French pages.

mod common;

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use common::{TestApp, spawn};

/// The cohort's journal through the API, newest first.
async fn journal(app: &TestApp, cohort: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/cohorts/{cohort}/audit?limit=500"))
        .await
        .expect(200)
        .json()
        .as_array()
        .expect("a JSON list")
        .clone()
}

/// The entries about `entity` with `action`.
fn entries<'a>(all: &'a [Value], entity: &str, action: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|e| e["entity"] == entity && e["action"] == action)
        .collect()
}

/// The change of `field` in an entry: (before, after) as shown in French.
fn change(entry: &Value, field: &str) -> (String, String) {
    let c = entry["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["field"] == field)
        .unwrap_or_else(|| panic!("no change of {field} in {entry}"));
    (
        c["before"].as_str().unwrap().to_string(),
        c["after"].as_str().unwrap().to_string(),
    )
}

fn assert_has_author(entry: &Value) {
    let actor = entry["actor"].as_str().expect("actor");
    assert!(!actor.trim().is_empty(), "an author in {entry}");
}

async fn edit_cohort(app: &TestApp, cohort: &str, field: &str, value: &str) {
    let mut body = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    body[field] = json!(value);
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), body)
        .await
        .expect(200);
}

#[actix_web::test]
async fn editing_a_cohort_records_the_changed_field_before_and_after() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    edit_cohort(&app, &cohort, "name", "MSE Gironde 2027").await;

    let all = journal(&app, &cohort).await;
    let updates = entries(&all, "cohort", "update");
    assert_eq!(updates.len(), 1, "{all:?}");
    let u = updates[0];
    assert_has_author(u);
    assert_eq!(
        change(u, "name"),
        (
            "Modèles socio-économiques 2027".to_string(),
            "MSE Gironde 2027".to_string()
        )
    );
    // Only what changed: bookkeeping is not a change.
    let fields: Vec<&str> = u["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name"]);
    assert_eq!(u["before"]["name"], "Modèles socio-économiques 2027");
    assert_eq!(u["after"]["name"], "MSE Gironde 2027");
    assert_eq!(u["entity_label"], "Cohorte");
    assert_eq!(u["action_label"], "modification");
    // Newest first: the update comes before the creation.
    assert_eq!(all[0]["action"], "update");
    assert_eq!(entries(&all, "cohort", "create").len(), 1);

    // Saving the same values again records nothing.
    edit_cohort(&app, &cohort, "name", "MSE Gironde 2027").await;
    assert_eq!(
        entries(&journal(&app, &cohort).await, "cohort", "update").len(),
        1
    );
}

#[actix_web::test]
async fn enrolling_an_association_and_its_participants_records_creations() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    let all = journal(&app, &cohort).await;
    let created = entries(&all, "association", "create");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["entity_id"], associations[0].as_str());
    assert_eq!(
        created[0]["summary"],
        "Association « Association n° 1 » : création"
    );
    assert_has_author(created[0]);
    assert_eq!(change(created[0], "town"), ("—".into(), "Bordeaux".into()));
    assert_eq!(entries(&all, "participant", "create").len(), 2);
}

#[actix_web::test]
async fn deleting_a_session_records_a_deletion_with_what_was_lost() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let all = journal(&app, &cohort).await;
    assert_eq!(
        entries(&all, "programme", "create").len(),
        1,
        "one row for the whole generation"
    );
    let session = generated["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "evolution")
        .expect("an évolution session");
    let id = session["id"].as_str().unwrap();
    app.send(TestRequest::delete().uri(&format!("/api/v1/sessions/{id}")))
        .await
        .expect(204);

    let all = journal(&app, &cohort).await;
    let deleted = entries(&all, "session", "delete");
    assert_eq!(deleted.len(), 1);
    let d = deleted[0];
    assert_eq!(d["entity_id"], id);
    assert_has_author(d);
    assert_eq!(d["action_label"], "suppression");
    assert!(d["after"].is_null());
    assert_eq!(d["before"]["kind"], "evolution");
    assert_eq!(change(d, "kind"), ("Évolution".into(), "—".into()));
    assert!(
        d["summary"]
            .as_str()
            .unwrap()
            .starts_with("Séance « Évolution")
    );
}

#[actix_web::test]
async fn time_entries_record_their_creation_and_update() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    let entry = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/time-entries"),
            json!({"date": "2027-01-12", "kind": "preparation", "duration": "1 h 30", "unit": "heures", "comment": "Trame"}),
        )
        .await
        .expect(201)
        .json();
    let id = entry["id"].as_str().unwrap();
    app.put_json(
        &format!("/api/v1/time-entries/{id}"),
        json!({"date": "2027-01-12", "kind": "preparation", "duration": "2 h", "unit": "heures", "comment": "Trame et supports", "version": "1"}),
    )
    .await
    .expect(200);

    let all = journal(&app, &cohort).await;
    let created = entries(&all, "time_entry", "create");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["entity_label"], "Temps saisi");
    let updated = entries(&all, "time_entry", "update");
    assert_eq!(updated.len(), 1);
    let u = updated[0];
    assert_has_author(u);
    assert_eq!(
        change(u, "comment"),
        ("Trame".into(), "Trame et supports".into())
    );
    assert_eq!(
        change(u, "minutes"),
        ("1\u{a0}h\u{a0}30".into(), "2\u{a0}h".into())
    );
    assert_eq!(
        u["summary"],
        "Temps saisi « Préparation du 12/01/2027 » : modification"
    );
}

#[actix_web::test]
async fn the_cohort_page_shows_the_journal_in_french_newest_first() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    edit_cohort(&app, &cohort, "territory", "Libournais").await;

    let res = app
        .get(&format!("/cohortes/{cohort}/modifications"))
        .await
        .expect(200);
    assert!(res.content_type().starts_with("text/html"));
    let html = res.text();
    assert!(html.contains("Journal des modifications"), "{html}");
    assert!(html.contains("Cohorte « Modèles socio-économiques 2027 » : modification"));
    assert!(html.contains("Association « Association n° 1 » : création"));
    assert!(html.contains("Territoire"));
    assert!(html.contains("Bordeaux Métropole"));
    assert!(html.contains("Libournais"));
    assert!(html.contains("<th scope=\"col\">Avant</th>"));
    assert!(html.contains("<th scope=\"col\">Après</th>"));
    // Newest first.
    let update = html.find("Cohorte « Modèles socio-économiques 2027 » : modification");
    let enrol = html.find("Association « Association n° 1 » : création");
    assert!(update < enrol, "the latest change comes first");
    // A date in French.
    assert!(
        [
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
            "décembre"
        ]
        .iter()
        .any(|m| html.contains(m))
    );

    // And the cohort page links to it.
    let show = app
        .get(&format!("/cohortes/{cohort}"))
        .await
        .expect(200)
        .text();
    assert!(show.contains(&format!("href=\"/cohortes/{cohort}/modifications\"")));
}

#[actix_web::test]
async fn hostile_text_in_a_changed_field_is_escaped_in_the_page() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    edit_cohort(&app, &cohort, "territory", "<script>alert('x')</script>").await;

    let html = app
        .get(&format!("/cohortes/{cohort}/modifications"))
        .await
        .expect(200)
        .text();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

#[actix_web::test]
async fn the_dla_page_gathers_its_cohorts_and_says_when_there_is_nothing() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let dla = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json()["dla_id"]
        .as_str()
        .unwrap()
        .to_string();
    let html = app
        .get(&format!("/dla/{dla}/modifications"))
        .await
        .expect(200)
        .text();
    assert!(html.contains("Association « Association n° 1 » : création"));
    assert!(html.contains(&format!("href=\"/cohortes/{cohort}/modifications\"")));
    assert!(html.contains("Modèles socio-économiques 2027"));

    let other = app.create_dla().await;
    let html = app
        .get(&format!("/dla/{other}/modifications"))
        .await
        .expect(200)
        .text();
    assert!(html.contains("Aucune modification n'a encore été enregistrée"));
}

#[actix_web::test]
async fn the_api_pages_the_journal_and_gives_the_total() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    // Cohort, association and two participant·es.
    let res = app
        .get(&format!("/api/v1/cohorts/{cohort}/audit?limit=2&offset=1"))
        .await
        .expect(200);
    assert_eq!(res.header("x-total-count"), Some("4"));
    assert_eq!(res.json().as_array().unwrap().len(), 2);
    app.get("/api/v1/cohorts/inconnue/audit")
        .await
        .expect(404)
        .api_error("not_found");
}

/// A chargée de mission of `dla`, signed in on pages: her user id and session cookie.
fn officer_session(app: &TestApp, dla: &str) -> (String, String) {
    use cohorte::models::account::{self, Lifetimes, NewUser, Principal};
    let lifetimes = Lifetimes::from_config(&app.config.auth);
    app.write(|tx| {
        let user = account::create(
            tx,
            NewUser {
                email: "claire.martin@dla33.fr",
                name: "Claire Martin",
                role: "officer",
                dla_id: Some(dla),
                consultant_id: None,
                password: None,
            },
        )?;
        let at = tx.now_naive();
        let cookie = account::start_session(tx, &Principal::User(user.id.clone()), lifetimes, at)?;
        Ok((user.id, cookie))
    })
}

/// Regression (issue #15): the programme template was written outside the person's
/// transaction and journaled as « Système ».
#[actix_web::test]
async fn a_template_changed_on_its_page_is_journaled_with_the_change_under_the_person_who_made_it()
{
    use actix_web::http::header;
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "MSE Gironde 2027").await;
    let (user_id, cookie) = officer_session(&app, &dla);
    let session = format!(
        "{}={cookie}",
        cohorte::web::actor::session_cookie_name(app.config.server.is_https())
    );
    let action = format!("/cohortes/{cohort}/modele");
    let page = app
        .send_raw(
            TestRequest::get()
                .uri(&action)
                .insert_header((header::COOKIE, session.clone())),
        )
        .await
        .expect(200)
        .text();
    let agenda = "Tour de table, puis les trois piliers du modèle (ordre du jour de Claire)";
    let fields: Vec<(String, String)> = common::form_of(&page, &action)
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "introductive.agenda" => (k, agenda.to_string()),
            _ => (k, v),
        })
        .collect();
    assert!(fields.iter().any(|(k, _)| k == "introductive.agenda"));
    app.send_raw(
        TestRequest::post()
            .uri(&action)
            .insert_header((header::COOKIE, session))
            .insert_header(("x-csrf-token", cohorte::web::actor::csrf_for(&cookie)))
            .set_form(&fields),
    )
    .await
    .expect(303);

    // The change is there…
    let template = app
        .get(&format!("/api/v1/cohorts/{cohort}/programme-template"))
        .await
        .expect(200)
        .json();
    assert_eq!(template["introductive"]["agenda"], agenda);
    // …and journaled, in the same change, under her name.
    let all = journal(&app, &cohort).await;
    let updates = entries(&all, "cohort", "update");
    assert_eq!(updates.len(), 1, "{all:?}");
    let u = updates[0];
    assert_eq!(u["actor_user_id"], user_id.as_str(), "{u}");
    let actor = u["actor"].as_str().unwrap();
    assert!(actor.starts_with("Claire Martin"), "{actor}");
    assert_ne!(actor, "Système");
    assert!(u["before"]["programme_template"].is_null(), "{u}");
    let stored = u["after"]["programme_template"].as_str().expect("template");
    assert!(stored.contains(agenda), "{stored}");
}

/// Every write of a request takes its instant from the app's clock (`AppState::clock`),
/// once per transaction: the journal and the row say the same instant.
#[actix_web::test]
async fn a_change_takes_its_instant_from_the_apps_clock() {
    use chrono::{DateTime, Duration, DurationRound, Utc};
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    let at = |v: &Value| {
        DateTime::parse_from_rfc3339(v.as_str().expect("an instant"))
            .expect("RFC 3339")
            .with_timezone(&Utc)
    };
    let t = (Utc::now() + Duration::days(3))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    app.clock.set(t);
    edit_cohort(&app, &cohort, "name", "MSE Gironde 2027").await;
    let row = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    assert_eq!(at(&row["updated_at"]), t, "{row}");
    let newest = journal(&app, &cohort).await[0].clone();
    assert_eq!(newest["action"], "update");
    assert_eq!(at(&newest["at"]), t);

    app.clock.advance(Duration::hours(2));
    edit_cohort(&app, &cohort, "name", "MSE Gironde 2027 bis").await;
    let newest = journal(&app, &cohort).await[0].clone();
    assert_eq!(change(&newest, "name").1, "MSE Gironde 2027 bis");
    assert_eq!(at(&newest["at"]), t + Duration::hours(2));
}

#[actix_web::test]
async fn the_dla_journal_pages_its_cohorts_entries_newest_first_without_gaps() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let a = app.create_cohort(&dla, "Cohorte A").await;
    let b = app.create_cohort(&dla, "Cohorte B").await;
    app.enrol(&a, "Association Un").await;
    app.enrol(&b, "Association Deux").await;
    app.enrol(&a, "Association Trois").await;
    let other = app.create_dla().await;
    let elsewhere = app.create_cohort(&other, "Cohorte d'ailleurs").await;
    app.enrol(&elsewhere, "Association Ailleurs").await;

    use cohorte::models::audit;
    let mut conn = app.pool.get().unwrap();
    // The reference: both cohorts' journals, merged newest first (`at`, then `id`).
    let mut expected: Vec<(chrono::NaiveDateTime, String)> = [&a, &b]
        .iter()
        .flat_map(|c| audit::list_for_cohort(&mut conn, c, 1000, 0).unwrap())
        .map(|e| (e.at, e.id))
        .collect();
    expected.sort_by(|x, y| y.cmp(x));
    assert!(expected.len() >= 4, "{expected:?}");
    assert_eq!(
        audit::count_for_dla(&mut conn, &dla).unwrap(),
        expected.len() as i64
    );
    for per_page in [1, 2, 3, 50] {
        let mut read = Vec::new();
        let mut offset = 0;
        loop {
            let page = audit::list_for_dla(&mut conn, &dla, per_page, offset).unwrap();
            assert!(page.len() as i64 <= per_page);
            if page.is_empty() {
                break;
            }
            offset += page.len() as i64;
            read.extend(page.into_iter().map(|e| (e.at, e.id)));
        }
        assert_eq!(read, expected, "{per_page} a page");
    }
}
