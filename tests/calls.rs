//! Calls for applications (issue #14): the staff page, the public form, the
//! acknowledgement, the private link, the abuse limits and the retention purge, through
//! HTTP on a real database.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use common::{TestApp, application_form, spawn, spawn_with};
use diesel::prelude::*;

use cohorte::db::schema::{applications, call_attempts, calls, outbox_emails};

fn acks(app: &TestApp, kind: &str) -> Vec<(String, String, String)> {
    let mut conn = app.pool.get().unwrap();
    let rows: Vec<(String, String, String)> = outbox_emails::table
        .filter(outbox_emails::kind.eq(kind))
        .select((
            outbox_emails::id,
            outbox_emails::recipient_email,
            outbox_emails::subject,
        ))
        .load(&mut conn)
        .unwrap();
    rows
}

fn body(app: &TestApp, id: &str) -> String {
    let mut conn = app.pool.get().unwrap();
    cohorte::models::outbox::bodies(&mut conn, id)
        .unwrap()
        .body_text
}

/// The private link the outbox row `id` (an applicant's email) gives when it leaves; its
/// stored body holds the marker only (`call::PRIVATE_LINK`), never a usable link.
fn private_link(app: &TestApp, id: &str) -> String {
    let text = body(app, id);
    assert!(
        text.contains(cohorte::models::call::PRIVATE_LINK) && !text.contains("/modifier/"),
        "the stored body holds the marker only: {text}"
    );
    let mut conn = app.pool.get().unwrap();
    let application: String = outbox_emails::table
        .find(id)
        .select(outbox_emails::item_id)
        .first(&mut conn)
        .unwrap();
    let secret = cohorte::models::call::edit_secret(&mut conn, &application).unwrap();
    cohorte::models::call::edit_url("", &secret)
}

fn edit_link(text: &str) -> String {
    let start = text.find("/candidature/modifier/").expect("private link");
    let end = start
        + text[start..]
            .find(|c: char| c.is_whitespace())
            .unwrap_or(text.len() - start);
    text[start..end].to_string()
}

