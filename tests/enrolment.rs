//! Enrolment once the programme exists (issue #14, point 4): the association's bilan is
//! scheduled by the template, its people are convoked when the programme is published,
//! and each participant confirms their commitment to the four sessions from the link of
//! an email; the cohort page and the API show who has confirmed.
//!
//! The application runs on a real SQLite database; emails leave through the real
//! dispatcher (planner included) to a real SMTP server (`tests/common/smtp.rs`) and are
//! read back with a MIME parser.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::sync::Arc;

use actix_web::test::TestRequest;
use chrono::Utc;
use mail_parser::MessageParser;
use serde_json::{Value, json};

use cohorte::jobs::Dispatcher;
use cohorte::mail::sender;
use cohorte::models::outbox::{self, FullEmail, MailContext};
use common::{Response, TestApp, spawn};

const NBSP: char = '\u{a0}';

fn rows(app: &TestApp, cohort: &str) -> Vec<FullEmail> {
    outbox::list_for_cohort(&mut app.pool.get().unwrap(), cohort).unwrap()
}

/// Sends every email due now through the SMTP server, as `cohorte serve` does.
fn dispatch(app: &TestApp) {
    let mail = MailContext::new(
        &app.config,
        Arc::new(cohorte::templates::build("").unwrap()),
    );
    let mut d = Dispatcher::new(
        app.pool.clone(),
        smtp::smtp(),
        sender(&app.config.mail).unwrap(),
    );
    d.planner = Some(cohorte::jobs::AppHooks::new(mail).planner());
    d.run_once(Utc::now()).unwrap();
}

/// Every message the SMTP server received for `address`: (subject, text body).
fn received_by(address: &str) -> Vec<(String, String)> {
    let to = format!("<{address}>");
    smtp::all_received()
        .iter()
        .filter_map(|raw| {
            let m = MessageParser::default().parse(raw).unwrap();
            let header = m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(|a| format!("<{a}>"));
            (header.as_deref() == Some(to.as_str())).then(|| {
                (
                    m.subject().unwrap_or("").to_string(),
                    m.body_text(0).unwrap_or_default().into_owned(),
                )
            })
        })
        .collect()
}

async fn people(app: &TestApp, association: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

async fn sessions(app: &TestApp, cohort: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/cohorts/{cohort}/sessions"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

async fn publish(app: &TestApp, cohort: &str) {
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
}

fn bilan_of<'a>(sessions: &'a [Value], association: &str) -> &'a Value {
    sessions
        .iter()
        .find(|s| s["association_id"] == association)
        .unwrap_or_else(|| panic!("no bilan for {association} in {sessions:#?}"))
}

