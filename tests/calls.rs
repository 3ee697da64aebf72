//! Calls for applications (issue #14): the staff page, the public form, the
//! acknowledgement, the private link, the abuse limits and the retention purge, through
//! HTTP on a real database.

mod common;

use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use common::{TestApp, spawn, spawn_with};
use diesel::prelude::*;

use cohorte::db::schema::{applications, call_attempts, calls, outbox_emails};

/// Opens the cohort's call from its page (as the administrator); returns the public path.
async fn open_call(app: &TestApp, cohort_id: &str) -> String {
    let closes = (Utc::now() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    app.post_form(
        &format!("/cohortes/{cohort_id}/appel"),
        &[
            ("closes_on", closes.as_str()),
            ("presentation", "Quatre séances."),
        ],
    )
    .await
    .expect(303);
    let page = app
        .get(&format!("/cohortes/{cohort_id}/appel"))
        .await
        .expect(200);
    let html = page.text();
    let start = html.find("/candidature/").expect("public link shown");
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

fn form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Les Amis du Quartier"),
        ("rna", "W332004518"),
        ("town", "Bordeaux"),
        ("creation_year", "2015"),
        ("salaried_staff", "4"),
        ("fte", "2,5"),
        ("volunteers", "30"),
        ("sector", "Culture"),
        ("general_interest", "on"),
        ("director_name", "Zoé Martin"),
        ("director_function", "Directrice"),
        ("director_email", "zoe@amis.test"),
        ("board_name", "Paul Durand"),
        ("board_function", "Président"),
        ("board_email", "paul@amis.test"),
        ("motivation", "Motivation secrète XYZZY"),
        ("available_all", "on"),
        ("consent_data", "on"),
        ("site_web", ""),
    ];
    for (k, v) in overrides {
        match fields.iter_mut().find(|(f, _)| f == k) {
            Some(f) => f.1 = v,
            None => fields.push((k, v)),
        }
    }
    fields
}

async fn post_public(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> common::Response {
    app.send_raw(TestRequest::post().uri(path).set_form(fields))
        .await
}

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
    let public = open_call(&app, &cohort).await;

    // The form, anonymous.
    let page = app
        .send_raw(TestRequest::get().uri(&public))
        .await
        .expect(200);
    assert!(page.text().contains("Envoyer la candidature"));

    // A refused field: the form again, everything kept, the message beside the field.
    let refused = post_public(&app, &public, &form(&[("siret", "123"), ("rna", "")])).await;
    assert_eq!(refused.status.as_u16(), 422);
    let html = refused.text();
    let around = common::around_field(&html, "siret");
    assert!(around.contains("aria-invalid=\"true\""), "{around}");
    assert!(around.contains("f-siret-error"), "{around}");
    assert!(html.contains("value=\"Les Amis du Quartier\""));
    assert!(html.contains("Motivation secrète XYZZY"));
    assert!(acks(&app, "application_ack").is_empty());

    // Accepted: one acknowledgement per address, none repeating what was typed.
    post_public(&app, &public, &form(&[])).await.expect(200);
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
    let link = edit_link(&body(&app, &rows[0].0));

    // The private link shows the application and takes a change.
    let own = app
        .send_raw(TestRequest::get().uri(&link))
        .await
        .expect(200);
    assert!(own.text().contains("Les Amis du Quartier"));
    post_public(
        &app,
        &link,
        &form(&[("town", "Mérignac"), ("version", "1")]),
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
    post_public(&app, &link, &form(&[("version", "2")]))
        .await
        .expect(409);
}

#[actix_web::test]
async fn a_closed_call_and_a_revoked_link_take_no_application() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte close").await;
    let public = open_call(&app, &cohort).await;
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
    post_public(&app, &public, &form(&[])).await.expect(410);
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
    post_public(&app, &public, &form(&[])).await.expect(404);
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
    let public = open_call(&app, &cohort).await;
    let page = post_public(&app, &public, &form(&[("site_web", "http://spam.test")]))
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
    let public = open_call(&app, &cohort).await;
    post_public(&app, &public, &form(&[])).await.expect(200);
    // The same director's address again: refused beside that field.
    let again = post_public(&app, &public, &form(&[("board_email", "autre@amis.test")])).await;
    assert_eq!(again.status.as_u16(), 422);
    assert!(common::around_field(&again.text(), "director_email").contains("accusés de réception"));
    let ok = post_public(
        &app,
        &public,
        &form(&[
            ("director_email", "a2@amis.test"),
            ("board_email", "b2@amis.test"),
        ]),
    )
    .await;
    ok.expect(200);
    post_public(
        &app,
        &public,
        &form(&[
            ("director_email", "a3@amis.test"),
            ("board_email", "b3@amis.test"),
        ]),
    )
    .await
    .expect(200);
    let throttled = post_public(
        &app,
        &public,
        &form(&[
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
    let public = open_call(&app, &cohort).await;
    let huge = "x".repeat(40 * 1024);
    let res = post_public(&app, &public, &form(&[("motivation", huge.as_str())])).await;
    assert_eq!(res.status.as_u16(), 413);
}

#[actix_web::test]
async fn applications_not_retained_are_purged_months_after_the_closing() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte purge").await;
    let public = open_call(&app, &cohort).await;
    post_public(&app, &public, &form(&[])).await.expect(200);
    post_public(
        &app,
        &public,
        &form(&[
            ("name", "Retenue"),
            ("director_email", "r@amis.test"),
            ("board_email", "s@amis.test"),
        ]),
    )
    .await
    .expect(200);
    let mut conn = app.pool.get().unwrap();
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
    // Its emails and its rate-limit rows went with it.
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
