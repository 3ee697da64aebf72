//! The planned emails of a published cohort, replayed in time with the real dispatcher:
//! convocations at publication, J-7 / J-1 reminders at 9 h Paris time across the March
//! change, homework notices that stop once the work is returned, the weekly summary, the
//! « valider les envois » drafts rebuilt when their session moves, and nothing sent twice.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use cohorte::domain::outbox::Status;
use cohorte::jobs::{Dispatcher, Stats};
use cohorte::mail::{Transport, sender};
use cohorte::models::outbox::{self, FullEmail, MailContext};
use common::{TestApp, spawn};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn rows(app: &TestApp, cohort_id: &str) -> Vec<FullEmail> {
    outbox::list_for_cohort(&mut app.pool.get().unwrap(), cohort_id).unwrap()
}

fn of_kind<'a>(rows: &'a [FullEmail], kind: &str) -> Vec<&'a FullEmail> {
    rows.iter().filter(|r| r.kind == kind).collect()
}

/// The dispatcher as `cohorte serve` runs it (planner included), writing .eml files.
fn dispatcher(app: &TestApp, dir: &std::path::Path) -> Dispatcher {
    dispatcher_to(app, Transport::file(dir))
}

/// The dispatcher as `cohorte serve` runs it (planner included), through `transport`.
fn dispatcher_to(app: &TestApp, transport: Transport) -> Dispatcher {
    let templates = Arc::new(cohorte::templates::build("").unwrap());
    let mail = MailContext::new(&app.config, templates);
    let mut d = Dispatcher::new(
        app.pool.clone(),
        transport,
        sender(&app.config.mail).unwrap(),
    );
    d.planner = Some(cohorte::jobs::AppHooks::new(mail).planner());
    d
}

async fn publish(app: &TestApp, cohort: &str) {
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
}

fn session_of(generated: &Value, kind: &str) -> Value {
    generated["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .cloned()
        .unwrap()
}

async fn move_to(app: &TestApp, id: &str, date: &str) -> Value {
    app.post_json(
        &format!("/api/v1/sessions/{id}/move"),
        json!({"date": date, "start_time": "09:30", "end_time": "16:30", "avoid_non_working_days": true}),
    )
    .await
    .expect(200)
    .json()
}

#[actix_web::test]
async fn nothing_is_planned_before_publication_then_everyone_is_convoked_once() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    app.generate(&cohort).await;
    assert!(rows(&app, &cohort).is_empty(), "nothing before publication");

    publish(&app, &cohort).await;
    let all = rows(&app, &cohort);
    // 3 collective sessions × 4 people + each association's bilan × its 2 people.
    let convocations = of_kind(&all, "convocation");
    assert_eq!(convocations.len(), 3 * 4 + 2 * 2);
    for c in &convocations {
        assert_eq!(c.status(), Status::Scheduled);
        assert_eq!(c.ics_method.as_deref(), Some("REQUEST"));
        assert!(
            c.body_text.contains(cohorte::models::outbox::SIGN_IN_LINK),
            "{}",
            c.body_text
        );
        assert!(c.not_after.is_some());
    }
    assert_eq!(of_kind(&all, "reminder_j7").len(), 16);
    assert_eq!(of_kind(&all, "reminder_j1").len(), 16);
    assert!(!of_kind(&all, "homework_assigned").is_empty());

    // Publishing again, or the planner running again, adds nothing.
    publish(&app, &cohort).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&app, dir.path());
    let now = Utc::now();
    let first = d.run_once(now).unwrap();
    assert_eq!(first.sent, 16 + of_due(&all, now), "{first:?}");
    assert_eq!(rows(&app, &cohort).len(), all.len());
    let again = d.run_once(now).unwrap();
    assert_eq!(again, Stats::default(), "nothing twice");
}

/// Rows due at `now` (convocations and homework handed out at publication).
fn of_due(all: &[FullEmail], now: DateTime<Utc>) -> usize {
    all.iter()
        .filter(|r| r.kind != "convocation" && r.send_after.and_utc() <= now)
        .count()
}

