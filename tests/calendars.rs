//! Calendars that never drift (issue #18, points 4 to 6): once a person holds a session's
//! invite, every change to what their calendar shows sends an update (same UID, higher
//! SEQUENCE) and every removal a cancellation, described from what they last received;
//! the invite's ORGANIZER is who answers for the cohort.
//!
//! Each test runs the application on a real SQLite database, sends with the real
//! dispatcher (planner included) through a real SMTP server (`tests/common/smtp.rs`), and
//! reads what the server received with a MIME parser and the invite with the icalendar
//! crate's parser.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde_json::{Value, json};

use cohorte::domain::outbox::Status;
use cohorte::jobs::Dispatcher;
use cohorte::mail::sender;
use cohorte::models::outbox::{self, FullEmail, MailContext};
use common::{TestApp, spawn};

fn rows(app: &TestApp, cohort: &str) -> Vec<FullEmail> {
    outbox::list_for_cohort(&mut app.pool.get().unwrap(), cohort).unwrap()
}

fn of_kind(app: &TestApp, cohort: &str, kind: &str) -> Vec<FullEmail> {
    rows(app, cohort)
        .into_iter()
        .filter(|r| r.kind == kind)
        .collect()
}

fn mail(app: &TestApp) -> MailContext {
    MailContext::new(
        &app.config,
        Arc::new(cohorte::templates::build("").unwrap()),
    )
}

/// Sends every email due now through the SMTP server, as `cohorte serve` does.
fn dispatch(app: &TestApp) {
    let mut d = Dispatcher::new(
        app.pool.clone(),
        smtp::smtp(),
        sender(&app.config.mail).unwrap(),
    );
    d.planner = Some(cohorte::jobs::AppHooks::new(mail(app)).planner());
    d.run_once(Utc::now()).unwrap();
}

/// A cohort of `n` associations with its programme and a chargé·e de mission, published,
/// its convocations delivered. Returns the cohort, the associations and the sessions.
async fn convoked(app: &TestApp, n: usize) -> (String, Vec<String>, Vec<Value>) {
    let (cohort, associations) = app.cohort_with(n).await;
    let generated = app.generate(&cohort).await;
    let mut co = app
        .get(&format!("/api/v1/cohorts/{cohort}"))
        .await
        .expect(200)
        .json();
    co["officer_name"] = json!("Claire Martin");
    co["officer_email"] = json!("claire.martin@dla33.fr");
    app.put_json(&format!("/api/v1/cohorts/{cohort}"), co)
        .await
        .expect(200);
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    dispatch(app);
    let convocations = of_kind(app, &cohort, "convocation");
    assert!(!convocations.is_empty());
    assert!(
        convocations.iter().all(|r| r.status() == Status::Sent),
        "every convocation left at publication"
    );
    let sessions = generated["sessions"].as_array().unwrap().clone();
    (cohort, associations, sessions)
}

fn session_of<'a>(sessions: &'a [Value], kind: &str) -> &'a Value {
    sessions.iter().find(|s| s["kind"] == kind).unwrap()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn people_of(app: &TestApp, association: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

/// A parsed property: name, value (unescaped), parameters as `KEY=value`.
type Prop = (String, String, Vec<String>);

/// The calendar's METHOD and its one event's properties, read with the crate's parser.
fn parse(ics: &str) -> (String, Vec<Prop>) {
    let unfolded = icalendar::parser::unfold(ics);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    let method = calendar
        .properties
        .iter()
        .find(|p| p.name == "METHOD")
        .map(|p| p.val.to_string())
        .expect("a METHOD");
    assert_eq!(calendar.components.len(), 1, "one event");
    let event = calendar.components[0]
        .properties
        .iter()
        .map(|p| {
            let params = p
                .params
                .iter()
                .map(|x| {
                    let v = x.val.as_ref().map(|v| v.to_string()).unwrap_or_default();
                    format!("{}={v}", x.key)
                })
                .collect();
            (p.name.to_string(), p.val.to_string(), params)
        })
        .collect();
    (method, event)
}

fn value<'a>(event: &'a [Prop], name: &str) -> &'a str {
    &event
        .iter()
        .find(|p| p.0 == name)
        .unwrap_or_else(|| panic!("no {name} in {event:?}"))
        .1
}

