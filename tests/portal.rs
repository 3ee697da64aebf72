//! The participant side: signing in from an email's link, the portal (agenda, homework,
//! model forms, preferences), the one-click unsubscribe, and the request for a new link.
//! Participant requests go through `send_raw` with only the session cookie they got.

mod common;

use std::sync::Arc;

use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::json;

use cohorte::db::schema::{auth_links, outbox_bodies, outbox_emails, participants, task_returns};
use cohorte::domain::outbox::Status;
use cohorte::jobs::Dispatcher;
use cohorte::mail::{Transport, sender};
use cohorte::models::account::{self, LinkPurpose, LinkTarget};
use cohorte::models::outbox::{FullEmail, MailContext, SIGN_IN_LINK};
use common::{Response, TestApp, spawn};

/// The participants of an association: (id, name, email).
async fn people(app: &TestApp, association: &str) -> Vec<(String, String, String)> {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                p["email"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A sign-in link created at `at`, valid for the configured days.
fn link_at(app: &TestApp, participant: &str, at: chrono::NaiveDateTime) -> String {
    let mut conn = app.pool.get().unwrap();
    common::write(&mut conn, |tx| {
        account::create_link(
            tx,
            LinkPurpose::ParticipantSignIn,
            &LinkTarget {
                user_id: None,
                participant_id: Some(participant.to_string()),
            },
            Duration::days(app.config.auth.participant_link_days as i64),
            at,
        )
    })
    .unwrap()
}

fn session_cookie(res: &Response) -> Option<String> {
    res.headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("cohorte_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .filter(|v| !v.is_empty())
}

fn csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF field in:\n{html}"))
        + marker.len();
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

/// Signs a participant in through a fresh link; returns the session cookie.
async fn sign_in(app: &TestApp, participant: &str) -> String {
    let token = link_at(app, participant, Utc::now().naive_utc());
    let res = app
        .send_raw(TestRequest::post().uri(&format!("/connexion/lien/{token}")))
        .await
        .expect(303);
    session_cookie(&res).expect("a session cookie")
}

async fn publish(app: &TestApp, cohort: &str) {
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
}

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

/// The dispatcher as `cohorte serve` runs it, writing `.eml` files into `dir`.
fn dispatcher(app: &TestApp, dir: &std::path::Path) -> Dispatcher {
    let templates = Arc::new(cohorte::templates::build("").unwrap());
    let mut d = Dispatcher::new(
        app.pool.clone(),
        Transport::file(dir),
        sender(&app.config.mail).unwrap(),
    );
    d.planner =
        Some(cohorte::jobs::AppHooks::new(MailContext::new(&app.config, templates)).planner());
    d
}

/// Every message written in `dir`, parsed: (raw, subject, text body).
fn messages(dir: &std::path::Path) -> Vec<(String, String, String)> {
    use mail_parser::MessageParser;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            let parsed = MessageParser::default().parse(&raw).unwrap();
            (
                String::from_utf8_lossy(&raw).into_owned(),
                parsed.subject().unwrap_or("").to_string(),
                parsed.body_text(0).unwrap_or_default().into_owned(),
            )
        })
        .collect()
}

/// The path of the first `{public_url}{prefix}…` address in `text`.
fn path_in(app: &TestApp, text: &str, prefix: &str) -> String {
    let base = format!(
        "{}{prefix}",
        app.config.server.public_url.trim_end_matches('/')
    );
    let start = text
        .find(&base)
        .unwrap_or_else(|| panic!("no {base} in:\n{text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '"')
        .collect();
    url[app.config.server.public_url.trim_end_matches('/').len()..].to_string()
}

#[actix_web::test]
async fn a_link_opened_twice_still_signs_in_once_and_only_by_post() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let (pid, name, _) = people(&app, &associations[0]).await.remove(0);
    let token = link_at(&app, &pid, Utc::now().naive_utc());
    let uri = format!("/connexion/lien/{token}");
    // A mail scanner, then the person: both GETs show the button, neither uses the link.
    for _ in 0..2 {
        let page = app.send_raw(TestRequest::get().uri(&uri)).await.expect(200);
        let html = page.text();
        assert!(html.contains(&format!("Bonjour {}", name.split(' ').next().unwrap())));
        assert!(html.contains("Me connecter"));
        assert!(session_cookie(&page).is_none());
        // The token's address is never sent as a referrer, and the button's POST keeps a
        // real Origin (`no-referrer` made browsers send `Origin: null`, refused).
        assert_eq!(page.header("referrer-policy"), Some("strict-origin"));
    }
    let res = app
        .send_raw(TestRequest::post().uri(&uri))
        .await
        .expect(303);
    assert!(res.header("location").unwrap().starts_with("/portail"));
    let cookie = session_cookie(&res).expect("a session cookie");
    let portal = get_as(&app, &cookie, "/portail").await.expect(200).text();
    assert!(portal.contains("Bonjour Nadia"), "{portal}");
    // Used: refused with the reason and the form for a new link.
    let again = app
        .send_raw(TestRequest::post().uri(&uri))
        .await
        .expect(410);
    assert!(session_cookie(&again).is_none());
    let html = again.text();
    assert!(html.contains("déjà servi"), "{html}");
    assert!(html.contains("action=\"/connexion/participant\""));
    app.send_raw(TestRequest::get().uri(&uri)).await.expect(410);
    // Staff pages stay closed to a participant; nobody signed in goes to the sign-in page.
    get_as(&app, &cookie, "/cohortes").await.expect(403);
    app.send_raw(TestRequest::get().uri("/portail"))
        .await
        .expect(303);
}

#[actix_web::test]
async fn an_expired_or_altered_link_is_refused_with_the_reason() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let (pid, _, _) = people(&app, &associations[0]).await.remove(0);
    let days = app.config.auth.participant_link_days as i64;
    let old = link_at(
        &app,
        &pid,
        (Utc::now() - Duration::days(days + 1)).naive_utc(),
    );
    let uri = format!("/connexion/lien/{old}");
    let page = app.send_raw(TestRequest::get().uri(&uri)).await.expect(410);
    assert!(page.text().contains("Ce lien a expiré."));
    let res = app
        .send_raw(TestRequest::post().uri(&uri))
        .await
        .expect(410);
    assert!(session_cookie(&res).is_none());

    let token = link_at(&app, &pid, Utc::now().naive_utc());
    let last = if token.ends_with('0') { '1' } else { '0' };
    let altered = format!("{}{last}", &token[..token.len() - 1]);
    let uri = format!("/connexion/lien/{altered}");
    let page = app.send_raw(TestRequest::get().uri(&uri)).await.expect(404);
    assert!(page.text().contains("copié en entier"));
    app.send_raw(TestRequest::post().uri(&uri))
        .await
        .expect(404);
    // The real one still works.
    app.send_raw(TestRequest::post().uri(&format!("/connexion/lien/{token}")))
        .await
        .expect(303);
}

#[actix_web::test]
async fn emails_carry_a_link_made_at_sending_that_the_database_never_holds() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    let (pid, _, _) = people(&app, &associations[0]).await.remove(0);
    app.generate(&cohort).await;
    publish(&app, &cohort).await;
    let all = rows(&app);
    let convocation = all
        .iter()
        .find(|r| r.kind == "convocation" && r.participant_id.as_deref() == Some(&pid))
        .unwrap();
    assert!(convocation.body_text.contains(SIGN_IN_LINK));
    assert!(convocation.body_html.contains(SIGN_IN_LINK));
    assert!(!convocation.body_text.contains("/connexion/lien/"));
    // The staff's preview shows the marker.
    let preview = app
        .get(&format!("/envois/{}", convocation.id))
        .await
        .expect(200)
        .text();
    assert!(preview.contains("[lien de connexion personnel]"));

    // Sent with the J-7 reminder's pass: everything due by then leaves.
    let reminder = all
        .iter()
        .find(|r| r.kind == "reminder_j7" && r.participant_id.as_deref() == Some(&pid))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stats = dispatcher(&app, dir.path())
        .run_once(reminder.send_after.and_utc())
        .unwrap();
    assert!(stats.sent >= 2, "{stats:?}");
    let sent = messages(dir.path());
    let (raw, _, text) = sent
        .iter()
        .find(|(_, subject, text)| subject.starts_with("Rappel") && text.contains("Nadia"))
        .expect("the reminder");
    let link = path_in(&app, text, "/connexion/lien/");
    let token = link.trim_start_matches("/connexion/lien/").to_string();
    assert_eq!(token.len(), 64);

    // Nothing stored holds the token: outbox bodies, invites, links.
    let mut conn = app.pool.get().unwrap();
    let bodies: Vec<(String, String, Option<String>)> = outbox_bodies::table
        .select((
            outbox_bodies::body_text,
            outbox_bodies::body_html,
            outbox_bodies::ics,
        ))
        .load(&mut conn)
        .unwrap();
    for (text, html, ics) in &bodies {
        assert!(!text.contains(&token) && !html.contains(&token));
        assert!(!ics.as_deref().unwrap_or("").contains(&token));
        assert!(!ics.as_deref().unwrap_or("").contains(SIGN_IN_LINK));
    }
    let hashes: Vec<String> = auth_links::table
        .select(auth_links::token_hash)
        .load(&mut conn)
        .unwrap();
    assert!(hashes.iter().all(|h| h != &token));
    assert!(hashes.contains(&account::hash_secret(&token)));
    drop(conn);

    // Every message has its own link, and the reminder's opens the portal.
    let links: std::collections::BTreeSet<String> = sent
        .iter()
        .filter(|(_, _, t)| t.contains("/connexion/lien/"))
        .map(|(_, _, t)| path_in(&app, t, "/connexion/lien/"))
        .collect();
    assert_eq!(links.len(), sent.len(), "one fresh link per message");
    let res = app
        .send_raw(TestRequest::post().uri(&link))
        .await
        .expect(303);
    assert!(session_cookie(&res).is_some());

    // RFC 8058 one-click unsubscribe on the reminder.
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    let unsubscribe = path_in(&app, raw, "/desabonnement/");
    assert!(raw.contains(&format!(
        "List-Unsubscribe: <{}{unsubscribe}>",
        app.config.server.public_url.trim_end_matches('/')
    )));
    // Opening it asks first and changes nothing…
    let page = app
        .send_raw(TestRequest::get().uri(&unsubscribe))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Ne plus recevoir les rappels"));
    // …an altered one is not found…
    let altered = format!("{}0", &unsubscribe[..unsubscribe.len() - 1]);
    if altered != unsubscribe {
        app.send_raw(TestRequest::post().uri(&altered))
            .await
            .expect(404);
    }
    let reminders_of = |app: &TestApp| -> bool {
        let mut conn = app.pool.get().unwrap();
        participants::table
            .find(&pid)
            .select(participants::reminders)
            .first(&mut conn)
            .unwrap()
    };
    assert!(reminders_of(&app));
    let mut convocations_before: Vec<(String, Status)> = rows(&app)
        .iter()
        .filter(|r| r.participant_id.as_deref() == Some(&pid) && r.kind == "convocation")
        .map(|r| (r.id.clone(), r.status()))
        .collect();
    convocations_before.sort_by(|a, b| a.0.cmp(&b.0));
    // …and the mail client's POST, with no cookie, turns reminders off.
    let done = app
        .send_raw(
            TestRequest::post()
                .uri(&unsubscribe)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("List-Unsubscribe=One-Click"),
        )
        .await
        .expect(200)
        .text();
    assert!(done.contains("Rappels désactivés"));
    assert!(!reminders_of(&app));
    // Its pending reminders are cancelled; its convocations are not.
    let after = rows(&app);
    let mine = |kind: &str| {
        after
            .iter()
            .filter(|r| r.participant_id.as_deref() == Some(&pid) && r.kind.starts_with(kind))
            .map(|r| r.status())
            .collect::<Vec<_>>()
    };
    assert!(
        mine("reminder_j")
            .iter()
            .all(|s| !matches!(s, Status::Scheduled))
    );
    let mut convocations: Vec<(String, Status)> = after
        .iter()
        .filter(|r| r.participant_id.as_deref() == Some(&pid) && r.kind == "convocation")
        .map(|r| (r.id.clone(), r.status()))
        .collect();
    convocations.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(convocations.iter().any(|(_, s)| *s == Status::Sent));
    // (Those of the sessions already held when the pass ran at the J-7 reminder's
    // moment were cancelled by that pass, not by turning reminders off.)
    assert_eq!(convocations, convocations_before, "convocations untouched");
}

