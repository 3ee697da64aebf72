//! Publication says what it will do, and the « Envois » page reads by session, in pages
//! counted in SQL (issue #13, part 5).

mod common;

use serde_json::json;

use common::{TestApp, spawn};

async fn outbox_rows(app: &TestApp, cohort: &str) -> Vec<serde_json::Value> {
    app.outbox(cohort).await
}

#[actix_web::test]
async fn the_publish_page_says_what_leaves_now_and_later_to_whom_and_what_to_check_first() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    // An association without employees: a point d'attention of the method.
    app.post_json(
        &format!("/api/v1/cohorts/{cohort}/associations"),
        json!({"name": "Bénévoles du quartier", "town": "Pessac", "creation_year": 2012,
               "salaried_staff": 0, "general_interest": true}),
    )
    .await
    .expect(201);
    app.generate(&cohort).await;

    let page = app
        .get(&format!("/cohortes/{cohort}/publier"))
        .await
        .expect(200)
        .text();
    assert!(
        page.contains("Points d'attention"),
        "warnings before the button"
    );
    assert!(page.contains("Ce qui partira"));
    assert!(page.contains("Convocation"));
    assert!(
        page.contains("4 personnes"),
        "two associations, two people each"
    );
    assert!(page.contains("nadia.benali.direction@association-n--1.fr"));
    assert!(
        outbox_rows(&app, &cohort).await.is_empty(),
        "looking queues nothing"
    );

    // The page's figures are what publishing queues.
    let shown_at = chrono::Utc::now();
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let rows = outbox_rows(&app, &cohort).await;
    assert!(!rows.is_empty());
    let soon = shown_at + chrono::Duration::minutes(5);
    let now_count = rows
        .iter()
        .filter(|r| {
            chrono::DateTime::parse_from_rfc3339(r["send_after"].as_str().unwrap()).unwrap() <= soon
        })
        .count();
    let later = rows.len() - now_count;
    let words = |n: usize, one: &str, many: &str| format!("{n} {}", if n > 1 { many } else { one });
    assert!(
        page.contains(&words(now_count, "e-mail part", "e-mails partent")),
        "{now_count} now"
    );
    assert!(
        page.contains(&words(later, "e-mail suivra", "e-mails suivront")),
        "{later} later"
    );
}

#[actix_web::test]
async fn the_outbox_page_groups_by_session_in_programme_order_and_pages_in_sql() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(8).await;
    app.generate(&cohort).await;
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let total = outbox_rows(&app, &cohort).await.len();
    assert!(total > 50, "{total} rows: more than one page");

    let uri = format!("/cohortes/{cohort}/envois");
    // Attribute values as a browser reads them.
    let unescape = |html: String| html.replace("&#x3D;", "=").replace("&amp;", "&");
    let first = unescape(app.get(&uri).await.expect(200).text());
    let intro = first.find("Session introductive, ").expect("intro group");
    let edl = first.find("État des lieux, ");
    if let Some(edl) = edl {
        assert!(intro < edl, "groups follow the programme");
    }
    assert!(first.contains(&format!("Page 1 sur {}", total.div_ceil(50))));
    assert!(first.contains(&format!("href=\"/cohortes/{cohort}/envois?page=2\"")));
    let rows_on = |html: &str| html.matches("<tr id=\"envoi-").count();
    assert_eq!(rows_on(&first), 50);
    let last_page = total.div_ceil(50);
    let last = app
        .get(&format!("{uri}?page={last_page}"))
        .await
        .expect(200)
        .text();
    assert_eq!(rows_on(&last), total - 50 * (last_page - 1));
    assert!(last.contains("rel=\"prev\""));

    // A filter keeps its pages, and an action brings back to the page it was taken from.
    let scheduled = unescape(
        app.get(&format!("{uri}?statut=scheduled&page=2"))
            .await
            .expect(200)
            .text(),
    );
    assert!(scheduled.contains(&format!(
        "href=\"/cohortes/{cohort}/envois?statut=scheduled&page=1\""
    )));
    assert!(scheduled.contains("/retenir?statut=scheduled&page=2\""));
    let id = scheduled
        .split("<tr id=\"envoi-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a row on page 2")
        .to_string();
    let res = app
        .post_form(
            &format!("/envois/{id}/retenir?statut=scheduled&page=2"),
            &[],
        )
        .await
        .expect(303);
    let location = res.header("location").unwrap();
    assert!(
        location.starts_with(&format!(
            "/cohortes/{cohort}/envois?statut=scheduled&page=2"
        )),
        "{location}"
    );
    assert!(location.contains("notice=envoi_retenu"), "{location}");
}