#[actix_web::test]
async fn reminders_leave_at_nine_paris_time_on_both_sides_of_the_march_change() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let evolution = session_of(&generated, "evolution");
    let id = evolution["id"].as_str().unwrap();
    // Tuesday 30 March 2027; summer time begins on Sunday the 28th (the 29th is Easter
    // Monday).
    move_to(&app, id, "2027-03-30").await;
    publish(&app, &cohort).await;
    let all = rows(&app, &cohort);
    let of = |kind: &str| -> Vec<&FullEmail> {
        of_kind(&all, kind)
            .into_iter()
            .filter(|r| r.item_id == id)
            .collect()
    };
    assert_eq!(of("reminder_j7").len(), 2);
    for r in of("reminder_j7") {
        // Tuesday 23 March, 9 h CET.
        assert_eq!(r.send_after.and_utc(), utc(2027, 3, 23, 8, 0));
        assert_eq!(r.not_after.unwrap().and_utc(), utc(2027, 3, 30, 7, 30));
        assert!(r.subject.contains("dans 7"), "{}", r.subject);
    }
    for r in of("reminder_j1") {
        // Monday 29 March, 9 h CEST.
        assert_eq!(r.send_after.and_utc(), utc(2027, 3, 29, 7, 0));
        assert!(r.subject.contains("demain"), "{}", r.subject);
    }
    assert_eq!(of("reminder_j1").len(), 2);

    // Replayed: at 8 h 59 Paris time on the 29th nothing of it leaves; at 9 h it does.
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&app, dir.path());
    d.run_once(Utc::now()).unwrap();
    d.run_once(utc(2027, 3, 29, 6, 59)).unwrap();
    let before: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "reminder_j1" && r.item_id == id)
        .collect();
    assert!(before.iter().all(|r| r.status() == Status::Scheduled));
    d.run_once(utc(2027, 3, 29, 7, 0)).unwrap();
    let after: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "reminder_j1" && r.item_id == id)
        .collect();
    assert!(
        after.iter().all(|r| r.status() == Status::Sent),
        "{after:?}"
    );
    // Once the session has begun, a reminder still waiting is missed, never sent.
}

#[actix_web::test]
async fn a_move_after_the_convocation_sends_an_update_and_replans_the_reminders() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let intro = session_of(&generated, "introductive");
    let id = intro["id"].as_str().unwrap().to_string();
    publish(&app, &cohort).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&app, dir.path());
    d.run_once(Utc::now()).unwrap();
    let before = rows(&app, &cohort);
    let j7_before: Vec<_> = of_kind(&before, "reminder_j7")
        .into_iter()
        .filter(|r| r.item_id == id)
        .map(|r| (r.id.clone(), r.send_after))
        .collect();
    assert_eq!(j7_before.len(), 2);

    // Thursday 4 February 2027.
    move_to(&app, &id, "2027-02-04").await;
    let after = rows(&app, &cohort);
    let moved = of_kind(&after, "session_moved");
    assert_eq!(moved.len(), 2, "the two people already convoked");
    assert!(
        moved
            .iter()
            .all(|r| r.ics.as_deref().unwrap().contains("SEQUENCE:1\r\n"))
    );
    // The same reminder rows, rebuilt for the new date, not new ones beside them.
    for (row_id, old_at) in j7_before {
        let r = after.iter().find(|r| r.id == row_id).unwrap();
        assert_eq!(r.status(), Status::Scheduled);
        assert_ne!(r.send_after, old_at);
        // Thursday 28 January, 9 h CET.
        assert_eq!(r.send_after.and_utc(), utc(2027, 1, 28, 8, 0));
    }
    let convocations: Vec<_> = of_kind(&after, "convocation")
        .into_iter()
        .filter(|r| r.item_id == id)
        .collect();
    assert_eq!(convocations.len(), 2, "no second convocation");

    // A second move before the first notice left: only the latest notice leaves.
    move_to(&app, &id, "2027-02-05").await;
    let last = rows(&app, &cohort);
    let notices = of_kind(&last, "session_moved");
    assert_eq!(notices.len(), 4);
    assert_eq!(
        notices
            .iter()
            .filter(|r| r.status() == Status::Cancelled)
            .count(),
        2
    );
    assert!(
        notices
            .iter()
            .filter(|r| r.status() == Status::Cancelled)
            .all(|r| r.note.as_deref().unwrap_or("").contains("plus récent"))
    );
}