#[actix_web::test]
async fn the_portal_shows_only_the_participant_s_association() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let (x, _, _) = people(&app, &associations[0]).await.remove(0);
    let (y, _, _) = people(&app, &associations[1]).await.remove(0);
    let task = generated["tasks"][0]["id"].as_str().unwrap().to_string();

    // Y returns a task with an answer.
    let y_cookie = sign_in(&app, &y).await;
    let page = get_as(&app, &y_cookie, "/portail").await.expect(200).text();
    post_as(
        &app,
        &y_cookie,
        &format!("/portail/taches/{task}"),
        &[
            ("csrf_token", &csrf(&page)),
            ("answer", "Réponse confidentielle de Y"),
        ],
    )
    .await
    .expect(303);

    let x_cookie = sign_in(&app, &x).await;
    let page = get_as(&app, &x_cookie, "/portail").await.expect(200);
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    let html = page.text();
    assert!(html.contains("Association n° 1"));
    assert!(
        !html.contains("Association n° 2"),
        "Y's bilan or name leaks:\n{html}"
    );
    assert!(!html.contains("confidentielle"));
    assert!(!html.contains("rendu le"), "Y's return shown to X:\n{html}");
    assert!(html.contains("Bilan individuel"));
    assert!(html.contains("/agenda/"));
    assert!(html.contains("/portail/modele/etat_des_lieux"));
    // Without the CSRF token the form is refused.
    post_as(
        &app,
        &x_cookie,
        &format!("/portail/taches/{task}"),
        &[("answer", "x")],
    )
    .await
    .expect(403);
}

