//! An outage someone sees (issue #18, point 3): the banner of late or failing emails on
//! staff pages, the cohorts list narrowed to the cohorts concerned, `GET /healthz` and the
//! administrators' sending status `GET /api/v1/outbox/status`.
//!
//! Real components throughout: the application as `main.rs` builds it on a migrated SQLite
//! file (`common::spawn`), the real dispatcher sending to a loopback port where nothing
//! listens (the server is down) and then to the SMTP sink (`scripts/smtp_sink.py`: it
//! answers 550 to `refuse@…` and 451 to `later@…`). Where a test needs time to pass
//! without a dispatcher, it moves the rows' instants back in the database, as ten minutes
//! of waiting would.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use actix_web::http::header;
use actix_web::test::TestRequest;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use cohorte::db::schema::outbox_emails;
use cohorte::jobs::Dispatcher;
use cohorte::mail::{Email, Rendered, Transport, sender};
use cohorte::models::account::{self, Lifetimes, NewUser, Principal};
use cohorte::models::outbox::{self, NewEmail};
use cohorte::models::outbox_status::{self, Watch};
use cohorte::models::scope::CohortScope;
use common::{Response, TestApp};

/// A loopback port where nothing listens: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dispatcher(app: &TestApp, transport: Transport) -> Dispatcher {
    Dispatcher::new(
        app.pool.clone(),
        transport,
        sender(&app.config.mail).unwrap(),
    )
}

fn server_down(app: &TestApp) -> Dispatcher {
    dispatcher(
        app,
        Transport::smtp(&format!("smtp://127.0.0.1:{}", closed_port())).unwrap(),
    )
}

fn session_cookie(app: &TestApp, principal: Principal) -> String {
    common::write(&mut app.pool.get().unwrap(), |tx| {
        account::start_session(
            tx,
            &principal,
            Lifetimes::from_config(&app.config.auth),
            Utc::now().naive_utc(),
        )
    })
    .unwrap()
}

/// A staff account and its session cookie.
fn staff(app: &TestApp, role: &str, dla_id: Option<&str>, consultant_id: Option<&str>) -> String {
    let user = common::write(&mut app.pool.get().unwrap(), |tx| {
        account::create(
            tx,
            NewUser {
                email: &format!("{role}-{}@cohorte.test", uuid::Uuid::new_v4().simple()),
                name: &format!("Compte {role}"),
                role,
                dla_id,
                consultant_id,
                password: None,
            },
        )
    })
    .unwrap();
    session_cookie(app, Principal::User(user.id))
}

