//! The dashboards, on the demo cohort (mid-way: logged time, attendance): the figures,
//! the SVG charts (drawn from computed geometry, escaped like any text), the attendance and
//! homework matrices, and the DLA overview.

mod common;

use std::sync::Arc;

use cohorte::domain::budget::DayLength;
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
    let page = app
        .get(&format!("/cohortes/{id}/tableau-de-bord"))
        .await
        .expect(200)
        .text();
    // The demo's contract (12 days) and the time it logged, as the budget counts it.
    let budget = app
        .get(&format!("/api/v1/cohorts/{id}/budget"))
        .await
        .expect(200)
        .json();
    let logged = budget["totals"]["logged_minutes"].as_i64().unwrap();
    assert!(logged > 0, "the demo logs time");
    let logged = DayLength::STANDARD.format_days(logged);
    assert!(page.contains("12\u{a0}jours"), "contract shown");
    assert!(page.contains(&logged), "logged shown: {logged}");
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