/// What the SMTP server received for this row: the decoded subject, the text, and the
/// invite of its `text/calendar` part (METHOD from the part's parameter and from the
/// calendar, which must agree).
fn received(row: &FullEmail) -> (String, String, Vec<Prop>) {
    let raw = smtp::received(row.message_id.as_deref().expect("sent, so a Message-ID"));
    let message = MessageParser::default()
        .parse(&raw)
        .expect("a MIME message");
    let calendar = message
        .parts
        .iter()
        .find(|p| {
            p.content_type()
                .is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("calendar"))
        })
        .expect("a text/calendar part");
    let part_method = calendar
        .content_type()
        .unwrap()
        .attribute("method")
        .unwrap()
        .to_string();
    let ics = match &calendar.body {
        PartType::Text(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("unexpected calendar body {other:?}"),
    };
    let (method, event) = parse(&ics);
    assert_eq!(part_method, method);
    (
        message.subject().unwrap_or_default().to_string(),
        message.body_text(0).unwrap().replace("\r\n", "\n"),
        event,
    )
}

fn reload(app: &TestApp, row: &FullEmail) -> FullEmail {
    outbox::get_full(&mut app.pool.get().unwrap(), &row.id).unwrap()
}

#[actix_web::test]
async fn a_new_place_reaches_those_convoked_as_an_update_with_a_higher_sequence() {
    let app = spawn().await;
    let (cohort, _, sessions) = convoked(&app, 1).await;
    let intro = session_of(&sessions, "introductive");
    let sid = id_of(intro);
    let old_place = match intro["location"].as_str().unwrap() {
        "" => "non précisé".to_string(),
        place => place.to_string(),
    };
    let current = app
        .get(&format!("/api/v1/sessions/{sid}"))
        .await
        .expect(200)
        .json();
    let new_place = "Salle des fêtes, 3 place du Marché, 33130 Bègles";
    app.put_json(
        &format!("/api/v1/sessions/{sid}"),
        json!({"location": new_place, "version": current["version"]}),
    )
    .await
    .expect(200);

    let updates = of_kind(&app, &cohort, "session_updated");
    assert_eq!(updates.len(), 2, "the association's two people, convoked");
    assert!(of_kind(&app, &cohort, "session_moved").is_empty());
    dispatch(&app);
    for row in &updates {
        let row = reload(&app, row);
        assert_eq!(row.status(), Status::Sent);
        assert_eq!(row.revision, 1);
        let (subject, text, event) = received(&row);
        assert!(subject.starts_with("Session modifiée : "), "{subject}");
        assert!(
            text.contains(&format!(
                "Nouveau lieu : {new_place}\nAncien lieu : {old_place}"
            )),
            "{text}"
        );
        assert_eq!(value(&event, "UID"), format!("{sid}@cohorte"));
        assert_eq!(value(&event, "SEQUENCE"), "1", "the convocation's was 0");
        assert_eq!(value(&event, "LOCATION"), new_place);
        assert_eq!(value(&event, "STATUS"), "CONFIRMED");
        // « Accepter » reaches the chargé·e de mission.
        assert_eq!(value(&event, "ORGANIZER"), "mailto:claire.martin@dla33.fr");
    }
    let (_, _, event) = received(&reload(&app, &updates[0]));
    assert_eq!(
        value(&event, "DTSTART"),
        received(
            &of_kind(&app, &cohort, "convocation")
                .into_iter()
                .find(|r| r.item_id == sid)
                .unwrap()
        )
        .2
        .iter()
        .find(|p| p.0 == "DTSTART")
        .unwrap()
        .1,
        "the time did not change"
    );

    // Nothing more to say: a new sync queues nothing, an edit of the planned time neither.
    let stats = common::write(&mut app.pool.get().unwrap(), |tx| {
        cohorte::models::planner::sync_cohort(tx, &mail(&app), &cohort, Utc::now())
    })
    .unwrap();
    assert_eq!(stats.total(), 0, "{stats:?}");
    let current = app
        .get(&format!("/api/v1/sessions/{sid}"))
        .await
        .expect(200)
        .json();
    app.put_json(
        &format!("/api/v1/sessions/{sid}"),
        json!({"planned_days": "2", "version": current["version"]}),
    )
    .await
    .expect(200);
    assert_eq!(of_kind(&app, &cohort, "session_updated").len(), 2);

    // A new agenda and a video link, next: SEQUENCE 2, from the place they now have.
    let current = app
        .get(&format!("/api/v1/sessions/{sid}"))
        .await
        .expect(200)
        .json();
    app.put_json(
        &format!("/api/v1/sessions/{sid}"),
        json!({"agenda": "Accueil\nTour de table", "video_link": "https://visio.example.org/edl",
               "version": current["version"]}),
    )
    .await
    .expect(200);
    let second: Vec<_> = of_kind(&app, &cohort, "session_updated")
        .into_iter()
        .filter(|r| r.revision == 2)
        .collect();
    assert_eq!(second.len(), 2);
    for row in &second {
        assert!(
            row.body_text
                .contains("change : le lien de visioconférence et l'ordre du jour."),
            "{}",
            row.body_text
        );
        assert!(
            row.body_text
                .contains("Ordre du jour (mis à jour)\n- Accueil\n- Tour de table")
        );
        assert!(!row.body_text.contains("Ancien lieu"), "{}", row.body_text);
        let (_, event) = parse(row.ics.as_deref().unwrap());
        assert_eq!(value(&event, "SEQUENCE"), "2");
        assert!(value(&event, "DESCRIPTION").contains("- Accueil\n- Tour de table"));
    }
}

