//! The dashboards, on the demo cohort with some logged time and attendance: the figures,
//! the SVG charts (drawn from computed geometry, escaped like any text), the attendance and
//! homework matrices, and the DLA overview.

mod common;

use std::sync::Arc;

use diesel::prelude::*;

use cohorte::db::schema::{attendances, time_entries};
use common::spawn;

#[actix_web::test]
async fn the_cohort_dashboard_shows_days_charts_and_matrices() {
    let app = spawn().await;
    let today = cohorte::models::programme::today();
    let id = {
        let mut conn = app.pool.get().unwrap();
        let mail = cohorte::models::outbox::MailContext::new(
            &app.config,
            Arc::new(cohorte::templates::build("").unwrap()),
        );
        cohorte::demo::load(
            &mut conn,
            &app.config.programme,
            app.config.calendar.alsace_moselle,
            today,
            &mail,
        )
        .unwrap()
    };
    let sessions = app
        .get(&format!("/api/v1/cohorts/{id}/sessions"))
        .await
        .expect(200)
        .json();
    let intro = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "introductive")
        .unwrap()
        .clone();
    let sid = intro["id"].as_str().unwrap().to_string();
    {
        let mut conn = app.pool.get().unwrap();
        let now = chrono::Utc::now().naive_utc();
        // Two days logged, in half-days and in hours (7 h = 1 day).
        for (i, (half_days, minutes)) in [(Some(2), None), (None, Some(420))].iter().enumerate() {
            diesel::insert_into(time_entries::table)
                .values((
                    time_entries::id.eq(format!("entry-{i}")),
                    time_entries::cohort_id.eq(&id),
                    time_entries::entry_date.eq(today - chrono::Duration::days(30)),
                    time_entries::kind.eq("animation_collective"),
                    time_entries::half_days.eq(half_days),
                    time_entries::minutes.eq(minutes),
                    time_entries::comment.eq(""),
                    time_entries::version.eq(1),
                    time_entries::created_at.eq(now),
                    time_entries::updated_at.eq(now),
                ))
                .execute(&mut conn)
                .unwrap();
        }
        let ids: Vec<String> = cohorte::models::association::list_for_cohort(&mut conn, &id)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        let people = cohorte::models::participant::list_for_associations(&mut conn, &ids).unwrap();
        for (i, p) in people.iter().enumerate() {
            diesel::insert_into(attendances::table)
                .values((
                    attendances::session_id.eq(&sid),
                    attendances::participant_id.eq(&p.id),
                    attendances::half_day.eq(1),
                    attendances::status.eq(if i == 0 { "absent" } else { "present" }),
                    attendances::updated_at.eq(now),
                ))
                .execute(&mut conn)
                .unwrap();
        }
    }

    let page = app
        .get(&format!("/cohortes/{id}/tableau-de-bord"))
        .await
        .expect(200)
        .text();
    // 8 associations: 12 days by default; 2 days logged.
    assert!(page.contains("12\u{a0}jours"), "contract shown");
    assert!(page.contains("2\u{a0}jours"), "logged shown");
    assert!(page.contains("<polyline points=\""), "burn chart drawn");
    assert!(page.contains("class=\"mark session"), "timeline drawn");
    assert!(page.contains("aria-labelledby=\"burn-svg-title burn-svg-desc\""));
    assert!(
        page.contains(">1/1<"),
        "a participant present at the introduction"
    );
    assert!(page.contains(">0/1<"), "the absent one");
    assert!(page.contains("en retard") || page.contains("rendu le"));
    assert!(!page.contains("<script"), "no script, CSP-friendly");

    // The DLA overview lists the cohort with its days.
    let cohort = app
        .get(&format!("/api/v1/cohorts/{id}"))
        .await
        .expect(200)
        .json();
    let dla = cohort["dla_id"].as_str().unwrap();
    let overview = app.get(&format!("/dla/{dla}")).await.expect(200).text();
    assert!(overview.contains(&format!("/cohortes/{id}/tableau-de-bord")));
    assert!(overview.contains("porteur"));
    assert!(
        overview.contains("2\u{a0}jours / 12\u{a0}jours"),
        "{overview}"
    );
    // The partner DLA sees it too, as a partner.
    let partner = cohort["partner_dla_ids"][0].as_str().unwrap();
    let shared = app.get(&format!("/dla/{partner}")).await.expect(200).text();
    assert!(shared.contains("partenaire"));
    app.get("/dla/inconnu").await.expect(404);
    app.get("/cohortes/inconnue/tableau-de-bord")
        .await
        .expect(404);
}