#[actix_web::test]
async fn an_association_applies_is_acknowledged_edits_and_withdraws() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte Gironde 2027").await;
    let public = app.open_call(&cohort).await;

    // The form, anonymous.
    let page = app
        .send_raw(TestRequest::get().uri(&public))
        .await
        .expect(200);
    assert!(page.text().contains("Envoyer la candidature"));

    // A refused field: the form again, everything kept, the message beside the field.
    let refused = app
        .post_public(&public, &application_form(&[("siret", "123"), ("rna", "")]))
        .await;
    assert_eq!(refused.status.as_u16(), 422);
    let html = refused.text();
    let around = common::around_field(&html, "siret");
    assert!(around.contains("aria-invalid=\"true\""), "{around}");
    assert!(around.contains("f-siret-error"), "{around}");
    assert!(html.contains("value=\"Les Amis du Quartier\""));
    assert!(html.contains("Motivation secrète XYZZY"));
    assert!(acks(&app, "application_ack").is_empty());

    // Accepted: one acknowledgement per address, none repeating what was typed.
    app.post_public(&public, &application_form(&[]))
        .await
        .expect(200);
    let rows = acks(&app, "application_ack");
    let mut to: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    to.sort();
    assert_eq!(to, ["paul@amis.test", "zoe@amis.test"]);
    for (id, _, subject) in &rows {
        let text = body(&app, id);
        assert!(subject.contains("Cohorte Gironde 2027"), "{subject}");
        for typed in ["Les Amis", "Zoé", "Paul", "XYZZY", "Bordeaux", "Culture"] {
            assert!(
                !text.contains(typed) && !subject.contains(typed),
                "{typed} in {text}"
            );
        }
    }
    let link = private_link(&app, &rows[0].0);

    // The private link shows the application and takes a change.
    let own = app
        .send_raw(TestRequest::get().uri(&link))
        .await
        .expect(200);
    assert!(own.text().contains("Les Amis du Quartier"));
    app.post_public(
        &link,
        &application_form(&[("town", "Mérignac"), ("version", "1")]),
    )
    .await
    .expect(303);
    let mut conn = app.pool.get().unwrap();
    let (town, status): (String, String) = applications::table
        .select((applications::town, applications::status))
        .first(&mut conn)
        .unwrap();
    assert_eq!((town.as_str(), status.as_str()), ("Mérignac", "recue"));
    // No new acknowledgement for a change.
    assert_eq!(acks(&app, "application_ack").len(), 2);

    // Withdrawal: status désistée, a confirmation to both, audited; then locked.
    app.send_raw(TestRequest::post().uri(&format!("{link}/retirer")))
        .await
        .expect(200);
    let status: String = applications::table
        .select(applications::status)
        .first(&mut conn)
        .unwrap();
    assert_eq!(status, "desistee");
    assert_eq!(acks(&app, "application_withdrawn").len(), 2);
    let audited: i64 = cohorte::db::schema::audit_log::table
        .filter(cohorte::db::schema::audit_log::entity.eq("application"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(audited >= 3, "{audited}");
    app.post_public(&link, &application_form(&[("version", "2")]))
        .await
        .expect(409);
}

#[actix_web::test]
async fn a_closed_call_and_a_revoked_link_take_no_application() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte close").await;
    let public = app.open_call(&cohort).await;
    let mut conn = app.pool.get().unwrap();

    // The closing day ended (Paris): closed.
    let yesterday = (Utc::now() - Duration::days(2)).date_naive();
    diesel::update(calls::table)
        .set(calls::closes_on.eq(yesterday))
        .execute(&mut conn)
        .unwrap();
    let page = app
        .send_raw(TestRequest::get().uri(&public))
        .await
        .expect(410);
    assert!(page.text().contains("plus ouvert"));
    app.post_public(&public, &application_form(&[]))
        .await
        .expect(410);
    assert_eq!(
        applications::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        0
    );

    // Revoked: dead at once; a new link works, the old one stays dead.
    let today = Utc::now().date_naive() + Duration::days(3);
    diesel::update(calls::table)
        .set(calls::closes_on.eq(today))
        .execute(&mut conn)
        .unwrap();
    app.post_form(
        &format!("/cohortes/{cohort}/appel/lien"),
        &[("action", "revoquer")],
    )
    .await
    .expect(303);
    let page = app
        .send_raw(TestRequest::get().uri(&public))
        .await
        .expect(404);
    assert!(page.text().contains("plus ouvert"));
    app.post_public(&public, &application_form(&[]))
        .await
        .expect(404);
    app.post_form(
        &format!("/cohortes/{cohort}/appel/lien"),
        &[("action", "nouveau")],
    )
    .await
    .expect(303);
    let html = app.get(&format!("/cohortes/{cohort}/appel")).await.text();
    let start = html.find("/candidature/").unwrap();
    let fresh = &html[start..start + html[start..].find('"').unwrap()];
    assert_ne!(fresh, public);
    app.send_raw(TestRequest::get().uri(fresh))
        .await
        .expect(200);
    app.send_raw(TestRequest::get().uri(&public))
        .await
        .expect(404);
}

#[actix_web::test]
async fn a_bot_gets_a_success_page_and_nothing_is_stored_or_sent() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte pot de miel").await;
    let public = app.open_call(&cohort).await;
    let page = app
        .post_public(
            &public,
            &application_form(&[("site_web", "http://spam.test")]),
        )
        .await
        .expect(200);
    assert!(page.text().contains("Candidature envoyée"));
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        applications::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        0
    );
    assert!(acks(&app, "application_ack").is_empty());
}