#[actix_web::test]
async fn a_removed_participant_gets_a_cancel_for_each_future_session_they_were_invited_to() {
    let app = spawn().await;
    let (cohort, associations, sessions) = convoked(&app, 2).await;
    let person = people_of(&app, &associations[0]).await.remove(0);
    let address = person["email"].as_str().unwrap().to_string();
    let invited: BTreeSet<String> = of_kind(&app, &cohort, "convocation")
        .into_iter()
        .filter(|r| r.recipient_email == address)
        .map(|r| r.item_id.clone())
        .collect();
    assert_eq!(
        invited.len(),
        4,
        "three collective sessions and their bilan"
    );
    let reminders_before = rows(&app, &cohort)
        .into_iter()
        .filter(|r| r.recipient_email == address && r.status() == Status::Scheduled)
        .count();
    assert!(reminders_before > 0);

    app.send(actix_web::test::TestRequest::delete().uri(&format!(
        "/api/v1/participants/{}",
        person["id"].as_str().unwrap()
    )))
    .await
    .expect(204);

    let cancels = of_kind(&app, &cohort, "invite_withdrawn");
    assert_eq!(
        cancels
            .iter()
            .map(|r| r.item_id.clone())
            .collect::<BTreeSet<_>>(),
        invited,
        "one per session they were invited to"
    );
    assert_eq!(cancels.len(), 4, "and no more");
    assert!(cancels.iter().all(|r| r.recipient_email == address));
    assert!(
        !rows(&app, &cohort)
            .iter()
            .any(|r| r.recipient_email == address
                && r.kind != "invite_withdrawn"
                && r.status() == Status::Scheduled),
        "their reminders are cancelled"
    );
    dispatch(&app);
    for row in &cancels {
        let row = reload(&app, row);
        assert_eq!(row.status(), Status::Sent);
        let (subject, text, event) = received(&row);
        assert!(
            subject.starts_with("Session retirée de votre agenda"),
            "{subject}"
        );
        assert!(text.contains("Vous n'êtes plus attendu·e"), "{text}");
        assert_eq!(value(&event, "UID"), format!("{}@cohorte", row.item_id));
        assert_eq!(value(&event, "STATUS"), "CANCELLED");
        assert_eq!(value(&event, "SEQUENCE"), "1", "above the convocation's 0");
        let attendee = event.iter().find(|p| p.0 == "ATTENDEE").unwrap();
        assert_eq!(attendee.1, format!("mailto:{address}"));
    }
    // Nobody else hears anything.
    assert!(of_kind(&app, &cohort, "session_updated").is_empty());
    assert!(of_kind(&app, &cohort, "session_moved").is_empty());

    // Added back with the same address: convoked again, above the cancellation, or their
    // calendar would ignore the invite.
    app.post_json(
        &format!("/api/v1/associations/{}/participants", associations[0]),
        json!({"name": person["name"], "email": address, "role": person["role"],
               "function": person["function"]}),
    )
    .await
    .expect(201);
    let again: Vec<_> = of_kind(&app, &cohort, "convocation")
        .into_iter()
        .filter(|r| r.recipient_email == address && r.status() == Status::Scheduled)
        .collect();
    assert_eq!(again.len(), 4);
    for row in &again {
        let (method, event) = parse(row.ics.as_deref().unwrap());
        assert_eq!(method, "REQUEST");
        assert_eq!(value(&event, "SEQUENCE"), "2", "{}", row.item_id);
    }
    let intro = id_of(session_of(&sessions, "introductive"));
    assert!(again.iter().any(|r| r.item_id == intro));
}