#[actix_web::test]
async fn with_review_the_emails_wait_as_drafts_that_follow_their_session() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let intro = session_of(&generated, "introductive");
    let id = intro["id"].as_str().unwrap().to_string();
    let res = app
        .put_json(
            &format!("/api/v1/cohorts/{cohort}/mail-settings"),
            json!({"review_before_send": "oui", "reminder_hour": "18",
                   "version": app.get(&format!("/api/v1/cohorts/{cohort}/mail-settings")).await.expect(200).json()["version"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(res["effective"]["review_before_send"], true);
    assert_eq!(res["effective"]["reminder_hour"], 18);
    publish(&app, &cohort).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&app, dir.path());
    let stats = d.run_once(Utc::now()).unwrap();
    assert_eq!(stats.sent, 0, "drafts never leave on their own");
    let draft = rows(&app, &cohort)
        .into_iter()
        .find(|r| r.kind == "convocation" && r.item_id == id)
        .unwrap();
    assert_eq!(draft.status(), Status::Draft);

    move_to(&app, &id, "2027-02-04").await;
    let rebuilt = outbox::get_full(&mut app.pool.get().unwrap(), &draft.id).unwrap();
    assert_eq!(rebuilt.status(), Status::Draft, "still waiting for review");
    assert!(
        rebuilt.subject.contains("4 février 2027"),
        "{}",
        rebuilt.subject
    );
    assert!(rebuilt.ics.as_deref().unwrap().contains("SEQUENCE:1\r\n"));
    assert!(
        of_kind(&rows(&app, &cohort), "session_moved").is_empty(),
        "no notice about a convocation nobody received"
    );
    // Reminders at 18 h Paris: Thursday 28 January 2027, 17:00 UTC.
    let j7 = rows(&app, &cohort)
        .into_iter()
        .find(|r| r.kind == "reminder_j7" && r.item_id == id)
        .unwrap();
    assert_eq!(j7.send_after.and_utc(), utc(2027, 1, 28, 17, 0));

    common::write(&mut app.pool.get().unwrap(), |tx| {
        outbox::release(tx, &draft.id)
    })
    .unwrap();
    let stats = d.run_once(Utc::now()).unwrap();
    assert_eq!(stats.sent, 1);

    // Bad settings: 422 with the fields, nothing saved.
    let res = app
        .put_json(
            &format!("/api/v1/cohorts/{cohort}/mail-settings"),
            json!({"reminder_hour": "25", "reminder_days": "sept",
                   "version": app.get(&format!("/api/v1/cohorts/{cohort}/mail-settings")).await.expect(200).json()["version"]}),
        )
        .await
        .expect(422);
    let err = res.api_error("validation_failed");
    assert!(err["fields"]["reminder_hour"].is_string(), "{err}");
    assert!(err["fields"]["reminder_days"].is_string(), "{err}");
}

#[actix_web::test]
async fn returned_homework_and_turned_off_reminders_cancel_what_was_planned() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(2).await;
    app.generate(&cohort).await;
    publish(&app, &cohort).await;
    let all = rows(&app, &cohort);
    let reminder = of_kind(&all, "homework_reminder")[0].clone();
    let task_id = reminder.item_id.clone();
    let participant_id = reminder.participant_id.clone().unwrap();
    let association = associations
        .iter()
        .find(|a| {
            app_participant_association(&app, &participant_id)
                .as_deref()
                .is_some_and(|x| x == a.as_str())
        })
        .unwrap()
        .clone();
    app.put_json(
        &format!("/api/v1/tasks/{task_id}/associations/{association}"),
        json!({"status": "rendu"}),
    )
    .await
    .expect(200);
    let after = rows(&app, &cohort);
    let for_task: Vec<_> = after
        .iter()
        .filter(|r| r.item_id == task_id && r.kind.starts_with("homework_"))
        .filter(|r| {
            app_participant_association(&app, r.participant_id.as_deref().unwrap()).as_deref()
                == Some(association.as_str())
        })
        .collect();
    assert!(!for_task.is_empty());
    for r in for_task {
        assert_eq!(
            r.status(),
            Status::Cancelled,
            "{} {}",
            r.kind,
            r.recipient_email
        );
        assert_eq!(r.note.as_deref(), Some("Annulé : le travail a été rendu."));
    }

    // The other association still gets its reminder.
    assert!(after.iter().any(|r| r.item_id == task_id
        && r.kind == "homework_reminder"
        && r.status() == Status::Scheduled));

    // A participant who turns reminders off keeps the convocations only.
    let p = app
        .get(&format!(
            "/api/v1/associations/{}/participants",
            associations[1]
        ))
        .await
        .expect(200)
        .json()[0]
        .clone();
    let pid = p["id"].as_str().unwrap();
    app.put_json(
        &format!("/api/v1/participants/{pid}"),
        json!({"name": p["name"], "email": p["email"], "role": p["role"], "function": p["function"], "reminders": "non", "version": p["version"]}),
    )
    .await
    .expect(200);
    let mine: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.participant_id.as_deref() == Some(pid))
        .collect();
    assert!(
        mine.iter()
            .filter(|r| cohorte::models::planner::is_reminder(&r.kind))
            .all(|r| r.status() == Status::Cancelled)
    );
    assert!(
        mine.iter()
            .filter(|r| r.kind == "convocation")
            .all(|r| r.status() == Status::Scheduled)
    );
}