/// An API token of a new staff account.
fn staff_token(
    app: &TestApp,
    role: &str,
    dla_id: Option<&str>,
    consultant_id: Option<&str>,
) -> String {
    let mut conn = app.pool.get().unwrap();
    let user = common::write(&mut conn, |tx| {
        account::create(
            tx,
            NewUser {
                email: &format!("{role}-{}@cohorte.test", uuid::Uuid::new_v4().simple()),
                name: &format!("Jeton {role}"),
                role,
                dla_id,
                consultant_id,
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

async fn page(app: &TestApp, cookie: &str, uri: &str) -> String {
    app.send_raw(
        TestRequest::get()
            .uri(uri)
            .insert_header((header::COOKIE, format!("cohorte_session={cookie}"))),
    )
    .await
    .expect(200)
    .text()
}

/// The banner of late emails on a page: its text (tags removed) and its link, if shown.
fn banner(html: &str) -> Option<(String, Option<String>)> {
    let start = html.find("mail-trouble")?;
    let open = html[..start].rfind("<div")?;
    let block = &html[open..open + html[open..].find("</div>")?];
    assert!(
        block.contains("role=\"status\""),
        "the banner is a status region: {block}"
    );
    let href = block
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(unescape);
    let mut text = String::new();
    let mut in_tag = false;
    for c in block.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some((unescape(&text), href))
}

/// The entities handlebars writes.
fn unescape(s: &str) -> String {
    s.replace("&#x3D;", "=")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A published cohort of `associations` associations in `dla`; its convocations are due
/// at once.
async fn published(app: &TestApp, dla: &str, name: &str, associations: usize) -> String {
    let cohort = app.create_cohort(dla, name).await;
    for i in 1..=associations {
        app.enrol(&cohort, &format!("{name} — association {i}"))
            .await;
    }
    app.generate(&cohort).await;
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    cohort
}

/// The cohort's emails still to send whose time has come, and the oldest planned time.
fn due_rows(app: &TestApp, cohort: &str) -> (i64, NaiveDateTime) {
    let mut conn = app.pool.get().unwrap();
    let now = Utc::now().naive_utc();
    let due = || {
        outbox_emails::table
            .filter(outbox_emails::cohort_id.eq(cohort))
            .filter(outbox_emails::status.eq_any(["scheduled", "sending"]))
            .filter(outbox_emails::send_after.le(now))
    };
    let n: i64 = due().count().get_result(&mut conn).unwrap();
    let oldest: Option<NaiveDateTime> = due()
        .select(diesel::dsl::min(outbox_emails::send_after))
        .first(&mut conn)
        .unwrap();
    (n, oldest.expect("due emails"))
}

/// Moves the instants of a cohort's pending emails `by` into the past, as if that much time
/// had passed with no dispatcher at work.
fn age(app: &TestApp, cohort: &str, by: Duration) {
    let mut conn = app.pool.get().unwrap();
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime, NaiveDateTime)> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort))
        .filter(outbox_emails::status.eq_any(["scheduled", "sending"]))
        .select((
            outbox_emails::id,
            outbox_emails::send_after,
            outbox_emails::next_attempt_at,
            outbox_emails::updated_at,
        ))
        .load(&mut conn)
        .unwrap();
    for (id, send_after, next_attempt_at, updated_at) in rows {
        diesel::update(outbox_emails::table.find(id))
            .set((
                outbox_emails::send_after.eq(send_after - by),
                outbox_emails::next_attempt_at.eq(next_attempt_at - by),
                outbox_emails::updated_at.eq(updated_at - by),
            ))
            .execute(&mut conn)
            .unwrap();
    }
}

async fn assign_consultant(app: &TestApp, cohort: &str, dla: &str) -> String {
    let record = app
        .post_json(
            "/api/v1/consultants",
            json!({"name": "Claire Martin", "firm": "Cabinet", "email": "claire@trajectoires.fr", "dla_ids": [dla]}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    let mut body = c.clone();
    body["consultant_id"] = json!(record);
    body["version"] = json!(c["version"].as_i64().unwrap().to_string());
    body["association_cap"] = json!(c["association_cap"].as_i64().unwrap().to_string());
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), body)
        .await
        .expect(200);
    record
}

fn names_in_list(html: &str) -> Vec<String> {
    html.split("<th scope=\"row\"><a href=\"/cohortes/")
        .skip(1)
        .filter_map(|rest| rest.split_once("\">").map(|(_, r)| r))
        .filter_map(|rest| rest.split_once("</a>").map(|(name, _)| name.to_string()))
        .collect()
}

#[actix_web::test]
async fn an_outage_shows_on_the_staff_pages_of_the_cohorts_concerned_until_the_emails_leave() {
    let app = common::spawn().await;
    let dla_a = app.create_dla().await;
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
    let hit = published(&app, &dla_a, "Cohorte touchée", 2).await;
    // A cohort of the same DLA with nothing to send, and one of another DLA.
    let quiet = app.create_cohort(&dla_a, "Cohorte tranquille").await;
    let elsewhere = app.create_cohort(&dla_b, "Cohorte d'ailleurs").await;
    let record = assign_consultant(&app, &hit, &dla_a).await;

    let officer_a = staff(&app, "officer", Some(&dla_a), None);
    let officer_b = staff(&app, "officer", Some(&dla_b), None);
    let consultant = staff(&app, "consultant", None, Some(&record));
    let association = app
        .get(&format!("/api/v1/cohorts/{hit}/associations"))
        .await
        .expect(200)
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let participant_id = app
        .get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let participant = session_cookie(&app, Principal::Participant(participant_id));

    // Just published: the convocations are due, nothing is wrong yet.
    let (due, oldest) = due_rows(&app, &hit);
    assert!(due >= 4, "convocations due at publication ({due})");
    for cookie in [&officer_a, &consultant, &app.admin_cookie] {
        assert_eq!(banner(&page(&app, cookie, "/cohortes").await), None);
    }

    // The SMTP server is down: every attempt fails, the emails wait for their retry.
    let stats = server_down(&app).run_once(Utc::now()).unwrap();
    assert_eq!(stats.retried as i64, due, "{stats:?}");

    let expected = format!(
        "{due} e-mails en retard depuis {} : le serveur d'envoi les refuse pour l'instant ou \
         ne répond pas ; Cohorte réessaie automatiquement.",
        cohorte::web::view::utc_long(oldest)
    )
    .replace('\u{a0}', " ");
    let shown = |html: &str| banner(html).map(|(text, href)| (text.replace('\u{a0}', " "), href));
    // The chargé·e de mission of the cohort's DLA, on every kind of staff page: the count,
    // since when, why, and the cohort's « Envois » page.
    for uri in [
        "/cohortes".to_string(),
        format!("/cohortes/{hit}"),
        format!("/cohortes/{quiet}"),
        "/compte".to_string(),
        format!("/cohortes/{hit}/envois"),
    ] {
        let (text, href) = shown(&page(&app, &officer_a, &uri).await)
            .unwrap_or_else(|| panic!("no banner on {uri}"));
        assert!(text.starts_with(&expected), "{uri}: {text}");
        assert!(text.ends_with("Voir les envois"), "{text}");
        assert_eq!(
            href.as_deref(),
            Some(&*format!("/cohortes/{hit}/envois?statut=scheduled"))
        );
    }
    // The link leads to the emails in question.
    let envois = page(
        &app,
        &officer_a,
        &format!("/cohortes/{hit}/envois?statut=scheduled"),
    )
    .await;
    assert!(
        envois.contains("programmé"),
        "the scheduled emails are listed"
    );
    // The consultant·e of the cohort sees it too, linked to the cohorts list they may open.
    let (text, href) = shown(&page(&app, &consultant, "/cohortes").await).expect("consultant");
    assert!(text.starts_with(&expected), "{text}");
    assert_eq!(href.as_deref(), Some("/cohortes?envois=en_retard"));
    // The administrator sees every cohort's emails.
    let (text, _) = shown(&page(&app, &app.admin_cookie, "/utilisateurs").await).expect("admin");
    assert!(text.starts_with(&expected), "{text}");
    // Not the chargé·e de mission of another DLA, nor a participant, nor the API.
    assert_eq!(banner(&page(&app, &officer_b, "/cohortes").await), None);
    assert_eq!(
        banner(&page(&app, &officer_b, &format!("/cohortes/{elsewhere}")).await),
        None
    );
    assert_eq!(banner(&page(&app, &participant, "/portail").await), None);
    let api = app.get("/api/v1/cohorts").await.expect(200);
    assert!(!api.text().contains("e-mails en retard"));

    // « Voir les cohortes concernées »: the list keeps the cohorts with emails in trouble.
    let list = page(&app, &officer_a, "/cohortes?envois=en_retard").await;
    assert_eq!(names_in_list(&list), ["Cohorte touchée"]);
    assert!(
        list.contains("<option value=\"en_retard\" selected>"),
        "the filter is shown"
    );
    let all = page(&app, &officer_a, "/cohortes").await;
    assert_eq!(
        names_in_list(&all).len(),
        2,
        "without the filter, both of DLA A"
    );
    let list_b = page(&app, &officer_b, "/cohortes?envois=en_retard").await;
    assert!(names_in_list(&list_b).is_empty());

    // The server is back: the retries leave, and the banner goes.
    let up = dispatcher(&app, smtp::smtp());
    let stats = up.run_once(Utc::now() + Duration::minutes(10)).unwrap();
    assert_eq!(stats.sent as i64, due, "{stats:?}");
    for cookie in [&officer_a, &consultant, &app.admin_cookie] {
        assert_eq!(banner(&page(&app, cookie, "/cohortes").await), None);
    }
    let list = page(&app, &officer_a, "/cohortes?envois=en_retard").await;
    assert!(names_in_list(&list).is_empty());
}

#[actix_web::test]
async fn emails_nobody_sends_are_late_after_the_threshold_not_before() {
    let app = common::spawn().await;
    assert_eq!(app.config.mail.late_after_minutes, 10);
    let dla = app.create_dla().await;
    let cohort = published(&app, &dla, "Cohorte sans envoi", 1).await;
    let officer = staff(&app, "officer", Some(&dla), None);
    let (due, _) = due_rows(&app, &cohort);
    assert!(due >= 2);

    // No dispatcher runs. Nine minutes on: not late yet.
    age(&app, &cohort, Duration::minutes(9));
    assert_eq!(banner(&page(&app, &officer, "/cohortes").await), None);
    // Eleven minutes on: late, and nothing was tried.
    age(&app, &cohort, Duration::minutes(2));
    let (_, oldest) = due_rows(&app, &cohort);
    let (text, href) = banner(&page(&app, &officer, "/cohortes").await).expect("late");
    assert_eq!(
        text.replace('\u{a0}', " "),
        format!(
            "{due} e-mails en retard depuis {} : aucun envoi n'a été tenté : le programme \
             d'envoi semble arrêté. Voir les envois",
            cohorte::web::view::utc_long(oldest)
        )
        .replace('\u{a0}', " ")
    );
    assert_eq!(
        href,
        Some(format!("/cohortes/{cohort}/envois?statut=scheduled"))
    );

    // An email validated (or resent) just now is not late, whatever its planned time: the
    // dispatcher has not had its chance yet.
    let one: String = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(&cohort))
        .filter(outbox_emails::status.eq("scheduled"))
        .filter(outbox_emails::send_after.le(Utc::now().naive_utc()))
        .select(outbox_emails::id)
        .first(&mut app.pool.get().unwrap())
        .unwrap();
    diesel::update(outbox_emails::table.find(&one))
        .set(outbox_emails::updated_at.eq(Utc::now().naive_utc()))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let (text, _) = banner(&page(&app, &officer, "/cohortes").await).expect("still late");
    assert!(
        text.starts_with(&format!("{} e-mails en retard", due - 1)),
        "{text}"
    );
}

async fn get_with(app: &TestApp, uri: &str, bearer: Option<&str>) -> Response {
    let mut req = TestRequest::get().uri(uri);
    if let Some(token) = bearer {
        req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    }
    app.send_raw(req).await
}

#[actix_web::test]
async fn healthz_answers_ok_without_credentials_and_503_when_the_database_does_not() {
    let app = common::spawn_with(|c| c.database.pool_wait_ms = 200).await;
    let res = get_with(&app, "/healthz", None).await.expect(200);
    assert_eq!(res.text(), "ok");
    assert!(res.content_type().starts_with("text/plain"));
    assert!(res.header("set-cookie").is_none(), "no session");
    // A signed-in browser gets the same answer.
    app.get("/healthz").await.expect(200);
    // Nothing was written: no audit row, no session.
    let audit: i64 = cohorte::db::schema::audit_log::table
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(audit, 0);

    // Every connection of the pool is held: the database does not answer in time.
    let held: Vec<_> = (0..4).map(|_| app.pool.get().unwrap()).collect();
    let res = app
        .send_raw_allowing(
            TestRequest::get().uri("/healthz"),
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    assert_eq!(res.status.as_u16(), 503);
    assert_eq!(res.text(), "indisponible", "no detail");
    drop(held);
    get_with(&app, "/healthz", None).await.expect(200);
}

/// A plain email to `to`, about nothing of a cohort, planned at `at`.
fn plain(to: &str, at: DateTime<Utc>) -> NewEmail {
    let email = Email {
        to_name: "Nadia Benali".into(),
        to_address: to.into(),
        rendered: Rendered {
            subject: format!("Rappel ({to})"),
            text: "Bonjour Nadia,\n".into(),
            html: "<p>Bonjour Nadia,</p>".into(),
        },
        calendar: None,
    };
    NewEmail::from_email(
        "reminder_j7",
        &uuid::Uuid::new_v4().to_string(),
        0,
        &email,
        at,
    )
}

fn enqueue(app: &TestApp, email: NewEmail) -> String {
    common::write(&mut app.pool.get().unwrap(), |tx| {
        outbox::enqueue(tx, email)
    })
    .unwrap()
    .expect("queued")
    .id
}

/// Two months without sending at a network's size leave tens of thousands of emails due:
/// the banner reads at most a thousand and one of them, and says « plus de 1 000 », so
/// that every staff page costs the same during an outage (issue #19).
#[actix_web::test]
async fn past_a_thousand_late_emails_the_banner_says_more_than_a_thousand() {
    let app = common::spawn().await;
    let d = format!("{}.example", uuid::Uuid::new_v4().simple());
    let planned = Utc::now() - Duration::days(2);
    common::write(&mut app.pool.get().unwrap(), |tx| {
        for i in 0..=outbox_status::BANNER_CAP {
            outbox::enqueue(tx, plain(&format!("n{i}@{d}"), planned))?;
        }
        Ok(())
    })
    .unwrap();
    // Queued two days ago, as if no dispatcher had run since.
    diesel::update(outbox_emails::table)
        .set(outbox_emails::updated_at.eq(planned.naive_utc()))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let html = page(&app, &app.admin_cookie, "/compte").await;
    let (text, href) = banner(&html).expect("the banner");
    // The banner's text as `banner` gives it: its spaces (no-break ones too) as one.
    let expected = format!(
        "Plus de 1\u{202f}000 e-mails en retard, certains depuis {} : aucun envoi n'a été \
         tenté",
        cohorte::web::view::utc_long(planned.naive_utc())
    );
    let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.starts_with(&expected), "{text}");
    assert_eq!(href.as_deref(), Some("/cohortes?envois=en_retard"));
    // A thousand exactly (one cancelled): counted.
    let mut conn = app.pool.get().unwrap();
    diesel::update(
        outbox_emails::table.filter(outbox_emails::recipient_email.eq(format!("n0@{d}"))),
    )
    .set(outbox_emails::status.eq("cancelled"))
    .execute(&mut conn)
    .unwrap();
    let w = Watch::new(Utc::now(), Duration::minutes(10));
    let t = outbox_status::trouble(&mut conn, &CohortScope::All, w)
        .unwrap()
        .expect("late");
    assert_eq!((t.emails, t.more), (1_000, false));
    // Emails of no cohort: not in a chargé·e de mission's scope.
    assert_eq!(
        outbox_status::trouble(&mut conn, &CohortScope::Dla("elsewhere".into()), w).unwrap(),
        None
    );
}

#[actix_web::test]
async fn the_sending_status_counts_due_late_retrying_failed_and_sent_for_administrators_only() {
    let app = common::spawn().await;
    let status = app.get("/api/v1/outbox/status").await.expect(200).json();
    assert_eq!(status["due"], 0);
    assert_eq!(status["late"], 0);
    assert_eq!(status["retrying"], 0);
    assert_eq!(status["oldest_due"], Value::Null);
    assert_eq!(status["late_after_minutes"], 10);

    let d = format!("{}.example", uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let half_an_hour_ago = now - Duration::minutes(30);
    for to in ["ok1", "ok2", "refuse", "later"] {
        enqueue(&app, plain(&format!("{to}@{d}"), half_an_hour_ago));
    }
    // Accepted twice, refused once (550: failed), deferred once (451: retried).
    let stats = dispatcher(&app, smtp::smtp()).run_once(now).unwrap();
    assert_eq!(
        (stats.sent, stats.failed, stats.retried),
        (2, 1, 1),
        "{stats:?}"
    );
    // One email nothing has sent for forty minutes, and one planned for tomorrow.
    let idle = enqueue(
        &app,
        plain(&format!("idle@{d}"), now - Duration::minutes(40)),
    );
    diesel::update(outbox_emails::table.find(&idle))
        .set(outbox_emails::updated_at.eq((now - Duration::minutes(40)).naive_utc()))
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    enqueue(
        &app,
        plain(&format!("tomorrow@{d}"), now + Duration::days(1)),
    );

    let status = app.get("/api/v1/outbox/status").await.expect(200).json();
    assert_eq!(status["due"], 2, "{status}");
    assert_eq!(
        status["late"], 1,
        "only the idle one: the deferred one was just tried"
    );
    assert_eq!(status["retrying"], 1);
    assert_eq!(
        status["failed_last_hour"], 2,
        "the refused one and the deferred one"
    );
    assert_eq!(status["sent_last_hour"], 2);
    let oldest = &status["oldest_due"];
    assert_eq!(oldest["email_id"], idle.as_str());
    assert_eq!(oldest["attempts"], 0);
    let late = oldest["late_seconds"].as_i64().unwrap();
    assert!((2400..2400 + 120).contains(&late), "{late}");
    let due_at = DateTime::parse_from_rfc3339(oldest["due_at"].as_str().unwrap()).unwrap();
    assert!(
        (due_at.with_timezone(&Utc) - (now - Duration::minutes(40)))
            .num_seconds()
            .abs()
            <= 1
    );
    assert!(status["checked_at"].as_str().unwrap().ends_with('Z'));

    // Administrators only.
    let dla = app.create_dla().await;
    let officer = staff_token(&app, "officer", Some(&dla), None);
    let res = get_with(&app, "/api/v1/outbox/status", Some(&officer)).await;
    assert_eq!(res.status.as_u16(), 403);
    res.api_error("forbidden");
    let record = app
        .post_json(
            "/api/v1/consultants",
            json!({"name": "Paul Durand", "email": "paul@cabinet.fr", "dla_ids": [dla]}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let consultant = staff_token(&app, "consultant", None, Some(&record));
    let res = get_with(&app, "/api/v1/outbox/status", Some(&consultant)).await;
    assert_eq!(res.status.as_u16(), 403);
    let res = get_with(&app, "/api/v1/outbox/status", None).await;
    assert_eq!(res.status.as_u16(), 401);

    // In the OpenAPI document, with its answer's shape.
    let doc = app.get("/api/v1/openapi.json").await.expect(200).json();
    let op = &doc["paths"]["/api/v1/outbox/status"]["get"];
    assert!(op.is_object(), "documented");
    assert!(op["responses"]["200"].is_object());
    assert!(op["responses"]["403"].is_object());
    let schema = &doc["components"]["schemas"]["SendingStatus"]["properties"];
    for field in [
        "due",
        "late",
        "retrying",
        "oldest_due",
        "failed_last_hour",
        "sent_last_hour",
    ] {
        assert!(schema[field].is_object(), "{field} documented");
    }
}

#[actix_web::test]
async fn an_email_resent_by_hand_is_late_from_its_resend_not_from_its_first_planned_time() {
    let app = common::spawn().await;
    let d = format!("{}.example", uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let id = enqueue(&app, plain(&format!("refuse@{d}"), now - Duration::days(2)));
    // Refused (550): failed, shown on « Envois », not in the banner.
    dispatcher(&app, smtp::smtp()).run_once(now).unwrap();
    let w = Watch::new(now, Duration::minutes(10));
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        outbox_status::trouble(&mut conn, &CohortScope::All, w).unwrap(),
        None
    );
    // Corrected and resent now, to a server that says « later » (451): retrying.
    common::write(&mut conn, |tx| {
        outbox::resend(tx, &id, Some(format!("later@{d}")))
    })
    .unwrap();
    drop(conn);
    let later = Utc::now();
    dispatcher(&app, smtp::smtp()).run_once(later).unwrap();
    let mut conn = app.pool.get().unwrap();
    let w = Watch::new(later, Duration::minutes(10));
    let trouble = outbox_status::trouble(&mut conn, &CohortScope::All, w)
        .unwrap()
        .expect("the resent email, retrying");
    assert_eq!(trouble.emails, 1);
    assert!(
        trouble.since >= (now - Duration::minutes(1)).naive_utc(),
        "late since its resend, not two days: {:?}",
        trouble.since
    );
}
