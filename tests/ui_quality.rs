//! UI quality: a confirmation page (GET, no JavaScript) before every destructive action,
//! French formats on every page, and empty lists that say so and what to do next.

mod common;

use serde_json::{Value, json};

use actix_web::test::TestRequest;
use cohorte::domain::profile::{
    Alliance, Finances, Human, Levers, Profile, Reading, Resource, ResourceAmount,
};
use cohorte::models::account::{self, Principal};
use common::{TestApp, spawn};

// --- helpers ------------------------------------------------------------------------------

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

async fn page(app: &TestApp, uri: &str) -> String {
    app.get(uri).await.expect(200).text()
}

/// What a person sees or hears of the page: the text between the tags, plus the labels
/// read aloud (`aria-label`, `title`, `alt`). Other attributes — links, input values in
/// ISO form, `datetime` — are left out.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + close];
        for attr in ["aria-label=\"", "title=\"", "alt=\""] {
            for (i, _) in tag.match_indices(attr) {
                // Only a whole attribute name (` title=`), not `data-title=`.
                if !tag[..i].ends_with(' ') {
                    continue;
                }
                let value = &tag[i + attr.len()..];
                if let Some(end) = value.find('"') {
                    out.push_str(&value[..end]);
                    out.push(' ');
                }
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// ISO dates (`2027-03-09`) in `text`.
fn iso_dates(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for i in 0..b.len().saturating_sub(9) {
        let w = &b[i..i + 10];
        let digits = |r: std::ops::Range<usize>| r.into_iter().all(|k| w[k].is_ascii_digit());
        let boundary_before = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let boundary_after = i + 10 == b.len() || !b[i + 10].is_ascii_alphanumeric();
        if w[0] == b'2'
            && w[1] == b'0'
            && digits(2..4)
            && w[4] == b'-'
            && digits(5..7)
            && w[7] == b'-'
            && digits(8..10)
            && boundary_before
            && boundary_after
        {
            found.push(context(text, i, 10));
        }
    }
    found
}

/// Numbers written with a decimal point and followed by « jour(s) » or « € ».
fn dotted_amounts(text: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    for k in 1..chars.len().saturating_sub(1) {
        let (at, c) = chars[k];
        if c != '.' || !chars[k - 1].1.is_ascii_digit() || !chars[k + 1].1.is_ascii_digit() {
            continue;
        }
        let mut j = k + 1;
        while j < chars.len() && chars[j].1.is_ascii_digit() {
            j += 1;
        }
        while j < chars.len() && matches!(chars[j].1, ' ' | '\u{a0}' | '\u{202f}') {
            j += 1;
        }
        let after: String = chars[j..].iter().take(4).map(|(_, c)| *c).collect();
        if after.starts_with("jour") || after.starts_with('€') {
            found.push(context(text, at, 1));
        }
    }
    found
}

/// English words that must not reach a French page.
fn english_words(text: &str) -> Vec<String> {
    const WORDS: [&str; 10] = [
        "true",
        "false",
        "null",
        "None",
        "Some",
        "pending",
        "scheduled",
        "draft",
        "sent",
        "cancelled",
    ];
    let mut found = Vec::new();
    for word in WORDS {
        for (i, _) in text.match_indices(word) {
            let before = text[..i].chars().next_back();
            let after = text[i + word.len()..].chars().next();
            let letter = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if !letter(before) && !letter(after) {
                found.push(context(text, i, word.len()));
            }
        }
    }
    found
}

fn context(text: &str, at: usize, len: usize) -> String {
    let mut start = at.saturating_sub(40);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 40).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the page has a `<form` posting to `action`.
fn posts_to(html: &str, action: &str) -> bool {
    html.split("<form").skip(1).any(|form| {
        form[..form.find('>').unwrap_or(form.len())].contains(&format!("action=\"{action}\""))
    })
}

/// A cohort of two associations with its programme, published, with time logged, a
/// contract, funders, a session log with pistes d'actions and a returned task: every page
/// has something to show.
struct Fixture {
    cohort: String,
    associations: Vec<String>,
    sessions: Vec<Value>,
    task: String,
}

async fn full_cohort(app: &TestApp) -> Fixture {
    let (cohort, associations) = app.cohort_with(2).await;
    let generated = app.generate(&cohort).await;
    let sessions = generated["sessions"].as_array().expect("sessions").clone();
    let tasks = app
        .get(&format!("/api/v1/cohorts/{cohort}/tasks"))
        .await
        .expect(200)
        .json();
    let task = id(&tasks["tasks"][0]);
    let first = id(&sessions[0]);
    app.post_form(
        &format!("/cohortes/{cohort}/budget/contrat"),
        &[
            ("contracted_days", "10,5"),
            ("day_rate", "1 250,50"),
            ("day_length", "7 h 30"),
            ("version", "0"),
        ],
    )
    .await
    .expect(303);
    app.post_form(
        &format!("/cohortes/{cohort}/budget/financeurs"),
        &[
            ("funder_name", "DLA de la Gironde"),
            ("funder_share", "62,5"),
            ("funder_dla", ""),
            ("funder_name", "Fondation du Sud-Ouest"),
            ("funder_share", "37,5"),
            ("funder_dla", ""),
        ],
    )
    .await
    .expect(303);
    for body in [
        json!({"date": "2027-01-11", "kind": "animation_collective", "duration": 1, "unit": "demi_journees", "session_id": first}),
        json!({"date": "2027-01-12", "kind": "preparation", "duration": "2,5", "unit": "heures", "comment": "Relecture"}),
    ] {
        app.post_json(&format!("/api/v1/cohorts/{cohort}/time-entries"), body)
            .await
            .expect(201);
    }
    app.post_json(
        &format!("/api/v1/associations/{}/action-leads", associations[0]),
        json!({"text": "Diversifier les financements", "owner": "la directrice", "due_date": "2027-03-09", "session_id": first}),
    )
    .await
    .expect(201);
    app.post_form(
        &format!("/seances/{first}/journal"),
        &[("version", "0"), ("notes", "Tour de table.")],
    )
    .await
    .expect(303);
    app.put_json(
        &format!("/api/v1/tasks/{task}/associations/{}", associations[0]),
        json!({"status": "rendu", "returned_on": "2027-01-20"}),
    )
    .await
    .expect(200);
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await;
    let profile = Profile {
        human: Human {
            employees: Some(4),
            employees_fte_hundredths: Some(350),
            volunteers: Some(12),
            volunteer_hours: Some(2_500),
            civic_service: Some(1),
            skills_sponsorship_days: Some(3),
        },
        finances: Finances {
            year: Some(2025),
            resources: vec![
                ResourceAmount {
                    resource: Resource::SubventionRegion,
                    amount_cents: 14_000_050,
                },
                ResourceAmount {
                    resource: Resource::Ventes,
                    amount_cents: 2_512_345,
                },
            ],
            largest_funder_name: "Région".into(),
            largest_funder_cents: Some(14_000_050),
        },
        alliances: vec![Alliance {
            partner: "Fondation Zéphyrine".into(),
            actor_kind: "fondation".into(),
            nature: "moyens".into(),
        }],
        reading: Reading {
            strengths: "Une équipe soudée".into(),
            ..Reading::default()
        },
        ..Profile::default()
    };
    let target = Profile {
        levers: Levers {
            actions: "Vendre des prestations".into(),
            ..Levers::default()
        },
        ..profile.clone()
    };
    {
        let mut conn = app.pool.get().unwrap();
        let a = &associations[0];
        common::write(&mut conn, |tx| {
            cohorte::models::profile::save(tx, a, "etat_des_lieux", &profile, "", "test")
        })
        .unwrap();
        common::write(&mut conn, |tx| {
            cohorte::models::profile::save(tx, a, "cible", &target, "", "test")
        })
        .unwrap();
    }
    Fixture {
        cohort,
        associations,
        sessions,
        task,
    }
}

// --- French formats -----------------------------------------------------------------------

#[actix_web::test]
async fn the_pages_of_a_cohort_show_dates_numbers_and_amounts_in_french() {
    let app = spawn().await;
    let f = full_cohort(&app).await;
    let c = &f.cohort;
    let first = id(&f.sessions[0]);
    let bilan = f
        .sessions
        .iter()
        .find(|s| s["kind"] == "bilan_individuel")
        .map(id)
        .expect("a bilan");
    let outbox = app
        .get(&format!("/api/v1/cohorts/{c}/outbox"))
        .await
        .expect(200)
        .json();
    let email = outbox
        .as_array()
        .and_then(|a| a.first())
        .map(id)
        .expect("an email after publication");
    let a = &f.associations[0];
    let mut pages = vec![
        "/cohortes".to_string(),
        format!("/cohortes/{c}"),
        format!("/cohortes/{c}/tableau-de-bord"),
        format!("/cohortes/{c}/budget"),
        format!("/cohortes/{c}/envois"),
        format!("/cohortes/{c}/envois/reglages"),
        format!("/cohortes/{c}/modifications"),
        format!("/cohortes/{c}/miroir"),
        format!("/envois/{email}"),
        format!("/associations/{a}"),
        format!("/associations/{a}/compte-rendu?seance={first}"),
        format!("/associations/{a}/modele"),
        format!("/seances/{first}/journal"),
        format!("/seances/{first}/emargement"),
        format!("/taches/{}/modifier", f.task),
        "/dla".to_string(),
        "/compte".to_string(),
        "/utilisateurs".to_string(),
    ];
    for s in &f.sessions {
        pages.push(format!("/seances/{}", id(s)));
    }
    pages.push(format!("/seances/{bilan}/journal"));
    let dla = app.get(&format!("/api/v1/cohorts/{c}")).await.json()["dla_id"]
        .as_str()
        .unwrap()
        .to_string();
    pages.push(format!("/dla/{dla}"));
    pages.push(format!("/dla/{dla}/modifications"));
    // The activity report and the association search (issue #17).
    pages.push(format!("/dla/{dla}/rapport?annee=2027"));
    pages.push("/rapport?annee=2027".to_string());
    let name = app.get(&format!("/api/v1/associations/{a}")).await.json()["name"]
        .as_str()
        .unwrap()
        .to_lowercase();
    pages.push(format!(
        "/associations?q={}",
        name.split_whitespace().next().unwrap()
    ));

    pages.extend([
        format!("/associations/{a}/modele/imprimer"),
        format!("/associations/{a}/bilan-modele"),
        format!("/cohortes/{c}/miroir?projeter=1"),
        format!("/cohortes/{c}/miroir/consentements"),
    ]);
    // The participant's side.
    let person = app
        .get(&format!("/api/v1/associations/{a}/participants"))
        .await
        .expect(200)
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = {
        let mut conn = app.pool.get().unwrap();
        common::write(&mut conn, |tx| {
            account::start_session(
                tx,
                &Principal::Participant(person),
                account::Lifetimes::from_config(&app.config.auth),
                chrono::Utc::now().naive_utc(),
            )
        })
        .unwrap()
    };
    let mut htmls = Vec::new();
    for uri in [
        "/portail",
        "/portail/preferences",
        "/portail/modele/etat_des_lieux",
    ] {
        let html = app
            .send_raw(
                TestRequest::get()
                    .uri(uri)
                    .insert_header(("cookie", format!("cohorte_session={cookie}"))),
            )
            .await
            .expect(200)
            .text();
        htmls.push((uri.to_string(), html));
    }
    for uri in &pages {
        htmls.push((uri.clone(), page(&app, uri).await));
    }

    let mut problems = Vec::new();
    for (uri, html) in &htmls {
        let text = visible_text(html);
        for hit in iso_dates(&text) {
            problems.push(format!("{uri}: ISO date « {hit} »"));
        }
        for hit in dotted_amounts(&text) {
            problems.push(format!("{uri}: decimal point « {hit} »"));
        }
        for hit in english_words(&text) {
            problems.push(format!("{uri}: English « {hit} »"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Large counts are grouped by thousands, amounts carry their cents and the euro sign.
    let (_, print) = htmls
        .iter()
        .find(|(uri, _)| uri.ends_with("/modele/imprimer"))
        .unwrap();
    assert!(
        print.contains("<td>2\u{202f}500</td>"),
        "volunteer hours: {print}"
    );
    assert!(print.contains("140\u{202f}000,50\u{a0}€"), "{print}");
    let (_, outbox) = htmls
        .iter()
        .find(|(uri, _)| uri.ends_with("/envois"))
        .unwrap();
    assert!(outbox.contains("Relance après l&#x27;échéance : 1\u{a0}jour après."));
}

#[test]
fn the_checks_of_the_crawl_find_what_they_look_for() {
    let html = r#"<p title="le 2027-03-09">Le <time datetime="2027-03-09">9 mars</time></p>
        <input type="date" name="d" value="2027-03-09"><a href="/x?d=2027-03-09">10,5 jours</a>
        <td>10.5 jours</td><td>1250.00 €</td><td>true</td>"#;
    let text = visible_text(html);
    assert_eq!(iso_dates(&text).len(), 1, "only the title: {text}");
    assert_eq!(dotted_amounts(&text).len(), 2, "{text}");
    assert_eq!(english_words(&text).len(), 1, "{text}");
    assert!(iso_dates("v20270-03-09 12027-03-09").is_empty());
}

// --- Confirmation before anything destructive ---------------------------------------------

/// The page with the few entities handlebars writes decoded, to compare with plain text.
fn unescape(html: &str) -> String {
    html.replace("&#x3D;", "=")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x60;", "`")
        .replace("&amp;", "&")
}

/// The confirmation page at `uri`: it says `what` and has a POST form to `action` with a
/// CSRF token.
async fn confirmation(app: &TestApp, uri: &str, action: &str, what: &str) -> String {
    let html = unescape(&page(app, uri).await);
    assert!(html.contains(what), "« {what} » on {uri}:\n{html}");
    assert!(
        html.contains(&format!("<form method=\"post\" action=\"{action}\"")),
        "a POST form to {action} on {uri}:\n{html}"
    );
    assert!(html.contains("name=\"csrf_token\""), "{html}");
    html
}

/// `page` offers the action as a link to its confirmation, and no form that acts at once.
async fn links_to_confirmation(app: &TestApp, uri: &str, action: &str, link: &str) {
    let html = unescape(&page(app, uri).await);
    assert!(
        html.contains(&format!("href=\"{link}\"")),
        "{uri} links to {link}:\n{html}"
    );
    assert!(
        !posts_to(&html, action),
        "{uri} has no one-click form to {action}"
    );
}

#[actix_web::test]
async fn deleting_a_lead_asks_first_and_returns_where_the_journal_said() {
    let app = spawn().await;
    let f = full_cohort(&app).await;
    let first = id(&f.sessions[0]);
    let a = &f.associations[0];
    let leads = app
        .get(&format!("/api/v1/associations/{a}/action-leads"))
        .await
        .expect(200)
        .json();
    let lead = id(&leads[0]);
    let action = format!("/pistes/{lead}/supprimer");
    // From the journal, the return is the journal; from the lead's page, the association.
    let from_journal = format!("{action}?back=/seances/{first}/journal");
    links_to_confirmation(
        &app,
        &format!("/seances/{first}/journal"),
        &action,
        &from_journal,
    )
    .await;
    links_to_confirmation(
        &app,
        &format!("/pistes/{lead}/modifier"),
        &action,
        &format!("{action}?back=/associations/{a}%23pistes"),
    )
    .await;
    let html = confirmation(
        &app,
        &from_journal,
        &action,
        "La piste « Diversifier les financements » de Association n° 1 sera supprimée",
    )
    .await;
    assert!(html.contains(&format!("name=\"back\" value=\"/seances/{first}/journal\"")));
    assert!(
        html.contains(&format!("href=\"/seances/{first}/journal\"")),
        "cancel"
    );
    let from_lead =
        unescape(&page(&app, &format!("{action}?back=/associations/{a}%23pistes")).await);
    assert!(from_lead.contains(&format!("name=\"back\" value=\"/associations/{a}#pistes\"")));
    // Only a local path is carried.
    let elsewhere =
        unescape(&page(&app, &format!("{action}?back=https%3A%2F%2Fevil.example")).await);
    assert!(!elsewhere.contains("evil.example"), "{elsewhere}");
    // Nothing is deleted by showing the page.
    let still = app
        .get(&format!("/api/v1/associations/{a}/action-leads"))
        .await
        .json();
    assert_eq!(still.as_array().unwrap().len(), 1);

    let res = app
        .post_form(&action, &[("back", &format!("/seances/{first}/journal"))])
        .await
        .expect(303);
    assert_eq!(
        res.header("location"),
        Some(format!("/seances/{first}/journal?notice=piste_supprimee").as_str())
    );
    let after = app
        .get(&format!("/api/v1/associations/{a}/action-leads"))
        .await
        .json();
    assert_eq!(after, json!([]));
    app.get(&from_journal).await.expect(404);
}

#[actix_web::test]
async fn removing_a_participant_or_renewing_their_links_asks_first() {
    let app = spawn().await;
    let (_, ids) = app.cohort_with(1).await;
    let a = &ids[0];
    let people = app
        .get(&format!("/api/v1/associations/{a}/participants"))
        .await
        .expect(200)
        .json();
    let person = id(&people[0]);
    let name = people[0]["name"].as_str().unwrap().to_string();

    let action = format!("/participants/{person}/retirer");
    links_to_confirmation(
        &app,
        &format!("/participants/{person}/modifier"),
        &action,
        &action,
    )
    .await;
    let html = confirmation(
        &app,
        &action,
        &action,
        &format!("{name} sera retiré·e de Association n° 1 : plus aucun e-mail ne lui sera envoyé"),
    )
    .await;
    assert!(
        html.contains(&format!("href=\"/participants/{person}/modifier\"")),
        "cancel"
    );

    let renew = format!("/participants/{person}/renouveler-liens");
    links_to_confirmation(&app, &format!("/associations/{a}"), &renew, &renew).await;
    confirmation(
        &app,
        &renew,
        &renew,
        &format!("Les liens personnels de {name} (agenda et connexion à son espace) seront remplacés : les anciens ne fonctionneront plus"),
    )
    .await;
    app.post_form(&renew, &[]).await.expect(303);

    let before = app
        .get(&format!("/api/v1/associations/{a}/participants"))
        .await
        .json();
    assert_eq!(
        before.as_array().unwrap().len(),
        2,
        "showing the page removes nobody"
    );
    let res = app.post_form(&action, &[]).await.expect(303);
    assert_eq!(
        res.header("location"),
        Some(format!("/associations/{a}?notice=participant_retire").as_str())
    );
    let after = app
        .get(&format!("/api/v1/associations/{a}/participants"))
        .await
        .json();
    assert_eq!(after.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn cancelling_an_email_asks_first_and_says_which_one() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    app.generate(&cohort).await;
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let outbox = app.outbox(&cohort).await;
    let email = outbox
        .iter()
        .find(|e| e["status"] == "scheduled")
        .expect("a scheduled email")
        .clone();
    let eid = id(&email);
    let action = format!("/envois/{eid}/annuler");
    links_to_confirmation(
        &app,
        &format!("/cohortes/{cohort}/envois"),
        &action,
        &action,
    )
    .await;
    let html = confirmation(
        &app,
        &action,
        &action,
        &format!(
            "L'e-mail « {} » à {} <{}> (prévu le ",
            email["subject"].as_str().unwrap(),
            email["recipient_name"].as_str().unwrap(),
            email["recipient_email"].as_str().unwrap()
        ),
    )
    .await;
    assert!(html.contains(") ne partira pas."), "{html}");
    assert!(
        html.contains("Garder l'envoi"),
        "a cancel button that does not say « Annuler »"
    );
    assert!(html.contains(&format!("href=\"/cohortes/{cohort}/envois#envoi-{eid}\"")));

    app.post_form(&action, &[]).await.expect(303);
    let after = app.outbox(&cohort).await;
    let row = after
        .iter()
        .find(|e| e["id"] == eid.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"], "cancelled");
    // An email already cancelled has nothing to confirm.
    let again = app.get(&action).await;
    assert_eq!(again.status.as_u16(), 409);
    assert!(again.text().contains("ne peut plus être annulé"));
}

#[actix_web::test]
async fn revoking_an_api_token_asks_first() {
    let app = spawn().await;
    let (token, _) = {
        let mut conn = app.pool.get().unwrap();
        common::write(&mut conn, |tx| {
            account::create_api_token(tx, &app.admin_id, "Tableur du DLA")
        })
        .unwrap()
    };
    let action = format!("/compte/jetons/{}/revoquer", token.id);
    links_to_confirmation(&app, "/compte", &action, &action).await;
    confirmation(
        &app,
        &action,
        &action,
        &format!(
            "Le jeton « Tableur du DLA » ({}…) sera révoqué : les programmes qui l'utilisent n'auront plus accès à l'API.",
            token.prefix
        ),
    )
    .await;
    let res = app.post_form(&action, &[]).await.expect(303);
    assert_eq!(res.header("location"), Some("/compte?notice=jeton_revoque"));
    // Revoked: the link is gone and the page is too.
    let html = unescape(&page(&app, "/compte").await);
    assert!(!html.contains(&format!("href=\"{action}\"")));
    app.get(&action).await.expect(404);
}

// --- Empty lists --------------------------------------------------------------------------

/// The part of `html` from `start` to `end` (both markers must be there).
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in:\n{html}"));
    let rest = &html[from..];
    &rest[..rest
        .find(end)
        .unwrap_or_else(|| panic!("no {end} after {start}"))]
}

#[actix_web::test]
async fn empty_lists_say_so_and_what_to_do_next() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte vide").await;

    // A cohort with no association yet: no empty table, the button to use.
    let html = unescape(&page(&app, &format!("/cohortes/{cohort}")).await);
    let associations = between(&html, "id=\"associations-title\"", "</section>");
    assert!(!associations.contains("<table"), "{associations}");
    assert!(
        associations
            .contains("Aucune association inscrite pour l'instant. Inscrivez la première avec « "),
        "{associations}"
    );
    assert!(associations.contains(&format!(
        "href=\"/cohortes/{cohort}/associations/nouvelle\">Inscrire une association</a> »"
    )));
    let tasks = between(&html, "id=\"travaux\"", "</section>");
    assert!(tasks.contains("Aucun travail préparatoire."), "{tasks}");

    // No time logged.
    let html = unescape(&page(&app, &format!("/cohortes/{cohort}/budget")).await);
    let entries = between(&html, "id=\"saisies-title\"", "id=\"contrat\"");
    assert!(!entries.contains("<table"), "{entries}");
    assert!(
        entries.contains("Aucun temps saisi pour l'instant. Enregistrez le temps passé"),
        "{entries}"
    );

    // No email before publication; none of a status when filtered.
    let html = unescape(&page(&app, &format!("/cohortes/{cohort}/envois")).await);
    assert!(!html.contains("<table"), "{html}");
    assert!(html.contains("Aucun e-mail pour l'instant : publiez le programme"));

    // A session with no piste d'actions for an association.
    app.enrol(&cohort, "Association n° 1").await;
    let generated = app.generate(&cohort).await;
    let first = id(&generated["sessions"][0]);
    let html = unescape(&page(&app, &format!("/seances/{first}/journal")).await);
    assert!(
        html.contains("Aucune piste d'actions notée à cette séance pour Association n° 1. Notez la première avec « Ajouter la piste » ci-dessous."),
        "{html}"
    );
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    let html = unescape(&page(&app, &format!("/cohortes/{cohort}/envois?statut=failed")).await);
    assert!(!html.contains("<table"), "{html}");
    assert!(
        html.contains(&format!(
            "Aucun e-mail « échec » pour l'instant. <a href=\"/cohortes/{cohort}/envois\">Voir tous les envois</a>"
        )),
        "{html}"
    );

    // No consultant yet.
    let html = unescape(&page(&app, "/consultants").await);
    assert!(!html.contains("<table"), "{html}");
    assert!(html.contains("Aucun·e consultant·e enregistré·e. Ajoutez le cabinet retenu"));
}

/// Every flow works without JavaScript: no template carries a script, an inline event
/// handler or a `javascript:` link, the static files hold none, and the CSP would refuse
/// inline code anyway. (The browser tests press the same buttons a keyboard user would.)
#[test]
fn no_page_needs_javascript() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    let mut stack = vec![root.join("templates")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("templates") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            seen += 1;
            let text = std::fs::read_to_string(&path)
                .expect("template")
                .to_lowercase();
            for needle in [
                "<script",
                "javascript:",
                " onclick=",
                " onchange=",
                " onsubmit=",
                " oninput=",
                " onload=",
            ] {
                if text.contains(needle) {
                    offenders.push(format!("{}: {needle}", path.display()));
                }
            }
        }
    }
    assert!(seen > 50, "templates read: {seen}");
    for entry in std::fs::read_dir(root.join("static")).expect("static") {
        let path = entry.expect("entry").path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        assert!(
            matches!(ext, "css" | "svg" | "png"),
            "a static file that is not a style or an image: {}",
            path.display()
        );
    }
    assert!(
        offenders.is_empty(),
        "JavaScript in templates:\n{}",
        offenders.join("\n")
    );
    assert!(cohorte::web::CSP.contains("script-src 'self'"));
    assert!(!cohorte::web::CSP.contains("unsafe-inline"));
}

/// The séance and journal pages carry their own `session` (the séance): the layout's
/// signed-in person has a key of its own, so these pages keep the navigation and offer
/// the chargé·e de mission what they may do (they lost both once).
#[actix_web::test]
async fn the_seance_pages_keep_the_navigation_and_their_actions() {
    let app = spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let programme = app.generate(&cohort).await;
    let session = programme["sessions"][0]["id"]
        .as_str()
        .expect("a session id")
        .to_string();
    let show = page(&app, &format!("/seances/{session}")).await;
    assert!(show.contains("Se déconnecter"), "{show}");
    assert!(show.contains("Navigation principale"), "{show}");
    for action in ["deplacer", "modifier", "supprimer"] {
        assert!(
            show.contains(&format!("href=\"/seances/{session}/{action}\"")),
            "« {action} » offered on the séance page:\n{show}"
        );
    }
    for uri in [
        format!("/seances/{session}/journal"),
        format!("/seances/{session}/emargement"),
        format!("/cohortes/{cohort}/budget"),
    ] {
        let html = page(&app, &uri).await;
        assert!(html.contains("Se déconnecter"), "{uri}:\n{html}");
    }
}
