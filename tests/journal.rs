//! Session logs through HTTP: the attendance grid and the log saved from the form and the
//! API, concurrent saves, bad input beside its field, the feuille d'émargement, the compte
//! rendu sent once per log version, the attendance CSV and the director's mobilisation.

mod common;

use serde_json::{Value, json};

use cohorte::domain::budget::{self, DayLength};
use cohorte::models::session_log::half_days_for;
use common::{Response, TestApp, spawn};

// --- helpers ------------------------------------------------------------------------------

/// A cohort of `n` associations with its programme; returns the cohort id, the association
/// ids and the generated sessions.
async fn programme(app: &TestApp, n: usize) -> (String, Vec<String>, Vec<Value>) {
    let (cohort, ids) = app.cohort_with(n).await;
    let generated = app.generate(&cohort).await;
    let sessions = generated["sessions"].as_array().expect("sessions").clone();
    (cohort, ids, sessions)
}

fn session_of<'a>(sessions: &'a [Value], kind: &str) -> &'a Value {
    sessions
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind} session"))
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// The association's participants: (id, name, role).
async fn participants(app: &TestApp, association: &str) -> Vec<(String, String, String)> {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| {
            (
                id(p),
                p["name"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn log(app: &TestApp, session: &str) -> Value {
    app.get(&format!("/api/v1/sessions/{session}/log"))
        .await
        .expect(200)
        .json()
}

/// The attendance cell of the API view.
fn cell<'a>(log: &'a Value, participant: &str, half_day: i64) -> &'a Value {
    log["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["participant_id"] == participant && c["half_day"] == half_day)
        .unwrap_or_else(|| panic!("no cell {participant} {half_day} in {log}"))
}

/// Whether the radio `name` = `value` is checked in the page.
fn checked(html: &str, name: &str, value: &str) -> bool {
    let marker = format!("name=\"{name}\" value=\"{value}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no radio {name}={value} in the page:\n{html}"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('>').unwrap()].contains("checked")
}

/// The table cell holding the radios of `name`: where its error message must be.
fn grid_cell<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in the page:\n{html}"));
    let start = html[..at].rfind("<td").expect("inside a cell");
    let end = at + html[at..].find("</td>").expect("cell end");
    &html[start..end]
}

fn location(res: &Response) -> String {
    res.header("location").expect("a redirect").to_string()
}

// --- the half-day rule ----------------------------------------------------------------------

#[actix_web::test]
async fn a_session_of_four_hours_or_less_counts_one_half_day_longer_counts_two() {
    assert_eq!(half_days_for(240), 1);
    assert_eq!(half_days_for(241), 2);
    let app = spawn().await;
    let (_, ids, sessions) = programme(&app, 2).await;
    // Introductive: 3 h, for the whole cohort (2 associations × 2 people).
    let intro = log(&app, &id(session_of(&sessions, "introductive"))).await;
    assert_eq!(intro["half_days"], 1);
    assert_eq!(intro["logged"], false);
    assert_eq!(intro["version"], 0);
    assert_eq!(intro["attendance"].as_array().unwrap().len(), 4);
    // État des lieux: 6 h 30, two half-days.
    let edl = log(&app, &id(session_of(&sessions, "etat_des_lieux"))).await;
    assert_eq!(edl["half_days"], 2);
    assert_eq!(edl["attendance"].as_array().unwrap().len(), 8);
    assert!(
        edl["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "present" && c["recorded"] == false),
        "présent·e by default, nothing recorded: {edl}"
    );
    // A bilan concerns its association only.
    let bilan = sessions
        .iter()
        .find(|s| s["kind"] == "bilan_individuel" && s["association_id"] == ids[1].as_str())
        .expect("the second association's bilan");
    let b = log(&app, &id(bilan)).await;
    assert_eq!(b["half_days"], 1);
    let people = b["attendance"].as_array().unwrap();
    assert_eq!(people.len(), 2);
    assert!(
        people
            .iter()
            .all(|c| c["association_id"] == ids[1].as_str())
    );
}

// --- saving from the form --------------------------------------------------------------

#[actix_web::test]
async fn the_log_saved_from_the_form_shows_in_the_grid_and_the_api() {
    let app = spawn().await;
    let (_, ids, sessions) = programme(&app, 2).await;
    let sid = id(session_of(&sessions, "etat_des_lieux"));
    let people = participants(&app, &ids[0]).await;
    let (director, board) = (&people[0].0, &people[1].0);

    let page = app
        .get(&format!("/seances/{sid}/journal"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("name=\"version\" value=\"0\""));
    // Présent·e by default, every radio labelled with the person and the half-day.
    let morning = format!("attendance.{director}.1");
    assert!(checked(&page, &morning, "present"));
    assert!(page.contains(&format!(
        "<label for=\"r-{director}-2-absent\"><span class=\"sr-only\">Nadia Benali, après-midi : </span>absent·e</label>"
    )));

    let afternoon_board = format!("attendance.{board}.2");
    let res = app
        .post_form(
            &format!("/seances/{sid}/journal"),
            &[
                ("version", "0"),
                ("third_party_kind", "partenaire"),
                ("third_party_name", "France Active Gironde"),
                ("notes", "Tour de table des trois piliers."),
                (&morning, "present"),
                (&format!("attendance.{director}.2"), "present"),
                (&format!("attendance.{board}.1"), "excuse"),
                (&afternoon_board, "absent"),
            ],
        )
        .await
        .expect(303);
    assert!(location(&res).contains("notice=journal_enregistre"));

    let page = app
        .get(&format!("/seances/{sid}/journal"))
        .await
        .expect(200)
        .text();
    assert!(checked(&page, &format!("attendance.{board}.1"), "excuse"));
    assert!(checked(&page, &afternoon_board, "absent"));
    assert!(!checked(&page, &afternoon_board, "present"));
    assert!(checked(&page, &morning, "present"));
    assert!(page.contains("France Active Gironde"));
    assert!(page.contains("Tour de table des trois piliers."));
    assert!(page.contains("name=\"version\" value=\"1\""));

    let l = log(&app, &sid).await;
    assert_eq!(l["logged"], true);
    assert_eq!(l["version"], 1);
    assert_eq!(l["third_party_kind"], "partenaire");
    assert_eq!(cell(&l, board, 2)["status"], "absent");
    assert_eq!(cell(&l, board, 2)["recorded"], true);
    // Cells not in the form (the other association) are saved présent·e.
    let other = participants(&app, &ids[1]).await;
    assert_eq!(cell(&l, &other[0].0, 1)["status"], "present");
    assert_eq!(cell(&l, &other[0].0, 1)["recorded"], true);
}

#[actix_web::test]
async fn the_second_of_two_people_saving_the_same_log_gets_409_and_keeps_what_they_typed() {
    let app = spawn().await;
    let (_, ids, sessions) = programme(&app, 1).await;
    let sid = id(session_of(&sessions, "introductive"));
    let people = participants(&app, &ids[0]).await;
    let board_cell = format!("attendance.{}.1", people[1].0);

    // Both opened the empty log (version 0); the first saves.
    app.post_form(
        &format!("/seances/{sid}/journal"),
        &[("version", "0"), ("notes", "Notes de Camille.")],
    )
    .await
    .expect(303);
    let res = app
        .post_form(
            &format!("/seances/{sid}/journal"),
            &[
                ("version", "0"),
                ("notes", "Notes de Karim, à ne pas perdre."),
                ("third_party_kind", "charge_de_mission"),
                (&board_cell, "absent"),
            ],
        )
        .await
        .expect(409);
    let html = res.text();
    assert!(
        html.contains("par quelqu&#x27;un d&#x27;autre") || html.contains("par quelqu'un d'autre")
    );
    assert!(html.contains("Notes de Karim, à ne pas perdre."));
    assert!(checked(&html, &board_cell, "absent"));
    assert!(html.contains("<option value=\"charge_de_mission\" selected>"));
    // Nothing of the second save was written.
    let l = log(&app, &sid).await;
    assert_eq!(l["notes"], "Notes de Camille.");
    assert_eq!(l["version"], 1);
    assert_eq!(cell(&l, &people[1].0, 1)["status"], "present");

    // The API says the same with a stale version.
    let res = app
        .put_json(
            &format!("/api/v1/sessions/{sid}/log"),
            json!({"version": 0, "notes": "Trop tard"}),
        )
        .await
        .expect(409);
    res.api_error("stale_version");
    // With the current version it goes through.
    let saved = app
        .put_json(
            &format!("/api/v1/sessions/{sid}/log"),
            json!({"version": 1, "notes": "À jour", "attendance": [
                {"participant_id": people[0].0, "half_day": 1, "status": "excuse"}
            ]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(saved["version"], 2);
    assert_eq!(cell(&saved, &people[0].0, 1)["status"], "excuse");
}

// --- bad input -------------------------------------------------------------------------

#[actix_web::test]
async fn bad_input_is_refused_with_422_beside_its_field_on_the_form_and_in_the_api() {
    let app = spawn().await;
    let (_, ids, sessions) = programme(&app, 2).await;
    let sid = id(session_of(&sessions, "evolution"));
    let people = participants(&app, &ids[0]).await;
    let director_cell = format!("attendance.{}.2", people[0].0);

    // An unknown status: the message is in that cell, the notes typed are kept.
    let res = app
        .post_form(
            &format!("/seances/{sid}/journal"),
            &[
                ("version", "0"),
                ("notes", "Gardées"),
                (&director_cell, "en_retard"),
            ],
        )
        .await
        .expect(422);
    let html = res.text();
    assert!(grid_cell(&html, &director_cell).contains("Statut inconnu"));
    assert!(html.contains("Gardées"));
    // An unknown third party kind, beside its select.
    let res = app
        .post_form(
            &format!("/seances/{sid}/journal"),
            &[("version", "0"), ("third_party_kind", "voisin")],
        )
        .await
        .expect(422);
    assert!(common::around_field(&res.text(), "third_party_kind").contains("Tiers inconnu"));

    // A participant of another cohort.
    let (_, others) = app.cohort_with(1).await;
    let stranger = participants(&app, &others[0]).await[0].0.clone();
    let stranger_cell = format!("attendance.{stranger}.1");
    let res = app
        .post_form(
            &format!("/seances/{sid}/journal"),
            &[("version", "0"), (&stranger_cell, "present")],
        )
        .await
        .expect(422);
    assert!(res.text().contains("pas concernée par cette séance"));
    let err = app
        .put_json(
            &format!("/api/v1/sessions/{sid}/log"),
            json!({"version": 0, "attendance": [{"participant_id": stranger, "half_day": 1, "status": "present"}]}),
        )
        .await
        .expect(422)
        .api_error("validation_failed");
    assert!(
        err["fields"][&stranger_cell]
            .as_str()
            .unwrap()
            .contains("pas concernée")
    );
    let err = app
        .put_json(
            &format!("/api/v1/sessions/{sid}/log"),
            json!({"version": 0, "attendance": [{"participant_id": people[0].0, "half_day": 3, "status": "peut-être"}]}),
        )
        .await
        .expect(422)
        .api_error("validation_failed");
    assert!(
        err["fields"][&format!("attendance.{}.3", people[0].0)]
            .as_str()
            .is_some()
    );
    assert_eq!(log(&app, &sid).await["logged"], false, "nothing saved");

    // A piste d'actions without text, and one with a bad date: beside the field of that
    // association's form, what was typed kept.
    let res = app
        .post_form(
            &format!("/seances/{sid}/pistes"),
            &[
                ("association_id", &ids[0]),
                ("text", "  "),
                ("owner", "La directrice"),
            ],
        )
        .await
        .expect(422);
    let html = res.text();
    assert!(common::around_field(&html, "text").contains("Ce champ est obligatoire."));
    assert!(html.contains("value=\"La directrice\""));
    let res = app
        .post_form(
            &format!("/seances/{sid}/pistes"),
            &[
                ("association_id", &ids[0]),
                ("text", "Rencontrer la fondation"),
                ("due_date", "31/02/2027"),
            ],
        )
        .await
        .expect(422);
    let html = res.text();
    assert!(common::around_field(&html, "due_date").contains("Date invalide"));
    assert!(html.contains("value=\"Rencontrer la fondation\""));

    let leads = format!("/api/v1/associations/{}/action-leads", ids[0]);
    let err = app
        .post_json(&leads, json!({"text": ""}))
        .await
        .expect(422)
        .api_error("validation_failed");
    assert!(err["fields"]["text"].is_string());
    let err = app
        .post_json(&leads, json!({"text": "Relancer", "due_date": "demain"}))
        .await
        .expect(422)
        .api_error("validation_failed");
    assert!(err["fields"]["due_date"].is_string());
    // Another association's bilan is not a session this association's pistes come from.
    let other_bilan = sessions
        .iter()
        .find(|s| s["kind"] == "bilan_individuel" && s["association_id"] == ids[1].as_str())
        .unwrap();
    let err = app
        .post_json(
            &leads,
            json!({"text": "Relancer", "session_id": id(other_bilan)}),
        )
        .await
        .expect(422)
        .api_error("validation_failed");
    assert!(err["fields"]["session_id"].is_string());
    assert_eq!(
        app.get(&leads).await.expect(200).json(),
        json!([]),
        "nothing created"
    );
}

// --- pistes d'actions ----------------------------------------------------------------------

#[actix_web::test]
async fn pistes_d_actions_are_added_edited_and_deleted_with_a_version_check() {
    let app = spawn().await;
    let (cohort, ids, sessions) = programme(&app, 2).await;
    let sid = id(session_of(&sessions, "evolution"));
    let res = app
        .post_form(
            &format!("/seances/{sid}/pistes"),
            &[
                ("association_id", &ids[0]),
                ("text", "Tester une offre de formation payante"),
                ("owner", "La directrice"),
                ("due_date", "2027-04-30"),
            ],
        )
        .await
        .expect(303);
    assert!(location(&res).contains("notice=piste_ajoutee"));
    let leads = app
        .get(&format!("/api/v1/associations/{}/action-leads", ids[0]))
        .await
        .expect(200)
        .json();
    let lead = &leads[0];
    assert_eq!(lead["session_id"], sid.as_str());
    assert_eq!(lead["due_date"], "2027-04-30");
    assert_eq!(lead["cohort_id"], cohort.as_str());
    let lid = id(lead);
    let page = app
        .get(&format!("/seances/{sid}/journal"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Tester une offre de formation payante"));
    assert!(page.contains("vendredi 30 avril 2027"));

    // Edited from its page; a stale version is 409 and keeps what was typed.
    app.post_form(
        &format!("/pistes/{lid}/modifier"),
        &[
            ("version", "1"),
            ("text", "Tester une offre de formation"),
            ("owner", "Le bureau"),
            ("back", &format!("/seances/{sid}/journal")),
        ],
    )
    .await
    .expect(303);
    let res = app
        .post_form(
            &format!("/pistes/{lid}/modifier"),
            &[("version", "1"), ("text", "Version concurrente")],
        )
        .await
        .expect(409);
    assert!(res.text().contains("value=\"Version concurrente\""));
    let err = app
        .put_json(
            &format!("/api/v1/action-leads/{lid}"),
            json!({"version": 1, "text": "x"}),
        )
        .await
        .expect(409);
    err.api_error("stale_version");
    let updated = app
        .put_json(
            &format!("/api/v1/action-leads/{lid}"),
            json!({"version": 2, "text": "Formation", "owner": "Le bureau"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated["version"], 3);
    assert_eq!(updated["session_id"], sid.as_str(), "its session stays");
    assert_eq!(updated["due_date"], Value::Null);

    // Deleted from the form, then gone from the API; an unknown one is 404.
    let res = app
        .post_form(
            &format!("/pistes/{lid}/supprimer"),
            &[("back", "//ailleurs.example")],
        )
        .await
        .expect(303);
    assert!(location(&res).starts_with(&format!("/seances/{sid}/journal")));
    app.send(actix_web::test::TestRequest::delete().uri(&format!("/api/v1/action-leads/{lid}")))
        .await
        .expect(404);
}

// --- feuille d'émargement ------------------------------------------------------------------

#[actix_web::test]
async fn the_feuille_d_emargement_lists_every_participant_with_a_signature_column_per_half_day() {
    let app = spawn().await;
    let (_, ids, sessions) = programme(&app, 3).await;
    let edl = id(session_of(&sessions, "etat_des_lieux"));
    let html = app
        .get(&format!("/seances/{edl}/emargement"))
        .await
        .expect(200)
        .text();
    let start = html
        .find("<table class=\"sign-table\">")
        .expect("the table");
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let head = &table[..table.find("</thead>").unwrap()];
    insta::assert_snapshot!(
        "emargement_head_two_half_days",
        head.split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // 3 associations × 2 people, plus two blank lines; two signature cells each.
    let rows = table.matches("<tr").count() - 1;
    assert_eq!(rows, 6 + 2);
    assert_eq!(
        table.matches("<td class=\"sign\"></td>").count(),
        (6 + 2) * 2
    );
    for (n, a) in ids.iter().enumerate() {
        for (_, name, _) in participants(&app, a).await {
            assert!(table.contains(&format!("<th scope=\"row\">{name}</th>")));
        }
        assert!(table.contains(&format!("<td>Association n° {}</td>", n + 1)));
    }
    assert!(table.contains("Direction salariée"));
    assert!(table.contains("Gouvernance — Président"));
    assert!(html.contains("Contreseing du ou de la consultant·e"));
    assert!(html.contains("DLA de la Gironde"));
    assert!(html.contains("lundi"), "the date in French");
    assert!(html.contains("1re session collective — État des lieux"));

    // A 3-hour session: one signature column.
    let intro = id(session_of(&sessions, "introductive"));
    let html = app
        .get(&format!("/seances/{intro}/emargement"))
        .await
        .expect(200)
        .text();
    assert_eq!(html.matches("Signature — ").count(), 1);
    assert!(html.contains("Signature — Séance"));
}

#[actix_web::test]
async fn the_openapi_document_describes_the_session_log_and_action_lead_endpoints() {
    let app = spawn().await;
    let doc = app.get("/api/v1/openapi.json").await.expect(200).json();
    for path in [
        "/api/v1/sessions/{id}/log",
        "/api/v1/associations/{id}/action-leads",
        "/api/v1/action-leads/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["paths"]["/api/v1/sessions/{id}/log"]["put"].is_object());
    assert!(doc["components"]["schemas"]["LogInput"].is_object());
}

#[actix_web::test]
async fn the_print_stylesheet_hides_the_header_and_buttons() {
    let app = spawn().await;
    let css = app.get("/static/app.css").await.expect(200).text();
    let journal = &css[css.find("/* journal */").expect("the journal block")..];
    assert!(journal.contains("@media print"));
    assert!(journal.contains(".no-print"));
    // The shared print rules hide the site header and the action buttons.
    assert!(css.contains("header.site, footer.site, .actions"));
}

// --- compte rendu ----------------------------------------------------------------------

/// The cohort's comptes rendus, each with its bodies.
async fn compte_rendu_rows(app: &TestApp, cohort: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    for e in app.outbox(cohort).await {
        if e["kind"] == "compte_rendu" {
            rows.push(app.outbox_email(cohort, e["id"].as_str().unwrap()).await);
        }
    }
    rows
}

#[actix_web::test]
async fn the_compte_rendu_is_queued_once_per_version_of_the_log() {
    let app = spawn().await;
    let (cohort, ids, sessions) = programme(&app, 2).await;
    let sid = id(session_of(&sessions, "evolution"));
    let people = participants(&app, &ids[0]).await;
    let send = format!("/associations/{}/compte-rendu/envoyer", ids[0]);
    let page = format!("/associations/{}/compte-rendu?seance={sid}", ids[0]);

    // Before the log is saved: refused, nothing queued.
    app.get(&page).await.expect(200);
    let res = app.post_form(&send, &[("seance", &sid)]).await.expect(409);
    assert!(res.text().contains("pas encore enregistré"));
    assert!(compte_rendu_rows(&app, &cohort).await.is_empty());

    app.post_form(
        &format!("/seances/{sid}/journal"),
        &[
            ("version", "0"),
            ("third_party_kind", "consultant"),
            ("third_party_name", "Claire Martin"),
            (
                "notes",
                "Ambition : diversifier les ressources.\nObstacle : le temps bénévole.",
            ),
            (&format!("attendance.{}.2", people[1].0), "excuse"),
        ],
    )
    .await
    .expect(303);
    app.post_form(
        &format!("/seances/{sid}/pistes"),
        &[
            ("association_id", &ids[0]),
            ("text", "Rencontrer deux mécènes locaux"),
            ("owner", "Le président"),
            ("due_date", "2027-05-15"),
        ],
    )
    .await
    .expect(303);

    let html = app.get(&page).await.expect(200).text();
    assert!(html.contains("Rencontrer deux mécènes locaux"));
    assert!(html.contains("Pierre Lacoste"));
    assert!(html.contains("matin : présent·e, après-midi : excusé·e"));
    assert!(html.contains("Autre consultant·e — Claire Martin"));

    let res = app.post_form(&send, &[("seance", &sid)]).await.expect(303);
    assert!(location(&res).contains("notice=compte_rendu_envoye"));
    let rows = compte_rendu_rows(&app, &cohort).await;
    assert_eq!(rows.len(), 2, "one per participant of the association");
    assert!(
        rows.iter()
            .all(|r| r["revision"] == 1 && r["item_id"] == sid.as_str())
    );
    let to_director = rows
        .iter()
        .find(|r| r["participant_id"] == people[0].0.as_str())
        .expect("the director's");
    assert_eq!(
        to_director["subject"],
        "Compte rendu : Évolution — Association n° 1"
    );
    let text = to_director["body_text"].as_str().unwrap();
    let url_start = text.find("Votre espace : ").unwrap() + "Votre espace : ".len();
    let url_end = url_start + text[url_start..].find('\n').unwrap();
    let redacted = format!("{}[espace]{}", &text[..url_start], &text[url_end..]);
    insta::assert_snapshot!("compte_rendu_body_text", redacted);
    assert!(
        to_director["body_html"]
            .as_str()
            .unwrap()
            .contains("Rencontrer deux mécènes locaux")
    );

    // The same version again: nothing more, and the page says so.
    let res = app.post_form(&send, &[("seance", &sid)]).await.expect(303);
    assert!(location(&res).contains("notice=compte_rendu_deja_envoye"));
    let html = app.get(&location(&res)).await.expect(200).text();
    assert!(html.contains("déjà été envoyé dans cette version"));
    assert_eq!(compte_rendu_rows(&app, &cohort).await.len(), 2);

    // A new version of the log: sent again.
    app.post_form(
        &format!("/seances/{sid}/journal"),
        &[("version", "1"), ("notes", "Notes corrigées.")],
    )
    .await
    .expect(303);
    app.post_form(&send, &[("seance", &sid)]).await.expect(303);
    let rows = compte_rendu_rows(&app, &cohort).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows.iter().filter(|r| r["revision"] == 2).count(), 2);

    // Another association's bilan is no compte rendu of this one.
    let other_bilan = sessions
        .iter()
        .find(|s| s["kind"] == "bilan_individuel" && s["association_id"] == ids[1].as_str())
        .unwrap();
    app.get(&format!(
        "/associations/{}/compte-rendu?seance={}",
        ids[0],
        id(other_bilan)
    ))
    .await
    .expect(404);
    app.get(&format!("/associations/{}/compte-rendu", ids[0]))
        .await
        .expect(400);
}

// --- attendance CSV ----------------------------------------------------------------------

#[actix_web::test]
async fn the_attendance_csv_parses_back_one_line_per_participant_session_and_half_day() {
    let app = spawn().await;
    let (cohort, ids, sessions) = programme(&app, 2).await;
    let edl = id(session_of(&sessions, "etat_des_lieux"));
    let people = participants(&app, &ids[1]).await;
    app.post_form(
        &format!("/seances/{edl}/journal"),
        &[
            ("version", "0"),
            (&format!("attendance.{}.2", people[0].0), "absent"),
        ],
    )
    .await
    .expect(303);

    let res = app
        .get(&format!("/cohortes/{cohort}/presences.csv"))
        .await
        .expect(200);
    assert!(res.content_type().starts_with("text/csv"));
    assert!(
        res.header("content-disposition")
            .unwrap()
            .contains("presences-")
    );
    let text = std::str::from_utf8(&res.body).expect("UTF-8");
    let rows = common::parse_csv(text.strip_prefix('\u{feff}').expect("a BOM first"));
    assert_eq!(
        rows[0],
        [
            "Association",
            "Personne",
            "Rôle",
            "Séance",
            "Date",
            "Demi-journée",
            "Statut"
        ]
    );
    // Each collective session: 4 people × its half-days; each bilan: 2 people × 1.
    let expected: usize = sessions
        .iter()
        .map(|s| {
            let minutes = (chrono::DateTime::parse_from_rfc3339(s["ends_at"].as_str().unwrap())
                .unwrap()
                - chrono::DateTime::parse_from_rfc3339(s["starts_at"].as_str().unwrap()).unwrap())
            .num_minutes();
            let people = if s["kind"] == "bilan_individuel" {
                2
            } else {
                4
            };
            people * half_days_for(minutes) as usize
        })
        .sum();
    assert_eq!(rows.len() - 1, expected);
    assert!(rows[1..].iter().all(|r| r.len() == 7));
    let absent: Vec<_> = rows.iter().filter(|r| r[6] == "absent·e").collect();
    assert_eq!(absent.len(), 1);
    assert_eq!(absent[0][0], "Association n° 2");
    assert_eq!(absent[0][1], "Nadia Benali");
    assert_eq!(absent[0][2], "Direction salariée");
    assert_eq!(absent[0][3], "État des lieux");
    assert_eq!(absent[0][5], "Après-midi");
    let date = &absent[0][4];
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%d/%m/%Y").is_ok(),
        "JJ/MM/AAAA: {date}"
    );
    let logged = rows.iter().filter(|r| r[3] == "État des lieux").count();
    assert_eq!(logged, 8);
    assert_eq!(
        rows.iter()
            .filter(|r| r[3] == "État des lieux" && r[6] == "présent·e")
            .count(),
        7
    );
    assert!(rows.iter().any(|r| r[6] == "non renseigné"));
}

// --- mobilisation on the association page ----------------------------------------------

#[actix_web::test]
async fn the_association_page_shows_the_director_mobilisation_pistes_and_comptes_rendus() {
    let app = spawn().await;
    let (cohort, ids, sessions) = programme(&app, 1).await;
    let people = participants(&app, &ids[0]).await;
    let director = &people[0].0;
    let edl = id(session_of(&sessions, "etat_des_lieux"));
    // Before any session log there is nothing to judge yet.
    let before = app
        .get(&format!("/associations/{}", ids[0]))
        .await
        .expect(200)
        .text()
        .replace("&#x27;", "'");
    assert!(
        before.contains("Aucune séance renseignée pour l'instant"),
        "{before}"
    );
    assert!(!before.contains("mobilisation-below\">"), "{before}");
    // The director was there in the morning only.
    app.post_form(
        &format!("/seances/{edl}/journal"),
        &[
            ("version", "0"),
            (&format!("attendance.{director}.2"), "absent"),
        ],
    )
    .await
    .expect(303);
    app.post_json(
        &format!("/api/v1/associations/{}/action-leads", ids[0]),
        json!({"text": "Cartographier les alliances", "owner": "La directrice", "session_id": edl}),
    )
    .await
    .expect(201);

    let tasks = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .json();
    let preparation: Vec<i64> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["preparation_half_days"].as_i64().unwrap())
        .collect();
    // 6 h 30 in two half-days, present in one: 195 minutes.
    let expected = budget::mobilisation(&[195], &preparation, DayLength::STANDARD);

    let html = app
        .get(&format!("/associations/{}", ids[0]))
        .await
        .expect(200)
        .text();
    let html = html.replace("&#x27;", "'").replace("&#x3D;", "=");
    assert!(html.contains("Mobilisation de la direction"));
    assert!(
        html.contains(&expected.message),
        "expected « {} » in the page",
        expected.message
    );
    assert!(html.contains(expected.status.label()));
    assert!(html.contains("1 séance renseignée sur 4"));
    assert!(html.contains("Cartographier les alliances"));
    assert!(html.contains(&format!(
        "/associations/{}/compte-rendu?seance={edl}",
        ids[0]
    )));
}