#[actix_web::test]
async fn a_participant_returns_homework_with_an_answer_for_their_association_only() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let task = generated["tasks"][0]["id"].as_str().unwrap().to_string();
    let (x, _, _) = people(&app, &associations[0]).await.remove(0);
    let cookie = sign_in(&app, &x).await;
    let page = get_as(&app, &cookie, "/portail").await.expect(200).text();
    assert!(page.contains(&format!("action=\"/portail/taches/{task}\"")));
    let token = csrf(&page);
    let res = post_as(
        &app,
        &cookie,
        &format!("/portail/taches/{task}"),
        &[
            ("csrf_token", &token),
            ("answer", "https://partage.example/bilan.pdf"),
        ],
    )
    .await
    .expect(303);
    assert!(res.header("location").unwrap().starts_with("/portail"));
    let page = get_as(&app, &cookie, "/portail?notice=travail_rendu")
        .await
        .expect(200)
        .text();
    assert!(page.contains("rendu le"));
    assert!(page.contains("https://partage.example/bilan.pdf"));
    let mut conn = app.pool.get().unwrap();
    let stored: Vec<(String, String, String)> = task_returns::table
        .filter(task_returns::task_id.eq(&task))
        .select((
            task_returns::association_id,
            task_returns::status,
            task_returns::answer,
        ))
        .load(&mut conn)
        .unwrap();
    drop(conn);
    assert_eq!(
        stored,
        vec![(
            associations[0].clone(),
            "rendu".to_string(),
            "https://partage.example/bilan.pdf".to_string()
        )]
    );
    // The staff sees it returned, and reads what was handed in (the link opens it).
    let returns = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .text();
    assert!(returns.contains("rendu"));
    assert!(
        returns.contains("https://partage.example/bilan.pdf"),
        "{returns}"
    );
    let cohort_page = app
        .get(&format!("/cohortes/{cohort}"))
        .await
        .expect(200)
        .text();
    assert!(
        cohort_page.contains(
            "Réponse : <a href=\"https://partage.example/bilan.pdf\" rel=\"noopener noreferrer\">"
        ),
        "{cohort_page}"
    );

    // A task of another cohort: not found, nothing stored.
    let (other, _) = app.cohort_with(1).await;
    let other_task = app.generate(&other).await["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    post_as(
        &app,
        &cookie,
        &format!("/portail/taches/{other_task}"),
        &[("csrf_token", &token), ("answer", "x")],
    )
    .await
    .expect(404);
    let mut conn = app.pool.get().unwrap();
    let n: i64 = task_returns::table
        .filter(task_returns::task_id.eq(&other_task))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(n, 0);
}