#[actix_web::test]
async fn too_many_applications_from_one_address_or_to_one_mailbox_are_refused() {
    let app = spawn_with(|c| {
        c.calls.max_per_address_per_hour = 3;
        c.calls.max_acks_per_recipient_per_day = 1;
    })
    .await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte limites").await;
    let public = app.open_call(&cohort).await;
    app.post_public(&public, &application_form(&[]))
        .await
        .expect(200);
    // The same director's address again: refused beside that field.
    let again = app
        .post_public(
            &public,
            &application_form(&[("board_email", "autre@amis.test")]),
        )
        .await;
    assert_eq!(again.status.as_u16(), 422);
    assert!(common::around_field(&again.text(), "director_email").contains("accusés de réception"));
    let ok = app
        .post_public(
            &public,
            &application_form(&[
                ("director_email", "a2@amis.test"),
                ("board_email", "b2@amis.test"),
            ]),
        )
        .await;
    ok.expect(200);
    app.post_public(
        &public,
        &application_form(&[
            ("director_email", "a3@amis.test"),
            ("board_email", "b3@amis.test"),
        ]),
    )
    .await
    .expect(200);
    let throttled = app
        .post_public(
            &public,
            &application_form(&[
                ("director_email", "a4@amis.test"),
                ("board_email", "b4@amis.test"),
            ]),
        )
        .await;
    assert_eq!(throttled.status.as_u16(), 429);
    assert!(
        throttled
            .text()
            .contains("Trop de candidatures envoyées depuis cette adresse")
    );
    // Neither an address nor an email is stored in the counts.
    let mut conn = app.pool.get().unwrap();
    let digests: Vec<String> = call_attempts::table
        .select(call_attempts::digest)
        .load(&mut conn)
        .unwrap();
    assert!(!digests.is_empty());
    assert!(digests.iter().all(|d| d.len() == 64 && !d.contains('@')));
}

#[actix_web::test]
async fn a_public_form_over_the_size_limit_is_refused() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte taille").await;
    let public = app.open_call(&cohort).await;
    let huge = "x".repeat(40 * 1024);
    let res = app
        .post_public(&public, &application_form(&[("motivation", huge.as_str())]))
        .await;
    assert_eq!(res.status.as_u16(), 413);
}

