//! The bilan as the method describes it (issue #13, point 4): a guest of the bilan (the
//! third party) convoked with the invite, on the émargement and in the compte rendu; each
//! association's évaluation from the portal, its reminder, the staff summary and CSV, and
//! the anonymisation of its free texts.

mod common;

use actix_web::test::TestRequest;
use chrono::Utc;
use diesel::prelude::*;
use serde_json::{Value, json};

use cohorte::db::schema::outbox_emails;
use cohorte::models::account::{self, LinkPurpose, LinkTarget};
use cohorte::models::outbox::FullEmail;
use common::{Response, TestApp, around_field, parse_csv, spawn};

/// Every outbox row, with its bodies.
fn rows(app: &TestApp) -> Vec<FullEmail> {
    let mut conn = app.pool.get().unwrap();
    let ids: Vec<String> = outbox_emails::table
        .select(outbox_emails::id)
        .load(&mut conn)
        .unwrap();
    ids.iter()
        .map(|id| cohorte::models::outbox::get_full(&mut conn, id).unwrap())
        .collect()
}

fn mark_sent(app: &TestApp, id: &str) {
    let mut conn = app.pool.get().unwrap();
    diesel::update(outbox_emails::table.find(id))
        .set(outbox_emails::status.eq("sent"))
        .execute(&mut conn)
        .unwrap();
}