fn app_participant_association(app: &TestApp, participant_id: &str) -> Option<String> {
    cohorte::models::participant::get(&mut app.pool.get().unwrap(), participant_id)
        .ok()
        .map(|p| p.association_id)
}

#[actix_web::test]
async fn the_weekly_summary_goes_once_to_the_consultant_and_the_officer() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    set_officer(&app, &cohort, "Julien Lefèvre", "julien@dla.example.org").await;
    publish(&app, &cohort).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&app, dir.path());
    // Published weeks ahead: nothing to report before the week of the first session
    // (Monday 11 January 2027).
    for monday in [utc(2026, 12, 14, 7, 0), utc(2026, 12, 28, 7, 0)] {
        d.run_once(monday).unwrap();
    }
    assert!(
        of_kind(&rows(&app, &cohort), "weekly_summary").is_empty(),
        "no summary a month before the first session"
    );
    d.run_once(utc(2027, 1, 4, 7, 0)).unwrap();
    let first: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "weekly_summary")
        .collect();
    assert_eq!(first.len(), 1, "the week before the first session");
    assert!(
        first[0].subject.contains("semaine du lundi 4 janvier 2027"),
        "{}",
        first[0].subject
    );
    // Monday 1 February 2027, 8 h Paris (07:00 UTC): between the sessions.
    let monday = utc(2027, 2, 1, 7, 0);
    d.run_once(monday).unwrap();
    d.run_once(monday + chrono::Duration::minutes(30)).unwrap();
    let summaries: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "weekly_summary" && r.subject.contains("1er février"))
        .collect();
    assert_eq!(
        summaries.len(),
        1,
        "once, to the officer (no consultant here)"
    );
    let s = &summaries[0];
    assert_eq!(s.recipient_email, "julien@dla.example.org");
    assert_eq!(s.status(), Status::Sent);
    assert!(
        s.subject.contains("semaine du lundi 1er février 2027"),
        "{}",
        s.subject
    );
    assert!(s.body_text.contains("Travaux préparatoires non rendus"));
}

#[actix_web::test]
async fn a_cohort_with_its_own_summary_day_gets_its_summary_that_day_only() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    set_officer(&app, &cohort, "Julien Lefèvre", "julien@dla.example.org").await;
    // Wednesdays at 14 h instead of the configured Mondays at 8 h.
    let settings = format!("/api/v1/cohorts/{cohort}/mail-settings");
    let v = app.get(&settings).await.expect(200).json()["version"].clone();
    app.put_json(
        &settings,
        json!({"summary_weekday": "3", "summary_hour": "14", "version": v}),
    )
    .await
    .expect(200);
    publish(&app, &cohort).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&app, dir.path());
    let summaries = || of_kind(&rows(&app, &cohort), "weekly_summary").len();
    // Monday 1 February 2027, 8 h Paris: the configured moment, not this cohort's.
    d.run_once(utc(2027, 2, 1, 7, 30)).unwrap();
    assert_eq!(summaries(), 0, "not on the configured day");
    // Wednesday 3 February 2027, 14 h Paris (13:00 UTC): its own; once.
    d.run_once(utc(2027, 2, 3, 12, 30)).unwrap();
    assert_eq!(summaries(), 0, "not before its hour");
    d.run_once(utc(2027, 2, 3, 13, 5)).unwrap();
    d.run_once(utc(2027, 2, 3, 13, 35)).unwrap();
    let all = rows(&app, &cohort);
    let queued = of_kind(&all, "weekly_summary");
    assert_eq!(queued.len(), 1, "once, to the officer");
    assert!(
        queued[0]
            .subject
            .contains("semaine du mercredi 3 février 2027"),
        "{}",
        queued[0].subject
    );
}

#[actix_web::test]
async fn the_calendar_feed_opens_with_the_right_token_only() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    publish(&app, &cohort).await;
    let (calendar, altered) = {
        let mut conn = app.pool.get().unwrap();
        let secret = cohorte::models::feed::secret(&mut conn).unwrap();
        let p = cohorte::models::participant::list_for_association(&mut conn, &associations[0])
            .unwrap()
            .remove(0);
        let url = cohorte::models::feed::calendar_url(&app.config.server.public_url, &secret, &p);
        let mut other = p.clone();
        other.feed_generation += 1;
        let stale =
            cohorte::models::feed::calendar_url(&app.config.server.public_url, &secret, &other);
        (url, stale)
    };
    let cpath = calendar.split_once("8080").unwrap().1.to_string();
    let feed = app
        .send_raw(actix_web::test::TestRequest::get().uri(&cpath))
        .await
        .expect(200);
    assert!(feed.content_type().starts_with("text/calendar"));
    let ics = feed.text();
    assert!(ics.contains("METHOD:PUBLISH\r\n"));
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 4);
    // Another generation's token: not found, as for an unknown participant.
    let apath = altered.split_once("8080").unwrap().1.to_string();
    app.send_raw(actix_web::test::TestRequest::get().uri(&apath))
        .await
        .expect(404);
    app.get("/agenda/nobody/00000000000000000000000000000000.ics")
        .await
        .expect(404);
}