#[actix_web::test]
async fn turning_reminders_off_in_the_portal_cancels_the_pending_ones() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    publish(&app, &cohort).await;
    let (x, _, _) = people(&app, &associations[0]).await.remove(0);
    let pending = |app: &TestApp, kind: &str| {
        rows(app)
            .into_iter()
            .filter(|r| r.participant_id.as_deref() == Some(&x) && r.kind.starts_with(kind))
            .filter(|r| r.status() == Status::Scheduled)
            .count()
    };
    assert!(pending(&app, "reminder_j") > 0);
    let cookie = sign_in(&app, &x).await;
    let page = get_as(&app, &cookie, "/portail/preferences")
        .await
        .expect(200)
        .text();
    assert!(page.contains("ne peuvent pas être désactivés"));
    post_as(
        &app,
        &cookie,
        "/portail/preferences",
        &[("csrf_token", &csrf(&page)), ("reminders", "peut-être")],
    )
    .await
    .expect(422);
    let res = post_as(
        &app,
        &cookie,
        "/portail/preferences",
        &[("csrf_token", &csrf(&page)), ("reminders", "non")],
    )
    .await
    .expect(303);
    assert!(
        res.header("location")
            .unwrap()
            .starts_with("/portail/preferences")
    );
    assert_eq!(pending(&app, "reminder_j"), 0);
    assert!(pending(&app, "convocation") > 0, "convocations still go");
    let cancelled = rows(&app)
        .into_iter()
        .filter(|r| r.participant_id.as_deref() == Some(&x) && r.kind.starts_with("reminder_j"))
        .all(|r| r.status() == Status::Cancelled);
    assert!(cancelled);
    // On again: the reminders come back.
    post_as(
        &app,
        &cookie,
        "/portail/preferences",
        &[("csrf_token", &csrf(&page)), ("reminders", "oui")],
    )
    .await
    .expect(303);
    assert!(
        get_as(&app, &cookie, "/portail")
            .await
            .text()
            .contains("Vous recevez les rappels")
    );
}