#[actix_web::test]
async fn applications_not_retained_are_purged_months_after_the_closing() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte purge").await;
    let public = app.open_call(&cohort).await;
    app.post_public(&public, &application_form(&[]))
        .await
        .expect(200);
    app.post_public(
        &public,
        &application_form(&[
            ("name", "Retenue"),
            ("director_email", "r@amis.test"),
            ("board_email", "s@amis.test"),
        ]),
    )
    .await
    .expect(200);
    // The first is declined: its decision email is queued to its two addresses.
    let declined: String = {
        let mut conn = app.pool.get().unwrap();
        applications::table
            .filter(applications::name.eq("Les Amis du Quartier"))
            .select(applications::id)
            .first(&mut conn)
            .unwrap()
    };
    app.post_json(
        &format!("/api/v1/applications/{declined}/decision"),
        serde_json::json!({"status": "non_retenue", "version": "1"}),
    )
    .await
    .expect(200);
    let mut conn = app.pool.get().unwrap();
    let decisions: i64 = outbox_emails::table
        .filter(outbox_emails::kind.eq("application_decision"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(decisions, 2);
    diesel::update(applications::table.filter(applications::name.eq("Retenue")))
        .set(applications::status.eq("retenue"))
        .execute(&mut conn)
        .unwrap();
    let closes: chrono::NaiveDate = calls::table
        .select(calls::closes_on)
        .first(&mut conn)
        .unwrap();
    let before = closes.and_hms_opt(12, 0, 0).unwrap().and_utc() + Duration::days(150);
    assert_eq!(
        cohorte::models::privacy::purge_applications(&mut conn, 6, before).unwrap(),
        0
    );
    let after = closes.and_hms_opt(12, 0, 0).unwrap().and_utc() + Duration::days(200);
    assert_eq!(
        cohorte::models::privacy::purge_applications(&mut conn, 6, after).unwrap(),
        1
    );
    let left: Vec<String> = applications::table
        .select(applications::name)
        .load(&mut conn)
        .unwrap();
    assert_eq!(left, ["Retenue"]);
    // Its emails (the ack and the decision) and its rate-limit rows went with it.
    let ack_to: Vec<String> = outbox_emails::table
        .select(outbox_emails::recipient_email)
        .load(&mut conn)
        .unwrap();
    assert!(!ack_to.iter().any(|a| a.contains("zoe@")), "{ack_to:?}");
    let attempts: i64 = call_attempts::table.count().get_result(&mut conn).unwrap();
    assert_eq!(
        attempts, 3,
        "the retained application's address and two recipients"
    );
}

// --- Through the SMTP server: the ack, the meeting's invite, update and cancel ---------

fn mail_context(app: &TestApp) -> cohorte::models::outbox::MailContext {
    cohorte::models::outbox::MailContext::new(
        &app.config,
        std::sync::Arc::new(cohorte::templates::build("").unwrap()),
    )
}

/// Sends every email due now through the SMTP sink, as `cohorte serve` does.
fn dispatch(app: &TestApp) {
    let mut d = cohorte::jobs::Dispatcher::new(
        app.pool.clone(),
        smtp::smtp(),
        cohorte::mail::sender(&app.config.mail).unwrap(),
    );
    d.planner = Some(cohorte::jobs::AppHooks::new(mail_context(app)).planner());
    d.run_once(Utc::now()).unwrap();
}

/// The rows of `kind`, sent, with their Message-ID and recipient, oldest first.
fn sent(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    let mut conn = app.pool.get().unwrap();
    outbox_emails::table
        .filter(outbox_emails::kind.eq(kind))
        .order(outbox_emails::created_at.asc())
        .select((
            outbox_emails::message_id.assume_not_null(),
            outbox_emails::recipient_email,
        ))
        .filter(outbox_emails::status.eq("sent"))
        .load(&mut conn)
        .unwrap()
}

/// A received message: To, subject, text, and its `text/calendar` part if any (METHOD of
/// the part, and the event's properties read with the icalendar crate's parser).
struct Received {
    to: String,
    subject: String,
    text: String,
    invite: Option<(String, Vec<(String, String)>)>,
}

fn received(message_id: &str) -> Received {
    use mail_parser::{MessageParser, MimeHeaders, PartType};
    let raw = smtp::received(message_id);
    let message = MessageParser::default()
        .parse(&raw)
        .expect("a MIME message");
    let invite = message
        .parts
        .iter()
        .find(|p| {
            p.content_type()
                .is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("calendar"))
        })
        .map(|part| {
            let part_method = part.content_type().unwrap().attribute("method").unwrap();
            let ics = match &part.body {
                PartType::Text(t) => t.to_string(),
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    String::from_utf8(b.to_vec()).unwrap()
                }
                other => panic!("unexpected calendar body {other:?}"),
            };
            let unfolded = icalendar::parser::unfold(&ics);
            let calendar = icalendar::parser::read_calendar(&unfolded).expect("valid iCalendar");
            let method = calendar
                .properties
                .iter()
                .find(|p| p.name == "METHOD")
                .map(|p| p.val.to_string())
                .expect("a METHOD");
            assert_eq!(part_method, method);
            assert_eq!(calendar.components.len(), 1, "one event");
            let props = calendar.components[0]
                .properties
                .iter()
                .map(|p| (p.name.to_string(), p.val.to_string()))
                .collect();
            (method, props)
        });
    Received {
        to: message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string(),
        subject: message.subject().unwrap_or_default().to_string(),
        text: message.body_text(0).unwrap().replace("\r\n", "\n"),
        invite,
    }
}

fn prop<'a>(props: &'a [(String, String)], name: &str) -> &'a str {
    &props
        .iter()
        .find(|p| p.0 == name)
        .unwrap_or_else(|| panic!("no {name} in {props:?}"))
        .1
}