#[actix_web::test]
async fn publishing_and_the_settings_work_from_the_pages() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    // Nothing to publish yet: refused with the reason.
    let refused = app
        .post_form(&format!("/cohortes/{cohort}/publier"), &[])
        .await
        .expect(409);
    assert!(
        refused.text().contains("aucune séance"),
        "{}",
        refused.text()
    );
    app.generate(&cohort).await;

    let confirm = app
        .get(&format!("/cohortes/{cohort}/publier"))
        .await
        .expect(200)
        .text();
    assert!(confirm.contains("Rappels de séance : J-7, J-1, à 9"));

    // A wrong setting: 422, what was typed is kept, the message is beside the field.
    let page = app
        .post_form(
            &format!("/cohortes/{cohort}/envois/reglages"),
            &[
                ("reminder_hour", "25"),
                ("reminder_days", "7, 2"),
                ("version", ""),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(page.contains(r#"value="25""#), "typed value kept");
    assert!(page.contains(r#"value="7, 2""#), "typed value kept");
    assert!(
        page.contains("f-reminder_hour-error"),
        "error beside the field"
    );
    let saved = app
        .post_form(
            &format!("/cohortes/{cohort}/envois/reglages"),
            &[("reminder_days", "7, 2"), ("review_before_send", "oui")],
        )
        .await
        .expect(303);
    assert!(saved.header("location").unwrap().contains("/envois"));

    app.post_form(&format!("/cohortes/{cohort}/publier"), &[])
        .await
        .expect(303);
    let all = rows(&app, &cohort);
    assert!(!of_kind(&all, "reminder_j2").is_empty());
    assert!(of_kind(&all, "reminder_j1").is_empty());
    assert!(all.iter().all(|r| r.status() == Status::Draft));
    let drafts = app
        .get(&format!("/cohortes/{cohort}/envois?statut=draft"))
        .await
        .expect(200)
        .text();
    assert!(drafts.contains("Seuls les e-mails « à valider » sont affichés."));
    assert!(drafts.contains("Valider l&#x27;envoi") || drafts.contains("Valider l'envoi"));
}

#[actix_web::test]
async fn over_real_smtp_the_convocation_is_an_invitation_and_the_reminder_comes_at_its_hour() {
    use mail_parser::{MessageParser, MimeHeaders, PartType};
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let intro = session_of(&generated, "introductive");
    let id = intro["id"].as_str().unwrap().to_string();
    publish(&app, &cohort).await;
    let d = smtp_dispatcher(&app);
    d.run_once(Utc::now()).unwrap();
    let all = rows(&app, &cohort);
    let convocation = all
        .iter()
        .find(|r| r.kind == "convocation" && r.item_id == id)
        .unwrap();
    assert_eq!(convocation.status(), Status::Sent);
    let raw = smtp::received(convocation.message_id.as_deref().unwrap());
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert!(
        parsed
            .subject()
            .unwrap()
            .starts_with("Convocation : Session introductive"),
        "{:?}",
        parsed.subject()
    );
    let calendar = parsed
        .parts
        .iter()
        .find(|p| {
            p.content_type()
                .is_some_and(|c| c.subtype() == Some("calendar"))
        })
        .expect("a text/calendar part");
    let ics = match &calendar.body {
        PartType::Text(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("unexpected calendar body {other:?}"),
    };
    assert!(ics.contains("METHOD:REQUEST"));
    assert!(ics.contains(&format!("UID:{id}@cohorte")));
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("/connexion/lien/"), "{text}");
    assert!(text.contains("lundi 11 janvier 2027"), "{text}");

    // The J-1 reminder of the session on Monday 11 January 2027: Sunday the 10th, 9 h CET.
    let j1 = all
        .iter()
        .find(|r| r.kind == "reminder_j1" && r.item_id == id)
        .unwrap();
    assert_eq!(j1.send_after.and_utc(), utc(2027, 1, 10, 8, 0));
    d.run_once(utc(2027, 1, 10, 7, 59)).unwrap();
    assert_eq!(
        outbox::get(&mut app.pool.get().unwrap(), &j1.id)
            .unwrap()
            .status(),
        Status::Scheduled
    );
    d.run_once(utc(2027, 1, 10, 8, 0)).unwrap();
    let sent = outbox::get(&mut app.pool.get().unwrap(), &j1.id).unwrap();
    assert_eq!(sent.status(), Status::Sent);
    let raw = smtp::received(sent.message_id.as_deref().unwrap());
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        parsed.subject().unwrap(),
        "Rappel : Session introductive, demain, lundi 11 janvier 2027"
    );
    assert_eq!(
        smtp::count_with_message_id(sent.message_id.as_deref().unwrap()),
        1
    );
}

/// The first participant of the association, as the API shows it.
async fn first_person(app: &TestApp, association: &str) -> Value {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()[0]
        .clone()
}

#[actix_web::test]
async fn a_corrected_address_sticks_and_nothing_goes_again_to_the_old_one() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    publish(&app, &cohort).await;
    let person = first_person(&app, &associations[0]).await;
    let pid = person["id"].as_str().unwrap().to_string();
    let old = person["email"].as_str().unwrap().to_string();
    // Its first convocation bounced.
    let row = rows(&app, &cohort)
        .into_iter()
        .find(|r| r.kind == "convocation" && r.participant_id.as_deref() == Some(pid.as_str()))
        .unwrap();
    {
        use diesel::prelude::*;
        diesel::update(cohorte::db::schema::outbox_emails::table.find(&row.id))
            .set(cohorte::db::schema::outbox_emails::status.eq("failed"))
            .execute(&mut app.pool.get().unwrap())
            .unwrap();
    }
    app.post_form(
        &format!("/envois/{}/renvoyer", row.id),
        &[("recipient_email", "nadia.corrigee@exemple.fr")],
    )
    .await
    .expect(303);
    // The person's record follows, and the next change in the cohort keeps it.
    let person = first_person(&app, &associations[0]).await;
    assert_eq!(person["email"], "nadia.corrigee@exemple.fr");
    // Any change in the cohort rebuilds its emails.
    let edited = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), edited)
        .await
        .expect(200);
    let all = rows(&app, &cohort);
    let resent = all.iter().find(|r| r.id == row.id).unwrap();
    assert_eq!(resent.recipient_email, "nadia.corrigee@exemple.fr");
    assert!(
        !all.iter()
            .any(|r| r.recipient_email == old && r.status() == Status::Scheduled),
        "nothing planned for the old address any more"
    );
}

#[actix_web::test]
async fn a_reminder_cancelled_by_hand_stays_cancelled_when_its_session_moves() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let id = session_of(&generated, "introductive")["id"]
        .as_str()
        .unwrap()
        .to_string();
    publish(&app, &cohort).await;
    let j7 = rows(&app, &cohort)
        .into_iter()
        .find(|r| r.kind == "reminder_j7" && r.item_id == id)
        .unwrap();
    app.post_form(&format!("/envois/{}/annuler", j7.id), &[])
        .await
        .expect(303);
    move_to(&app, &id, "2027-02-04").await;
    let again: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| {
            r.kind == "reminder_j7" && r.item_id == id && r.participant_id == j7.participant_id
        })
        .collect();
    assert_eq!(again.len(), 1, "no new reminder beside the cancelled one");
    assert_eq!(again[0].status(), Status::Cancelled);
    assert_eq!(again[0].note.as_deref(), Some("Annulé par l'équipe."));
}