/// A published cohort of two associations with its programme; returns the cohort, the
/// associations and the first association's bilan session.
async fn published(app: &TestApp) -> (String, Vec<String>, Value) {
    let (cohort, ids) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let bilan = generated["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "bilan_individuel" && s["association_id"] == ids[0].as_str())
        .cloned()
        .expect("the first association's bilan");
    (cohort, ids, bilan)
}

async fn add_guest(app: &TestApp, session: &str) -> Value {
    app.post_json(
        &format!("/api/v1/sessions/{session}/guests"),
        json!({
            "name": "Claire Martin",
            "email": "claire.martin@dla33.fr",
            "organisation": "Chargée de mission, DLA de la Gironde",
        }),
    )
    .await
    .expect(201)
    .json()
}

/// The ATTENDEE lines of an invite, unfolded, read with the icalendar crate's parser.
fn attendees(ics: &str) -> Vec<(String, Vec<String>)> {
    let unfolded = icalendar::parser::unfold(ics);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    calendar
        .components
        .iter()
        .flat_map(|c| c.properties.iter())
        .filter(|p| p.name == "ATTENDEE")
        .map(|p| {
            (
                p.val.to_string(),
                p.params
                    .iter()
                    .map(|x| {
                        let v = x.val.as_ref().map(|v| v.to_string()).unwrap_or_default();
                        format!("{}={v}", x.key)
                    })
                    .collect(),
            )
        })
        .collect()
}

fn guest_rows(app: &TestApp, kind: &str) -> Vec<FullEmail> {
    rows(app)
        .into_iter()
        .filter(|r| r.kind == kind && r.recipient_email == "claire.martin@dla33.fr")
        .collect()
}

#[actix_web::test]
async fn a_guest_of_the_bilan_is_convoked_with_an_invite_that_names_them() {
    let app = spawn().await;
    let (_, _, bilan) = published(&app).await;
    let sid = bilan["id"].as_str().unwrap();
    add_guest(&app, sid).await;

    let convocations = guest_rows(&app, "guest_convocation");
    assert_eq!(convocations.len(), 1, "one convocation for the guest");
    let row = &convocations[0];
    assert_eq!(row.participant_id, None, "a guest is not a participant");
    assert!(row.subject.starts_with("Convocation"), "{}", row.subject);
    assert!(
        row.body_text
            .contains("votre regard extérieur croisera celui de l'association"),
        "{}",
        row.body_text
    );
    assert!(
        !row.body_text.contains("Votre espace"),
        "a guest has no portal: {}",
        row.body_text
    );
    let ics = row.ics.as_deref().expect("an invite");
    let people = attendees(ics);
    assert_eq!(people.len(), 1, "{ics}");
    assert_eq!(people[0].0, "mailto:claire.martin@dla33.fr");
    assert!(
        people[0].1.iter().any(|p| p == "CN=Claire Martin"),
        "{:?}",
        people[0].1
    );

    // The guest is listed on the session's page and through the API.
    let page = app.get(&format!("/seances/{sid}")).await.expect(200).text();
    assert!(page.contains("Claire Martin"), "{page}");
    let listed = app
        .get(&format!("/api/v1/sessions/{sid}/guests"))
        .await
        .expect(200)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn only_a_bilan_takes_guests_and_a_refused_guest_form_keeps_what_was_typed() {
    let app = spawn().await;
    let (_, _, bilan) = published(&app).await;
    let sid = bilan["id"].as_str().unwrap();
    let res = app
        .post_form(
            &format!("/seances/{sid}/invites"),
            &[
                ("name", "Claire Martin"),
                ("email", "pas-une-adresse"),
                ("organisation", "DLA 33"),
            ],
        )
        .await
        .expect(422);
    let html = res.text();
    let email = around_field(&html, "email");
    assert!(email.contains("value=\"pas-une-adresse\""), "{email}");
    assert!(email.contains("Adresse e-mail invalide"), "{email}");
    assert!(around_field(&html, "name").contains("value=\"Claire Martin\""));

    let sessions = app
        .get(&format!(
            "/api/v1/cohorts/{}/sessions",
            bilan["cohort_id"].as_str().unwrap()
        ))
        .await
        .expect(200)
        .json();
    let collective = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "etat_des_lieux")
        .unwrap();
    let res = app
        .post_json(
            &format!(
                "/api/v1/sessions/{}/guests",
                collective["id"].as_str().unwrap()
            ),
            json!({"name": "Claire Martin", "email": "claire.martin@dla33.fr"}),
        )
        .await
        .expect(409);
    res.api_error("guest_bilan_only");
}

#[actix_web::test]
async fn the_guest_signs_the_emargement_and_is_named_in_the_compte_rendu() {
    let app = spawn().await;
    let (_, ids, bilan) = published(&app).await;
    let sid = bilan["id"].as_str().unwrap();
    add_guest(&app, sid).await;

    let sheet = app
        .get(&format!("/seances/{sid}/emargement"))
        .await
        .expect(200)
        .text();
    assert!(sheet.contains("Claire Martin"), "{sheet}");
    assert!(sheet.contains("Invité·e du bilan"), "{sheet}");
    assert!(sheet.contains("Chargée de mission, DLA de la Gironde"));

    let report = app
        .get(&format!(
            "/associations/{}/compte-rendu?seance={sid}",
            ids[0]
        ))
        .await
        .expect(200)
        .text();
    assert!(
        report.contains("Claire Martin (Chargée de mission, DLA de la Gironde)"),
        "{report}"
    );
}

#[actix_web::test]
async fn a_convoked_guest_gets_the_update_when_the_bilan_moves_and_a_cancel_when_removed() {
    let app = spawn().await;
    let (_, _, bilan) = published(&app).await;
    let sid = bilan["id"].as_str().unwrap();
    let guest = add_guest(&app, sid).await;
    let convocation = guest_rows(&app, "guest_convocation").remove(0);
    mark_sent(&app, &convocation.id);

    let date = bilan["starts_at"].as_str().unwrap()[..10].to_string();
    let later = (chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap()
        + chrono::Duration::days(7))
    .format("%Y-%m-%d")
    .to_string();
    app.post_json(
        &format!("/api/v1/sessions/{sid}/move"),
        json!({"date": later, "start_time": "14:00", "end_time": "16:00", "avoid_non_working_days": false}),
    )
    .await
    .expect(200);
    let moved = guest_rows(&app, "session_moved");
    assert_eq!(moved.len(), 1, "the guest hears of the move");
    assert_eq!(moved[0].ics_method.as_deref(), Some("REQUEST"));
    assert_eq!(
        attendees(moved[0].ics.as_deref().unwrap())[0].0,
        "mailto:claire.martin@dla33.fr"
    );

    app.send(TestRequest::delete().uri(&format!(
        "/api/v1/sessions/{sid}/guests/{}",
        guest["id"].as_str().unwrap()
    )))
    .await
    .expect(204);
    let removed = guest_rows(&app, "invite_withdrawn");
    assert_eq!(removed.len(), 1, "the removed guest gets the cancellation");
    assert_eq!(removed[0].ics_method.as_deref(), Some("CANCEL"));
    let ics = removed[0].ics.as_deref().unwrap();
    assert!(ics.contains("METHOD:CANCEL"));
    assert!(ics.contains(&format!("UID:{sid}@cohorte\r\n")), "{ics}");
    // Above the update, which had not left: it is replaced.
    assert!(
        ics.contains(&format!("SEQUENCE:{}\r\n", moved[0].revision + 1)),
        "{ics}"
    );
    let replaced = guest_rows(&app, "session_moved").remove(0);
    assert_eq!(replaced.status, "cancelled");
    assert!(
        removed[0].body_text.contains("Vous n'êtes plus attendu·e"),
        "{}",
        removed[0].body_text
    );
    let page = app.get(&format!("/seances/{sid}")).await.expect(200).text();
    assert!(!page.contains("Claire Martin"));
}

#[actix_web::test]
async fn a_guest_not_yet_convoked_who_is_removed_gets_nothing() {
    let app = spawn().await;
    let (_, _, bilan) = published(&app).await;
    let sid = bilan["id"].as_str().unwrap();
    let guest = add_guest(&app, sid).await;
    let confirm = app
        .get(&format!(
            "/seances/{sid}/invites/{}/retirer",
            guest["id"].as_str().unwrap()
        ))
        .await
        .expect(200)
        .text();
    assert!(confirm.contains("Retirer Claire Martin"), "{confirm}");
    app.post_form(
        &format!(
            "/seances/{sid}/invites/{}/retirer",
            guest["id"].as_str().unwrap()
        ),
        &[],
    )
    .await
    .expect(303);
    let convocation = guest_rows(&app, "guest_convocation").remove(0);
    assert_eq!(convocation.status, "cancelled", "{convocation:?}");
    assert!(guest_rows(&app, "invite_withdrawn").is_empty());
}

// ---- évaluation -----------------------------------------------------------------------

fn sign_in_cookie(app: &TestApp, participant: &str) -> String {
    let mut conn = app.pool.get().unwrap();
    common::write(&mut conn, |tx| {
        account::create_link(
            tx,
            LinkPurpose::ParticipantSignIn,
            &LinkTarget {
                user_id: None,
                participant_id: Some(participant.to_string()),
            },
            chrono::Duration::days(7),
            Utc::now().naive_utc(),
        )
    })
    .unwrap()
}

async fn sign_in(app: &TestApp, participant: &str) -> String {
    let token = sign_in_cookie(app, participant);
    let res = app
        .send_raw(TestRequest::post().uri(&format!("/connexion/lien/{token}")))
        .await
        .expect(303);
    res.headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("cohorte_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie")
}

fn csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn get_as(app: &TestApp, cookie: &str, uri: &str) -> Response {
    app.send_raw(
        TestRequest::get()
            .uri(uri)
            .insert_header(("cookie", format!("cohorte_session={cookie}"))),
    )
    .await
}

async fn post_as(app: &TestApp, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> Response {
    app.send_raw(
        TestRequest::post()
            .uri(uri)
            .insert_header(("cookie", format!("cohorte_session={cookie}")))
            .set_form(fields),
    )
    .await
}

async fn participants_of(app: &TestApp, association: &str) -> Vec<String> {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Answers the évaluation as `participant`, with satisfaction notes `notes`.
async fn answer(app: &TestApp, participant: &str, notes: [&str; 4], comment: &str) -> Response {
    let cookie = sign_in(app, participant).await;
    let page = get_as(app, &cookie, "/portail/evaluation")
        .await
        .expect(200);
    let token = csrf(&page.text());
    post_as(
        app,
        &cookie,
        "/portail/evaluation",
        &[
            ("csrf_token", &token),
            ("understanding", "Nous voyons enfin nos trois piliers."),
            (
                "pistes",
                "Diversifier les financements\nUn mécénat de compétences",
            ),
            ("satisfaction_introductive", notes[0]),
            ("satisfaction_etat_des_lieux", notes[1]),
            ("satisfaction_evolution", notes[2]),
            ("satisfaction_bilan", notes[3]),
            ("recommend", "oui"),
            ("comment", comment),
            ("version", ""),
        ],
    )
    .await
}

#[actix_web::test]
async fn a_refused_evaluation_shows_the_message_beside_the_note_and_keeps_what_was_typed() {
    let app = spawn().await;
    let (_, ids, _) = published(&app).await;
    let p = participants_of(&app, &ids[0]).await;
    let res = answer(&app, &p[0], ["7", "4", "4", "5"], "Très utile").await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.text());
    let html = res.text();
    let note = &html[html.find("Satisfaction : Session introductive").unwrap()..];
    let note = &note[..note.find("</fieldset>").unwrap()];
    assert!(note.contains("Choisissez une note de 1"), "{note}");
    assert!(html.contains("Nous voyons enfin nos trois piliers."));
    assert!(html.contains("Très utile"));
    assert!(
        html.contains("name=\"satisfaction_etat_des_lieux\" value=\"4\" checked"),
        "the note typed stays chosen"
    );
}

#[actix_web::test]
async fn staff_read_each_answer_and_the_cohort_summary_in_french_and_as_csv() {
    let app = spawn().await;
    let (cohort, ids, _) = published(&app).await;
    let first = participants_of(&app, &ids[0]).await;
    let second = participants_of(&app, &ids[1]).await;
    answer(
        &app,
        &first[0],
        ["4", "5", "4", "5"],
        "Un vrai temps pour nous",
    )
    .await
    .expect(303);
    answer(&app, &second[1], ["5", "4", "", "3"], "")
        .await
        .expect(303);

    let page = app
        .get(&format!("/associations/{}", ids[0]))
        .await
        .expect(200)
        .text();
    assert!(
        page.contains("Nous voyons enfin nos trois piliers."),
        "{page}"
    );
    assert!(page.contains("par Nadia Benali"), "who answered");

    let summary = app
        .get(&format!("/cohortes/{cohort}/evaluations"))
        .await
        .expect(200)
        .text();
    assert!(summary.contains("4,5 / 5"), "average in French: {summary}");
    assert!(summary.contains("100 %"), "{summary}");
    assert!(summary.contains("Un vrai temps pour nous"), "quoted");

    let api = app
        .get(&format!("/api/v1/cohorts/{cohort}/evaluations"))
        .await
        .expect(200)
        .json();
    assert_eq!(api["summary"]["answered"], 2);
    assert_eq!(api["summary"]["recommend_yes"], 2);
    assert_eq!(api["summary"]["satisfaction"][0]["average"], 4.5);
    assert_eq!(api["summary"]["satisfaction"][2]["ratings"], 1);

    let dashboard = app
        .get(&format!("/cohortes/{cohort}/tableau-de-bord"))
        .await
        .expect(200)
        .text();
    assert!(dashboard.contains("Taux de réponse"), "{dashboard}");

    let res = app
        .get(&format!("/cohortes/{cohort}/evaluations.csv"))
        .await
        .expect(200);
    assert!(res.content_type().starts_with("text/csv"));
    let text = String::from_utf8(res.body.to_vec()).unwrap();
    let table = parse_csv(text.trim_start_matches('\u{feff}'));
    assert_eq!(
        table[0],
        [
            "Association",
            "Répondu le",
            "Par",
            "Ce qui a changé dans la compréhension du modèle",
            "Pistes retenues",
            "Session introductive",
            "État des lieux",
            "Évolution",
            "Bilan individuel",
            "Recommanderait",
            "Commentaire",
            "Suivi le",
            "Pistes mises en œuvre",
        ]
    );
    assert_eq!(table.len(), 3);
    assert_eq!(table[1][5], "4");
    assert_eq!(table[1][9], "Oui");
    assert_eq!(table[2][7], "", "not rated");
}

#[actix_web::test]
async fn the_reminder_after_the_bilan_is_planned_only_while_the_evaluation_is_unanswered() {
    let app = spawn().await;
    let (_, ids, bilan) = published(&app).await;
    let p = participants_of(&app, &ids[0]).await;
    let reminders = |app: &TestApp| -> Vec<FullEmail> {
        rows(app)
            .into_iter()
            .filter(|r| r.kind == "evaluation_reminder" && r.item_id == bilan["id"])
            .collect()
    };
    let before = reminders(&app);
    assert_eq!(before.len(), 2, "one per participant of the association");
    assert!(before.iter().all(|r| r.status == "scheduled"), "{before:?}");
    // The bilan's convocation announces the évaluation.
    let convocation = rows(&app)
        .into_iter()
        .find(|r| r.kind == "convocation" && r.item_id == bilan["id"])
        .unwrap();
    assert!(
        convocation
            .body_text
            .contains("évaluation de l'accompagnement"),
        "{}",
        convocation.body_text
    );

    answer(&app, &p[1], ["4", "4", "4", "4"], "")
        .await
        .expect(303);
    let after = reminders(&app);
    assert!(
        after.iter().all(|r| r.status == "cancelled"),
        "answered: no reminder {after:?}"
    );
    assert!(
        after
            .iter()
            .all(|r| r.note.as_deref() == Some("Annulé : l'association a répondu.")),
        "{after:?}"
    );
}

#[actix_web::test]
async fn anonymising_the_association_clears_the_free_texts_of_its_evaluation() {
    let app = spawn().await;
    let (cohort, ids, _) = published(&app).await;
    let p = participants_of(&app, &ids[0]).await;
    answer(
        &app,
        &p[0],
        ["4", "5", "4", "5"],
        "Merci Nadia Benali pour tout",
    )
    .await
    .expect(303);
    app.send(TestRequest::post().uri(&format!("/api/v1/associations/{}/anonymise", ids[0])))
        .await
        .expect(200);
    let api = app
        .get(&format!("/api/v1/cohorts/{cohort}/evaluations"))
        .await
        .expect(200)
        .json();
    let e = &api["answers"][0]["evaluation"];
    assert_eq!(e["understanding"], "");
    assert_eq!(e["comment"], "");
    assert_eq!(e["pistes"], "");
    assert_eq!(e["satisfaction_bilan"], 5, "notes stay");
    assert_eq!(api["summary"]["answered"], 1);
}

#[actix_web::test]
async fn a_participant_reaches_only_the_follow_up_of_their_association_and_not_before_it_opens() {
    let app = spawn().await;
    let (_, ids, _) = published(&app).await;
    let p = participants_of(&app, &ids[0]).await;
    let cookie = sign_in(&app, &p[0]).await;
    let page = get_as(&app, &cookie, "/portail/suivi")
        .await
        .expect(200)
        .text();
    assert!(page.contains("Le suivi s'ouvrira le"), "{page}");
    let token = csrf(&page);
    let res = post_as(
        &app,
        &cookie,
        "/portail/suivi",
        &[
            ("csrf_token", &token),
            ("followup", "Tout"),
            ("version", ""),
        ],
    )
    .await;
    assert_eq!(res.status.as_u16(), 409, "{}", res.text());
    // Staff pages stay closed to a participant.
    let res = get_as(
        &app,
        &cookie,
        &format!(
            "/cohortes/{}/evaluations",
            app.get(&format!("/api/v1/associations/{}", ids[0]))
                .await
                .json()["cohort_id"]
                .as_str()
                .unwrap()
        ),
    )
    .await;
    assert_eq!(res.status.as_u16(), 403);
}

#[actix_web::test]
async fn the_cohort_purge_clears_the_answers_texts_and_anonymises_the_guests() {
    let app = spawn().await;
    let (cohort, ids, bilan) = published(&app).await;
    add_guest(&app, bilan["id"].as_str().unwrap()).await;
    let p = participants_of(&app, &ids[1]).await;
    answer(&app, &p[0], ["3", "4", "4", "5"], "Un regard neuf")
        .await
        .expect(303);
    {
        let mut conn = app.pool.get().unwrap();
        let later = Utc::now() + chrono::Duration::days(3 * 365);
        let purged = cohorte::models::privacy::purge_ended_cohorts(&mut conn, 24, later).unwrap();
        assert_eq!(purged, 1);
    }
    let api = app
        .get(&format!("/api/v1/cohorts/{cohort}/evaluations"))
        .await
        .expect(200)
        .json();
    let answered: Vec<&Value> = api["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["evaluation"].is_null())
        .collect();
    assert_eq!(answered[0]["evaluation"]["comment"], "");
    assert_eq!(answered[0]["evaluation"]["satisfaction_bilan"], 5);
    let guests = app
        .get(&format!(
            "/api/v1/sessions/{}/guests",
            bilan["id"].as_str().unwrap()
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(guests[0]["name"], "Invité·e anonymisé·e");
    assert!(!guests.to_string().contains("claire.martin"));
    // Their convocation too, and every email to no participant: history kept, addressed
    // to a placeholder, with neither a name nor, in the deduplication key, a digest of an
    // address.
    let to_no_participant: Vec<(String, String, String, String, String)> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(&cohort))
        .filter(outbox_emails::participant_id.is_null())
        .select((
            outbox_emails::id,
            outbox_emails::kind,
            outbox_emails::recipient_email,
            outbox_emails::recipient_name,
            outbox_emails::dedup_key,
        ))
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    let guest = guests[0]["id"].as_str().unwrap();
    assert!(
        to_no_participant.iter().any(|(_, kind, to, name, _)| kind
            == cohorte::models::guest::CONVOCATION
            && to == &format!("invite-{guest}@anonyme.invalid")
            && name == "Invité·e anonymisé·e"),
        "{to_no_participant:?}"
    );
    for (id, _, to, _, key) in &to_no_participant {
        assert!(to.ends_with("@anonyme.invalid"), "{to}");
        assert_eq!(key, &cohorte::domain::outbox::erased_key(id));
    }
}