#[actix_web::test]
async fn the_ack_reaches_both_addresses_without_typed_text_and_its_private_link_opens() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte Landes 2027").await;
    let public = app.open_call(&cohort).await;
    let fields = application_form(&[
        ("director_email", "zoe.smtp@amis.test"),
        ("board_email", "paul.smtp@amis.test"),
    ]);
    app.post_public(&public, &fields).await.expect(200);
    dispatch(&app);
    let acks = sent(&app, "application_ack");
    assert_eq!(acks.len(), 2, "one ack per address, both sent");
    let mut to = Vec::new();
    for (message_id, recipient) in &acks {
        let m = received(message_id);
        assert_eq!(&m.to, recipient);
        to.push(m.to.clone());
        assert!(m.subject.contains("Cohorte Landes 2027"), "{}", m.subject);
        for typed in [
            "Les Amis",
            "Zoé",
            "Paul",
            "XYZZY",
            "Bordeaux",
            "Culture",
            "Directrice",
        ] {
            assert!(
                !m.text.contains(typed) && !m.subject.contains(typed),
                "the ack repeats « {typed} »:\n{}",
                m.text
            );
        }
        assert!(m.invite.is_none(), "no meeting, no invite");
        let link = edit_link(&m.text);
        let page = app
            .send_raw(TestRequest::get().uri(&link))
            .await
            .expect(200);
        assert!(page.text().contains("value=\"Les Amis du Quartier\""));
    }
    to.sort();
    assert_eq!(to, ["paul.smtp@amis.test", "zoe.smtp@amis.test"]);
}

/// Sets the call's meeting from its page, keeping the rest of the form as shown.
async fn set_meeting(app: &TestApp, cohort: &str, changes: &[(&str, &str)]) -> common::Response {
    let action = format!("/cohortes/{cohort}/appel");
    let page = app.get(&action).await.expect(200).text();
    let mut fields = common::form_of(&page, &action);
    for (k, v) in changes {
        match fields.iter_mut().find(|(f, _)| f == k) {
            Some(f) => f.1 = v.to_string(),
            None => fields.push((k.to_string(), v.to_string())),
        }
    }
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post_form(&action, &fields).await
}