#[actix_web::test]
async fn two_people_sharing_an_address_each_get_their_own_emails_once() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    app.post_json(
        &format!("/api/v1/associations/{}/participants", associations[0]),
        json!({"name": "Accueil", "email": "contact@partage.fr", "role": "autre"}),
    )
    .await
    .expect(201);
    let other = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/associations"),
            json!({"name": "Voisins", "town": "Bordeaux"}),
        )
        .await
        .expect(201)
        .json();
    app.post_json(
        &format!(
            "/api/v1/associations/{}/participants",
            other["id"].as_str().unwrap()
        ),
        json!({"name": "Standard", "email": "contact@partage.fr", "role": "autre"}),
    )
    .await
    .expect(201);
    app.generate(&cohort).await;
    publish(&app, &cohort).await;
    let shared: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "convocation" && r.recipient_email == "contact@partage.fr")
        .collect();
    // 3 collective sessions each + their own bilan each.
    assert_eq!(shared.len(), 8);
    let names: std::collections::BTreeSet<_> =
        shared.iter().map(|r| r.recipient_name.clone()).collect();
    assert_eq!(names.len(), 2);
    // A resync with nothing changed rewrites nothing.
    let templates = Arc::new(cohorte::templates::build("").unwrap());
    let mail = MailContext::new(&app.config, templates);
    let stats = common::write(&mut app.pool.get().unwrap(), |tx| {
        cohorte::models::planner::sync_cohort(tx, &mail, &cohort, Utc::now())
    })
    .unwrap();
    assert_eq!(stats.total(), 0, "{stats:?}");
}