#[actix_web::test]
async fn asking_for_a_new_link_answers_the_same_whoever_asks() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let (pid, _, email) = people(&app, &associations[0]).await.remove(0);
    let form = app
        .send_raw(TestRequest::get().uri("/connexion/participant"))
        .await
        .expect(200)
        .text();
    assert!(form.contains("Recevoir un lien de connexion"));
    let ask = |address: String| {
        let app = &app;
        async move {
            app.send_raw(
                TestRequest::post()
                    .uri("/connexion/participant")
                    .set_form([("email", address.as_str())]),
            )
            .await
            .expect(200)
            .text()
            .replace(&address, "ADRESSE")
        }
    };
    let known = ask(email.to_uppercase()).await;
    let unknown = ask("personne@inconnu.example".to_string()).await;
    assert_eq!(known, unknown);
    assert!(
        known.contains("Si l&#x27;adresse ADRESSE est celle d&#x27;un·e participant·e")
            || known.contains("Si l'adresse ADRESSE est celle d'un·e participant·e")
    );
    // Asking again within minutes sends nothing more.
    ask(email.clone()).await;
    let queued: Vec<FullEmail> = rows(&app)
        .into_iter()
        .filter(|r| r.kind == "sign_in_link")
        .collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].participant_id.as_deref(), Some(pid.as_str()));
    assert!(queued[0].body_text.contains(SIGN_IN_LINK));
    // Not an address: said so on the field.
    app.send_raw(
        TestRequest::post()
            .uri("/connexion/participant")
            .set_form([("email", "pas une adresse")]),
    )
    .await
    .expect(422);

    // Sent now, with a working link.
    let dir = tempfile::tempdir().unwrap();
    dispatcher(&app, dir.path()).run_once(Utc::now()).unwrap();
    let sent = messages(dir.path());
    assert_eq!(sent.len(), 1);
    let link = path_in(&app, &sent[0].2, "/connexion/lien/");
    app.send_raw(TestRequest::post().uri(&link))
        .await
        .expect(303);
}