#[actix_web::test]
async fn the_meeting_invite_its_update_and_its_cancel_reach_applicants_not_withdrawn() {
    use cohorte::domain::{calendar, fr};
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte Dordogne 2027").await;
    let public = app.open_call(&cohort).await;

    // Two applications; the second withdraws.
    app.post_public(&public, &application_form(&[]))
        .await
        .expect(200);
    app.post_public(
        &public,
        &application_form(&[
            ("director_email", "ana@retrait.test"),
            ("board_email", "bob@retrait.test"),
        ]),
    )
    .await
    .expect(200);
    let ack = acks(&app, "application_ack")
        .into_iter()
        .find(|r| r.1 == "ana@retrait.test")
        .unwrap();
    let link = private_link(&app, &ack.0);
    app.post_public(&format!("{link}/retirer"), &[])
        .await
        .expect(200);

    // The meeting: in 20 days at 9 h 30, Paris.
    let day = (Utc::now() + Duration::days(20)).date_naive();
    let day_text = day.format("%Y-%m-%d").to_string();
    let start = calendar::paris_to_utc(day.and_hms_opt(9, 30, 0).unwrap()).unwrap();
    // A refused field comes back beside it, nothing queued.
    let refused = set_meeting(
        &app,
        &cohort,
        &[
            ("meeting_date", &day_text),
            ("meeting_time", "9h30"),
            ("meeting_duration", "5"),
        ],
    )
    .await;
    assert_eq!(refused.status.as_u16(), 422);
    let html = refused.text();
    assert!(common::around_field(&html, "meeting_duration").contains("f-meeting_duration-error"));
    assert!(common::around_field(&html, "meeting_location").contains("f-meeting_location-error"));
    assert!(acks(&app, "meeting_invite").is_empty());

    set_meeting(
        &app,
        &cohort,
        &[
            ("meeting_date", &day_text),
            ("meeting_time", "9h30"),
            ("meeting_duration", "90"),
            ("meeting_location", "Maison des associations, Périgueux"),
        ],
    )
    .await
    .expect(303);
    dispatch(&app);
    let invites = sent(&app, "meeting_invite");
    let mut to: Vec<&str> = invites.iter().map(|r| r.1.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        ["paul@amis.test", "zoe@amis.test"],
        "not to the withdrawn"
    );
    let when = fr::time_range(start, start + Duration::minutes(90));
    assert!(when.contains("9\u{a0}h\u{a0}30"), "{when}");
    let uid = format!("meeting-{cohort}@cohorte");
    for (message_id, recipient) in &invites {
        let m = received(message_id);
        assert_eq!(&m.to, recipient);
        assert!(m.text.contains(&when), "{}", m.text);
        let (method, props) = m.invite.expect("an invite");
        assert_eq!(method, "REQUEST");
        assert_eq!(prop(&props, "UID"), uid);
        assert_eq!(prop(&props, "SEQUENCE"), "0");
        assert_eq!(
            prop(&props, "DTSTART"),
            start.format("%Y%m%dT%H%M%SZ").to_string()
        );
        assert_eq!(
            prop(&props, "LOCATION"),
            "Maison des associations, Périgueux"
        );
        assert!(prop(&props, "ATTENDEE").ends_with(recipient.as_str()));
    }

    // A new place: an update, SEQUENCE 1, with the new LOCATION.
    set_meeting(
        &app,
        &cohort,
        &[("meeting_location", "Salle Montaigne, Bergerac")],
    )
    .await
    .expect(303);
    // An application received now gets the invite as it stands, beside its ack.
    app.post_public(
        &public,
        &application_form(&[
            ("director_email", "late@tard.test"),
            ("board_email", "board@tard.test"),
        ]),
    )
    .await
    .expect(200);
    dispatch(&app);
    let updates = sent(&app, "meeting_updated");
    assert_eq!(updates.len(), 2, "{updates:?}");
    for (message_id, _) in &updates {
        let m = received(message_id);
        assert!(m.text.contains("Salle Montaigne"), "{}", m.text);
        assert!(
            m.text.contains("Maison des associations"),
            "the old place: {}",
            m.text
        );
        let (method, props) = m.invite.unwrap();
        assert_eq!(method, "REQUEST");
        assert_eq!(prop(&props, "UID"), uid);
        assert_eq!(prop(&props, "SEQUENCE"), "1");
        assert_eq!(prop(&props, "LOCATION"), "Salle Montaigne, Bergerac");
    }
    let late = sent(&app, "meeting_invite")
        .into_iter()
        .find(|r| r.1 == "late@tard.test")
        .expect("the late applicant's invite");
    let (_, props) = received(&late.0).invite.unwrap();
    assert_eq!(prop(&props, "SEQUENCE"), "1");
    assert_eq!(prop(&props, "LOCATION"), "Salle Montaigne, Bergerac");
    let late_ack = sent(&app, "application_ack")
        .into_iter()
        .find(|r| r.1 == "late@tard.test")
        .unwrap();
    assert!(
        received(&late_ack.0).text.contains(&when),
        "the ack names the meeting"
    );

    // The late applicant withdraws: the meeting leaves their calendar alone (a CANCEL at
    // the SEQUENCE they hold), the others keep it.
    let late_row = acks(&app, "application_ack")
        .into_iter()
        .find(|r| r.1 == "late@tard.test")
        .unwrap();
    let late_link = private_link(&app, &late_row.0);
    app.post_public(&format!("{late_link}/retirer"), &[])
        .await
        .expect(200);
    dispatch(&app);
    let left = sent(&app, "meeting_cancelled");
    let mut to: Vec<&str> = left.iter().map(|r| r.1.as_str()).collect();
    to.sort();
    assert_eq!(to, ["board@tard.test", "late@tard.test"], "{left:?}");
    for (message_id, _) in &left {
        let m = received(message_id);
        assert!(m.text.contains("retiré"), "{}", m.text);
        let (method, props) = m.invite.unwrap();
        assert_eq!(method, "CANCEL");
        assert_eq!(prop(&props, "UID"), uid);
        assert_eq!(prop(&props, "SEQUENCE"), "1");
    }

    // Removed: a CANCEL, SEQUENCE 2, to everyone not withdrawn.
    set_meeting(&app, &cohort, &[("meeting_date", ""), ("meeting_time", "")])
        .await
        .expect(303);
    dispatch(&app);
    let cancels: Vec<(String, String)> = sent(&app, "meeting_cancelled")
        .into_iter()
        .filter(|r| !left.contains(r))
        .collect();
    let mut to: Vec<&str> = cancels.iter().map(|r| r.1.as_str()).collect();
    to.sort();
    assert_eq!(to, ["paul@amis.test", "zoe@amis.test"]);
    for (message_id, _) in &cancels {
        let (method, props) = received(message_id).invite.unwrap();
        assert_eq!(method, "CANCEL");
        assert_eq!(prop(&props, "UID"), uid);
        assert_eq!(prop(&props, "SEQUENCE"), "2");
        assert_eq!(prop(&props, "STATUS"), "CANCELLED");
    }
    assert_eq!(
        smtp::count_to("ana@retrait.test"),
        2,
        "ack and withdrawal only"
    );
}