#[actix_web::test]
async fn no_overdue_notice_after_the_session_the_work_prepares() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let intro = session_of(&generated, "introductive");
    // Homework due on the session's own day.
    let task = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/tasks"),
            json!({"title": "Apporter les comptes", "due_date": "2027-01-11", "session_id": intro["id"]}),
        )
        .await
        .expect(201)
        .json();
    publish(&app, &cohort).await;
    let overdue: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "homework_overdue" && r.item_id == task["id"].as_str().unwrap())
        .collect();
    assert!(overdue.is_empty(), "{overdue:?}");
}

/// A dispatcher sending to the SMTP sink, planner included.
fn smtp_dispatcher(app: &TestApp) -> Dispatcher {
    dispatcher_to(app, smtp::smtp())
}

async fn set_officer(app: &TestApp, cohort: &str, name: &str, email: &str) {
    let mut body = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    body["officer_name"] = json!(name);
    body["officer_email"] = json!(email);
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), body)
        .await
        .expect(200);
}

#[actix_web::test]
async fn replies_to_a_convocation_reach_the_officer_and_automatic_emails_say_so() {
    use mail_parser::MessageParser;
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    set_officer(&app, &cohort, "Julien Lefèvre", "julien@dla.example.org").await;
    publish(&app, &cohort).await;
    smtp_dispatcher(&app).run_once(Utc::now()).unwrap();
    let sent: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "convocation" && r.status() == Status::Sent)
        .collect();
    assert!(!sent.is_empty());
    for row in sent {
        let raw = smtp::received(row.message_id.as_deref().unwrap());
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let reply_to = parsed.reply_to().and_then(|r| r.first()).expect("Reply-To");
        assert_eq!(reply_to.address(), Some("julien@dla.example.org"));
        assert_eq!(reply_to.name(), Some("Julien Lefèvre"));
        assert_eq!(
            parsed.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        // The sender stays the instance's address: only the reply goes to the officer.
        let from = parsed.from().and_then(|f| f.first()).unwrap();
        assert_eq!(from.address(), Some(app.config.mail.from_address.as_str()));
    }
}

#[actix_web::test]
async fn a_reminder_leaving_late_says_the_day_as_it_is_or_gives_way_to_a_closer_one() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let evolution = session_of(&generated, "evolution");
    let evolution = evolution["id"].as_str().unwrap().to_string();
    let intro = session_of(&generated, "introductive");
    let intro = intro["id"].as_str().unwrap().to_string();
    // Tuesday 30 March 2027.
    move_to(&app, &evolution, "2027-03-30").await;
    publish(&app, &cohort).await;
    let d = smtp_dispatcher(&app);
    d.run_once(Utc::now()).unwrap();

    // Nothing left between the publication and the day before the first session
    // (Monday 11 January 2027): its J-7 reminder (Monday the 4th) would now say « dans 7
    // jours » on the eve; the J-1 reminder speaks alone, « demain ».
    d.run_once(utc(2027, 1, 10, 9, 0)).unwrap();
    let all = rows(&app, &cohort);
    let of = |kind: &str, item: &str| -> Vec<FullEmail> {
        all.iter()
            .filter(|r| r.kind == kind && r.item_id == item)
            .cloned()
            .collect()
    };
    for r in of("reminder_j7", &intro) {
        assert_eq!(r.status(), Status::Cancelled, "{r:?}");
        assert!(
            r.note
                .as_deref()
                .unwrap_or("")
                .contains("rappel parti en retard"),
            "{:?}",
            r.note
        );
    }
    for r in of("reminder_j1", &intro) {
        assert_eq!(r.status(), Status::Sent);
        assert!(r.subject.contains("demain"), "{}", r.subject);
    }

    // The J-7 reminder of Tuesday 30 March (due Tuesday the 23rd) leaves a day late, on
    // Wednesday the 24th: it names the day, « mardi », not « dans 7 jours ».
    d.run_once(utc(2027, 3, 22, 8, 0)).unwrap();
    d.run_once(utc(2027, 3, 24, 9, 0)).unwrap();
    let all = rows(&app, &cohort);
    let late: Vec<_> = all
        .iter()
        .filter(|r| r.kind == "reminder_j7" && r.item_id == evolution)
        .collect();
    assert!(!late.is_empty());
    for r in late {
        assert_eq!(r.status(), Status::Sent, "{r:?}");
        assert!(
            r.subject.ends_with(", mardi 30 mars 2027")
                && !r.subject.contains("mardi, mardi")
                && !r.subject.contains("dans 7"),
            "{}",
            r.subject
        );
        let raw = smtp::received(r.message_id.as_deref().unwrap());
        let text = mail_parser::MessageParser::default()
            .parse(&raw)
            .unwrap()
            .body_text(0)
            .unwrap()
            .to_string();
        assert!(text.contains("a lieu mardi."), "{text}");
    }
}