#[actix_web::test]
async fn a_withdrawn_associations_people_and_its_bilans_guest_get_cancellations() {
    let app = spawn().await;
    let (cohort, associations, sessions) = convoked(&app, 2).await;
    let bilan = sessions
        .iter()
        .find(|s| s["kind"] == "bilan_individuel" && s["association_id"] == associations[0])
        .unwrap();
    let bilan_id = id_of(bilan);
    app.post_json(
        &format!("/api/v1/sessions/{bilan_id}/guests"),
        json!({"name": "Paul Girard", "email": "paul.girard@partenaire.fr",
               "organisation": "Fondation partenaire"}),
    )
    .await
    .expect(201);
    dispatch(&app);
    let gone: Vec<String> = people_of(&app, &associations[0])
        .await
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect();
    let staying: Vec<String> = people_of(&app, &associations[1])
        .await
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect();
    let collective: BTreeSet<String> = sessions
        .iter()
        .filter(|s| s["kind"] != "bilan_individuel")
        .map(id_of)
        .collect();
    assert_eq!(collective.len(), 3);

    app.send(
        actix_web::test::TestRequest::delete()
            .uri(&format!("/api/v1/associations/{}", associations[0])),
    )
    .await
    .expect(204);

    let withdrawn = of_kind(&app, &cohort, "invite_withdrawn");
    let cancelled = of_kind(&app, &cohort, "session_cancelled");
    for address in &gone {
        let sessions_withdrawn: BTreeSet<String> = withdrawn
            .iter()
            .filter(|r| &r.recipient_email == address)
            .map(|r| r.item_id.clone())
            .collect();
        assert_eq!(sessions_withdrawn, collective, "{address}");
        let bilan_cancelled: Vec<_> = cancelled
            .iter()
            .filter(|r| &r.recipient_email == address)
            .collect();
        assert_eq!(bilan_cancelled.len(), 1, "{address}");
        assert_eq!(bilan_cancelled[0].item_id, bilan_id);
    }
    assert_eq!(withdrawn.len(), 2 * 3);
    let guest: Vec<_> = cancelled
        .iter()
        .filter(|r| r.recipient_email == "paul.girard@partenaire.fr")
        .collect();
    assert_eq!(guest.len(), 1, "the bilan's guest");
    assert_eq!(cancelled.len(), 3);
    assert!(
        !withdrawn
            .iter()
            .chain(&cancelled)
            .any(|r| staying.contains(&r.recipient_email)),
        "the other association's people keep their sessions"
    );

    dispatch(&app);
    for row in withdrawn.iter().chain(&cancelled) {
        let row = reload(&app, row);
        assert_eq!(row.status(), Status::Sent, "{}", row.recipient_email);
        let (_, _, event) = received(&row);
        assert_eq!(value(&event, "STATUS"), "CANCELLED");
        assert_eq!(value(&event, "UID"), format!("{}@cohorte", row.item_id));
        assert_eq!(value(&event, "SEQUENCE"), "1");
    }
    let (subject, text, _) = received(&reload(&app, guest[0]));
    assert!(subject.starts_with("Session annulée"), "{subject}");
    assert!(text.contains("est annulée"), "{text}");
}