// --- The API -------------------------------------------------------------------------

#[actix_web::test]
async fn the_call_api_opens_reads_changes_and_revokes_the_call() {
    use serde_json::json;
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte API").await;
    let uri = format!("/api/v1/cohorts/{cohort}/call");
    app.get(&uri).await.expect(404).api_error("not_found");

    let closes = (Utc::now() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    // Refused fields, each named; nothing created.
    let bad = app
        .put_json(
            &uri,
            json!({"closes_on": "2001-01-01", "meeting_date": "demain", "meeting_time": "9h30", "meeting_duration": 90, "meeting_video_link": "ftp://x"}),
        )
        .await
        .expect(422);
    let fields = &bad.api_error("validation_failed")["fields"];
    for f in ["closes_on", "meeting_date", "meeting_video_link"] {
        assert!(fields.get(f).is_some(), "{f} in {fields}");
    }
    app.get(&uri).await.expect(404);

    // Opened without a version: 201, with its public link.
    let created = app
        .put_json(
            &uri,
            json!({"closes_on": closes, "presentation": "Quatre séances."}),
        )
        .await
        .expect(201)
        .json();
    let url = created["url"].as_str().unwrap().to_string();
    assert!(url.contains("/candidature/"), "{url}");
    assert_eq!(created["open"], true);
    let got = app.get(&uri).await.expect(200).json();
    assert_eq!(got["url"], url.as_str());
    assert_eq!(got["version"], 1);

    // A change needs the version read; a stale one is a 409; fields left out are kept.
    app.put_json(&uri, json!({"presentation": "Autre"}))
        .await
        .expect(422)
        .api_error("validation_failed");
    let day = (Utc::now() + Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let changed = app
        .put_json(
            &uri,
            json!({"version": 1, "meeting_date": day, "meeting_time": "18:00", "meeting_duration": "60", "meeting_video_link": "https://visio.test/dla"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(changed["presentation"], "Quatre séances.");
    assert_eq!(changed["meeting_time"], "18:00");
    assert_eq!(changed["meeting_duration"], "60");
    assert_eq!(changed["meeting_sequence"], 0);
    assert!(changed["meeting_starts_at"].is_string());
    app.put_json(&uri, json!({"version": 1, "presentation": "Trop tard"}))
        .await
        .expect(409);
    // What GET gave may be sent back with a change.
    let mut back = app.get(&uri).await.expect(200).json();
    back["meeting_time"] = json!("18:30");
    let moved = app.put_json(&uri, back).await.expect(200).json();
    assert_eq!(
        moved["meeting_sequence"], 1,
        "a changed meeting raises the SEQUENCE"
    );

    // DELETE revokes the link at once; POST …/link draws a new one.
    let revoked = app
        .send(TestRequest::delete().uri(&uri))
        .await
        .expect(200)
        .json();
    assert!(revoked["url"].is_null());
    let path = &url[url.find("/candidature/").unwrap()..];
    app.send_raw(TestRequest::get().uri(path)).await.expect(404);
    let fresh = app
        .post_json(&format!("{uri}/link"), json!({}))
        .await
        .expect(200)
        .json();
    let new_url = fresh["url"].as_str().unwrap();
    assert_ne!(new_url, url);
    let new_path = &new_url[new_url.find("/candidature/").unwrap()..];
    app.send_raw(TestRequest::get().uri(new_path))
        .await
        .expect(200);
}