#[actix_web::test]
async fn without_an_officer_replies_reach_the_dla_contact_address_typed_on_its_form() {
    use mail_parser::MessageParser;
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    let dla = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json()["dla_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A mistyped address is refused beside its field, with everything typed kept.
    let refused = app
        .post_form(
            &format!("/dla/{dla}/modifier"),
            &[
                ("name", "DLA de la Gironde"),
                ("area", "Gironde (33)"),
                ("email", "contact@dla33..fr"),
                ("version", "1"),
            ],
        )
        .await
        .expect(422)
        .text();
    let field = common::around_field(&refused, "email");
    assert!(field.contains("Adresse e-mail invalide"), "{field}");
    assert!(field.contains("value=\"contact@dla33..fr\""), "{field}");
    app.post_form(
        &format!("/dla/{dla}/modifier"),
        &[
            ("name", "DLA de la Gironde"),
            ("area", "Gironde (33)"),
            ("email", "contact@dla33.fr"),
            ("version", "1"),
        ],
    )
    .await
    .expect(303);
    let shown = app
        .get(&format!("/api/v1/dlas/{dla}"))
        .await
        .expect(200)
        .json();
    assert_eq!(shown["email"], "contact@dla33.fr");

    publish(&app, &cohort).await;
    smtp_dispatcher(&app).run_once(Utc::now()).unwrap();
    let sent = rows(&app, &cohort)
        .into_iter()
        .find(|r| r.kind == "convocation" && r.status() == Status::Sent)
        .expect("a convocation sent");
    let raw = smtp::received(sent.message_id.as_deref().unwrap());
    let parsed = MessageParser::default().parse(&raw).unwrap();
    let reply_to = parsed.reply_to().and_then(|r| r.first()).expect("Reply-To");
    assert_eq!(reply_to.address(), Some("contact@dla33.fr"));
    // Named as the emails are signed without an officer: the sending name.
    assert_eq!(reply_to.name(), Some(app.config.mail.from_name.as_str()));
    // The invite's ORGANIZER is that same address, so that « Accepter » reaches it.
    let ics = String::from_utf8_lossy(&raw).replace("\r\n ", "");
    assert!(
        ics.contains("mailto:contact@dla33.fr"),
        "ORGANIZER:\n{}",
        ics.lines()
            .filter(|l| l.starts_with("ORGANIZER"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[actix_web::test]
async fn replies_to_the_compte_rendu_reach_the_consultant_who_wrote_it() {
    use mail_parser::MessageParser;
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let mut body = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    let consultant = app
        .post_json(
            "/api/v1/consultants",
            json!({"name": "Camille Conseil", "firm": "Cabinet", "email": "camille@conseil.fr", "dla_ids": [body["dla_id"]]}),
        )
        .await
        .expect(201)
        .json()["id"]
        .clone();
    body["consultant_id"] = consultant;
    body["officer_name"] = json!("Julien Lefèvre");
    body["officer_email"] = json!("julien@dla.example.org");
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), body)
        .await
        .expect(200);
    publish(&app, &cohort).await;
    let evolution = session_of(&generated, "evolution");
    let sid = evolution["id"].as_str().unwrap();
    app.post_form(
        &format!("/seances/{sid}/journal"),
        &[
            ("version", "0"),
            ("notes", "Ambition : diversifier les ressources."),
        ],
    )
    .await
    .expect(303);
    app.post_form(
        &format!("/associations/{}/compte-rendu/envoyer", associations[0]),
        &[("seance", sid)],
    )
    .await
    .expect(303);
    smtp_dispatcher(&app).run_once(Utc::now()).unwrap();
    let reports: Vec<_> = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.kind == "compte_rendu")
        .collect();
    assert!(!reports.is_empty());
    for r in reports {
        assert_eq!(r.status(), Status::Sent, "{r:?}");
        let raw = smtp::received(r.message_id.as_deref().unwrap());
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let reply_to = parsed.reply_to().and_then(|r| r.first()).expect("Reply-To");
        assert_eq!(reply_to.address(), Some("camille@conseil.fr"));
        assert!(
            parsed.header_raw("Auto-Submitted").is_none(),
            "a person wrote it"
        );
    }
}