#[actix_web::test]
async fn after_two_quick_moves_the_next_notice_gives_the_time_last_received() {
    let app = spawn().await;
    let (cohort, associations, sessions) = convoked(&app, 1).await;
    let intro = id_of(session_of(&sessions, "introductive"));
    let address = people_of(&app, &associations[0]).await[0]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let move_to = |date: &'static str| {
        let app = &app;
        let intro = intro.clone();
        async move {
            app.post_json(
                &format!("/api/v1/sessions/{intro}/move"),
                json!({"date": date, "start_time": "10:00", "end_time": "16:00",
                       "avoid_non_working_days": true}),
            )
            .await
            .expect(200)
        }
    };
    let notices = || -> Vec<FullEmail> {
        of_kind(&app, &cohort, "session_moved")
            .into_iter()
            .filter(|r| r.recipient_email == address)
            .collect()
    };
    // Convoked for Monday 11 January 2027, 9 h 30.
    let received_time = "lundi 11 janvier 2027, 9\u{a0}h\u{a0}30";
    move_to("2027-01-12").await;
    move_to("2027-01-13").await;
    let queued = notices();
    assert_eq!(queued.len(), 2);
    let first = queued.iter().find(|r| r.revision == 1).unwrap();
    assert_eq!(first.status(), Status::Cancelled, "replaced before it left");
    let second = queued.iter().find(|r| r.revision == 2).unwrap();
    assert!(
        second.body_text.contains(&format!(
            "Nouvel horaire : mercredi 13 janvier 2027, 10\u{a0}h\u{a0}00 – 16\u{a0}h\u{a0}00\n\
             Ancien horaire : {received_time}"
        )),
        "the time in their calendar, not the 12th they never received:\n{}",
        second.body_text
    );
    dispatch(&app);
    let (_, text, event) = received(&reload(&app, second));
    assert!(
        text.contains(&format!("Ancien horaire : {received_time}")),
        "{text}"
    );
    assert_eq!(value(&event, "SEQUENCE"), "2");
    assert_eq!(value(&event, "DTSTART"), "20270113T090000Z");

    // A third move: described from the 13th, which they now have.
    move_to("2027-01-14").await;
    let third = notices()
        .into_iter()
        .find(|r| r.revision == 3)
        .expect("a third notice");
    dispatch(&app);
    let (subject, text, event) = received(&reload(&app, &third));
    assert!(subject.starts_with("Session déplacée"), "{subject}");
    assert!(
        text.contains(
            "Nouvel horaire : jeudi 14 janvier 2027, 10\u{a0}h\u{a0}00 – 16\u{a0}h\u{a0}00\n\
             Ancien horaire : mercredi 13 janvier 2027, 10\u{a0}h\u{a0}00 – 16\u{a0}h\u{a0}00"
        ),
        "{text}"
    );
    assert_eq!(value(&event, "SEQUENCE"), "3");
    assert_eq!(value(&event, "UID"), format!("{intro}@cohorte"));
    assert_eq!(value(&event, "DTSTART"), "20270114T090000Z");
}

