//! E-mails queued by changes to sessions of a published programme: a move queues the
//! `session_moved` notice with an updated invite, a deletion the `session_cancelled` notice
//! with a CANCEL, each in the transaction of the change, to every participant the session
//! concerns who already received its convocation.

mod common;

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use cohorte::models::outbox::{self, FullEmail};
use common::{TestApp, spawn};

fn sessions_of(generated: &Value) -> Vec<Value> {
    generated["sessions"].as_array().expect("sessions").clone()
}

fn rows(app: &TestApp, cohort_id: &str, kind: &str) -> Vec<FullEmail> {
    outbox::list_for_cohort(&mut app.pool.get().unwrap(), cohort_id)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .collect()
}

async fn move_to(app: &TestApp, id: &str, date: &str) -> Value {
    app.post_json(
        &format!("/api/v1/sessions/{id}/move"),
        json!({"date": date, "start_time": "10:00", "avoid_non_working_days": true}),
    )
    .await
    .expect(200)
    .json()
}

/// Publishes the programme and sends the convocations (to files), as at publication.
async fn publish_and_convoke(app: &TestApp, cohort: &str) {
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let dir = tempfile::tempdir().unwrap();
    let d = cohorte::jobs::Dispatcher::new(
        app.pool.clone(),
        cohorte::mail::Transport::file(dir.path()),
        cohorte::mail::sender(&app.config.mail).unwrap(),
    );
    let stats = d.run_once(chrono::Utc::now()).unwrap();
    assert!(stats.sent > 0, "{stats:?}");
}

fn sorted_recipients(rows: &[&FullEmail]) -> Vec<String> {
    let mut r: Vec<String> = rows.iter().map(|r| r.recipient_email.clone()).collect();
    r.sort();
    r
}

#[actix_web::test]
async fn moving_a_collective_session_queues_an_updated_invite_per_participant_each_time() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let intro = sessions_of(&generated)
        .into_iter()
        .find(|s| s["kind"] == "introductive")
        .expect("introductive");
    let id = intro["id"].as_str().unwrap();
    publish_and_convoke(&app, &cohort).await;
    assert!(rows(&app, &cohort, "session_moved").is_empty());

    // Tuesday 2 February 2027, a working day.
    let first = move_to(&app, id, "2027-02-02").await;
    let seq1 = first["session"]["sequence"].as_i64().unwrap() as i32;
    let queued = rows(&app, &cohort, "session_moved");
    assert_eq!(queued.len(), 4, "2 associations × 2 participants");
    for r in &queued {
        assert_eq!(r.item_id, id);
        assert_eq!(r.revision, seq1);
        assert_eq!(r.status, "scheduled");
        assert_eq!(r.ics_method.as_deref(), Some("REQUEST"));
        assert!(r.participant_id.is_some());
        let ics = r.ics.as_deref().unwrap();
        assert!(ics.contains("METHOD:REQUEST\r\n"), "{ics}");
        assert!(ics.contains(&format!("UID:{id}@cohorte\r\n")), "{ics}");
        assert!(ics.contains(&format!("SEQUENCE:{seq1}\r\n")), "{ics}");
        assert!(r.subject.starts_with("Session déplacée"), "{}", r.subject);
        assert!(
            r.body_text.contains(cohorte::models::outbox::SIGN_IN_LINK),
            "{}",
            r.body_text
        );
    }
    let distinct: std::collections::BTreeSet<_> =
        queued.iter().map(|r| r.recipient_email.clone()).collect();
    assert_eq!(distinct.len(), 4);

    // Wednesday 3 February: a second notice per participant, at the new revision.
    let second = move_to(&app, id, "2027-02-03").await;
    let seq2 = second["session"]["sequence"].as_i64().unwrap() as i32;
    assert_eq!(seq2, seq1 + 1);
    let queued = rows(&app, &cohort, "session_moved");
    assert_eq!(queued.len(), 8);
    let newer: Vec<_> = queued.iter().filter(|r| r.revision == seq2).collect();
    let older: Vec<_> = queued.iter().filter(|r| r.revision == seq1).collect();
    assert_eq!((newer.len(), older.len()), (4, 4));
    assert_eq!(sorted_recipients(&newer), sorted_recipients(&older));
    // The older notices had not left yet: replaced by the newer ones.
    assert!(older.iter().all(|r| r.status == "cancelled"));
    for r in newer {
        assert!(
            r.ics
                .as_deref()
                .unwrap()
                .contains(&format!("SEQUENCE:{seq2}\r\n"))
        );
    }
}

#[actix_web::test]
async fn a_refused_move_queues_nothing() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let intro = sessions_of(&generated)
        .into_iter()
        .find(|s| s["kind"] == "introductive")
        .unwrap();
    let id = intro["id"].as_str().unwrap();
    // Ascension Day 2027.
    app.post_json(
        &format!("/api/v1/sessions/{id}/move"),
        json!({"date": "2027-05-06", "start_time": "10:00", "avoid_non_working_days": true}),
    )
    .await
    .expect(422);
    assert!(
        outbox::list_for_cohort(&mut app.pool.get().unwrap(), &cohort)
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn deleting_a_bilan_cancels_it_for_its_association_only() {
    let app = spawn().await;
    let (cohort, associations) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let bilan = sessions_of(&generated)
        .into_iter()
        .find(|s| s["kind"] == "bilan_individuel" && s["association_id"] == associations[0])
        .expect("a bilan for the first association");
    let id = bilan["id"].as_str().unwrap();
    publish_and_convoke(&app, &cohort).await;
    let sequence = bilan["sequence"].as_i64().unwrap() as i32;

    app.send(TestRequest::delete().uri(&format!("/api/v1/sessions/{id}")))
        .await
        .expect(204);

    let queued = rows(&app, &cohort, "session_cancelled");
    assert_eq!(queued.len(), 2, "the two participants of that association");
    let participants = app
        .get(&format!(
            "/api/v1/associations/{}/participants",
            associations[0]
        ))
        .await
        .expect(200)
        .json();
    let mut expected: Vec<String> = participants
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect();
    expected.sort();
    assert_eq!(
        sorted_recipients(&queued.iter().collect::<Vec<_>>()),
        expected
    );
    for r in &queued {
        assert_eq!(r.item_id, id);
        assert_eq!(r.revision, sequence + 1);
        assert_eq!(r.status, "scheduled");
        assert_eq!(r.ics_method.as_deref(), Some("CANCEL"));
        let ics = r.ics.as_deref().unwrap();
        assert!(ics.contains("METHOD:CANCEL\r\n"), "{ics}");
        assert!(ics.contains(&format!("UID:{id}@cohorte\r\n")), "{ics}");
        assert!(
            ics.contains(&format!("SEQUENCE:{}\r\n", sequence + 1)),
            "{ics}"
        );
    }
    assert!(rows(&app, &cohort, "session_moved").is_empty());
}
