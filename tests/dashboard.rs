//! The dashboards, on the demo cohort (mid-way: logged time, attendance): the figures,
//! the SVG charts (drawn from computed geometry, escaped like any text), the attendance and
//! homework matrices, and the DLA overview.

mod common;

use actix_web::test::TestRequest;
use std::sync::Arc;

use cohorte::domain::budget::DayLength;
use common::spawn;

#[actix_web::test]
async fn the_cohort_dashboard_shows_days_charts_and_matrices() {
    let app = spawn().await;
    let today = cohorte::models::programme::today(chrono::Utc::now());
    let id = {
        let mut conn = app.pool.get().unwrap();
        let mail = cohorte::models::outbox::MailContext::new(
            &app.config,
            Arc::new(cohorte::templates::build("").unwrap()),
        );
        common::write(&mut conn, |tx| {
            cohorte::demo::load(
                tx,
                &app.config.programme,
                app.config.calendar.alsace_moselle,
                today,
                &mail,
            )
        })
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

/// The DLA overview reads a page of cohorts in a fixed number of queries and shows, for
/// each, what the cohort's own overview and budget say (`dashboard::dla_line`, one cohort
/// at a time, is the reference): same figures, warnings, next session and role, in the
/// same order, whatever the page size.
#[actix_web::test]
async fn the_dla_overview_shows_the_per_cohort_figures_in_a_bounded_number_of_queries() {
    use diesel::Connection as _;
    use diesel::connection::InstrumentationEvent;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let app = spawn().await;
    let today = cohorte::models::programme::today(chrono::Utc::now());
    let demo = {
        let mut conn = app.pool.get().unwrap();
        let mail = cohorte::models::outbox::MailContext::new(
            &app.config,
            Arc::new(cohorte::templates::build("").unwrap()),
        );
        common::write(&mut conn, |tx| {
            cohorte::demo::load(
                tx,
                &app.config.programme,
                app.config.calendar.alsace_moselle,
                today,
                &mail,
            )
        })
        .unwrap()
    };
    let cohort = app
        .get(&format!("/api/v1/cohorts/{demo}"))
        .await
        .expect(200)
        .json();
    let dla = cohort["dla_id"].as_str().unwrap().to_string();
    let partner = cohort["partner_dla_ids"][0].as_str().unwrap().to_string();
    // A generated programme with three associations, its contract recorded and split
    // between two funders; a draft with nothing; one the partner runs and shares.
    let alpha = app.create_cohort(&dla, "Alpha").await;
    for name in ["Les Amis du Quai", "Velo Cite Bordeaux", "Radio Garonne"] {
        app.enrol(&alpha, name).await;
    }
    app.generate(&alpha).await;
    let read = app
        .get(&format!("/api/v1/cohorts/{alpha}/budget"))
        .await
        .expect(200)
        .json();
    app.put_json(
        &format!("/api/v1/cohorts/{alpha}/budget"),
        serde_json::json!({
            "contract": {"contracted_days": "4", "day_rate": "700", "version": "0"},
            "funders": {"funders": [
                {"name": "Région", "share": "60"},
                {"name": "Département", "share": "40"},
            ], "version": read["funders_version"]},
        }),
    )
    .await
    .expect(200);
    app.create_cohort(&dla, "Bêta").await;
    let shared = app
        .post_json(
            "/api/v1/cohorts",
            serde_json::json!({
                "dla_id": partner, "partner_dla_ids": [dla], "name": "Gamma",
                "territory": "Libournais", "approach": "reseau",
                "start_date": "2026-09-07", "status": "en_cours",
            }),
        )
        .await
        .expect(201)
        .id();
    app.enrol(&shared, "Theatre du Port").await;
    app.generate(&shared).await;
    // An association with nobody of either role, and one with only its board: with the
    // demo's (director alone) and the enrolled ones (both), every combination of roles. Each
    // reached through a creation, a change and a deletion of participants (the facts the
    // overview reads are kept on the association by each of them).
    let person = |name: &str, email: &str, role: &str| serde_json::json!({"name": name, "email": email, "role": role, "function": "Président"});
    for (name, board) in [("Sans personne", false), ("Bureau seul", true)] {
        let id = app
            .post_json(
                &format!("/api/v1/cohorts/{shared}/associations"),
                serde_json::json!({"name": name, "town": "Bordeaux", "sector": "Culture",
                    "creation_year": 2010, "salaried_staff": 2, "general_interest": true}),
            )
            .await
            .expect(201)
            .id();
        let participants = format!("/api/v1/associations/{id}/participants");
        if board {
            app.post_json(
                &participants,
                person("Paul Mercier", "paul.mercier@bureau-seul.fr", "gouvernance"),
            )
            .await
            .expect(201);
        }
        // A director who leaves.
        let director = app
            .post_json(
                &participants,
                person("Inès Morel", "ines.morel@exemple.fr", "direction"),
            )
            .await
            .expect(201)
            .id();
        app.send(TestRequest::delete().uri(&format!("/api/v1/participants/{director}")))
            .await
            .expect(204);
        // A director who becomes a volunteer.
        let created = app
            .post_json(
                &participants,
                person("Léa Girard", "lea.girard@exemple.fr", "direction"),
            )
            .await
            .expect(201)
            .json();
        let mut changed = person("Léa Girard", "lea.girard@exemple.fr", "autre");
        changed["version"] = created["version"].to_string().into();
        app.put_json(
            &format!("/api/v1/participants/{}", created["id"].as_str().unwrap()),
            changed,
        )
        .await
        .expect(200);
    }

    let (template, am) = (&app.config.programme, app.config.calendar.alsace_moselle);
    let now = chrono::Utc::now().naive_utc();
    let mut conn = app.pool.get().unwrap();
    // The roles the overview asks of SQL are those the cohort's pages find among its
    // participants.
    let mut seen = std::collections::BTreeSet::new();
    for cohort in [&demo, &alpha, &shared] {
        use cohorte::models::{association, participant};
        let participants = participant::list_for_cohort(&mut conn, cohort).unwrap();
        let profiles = association::profiles_for_cohorts(&mut conn, &[cohort.to_string()]).unwrap();
        for a in association::list_for_cohort(&mut conn, cohort).unwrap() {
            let asked = profiles.iter().find(|p| p.id == a.id).unwrap();
            let found = a.profile(&participants);
            let roles = (asked.has_director, asked.has_governance);
            assert_eq!(
                roles,
                (found.has_director, found.has_governance),
                "{}",
                a.name
            );
            seen.insert(roles);
        }
    }
    assert_eq!(seen.len(), 4, "every combination of roles: {seen:?}");
    let queries = Arc::new(AtomicUsize::new(0));
    let counter = queries.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if matches!(event, InstrumentationEvent::StartQuery { .. }) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    for who in [&dla, &partner] {
        assert!(cohorte::models::dashboard::dla_count(&mut conn, who).unwrap() >= 2);
        queries.store(0, Ordering::SeqCst);
        let page =
            cohorte::models::dashboard::dla(&mut conn, who, template, am, now, 50, 0).unwrap();
        let bounded = queries.load(Ordering::SeqCst);
        let one = cohorte::models::dashboard::dla(&mut conn, who, template, am, now, 1, 0).unwrap();
        assert_eq!(
            queries.load(Ordering::SeqCst) - bounded,
            bounded,
            "the same queries for one cohort as for {}",
            page.len()
        );
        assert_eq!(one[..], page[..1]);
        let reference: Vec<_> = page
            .iter()
            .map(|line| {
                cohorte::models::dashboard::dla_line(&mut conn, who, &line.id, template, am, now)
                    .unwrap()
            })
            .collect();
        assert_eq!(page, reference);
        // Current cohorts first, then drafts, then the others, each by name.
        let rank = |s: &str| match s {
            "en_cours" => 0,
            "brouillon" => 1,
            _ => 2,
        };
        let order: Vec<(i32, &str)> = page
            .iter()
            .map(|l| (rank(&l.status), l.name.as_str()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
    }
    let mine = cohorte::models::dashboard::dla(&mut conn, &dla, template, am, now, 50, 0).unwrap();
    assert_eq!(mine.len(), 4, "the demo, Alpha, Bêta and the shared Gamma");
    let alpha_line = mine.iter().find(|l| l.id == alpha).unwrap();
    assert_eq!(alpha_line.associations, 3);
    assert!(alpha_line.figures.contract_recorded);
    assert_eq!(alpha_line.figures.contracted, "4\u{a0}jours");
    assert!(
        alpha_line
            .figures
            .warnings
            .iter()
            .any(|w| w.code == "over_contract"),
        "the plan is over a recorded 4-day contract: {:?}",
        alpha_line.figures.warnings
    );
    let gamma = mine.iter().find(|l| l.id == shared).unwrap();
    assert_eq!(gamma.role, "partenaire");
    assert!(gamma.next_session.is_some());
}