#[actix_web::test]
async fn the_old_personal_page_explains_the_portal_and_shows_nothing_personal() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    let (pid, _, _) = people(&app, &associations[0]).await.remove(0);
    let token = {
        let mut conn = app.pool.get().unwrap();
        let secret = cohorte::models::feed::secret(&mut conn).unwrap();
        let p = cohorte::models::participant::get(&mut conn, &pid).unwrap();
        cohorte::models::feed::token(&secret, cohorte::models::feed::Purpose::Space, &p)
    };
    for uri in [
        format!("/espace/{pid}/{token}"),
        format!("/espace/{pid}/{token}/modele/etat_des_lieux"),
    ] {
        let html = app
            .send_raw(TestRequest::get().uri(&uri))
            .await
            .expect(200)
            .text();
        assert!(html.contains("Recevoir un lien de connexion"));
        assert!(!html.contains("Nadia"));
        assert!(!html.contains("Association n° 1"));
        assert!(!html.contains("Vos séances"));
    }
    app.send_raw(
        TestRequest::post()
            .uri(&format!("/espace/{pid}/{token}/modele/etat_des_lieux"))
            .set_form([("employees", "3")]),
    )
    .await
    .expect(410);
    app.send_raw(
        TestRequest::get().uri(&format!("/espace/{pid}/00000000000000000000000000000000")),
    )
    .await
    .expect(404);
}

#[actix_web::test]
async fn a_participant_fills_their_model_from_the_portal() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let (pid, name, _) = people(&app, &associations[0]).await.remove(0);
    let cookie = sign_in(&app, &pid).await;
    let form = get_as(&app, &cookie, "/portail/modele/etat_des_lieux")
        .await
        .expect(200)
        .text();
    assert!(form.contains("action=\"/portail/modele/etat_des_lieux\""));
    let res = post_as(
        &app,
        &cookie,
        "/portail/modele/etat_des_lieux",
        &[
            ("csrf_token", &csrf(&form)),
            ("version", "0"),
            ("employees", "4"),
        ],
    )
    .await
    .expect(303);
    assert!(
        res.header("location")
            .unwrap()
            .starts_with("/portail/modele/etat_des_lieux")
    );
    let saved = app
        .get(&format!(
            "/api/v1/associations/{}/profile/etat_des_lieux",
            associations[0]
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(saved["profile"]["human"]["employees"], 4);
    assert_eq!(saved["updated_by"], name.as_str());
    get_as(&app, &cookie, "/portail/modele/autre")
        .await
        .expect(404);
}