fn session_cookie(res: &Response) -> String {
    res.headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("cohorte_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .filter(|v| !v.is_empty())
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

/// The path (and query) of the first `{public_url}/connexion/lien/…` address in `text`.
fn link_in(app: &TestApp, text: &str) -> String {
    let base = app.config.server.public_url.trim_end_matches('/');
    let start = text
        .find(&format!("{base}/connexion/lien/"))
        .unwrap_or_else(|| panic!("no sign-in link in:\n{text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    url[base.len()..].to_string()
}

#[actix_web::test]
async fn an_association_enrolled_after_publication_gets_its_bilan_convocations_and_commitment_request()
 {
    let app = spawn().await;
    // Two associations, the programme generated from Monday 11 January 2027 and
    // published: bilans on Tuesday 18 May 2027 at 9 h 30 and 14 h (Paris).
    let (cohort, first) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let bilan_task = generated["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Vision révisée et pistes d'actions")
        .unwrap()
        .clone();
    publish(&app, &cohort).await;
    dispatch(&app);
    let before = sessions(&app, &cohort).await;
    assert_eq!(before.len(), 5);
    assert_eq!(
        bilan_of(&before, &first[1])["starts_at"],
        "2027-05-18T12:00:00Z"
    );

    // The third association, enrolled after the publication through the API.
    let late = app.enrol(&cohort, "La Ressourcerie du Quai").await;
    let after = sessions(&app, &cohort).await;
    assert_eq!(after.len(), 6, "one bilan more, nothing else");
    let bilan = bilan_of(&after, &late);
    // The next slot of the template: Wednesday 19 May 2027, 9 h 30 – 11 h 30 in Paris.
    assert_eq!(bilan["kind"], "bilan_individuel");
    assert_eq!(bilan["starts_at"], "2027-05-19T07:30:00Z");
    assert_eq!(bilan["ends_at"], "2027-05-19T09:30:00Z");
    assert_eq!(bilan["planned_half_days"], 1);
    assert!(
        bilan["agenda"]
            .as_str()
            .unwrap()
            .contains("pistes d'actions")
    );
    // The bilans' homework stays with the first bilan, due as generated.
    let tasks = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .json();
    let task = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == bilan_task["id"])
        .unwrap();
    assert_eq!(task["session_id"], bilan_task["session_id"]);
    assert_eq!(task["due_date"], bilan_task["due_date"]);
    assert_eq!(
        task["session_id"],
        bilan_of(&after, &first[0])["id"],
        "linked to the earliest bilan"
    );

    // Its people are convoked to the four sessions and asked to confirm.
    dispatch(&app);
    let team = people(&app, &late).await;
    assert_eq!(team.len(), 2);
    for p in &team {
        let address = p["email"].as_str().unwrap();
        let got = received_by(address);
        let convocations = got
            .iter()
            .filter(|(s, _)| s.starts_with("Convocation"))
            .count();
        assert_eq!(convocations, 4, "{address}: {got:#?}");
        let requests: Vec<_> = got
            .iter()
            .filter(|(s, _)| s == "Confirmez votre participation aux quatre sessions")
            .collect();
        assert_eq!(requests.len(), 1, "{address}: {got:#?}");
        assert!(p["commitment_confirmed_at"].is_null());
    }
    for row in rows(&app, &cohort)
        .iter()
        .filter(|r| r.kind == "commitment_request")
    {
        assert_eq!(row.status().as_str(), "sent", "{}", row.recipient_email);
    }
    // The first associations' people had theirs at publication: six requests in all.
    assert_eq!(
        rows(&app, &cohort)
            .iter()
            .filter(|r| r.kind == "commitment_request")
            .count(),
        6
    );

    // The director reads the four dates and follows the link.
    let director = &team[0];
    let address = director["email"].as_str().unwrap();
    let (_, text) = received_by(address)
        .into_iter()
        .find(|(s, _)| s.starts_with("Confirmez"))
        .unwrap();
    for (title, when) in [
        (
            "Session introductive",
            "lundi 11 janvier 2027, 9 h 30 – 12 h 30",
        ),
        (
            "1re session collective — État des lieux",
            "lundi 15 février 2027, 9 h 30 – 16 h 00",
        ),
        (
            "2de session collective — L'évolution",
            "mardi 30 mars 2027, 9 h 30 – 16 h 00",
        ),
        (
            "Session de bilan individuel",
            "mercredi 19 mai 2027, 9 h 30 – 11 h 30",
        ),
    ] {
        let line = format!("- {title}{NBSP}: {}", when.replace(" h ", "\u{a0}h\u{a0}"));
        assert!(text.contains(&line), "no « {line} » in:\n{text}");
    }
    assert!(text.contains("La Ressourcerie du Quai"));
    let link = link_in(&app, &text);
    assert!(
        link.ends_with("?suite=/portail/engagement"),
        "the link leads to the commitment page: {link}"
    );
    let page = app
        .send_raw(TestRequest::get().uri(&link))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Me connecter"));
    let signed_in = app
        .send_raw(TestRequest::post().uri(&link))
        .await
        .expect(303);
    assert_eq!(
        signed_in.header("location"),
        Some("/portail/engagement"),
        "signed in, straight to the commitment page"
    );
    let cookie = session_cookie(&signed_in);
    let page = get_as(&app, &cookie, "/portail/engagement")
        .await
        .expect(200)
        .text();
    assert!(page.contains("mercredi 19 mai 2027"), "{page}");
    assert!(page.contains("Je confirme ma participation"));
    // The form is refused without its CSRF token, then accepted with it.
    app.send_raw(
        TestRequest::post()
            .uri("/portail/engagement")
            .insert_header(("cookie", format!("cohorte_session={cookie}")))
            .set_form([("x", "y")]),
    )
    .await
    .expect(403);
    let confirmed = app
        .send_raw(
            TestRequest::post()
                .uri("/portail/engagement")
                .insert_header(("cookie", format!("cohorte_session={cookie}")))
                .set_form([("csrf_token", csrf(&page).as_str())]),
        )
        .await
        .expect(303);
    assert_eq!(
        confirmed.header("location"),
        Some("/portail/engagement?notice=engagement_confirme")
    );
    let page = get_as(&app, &cookie, "/portail/engagement")
        .await
        .expect(200)
        .text();
    assert!(page.contains("Vous avez confirmé votre participation le"));
    assert!(!page.contains("Je confirme ma participation"));

    // The cohort page shows who confirmed, and the count.
    let show = app
        .get(&format!("/cohortes/{cohort}"))
        .await
        .expect(200)
        .text();
    assert!(show.contains("1 / 6 engagement confirmé"), "{show}");
    let today =
        cohorte::domain::fr::date_long(cohorte::models::programme::today(chrono::Utc::now()));
    assert_eq!(
        show.matches(&format!("Engagement confirmé le {today}"))
            .count(),
        1
    );
    assert_eq!(show.matches("Engagement non confirmé").count(), 5);

    // The API shows it; the audit log has it.
    let team = people(&app, &late).await;
    let stamp = team[0]["commitment_confirmed_at"].as_str().unwrap();
    assert!(stamp.starts_with(&Utc::now().format("%Y-").to_string()));
    assert!(team[1]["commitment_confirmed_at"].is_null());
    let audit = app
        .get(&format!("/api/v1/cohorts/{cohort}/audit"))
        .await
        .expect(200)
        .json();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity"] == "participant"
                && e["entity_id"] == team[0]["id"]
                && e["action"] == "update"),
        "{audit:#}"
    );

    // Confirming cancels nothing: the next pass sends nothing new to them and leaves
    // every row as it was.
    let before: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .map(|r| (r.id.clone(), r.status().as_str().to_string()))
        .collect();
    dispatch(&app);
    let after: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .map(|r| (r.id.clone(), r.status().as_str().to_string()))
        .collect();
    assert_eq!(before, after);
}

#[actix_web::test]
async fn the_first_bilan_of_a_programme_takes_the_bilan_homework_and_review_holds_the_request() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    let generated = app.generate(&cohort).await;
    let task = generated["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Vision révisée et pistes d'actions")
        .unwrap()
        .clone();
    assert!(task["session_id"].is_null(), "no bilan to prepare yet");
    // The évolution moved a week later (Tuesday 6 April 2027) before anyone enrolled.
    let evolution = generated["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "evolution")
        .unwrap();
    app.post_json(
        &format!(
            "/api/v1/sessions/{}/move",
            evolution["id"].as_str().unwrap()
        ),
        json!({"date": "2027-04-06", "start_time": "09:30", "version": evolution["version"],
               "avoid_non_working_days": "on"}),
    )
    .await
    .expect(200);
    let settings = format!("/api/v1/cohorts/{cohort}/mail-settings");
    let version = app.get(&settings).await.expect(200).json()["version"].clone();
    app.put_json(
        &settings,
        json!({"review_before_send": "oui", "version": version}),
    )
    .await
    .expect(200);
    publish(&app, &cohort).await;

    let first = app.enrol(&cohort, "Les Jardins du Lac").await;
    let all = sessions(&app, &cohort).await;
    let bilan = bilan_of(&all, &first);
    // 6 April + 49 days = Tuesday 25 May 2027, 9 h 30 in Paris.
    assert_eq!(bilan["starts_at"], "2027-05-25T07:30:00Z");
    let tasks = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .json();
    let moved = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == task["id"])
        .unwrap();
    assert_eq!(moved["session_id"], bilan["id"]);
    // Five days before, as generation dates it: Thursday 20 May.
    assert_eq!(moved["due_date"], "2027-05-20");

    // « Valider les envois »: the requests wait as drafts like the other planned emails.
    dispatch(&app);
    let requests: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "commitment_request")
        .collect();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.status().as_str() == "draft"));
    let outbox_page = app
        .get(&format!("/cohortes/{cohort}/envois"))
        .await
        .expect(200)
        .text();
    assert!(
        outbox_page.contains("Demande de confirmation d"),
        "labelled on « Envois »"
    );
}