#[actix_web::test]
async fn the_feed_names_the_organiser_as_the_invites_do_and_no_attendee() {
    let app = spawn().await;
    let (cohort, associations, sessions) = convoked(&app, 1).await;
    let pid = people_of(&app, &associations[0]).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = {
        let mut conn = app.pool.get().unwrap();
        let secret = cohorte::models::feed::secret(&mut conn).unwrap();
        let p = cohorte::models::participant::get(&mut conn, &pid).unwrap();
        cohorte::models::feed::calendar_url(&app.config.server.public_url, &secret, &p)
    };
    let path = url.split_once("8080").unwrap().1.to_string();
    let feed = app
        .send_raw(actix_web::test::TestRequest::get().uri(&path))
        .await
        .expect(200)
        .text();
    let unfolded = icalendar::parser::unfold(&feed);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
    assert!(
        calendar
            .properties
            .iter()
            .any(|p| p.name == "METHOD" && p.val == "PUBLISH")
    );
    assert_eq!(calendar.components.len(), sessions.len());
    let convocation = of_kind(&app, &cohort, "convocation")
        .into_iter()
        .find(|r| r.participant_id.as_deref() == Some(pid.as_str()))
        .unwrap();
    let (_, invite) = parse(convocation.ics.as_deref().unwrap());
    let organizer = invite.iter().find(|p| p.0 == "ORGANIZER").unwrap();
    for event in &calendar.components {
        let names: Vec<String> = event
            .properties
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert!(!names.contains(&"ATTENDEE".to_string()), "{names:?}");
        let feed_organizer = event
            .properties
            .iter()
            .find(|p| p.name == "ORGANIZER")
            .unwrap();
        assert_eq!(feed_organizer.val.to_string(), organizer.1);
        assert_eq!(organizer.1, "mailto:claire.martin@dla33.fr");
    }
    // The emails that give the feed say it is the invites' dates, once more.
    assert!(
        convocation
            .body_text
            .contains("Ce sont les mêmes dates : choisissez l'un ou l'autre"),
        "{}",
        convocation.body_text
    );
}

#[actix_web::test]
async fn an_address_changed_and_changed_back_gets_the_invites_again_above_their_cancellation() {
    let app = spawn().await;
    let (cohort, associations, _) = convoked(&app, 1).await;
    let person = people_of(&app, &associations[0]).await.remove(0);
    let pid = person["id"].as_str().unwrap().to_string();
    let first = person["email"].as_str().unwrap().to_string();
    let set_email = |email: String| {
        let app = &app;
        let pid = pid.clone();
        let person = person.clone();
        let association = associations[0].clone();
        async move {
            let current = people_of(app, &association)
                .await
                .into_iter()
                .find(|p| p["id"] == pid.as_str())
                .unwrap();
            app.put_json(
                &format!("/api/v1/participants/{pid}"),
                json!({"name": person["name"], "email": email, "role": person["role"],
                       "function": person["function"], "version": current["version"]}),
            )
            .await
            .expect(200);
        }
    };
    // Corrected to another address: the first one's calendar gets the cancellations.
    set_email("autre.adresse@exemple.fr".to_string()).await;
    dispatch(&app);
    let cancelled: BTreeSet<String> = of_kind(&app, &cohort, "invite_withdrawn")
        .into_iter()
        .filter(|r| r.recipient_email == first && reload(&app, r).status() == Status::Sent)
        .map(|r| r.item_id.clone())
        .collect();
    assert_eq!(cancelled.len(), 4);
    // Back to the first address: convoked there again, above the cancellation.
    set_email(first.clone()).await;
    let again: Vec<_> = of_kind(&app, &cohort, "convocation")
        .into_iter()
        .filter(|r| r.recipient_email == first && r.status() == Status::Scheduled)
        .collect();
    assert_eq!(
        again
            .iter()
            .map(|r| r.item_id.clone())
            .collect::<BTreeSet<_>>(),
        cancelled
    );
    for row in &again {
        let (method, event) = parse(row.ics.as_deref().unwrap());
        assert_eq!(method, "REQUEST");
        assert!(
            value(&event, "SEQUENCE").parse::<i32>().unwrap() >= 2,
            "{event:?}"
        );
    }
    // Sent, and nothing more queued after.
    dispatch(&app);
    let before = rows(&app, &cohort).len();
    dispatch(&app);
    assert_eq!(rows(&app, &cohort).len(), before);
}
