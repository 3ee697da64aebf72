//! Accessibility in Chromium: axe-core (from the npm registry) on every main page of each
//! role — no serious or critical violation, which covers labelled fields and contrast —;
//! every interactive element reachable with Tab, each showing a visible focus; the
//! participant's pages at phone width without horizontal scrolling.

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::harness::{Browser, LAPTOP, PHONE, Server, axe_source};

/// Runs axe-core on the current page; returns the serious and critical violations, one
/// line per rule with the first offending elements.
pub(crate) async fn axe(b: &Browser) -> Vec<String> {
    let loaded = b
        .client
        .execute(&format!("{}\nreturn typeof axe;", axe_source()), vec![])
        .await
        .expect("inject axe-core");
    assert_eq!(loaded, json!("object"), "axe-core loaded");
    let result = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(r.violations.map(v => ({
                 id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' — ' + n.failureSummary)
               }))))
               .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
            vec![],
        )
        .await
        .expect("axe.run");
    let path = b.path().await;
    result
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{path}: [{}] {} ({})\n    {}",
                v["impact"].as_str().unwrap_or(""),
                v["id"].as_str().unwrap_or(""),
                v["help"].as_str().unwrap_or(""),
                nodes.join("\n    ")
            )
        })
        .collect()
}

/// Tabs through the page from the top: every visible link, button and field is reached,
/// in a visible order, each with a visible focus indicator. Returns the problems.
async fn keyboard(b: &Browser) -> Vec<String> {
    let path = b.path().await;
    // What a keyboard user must be able to reach.
    let focusable = b
        .client
        .execute(
            "if (document.activeElement) document.activeElement.blur();
             const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary';
             const all = [...document.querySelectorAll(sel)].filter(e => {
               const r = e.getBoundingClientRect();
               const s = getComputedStyle(e);
               if (e.closest('details:not([open])') && e.tagName !== 'SUMMARY') return false;
               if (e.type === 'radio' && !e.checked && document.querySelector(`input[type=radio][name='${e.name}']:checked`)) return false;
               return s.visibility !== 'hidden' && s.display !== 'none' && (r.width > 0 || r.height > 0 || e.classList.contains('skip'));
             });
             all.forEach((e, i) => e.dataset.kbd = String(i));
             // How each one looks unfocused, to tell a focus indicator from a border.
             const look = e => { const s = getComputedStyle(e);
               return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join('|'); };
             window.__kbdLook = all.map(look);
             window.__kbdLookOf = look;
             return all.length;",
            vec![],
        )
        .await
        .expect("focusable elements")
        .as_u64()
        .unwrap_or(0) as usize;
    b.client
        .execute(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await
        .expect("reset focus");
    let mut seen: Vec<String> = Vec::new();
    let mut ended = String::from("ran out of Tab presses");
    let mut problems = Vec::new();
    for _ in 0..2 * focusable + 10 {
        // A real key press on the keyboard, not typed into an element (which would focus
        // that element first).
        let tab = KeyActions::new("keyboard".into())
            .then(KeyAction::Down {
                value: Key::Tab.into(),
            })
            .then(KeyAction::Up {
                value: Key::Tab.into(),
            });
        b.client.perform_actions(tab).await.expect("Tab");
        let info: Value = b
            .client
            .execute(
                "const e = document.activeElement;
                 if (!e || e === document.body) return null;
                 const s = getComputedStyle(e);
                 const opaque = c => !/rgba\\(.*,\\s*0\\)$/.test(c) && c !== 'transparent';
                 const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && opaque(s.outlineColor);
                 const shadow = s.boxShadow && s.boxShadow !== 'none';
                 const changed = e.dataset.kbd === undefined
                   || window.__kbdLookOf(e) !== window.__kbdLook[Number(e.dataset.kbd)];
                 return {key: e.dataset.kbd || ('unlisted ' + e.outerHTML.slice(0, 80)),
                         label: (e.innerText || e.value || e.getAttribute('aria-label') || e.name || '').trim().slice(0, 60),
                         visible: (outline || shadow) && changed};",
                vec![],
            )
            .await
            .expect("focused element");
        if info.is_null() {
            ended = "focus left the page's elements (on <body>)".into();
            break;
        }
        let key = info["key"].as_str().unwrap_or("").to_string();
        if seen.last() == Some(&key) {
            continue; // a date or time field: Tab walks through its day, month, year
        }
        if seen.contains(&key) {
            ended = format!("came back to « {} »", info["label"].as_str().unwrap_or(""));
            break; // wrapped around
        }
        if !info["visible"].as_bool().unwrap_or(false) {
            problems.push(format!(
                "{path}: no visible focus on « {} » ({key})",
                info["label"].as_str().unwrap_or("")
            ));
        }
        seen.push(key);
    }
    if seen.len() < focusable {
        let missed = b
            .client
            .execute(
                "const seen = new Set(arguments[0]);
                 return [...document.querySelectorAll('[data-kbd]')]
                   .filter(e => !seen.has(e.dataset.kbd)).slice(0, 4)
                   .map(e => e.outerHTML.slice(0, 120));",
                vec![json!(seen)],
            )
            .await
            .expect("missed elements");
        problems.push(format!(
            "{path}: Tab reached {} of {focusable} interactive elements ({ended}); not reached: {missed}",
            seen.len()
        ));
    }
    problems
}

/// Nothing wider than the window (a page that scrolls sideways), with what sticks out.
async fn overflow(b: &Browser, path: &str) -> Option<String> {
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .expect("widths")
        .as_i64()
        .unwrap_or(0);
    if overflow <= 0 {
        return None;
    }
    let culprits = b
        .client
        .execute(
            "const w = document.documentElement.clientWidth;
             return [...document.querySelectorAll('main *')]
               .filter(e => e.getBoundingClientRect().right > w + 1)
               .slice(0, 5)
               .map(e => e.tagName.toLowerCase() + '.' + e.className + ' « ' + (e.innerText || '').slice(0, 40) + ' »');",
            vec![],
        )
        .await
        .expect("culprits");
    Some(format!(
        "{path}: {overflow} px wider than the window: {culprits}"
    ))
}

/// One layout everywhere: a signed-in page carries the main navigation with « Se
/// déconnecter » (a page whose data was named like the layout's lost it once).
async fn navigation(b: &Browser, path: &str) -> Option<String> {
    let nav = b
        .client
        .find(Locator::Css(
            "header.site nav[aria-label='Navigation principale']",
        ))
        .await;
    let ok = match nav {
        Ok(nav) => nav
            .text()
            .await
            .unwrap_or_default()
            .contains("Se déconnecter"),
        Err(_) => false,
    };
    (!ok).then(|| format!("{path}: no main navigation with « Se déconnecter »"))
}

/// The `href` of the first element matching `css` (links of the demo read from its pages).
async fn first_href(b: &Browser, css: &str) -> String {
    let Ok(el) = b.client.find(Locator::Css(css)).await else {
        panic!("no link {css} on {}", b.path().await)
    };
    el.attr("href").await.expect("href").expect("href")
}

#[tokio::test(flavor = "current_thread")]
async fn every_main_page_passes_axe_and_the_keyboard() {
    let server = Server::start();
    let cohort = format!("/cohortes/{}", server.demo_cohort);
    let mut problems: Vec<String> = Vec::new();

    // Before signing in.
    let b = Browser::open(&server, "a11y-public", LAPTOP).await;
    for path in [
        "/connexion",
        "/mot-de-passe-oublie",
        "/connexion/participant",
    ] {
        b.go(path).await;
        problems.extend(axe(&b).await);
        problems.extend(keyboard(&b).await);
    }
    // A form sent with errors: messages tied to their fields.
    b.go("/connexion").await;
    b.fill("Adresse e-mail", "pas-une-adresse").await;
    b.allow_console("401 (Unauthorized)");
    b.press("Se connecter").await;
    problems.extend(axe(&b).await);
    b.close().await;

    // The chargé·e de mission, at laptop width.
    let b = Browser::open(&server, "a11y-charge-de-mission", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.go(&cohort).await;
    let session = first_href(&b, "ol.timeline li.session h3 a").await;
    let association = first_href(&b, "table a[href^='/associations/']").await;
    b.go(&association).await;
    let participant = first_href(&b, "a[href^='/participants/'][href$='/modifier']").await;
    b.go(&format!("{cohort}/envois")).await;
    let email = first_href(&b, "table.outbox a[href^='/envois/']").await;
    b.go("/dla").await;
    let dla = first_href(&b, "main a[href^='/dla/']").await;
    b.go("/consultants").await;
    let consultant = first_href(&b, "main a[href^='/consultants/'][href$='/modifier']").await;
    let pages = [
        "/cohortes".to_string(),
        cohort.clone(),
        "/cohortes/nouvelle".into(),
        format!("{cohort}/modifier"),
        format!("{cohort}/modele"),
        format!("{cohort}/associations/nouvelle"),
        format!("{cohort}/seances/nouvelle"),
        format!("{cohort}/taches/nouvelle"),
        format!("{cohort}/tableau-de-bord"),
        format!("{cohort}/budget"),
        format!("{cohort}/envois"),
        format!("{cohort}/envois/reglages"),
        format!("{cohort}/modifications"),
        format!("{cohort}/miroir"),
        format!("{cohort}/miroir/consentements"),
        format!("{cohort}/appel"),
        format!("{cohort}/candidatures"),
        format!("{cohort}/candidatures/courriers"),
        format!("{cohort}/import"),
        session.clone(),
        format!("{session}/modifier"),
        format!("{session}/deplacer"),
        format!("{session}/journal"),
        format!("{session}/emargement"),
        association.clone(),
        format!("{association}/modifier"),
        format!("{association}/modele"),
        format!("{association}/modele/etat_des_lieux"),
        format!("{association}/participants/nouveau"),
        participant.clone(),
        format!("{}/anonymiser", participant.trim_end_matches("/modifier")),
        format!(
            "{association}/compte-rendu?seance={}",
            session.trim_start_matches("/seances/")
        ),
        format!("{association}/bilan-modele"),
        format!("{association}/modele/imprimer"),
        format!("{association}/retirer"),
        format!("{session}/supprimer"),
        email,
        "/dla".into(),
        dla.clone(),
        format!("{dla}/modifier"),
        format!("{dla}/modifications"),
        format!("{dla}/rapport"),
        "/associations?q=association".into(),
        "/consultants".into(),
        consultant,
        "/compte".into(),
    ];
    for path in &pages {
        b.go(path).await;
        b.shot(&slug(path)).await;
        problems.extend(axe(&b).await);
        problems.extend(overflow(&b, path).await);
        problems.extend(navigation(&b, path).await);
    }
    // An error page.
    b.allow_console("404 (Not Found)");
    b.go("/cohortes/00000000-0000-0000-0000-000000000000").await;
    b.expect_text("introuvable").await;
    problems.extend(axe(&b).await);
    // Keyboard on the pages used most, a long one and forms among them.
    for path in [
        &cohort,
        &"/cohortes/nouvelle".to_string(),
        &association,
        &session,
        &format!("{session}/journal"),
        &format!("{cohort}/budget"),
    ] {
        b.go(path).await;
        problems.extend(keyboard(&b).await);
    }
    // The banner of late emails, on top of every staff page from now on: an email of the
    // cohort that the sending server keeps deferring (the sink answers 451 to `later@…`),
    // retried by the server's own dispatcher.
    defer_an_email(&server);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        b.go("/cohortes").await;
        if b.text().await.contains("1 e-mail en retard depuis") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no banner once the dispatcher has tried the deferred email"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    b.shot("banniere-envois-en-retard").await;
    for path in ["/cohortes".to_string(), cohort.clone()] {
        b.go(&path).await;
        problems.extend(axe(&b).await);
        problems.extend(overflow(&b, &path).await);
        problems.extend(keyboard(&b).await);
    }
    b.close().await;

    // The administrator's own pages.
    let b = Browser::open(&server, "a11y-admin", LAPTOP).await;
    b.sign_in(&server.admin).await;
    for path in ["/utilisateurs", "/utilisateurs/nouveau"] {
        b.go(path).await;
        problems.extend(axe(&b).await);
    }
    b.close().await;

    // The consultant·e.
    let b = Browser::open(&server, "a11y-consultant", LAPTOP).await;
    b.sign_in(&server.consultant).await;
    for path in [
        "/cohortes".to_string(),
        cohort.clone(),
        session.clone(),
        format!("{session}/journal"),
    ] {
        b.go(&path).await;
        problems.extend(axe(&b).await);
        problems.extend(navigation(&b, &path).await);
    }
    b.close().await;

    // The participant, on a phone.
    let b = Browser::open(&server, "a11y-participant", PHONE).await;
    b.go(&server.participant_link).await;
    problems.extend(axe(&b).await);
    b.press("Me connecter").await;
    for path in [
        "/portail",
        "/portail/preferences",
        "/portail/modele/etat_des_lieux",
    ] {
        b.go(path).await;
        b.shot(&slug(path)).await;
        problems.extend(axe(&b).await);
        problems.extend(keyboard(&b).await);
        // Readable on a phone: nothing wider than the screen.
        problems.extend(overflow(&b, path).await);
        problems.extend(navigation(&b, path).await);
    }
    b.close().await;

    server.assert_no_server_error();
    assert!(
        problems.is_empty(),
        "{} accessibility problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Queues an email of the demo cohort to an address the SMTP sink defers (451) every
/// time, in the server's database.
fn defer_an_email(server: &Server) {
    use cohorte::db::{Author, write_with};
    use cohorte::mail::{Email, Rendered};
    use cohorte::models::outbox::{self, NewEmail};
    let pool = cohorte::db::connect(&server.database, 1).expect("the server's database");
    let email = Email {
        to_name: "Nadia Benali".into(),
        to_address: format!("later@{}.example", uuid::Uuid::new_v4().simple()),
        rendered: Rendered {
            subject: "Rappel : séance dans 7 jours".into(),
            text: "Bonjour Nadia,\n".into(),
            html: "<p>Bonjour Nadia,</p>".into(),
        },
        calendar: None,
    };
    let mut new = NewEmail::from_email("reminder_j7", "a11y-banner", 0, &email, chrono::Utc::now());
    new.cohort_id = Some(server.demo_cohort.clone());
    write_with(
        &mut pool.get().expect("connection"),
        Author::system(),
        chrono::Utc::now(),
        |tx| outbox::enqueue(tx, new),
    )
    .expect("queued")
    .expect("a new email");
}

fn slug(path: &str) -> String {
    let s: String = path
        .trim_start_matches('/')
        .split('/')
        .filter(|p| p.len() < 30) // ids out of file names
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "accueil".into() } else { s }
}
