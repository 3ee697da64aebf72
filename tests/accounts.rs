//! Accounts pages and `/api/v1/me`: an administrator creates an account, the person
//! chooses a password through the emailed link and signs in; API tokens created on « Mon
//! compte » work, are stored hashed and stop at revocation; a chargé·e de mission cannot
//! reach the accounts page; changing one's password needs the current one.

mod common;

use actix_web::http::header;
use actix_web::test::TestRequest;
use diesel::prelude::*;

use common::{Response, TestApp, around_field};

const PASSWORD: &str = "une phrase de passe assez longue";

/// The session cookie a response sets.
fn session_of(res: &Response) -> String {
    let set = res
        .headers
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cohorte_session="))
        .unwrap_or_else(|| panic!("no session cookie; status {}: {}", res.status, res.text()))
        .to_string();
    set["cohorte_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The value of the page's hidden `csrf_token` field.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf_token field in the page:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The password link shown on a page (`…/mot-de-passe/<token>`): returns the token.
fn link_token(html: &str) -> String {
    let marker = "/mot-de-passe/";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no password link in the page:\n{html}"))
        + marker.len();
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64, "a 256-bit link token in {html}");
    token
}

/// Without an SMTP server, emails are written as `.eml` files: one of them, to `to`,
/// carries the link (quoted-printable lines joined again).
fn assert_link_emailed(app: &TestApp, to: &str, token: &str) {
    if !app.config.mail.smtp_url.is_empty() {
        return;
    }
    let found = std::fs::read_dir(&app.config.mail.file_dir)
        .expect("the emails folder")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|text| text.replace("=\r\n", "").replace("=\n", ""))
        .find(|text| text.contains(token));
    let text = found.unwrap_or_else(|| panic!("no email carries the link {token}"));
    assert!(text.contains(&format!("<{to}>")), "{text}");
    assert!(text.contains("Cohorte : votre compte est"), "{text}");
}

fn with_cookie(req: TestRequest, cookie: &str) -> TestRequest {
    req.insert_header((header::COOKIE, format!("cohorte_session={cookie}")))
}

/// Signs in through the sign-in page like a browser; returns the session cookie.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    app.send_raw(TestRequest::get().uri("/connexion"))
        .await
        .expect(200);
    let res = app
        .send_raw(TestRequest::post().uri("/connexion").set_form([
            ("email", email),
            ("password", password),
            ("suite", ""),
        ]))
        .await
        .expect(303);
    session_of(&res)
}

/// A page fetched with the cookie; returns its HTML.
async fn page(app: &TestApp, cookie: &str, uri: &str) -> String {
    app.send_raw(with_cookie(TestRequest::get().uri(uri), cookie))
        .await
        .expect(200)
        .text()
}

/// An officer of a new DLA created through the accounts page, who chose `PASSWORD`
/// through the link; returns the DLA's id and the account's id.
async fn officer(app: &TestApp, email: &str) -> (String, String) {
    let dla = app.create_dla().await;
    let created = app
        .post_form(
            "/utilisateurs",
            &[
                ("email", email),
                ("name", "Julie Martin"),
                ("role", "officer"),
                ("dla_id", &dla),
                ("consultant_id", ""),
            ],
        )
        .await
        .expect(201);
    let token = link_token(&created.text());
    app.send_raw(
        TestRequest::post()
            .uri(&format!("/mot-de-passe/{token}"))
            .set_form([("password", PASSWORD), ("password_confirm", PASSWORD)]),
    )
    .await
    .expect(303);
    let mut conn = app.pool.get().unwrap();
    let user = cohorte::models::account::find_by_email(&mut conn, email)
        .unwrap()
        .expect("the account exists");
    (dla, user.id)
}

#[actix_web::test]
async fn an_administrator_creates_an_officer_who_chooses_a_password_and_signs_in() {
    let app = common::spawn().await;
    let dla = app.create_dla().await;

    let form = app.get("/utilisateurs/nouveau").await.expect(200).text();
    assert!(form.contains("name=\"role\"") && form.contains("DLA de la Gironde"));

    // Without a DLA: refused beside the field, what was typed is kept.
    let refused = app
        .post_form(
            "/utilisateurs",
            &[
                ("email", "julie@dla-gironde.fr"),
                ("name", "Julie Martin"),
                ("role", "officer"),
                ("dla_id", ""),
                ("consultant_id", ""),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(around_field(&refused, "email").contains("julie@dla-gironde.fr"));
    assert!(around_field(&refused, "name").contains("Julie Martin"));
    assert!(
        around_field(&refused, "dla_id").contains("Un·e chargé·e de mission appartient à un DLA."),
        "{refused}"
    );
    assert!(refused.contains("<option value=\"officer\" selected>"));
    {
        let mut conn = app.pool.get().unwrap();
        assert_eq!(cohorte::models::account::count(&mut conn).unwrap(), 1);
    }

    // With it: created, and the page shows the link in case the email does not arrive.
    let created = app
        .post_form(
            "/utilisateurs",
            &[
                ("email", "Julie@DLA-Gironde.fr"),
                ("name", "Julie Martin"),
                ("role", "officer"),
                ("dla_id", &dla),
                ("consultant_id", ""),
            ],
        )
        .await
        .expect(201)
        .text();
    assert!(created.contains("julie@dla-gironde.fr"), "{created}");
    let token = link_token(&created);
    assert_link_emailed(&app, "julie@dla-gironde.fr", &token);

    let list = app.get("/utilisateurs").await.expect(200).text();
    assert!(list.contains("Julie Martin") && list.contains("Chargé·e de mission"));
    assert!(list.contains("DLA de la Gironde") && list.contains("pas encore choisi"));

    // The link opens the form, then sets the password.
    app.send_raw(TestRequest::get().uri(&format!("/mot-de-passe/{token}")))
        .await
        .expect(200);
    let chosen = app
        .send_raw(
            TestRequest::post()
                .uri(&format!("/mot-de-passe/{token}"))
                .set_form([("password", PASSWORD), ("password_confirm", PASSWORD)]),
        )
        .await
        .expect(303);
    session_of(&chosen);

    // The person signs in with email and password.
    let cookie = sign_in(&app, "julie@dla-gironde.fr", PASSWORD).await;
    let mine = page(&app, &cookie, "/compte").await;
    assert!(mine.contains("Julie Martin") && mine.contains("DLA de la Gironde"));
    assert!(mine.contains("Chargé·e de mission"));

    // An email was sent (or written) without a server error; a new link can be made too.
    let id = {
        let mut conn = app.pool.get().unwrap();
        cohorte::models::account::find_by_email(&mut conn, "julie@dla-gironde.fr")
            .unwrap()
            .unwrap()
            .id
    };
    let again = app
        .post_form(&format!("/utilisateurs/{id}/lien"), &[])
        .await
        .expect(200)
        .text();
    let second = link_token(&again);
    assert_ne!(second, token);
    // The first link was used: it does not open again.
    app.send_raw(TestRequest::get().uri(&format!("/mot-de-passe/{token}")))
        .await
        .expect(410);
}

#[actix_web::test]
async fn a_consultant_account_needs_its_record_and_an_email_is_unique() {
    let app = common::spawn().await;
    let refused = app
        .post_form(
            "/utilisateurs",
            &[
                ("email", "admin@cohorte.test"),
                ("name", ""),
                ("role", "consultant"),
                ("dla_id", ""),
                ("consultant_id", ""),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(around_field(&refused, "email").contains("Un compte existe déjà avec cette adresse."));
    assert!(around_field(&refused, "name").contains("Ce champ est obligatoire."));
    assert!(around_field(&refused, "consultant_id").contains("fiche consultant·e"));
    let no_role = app
        .post_form(
            "/utilisateurs",
            &[("email", "x@y.fr"), ("name", "X"), ("role", "chef")],
        )
        .await
        .expect(422)
        .text();
    assert!(around_field(&no_role, "role").contains("Choisissez un rôle."));
}

#[actix_web::test]
async fn an_api_token_made_on_my_account_works_is_stored_hashed_and_stops_when_revoked() {
    let app = common::spawn().await;
    let empty = app
        .post_form("/compte/jetons", &[("name", "  ")])
        .await
        .expect(422)
        .text();
    assert!(around_field(&empty, "name").contains("Ce champ est obligatoire."));

    let created = app
        .post_form("/compte/jetons", &[("name", "Tableur du DLA")])
        .await
        .expect(201)
        .text();
    let start = created.find("Authorization: Bearer ").expect("usage line") + 22;
    let secret: String = created[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert!(secret.starts_with("cht_") && secret.len() == 68, "{secret}");

    // It works as a bearer token.
    let me = app
        .send_raw(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header((header::AUTHORIZATION, format!("Bearer {secret}"))),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(me["id"], app.admin_id.as_str());
    assert_eq!(me["email"], "admin@cohorte.test");
    assert_eq!(me["name"], "Alice Admin");
    assert_eq!(me["role"], "admin");
    assert!(me["dla_id"].is_null() && me["consultant_id"].is_null());

    // Stored hashed: the secret is in no column of api_tokens, nor anywhere in the file.
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let (rows, token_id) = {
        let mut conn = app.pool.get().unwrap();
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id || '|' || user_id || '|' || name || '|' || token_hash || '|' || prefix \
             || '|' || CAST(created_at AS TEXT) || '|' \
             || coalesce(CAST(last_used_at AS TEXT), '') || '|' \
             || coalesce(CAST(revoked_at AS TEXT), '') AS row FROM api_tokens",
        )
        .load(&mut conn)
        .unwrap();
        let id = cohorte::models::account::api_tokens_of(&mut conn, &app.admin_id)
            .unwrap()
            .into_iter()
            .find(|t| t.name == "Tableur du DLA")
            .expect("the token row")
            .id;
        (rows, id)
    };
    assert_eq!(rows.len(), 2, "the harness's token and this one");
    let hex = &secret["cht_".len()..];
    for r in &rows {
        assert!(!r.row.contains(hex), "secret stored in clear: {}", r.row);
    }
    assert!(rows.iter().any(|r| {
        r.row
            .contains(&cohorte::models::account::hash_secret(&secret))
    }));
    let db = std::path::Path::new(&app.config.database.url);
    for suffix in ["", "-wal"] {
        let file = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(hex.len()).any(|w| w == hex.as_bytes()),
                "the secret is in {file}"
            );
        }
    }
    // Shown once: the account page lists it by name and prefix only.
    let mine = app.get("/compte").await.expect(200).text();
    assert!(mine.contains("Tableur du DLA") && mine.contains(&secret[..10]));
    assert!(!mine.contains(hex));

    // Revoked: refused with 401.
    app.post_form(&format!("/compte/jetons/{token_id}/revoquer"), &[])
        .await
        .expect(303);
    let refused = app
        .send_raw(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header((header::AUTHORIZATION, format!("Bearer {secret}"))),
        )
        .await
        .expect(401);
    refused.api_error("unauthorized");
    assert!(
        app.get("/compte")
            .await
            .expect(200)
            .text()
            .contains("révoqué le")
    );
}

#[actix_web::test]
async fn a_token_can_only_be_revoked_by_its_owner() {
    let app = common::spawn().await;
    officer(&app, "julie@dla-gironde.fr").await;
    let cookie = sign_in(&app, "julie@dla-gironde.fr", PASSWORD).await;
    let html = page(&app, &cookie, "/compte").await;
    let csrf = csrf_of(&html);
    app.send_raw(with_cookie(
        TestRequest::post()
            .uri("/compte/jetons")
            .set_form([("name", "Script"), ("csrf_token", &csrf)]),
        &cookie,
    ))
    .await
    .expect(201);
    let officer_token = {
        let mut conn = app.pool.get().unwrap();
        let u = cohorte::models::account::find_by_email(&mut conn, "julie@dla-gironde.fr")
            .unwrap()
            .unwrap();
        cohorte::models::account::api_tokens_of(&mut conn, &u.id).unwrap()[0]
            .id
            .clone()
    };
    // The administrator cannot revoke it from their own account page: 404, still live.
    app.post_form(&format!("/compte/jetons/{officer_token}/revoquer"), &[])
        .await
        .expect(404);
    assert!(!page(&app, &cookie, "/compte").await.contains("révoqué le"));
}

#[actix_web::test]
async fn an_officer_signed_in_by_cookie_is_refused_the_accounts_pages() {
    let app = common::spawn().await;
    officer(&app, "julie@dla-gironde.fr").await;
    let cookie = sign_in(&app, "julie@dla-gironde.fr", PASSWORD).await;
    let html = page(&app, &cookie, "/compte").await;
    let csrf = csrf_of(&html);
    for uri in ["/utilisateurs", "/utilisateurs/nouveau"] {
        app.send_raw(with_cookie(TestRequest::get().uri(uri), &cookie))
            .await
            .expect(403);
    }
    app.send_raw(with_cookie(
        TestRequest::post().uri("/utilisateurs").set_form([
            ("email", "x@y.fr"),
            ("name", "X"),
            ("role", "admin"),
            ("csrf_token", &csrf),
        ]),
        &cookie,
    ))
    .await
    .expect(403);
    // The layout offers « Mon compte », not « Comptes ».
    assert!(html.contains("href=\"/compte\""));
    assert!(!html.contains("href=\"/utilisateurs\""));
    let mut conn = app.pool.get().unwrap();
    assert_eq!(cohorte::models::account::count(&mut conn).unwrap(), 2);
}

#[actix_web::test]
async fn changing_my_password_needs_the_current_one_and_ends_my_other_sessions() {
    let app = common::spawn().await;
    officer(&app, "julie@dla-gironde.fr").await;
    let cookie = sign_in(&app, "julie@dla-gironde.fr", PASSWORD).await;
    let other = sign_in(&app, "julie@dla-gironde.fr", PASSWORD).await;
    let csrf = csrf_of(&page(&app, &cookie, "/compte").await);
    let new_password = "un tout autre mot de passe";
    let change = |current: &str, password: &str, confirm: &str, csrf: &str| {
        with_cookie(
            TestRequest::post().uri("/compte/mot-de-passe").set_form([
                ("current_password", current),
                ("password", password),
                ("password_confirm", confirm),
                ("csrf_token", csrf),
            ]),
            &cookie,
        )
    };

    // Without the CSRF field: refused by the guard.
    app.send_raw(change(PASSWORD, new_password, new_password, ""))
        .await
        .expect(403);
    // Wrong current password: refused beside the field, nothing typed is echoed.
    let wrong = app
        .send_raw(change(
            "pas le bon mot de passe",
            new_password,
            new_password,
            &csrf,
        ))
        .await
        .expect(422)
        .text();
    assert!(around_field(&wrong, "current_password").contains("Mot de passe actuel incorrect."));
    assert!(!wrong.contains("pas le bon mot de passe") && !wrong.contains(new_password));
    // Too short, and a confirmation that differs.
    let short = app
        .send_raw(change(PASSWORD, "court", "court", &csrf))
        .await
        .expect(422)
        .text();
    assert!(around_field(&short, "password").contains("au moins 12 caractères"));
    let differs = app
        .send_raw(change(PASSWORD, new_password, "autre chose encore", &csrf))
        .await
        .expect(422)
        .text();
    assert!(around_field(&differs, "password_confirm").contains("pas identiques"));

    // Right current password: changed; this browser gets a new session, the other one ends.
    let done = app
        .send_raw(change(PASSWORD, new_password, new_password, &csrf))
        .await
        .expect(303);
    assert_eq!(
        done.header("location"),
        Some("/compte?notice=mot_de_passe_change")
    );
    let renewed = session_of(&done);
    assert_ne!(renewed, cookie);
    page(&app, &renewed, "/compte").await;
    for old in [&cookie, &other] {
        app.send_raw(with_cookie(TestRequest::get().uri("/compte"), old))
            .await
            .expect(303);
    }
    // The new password signs in; the old one no longer does.
    sign_in(&app, "julie@dla-gironde.fr", new_password).await;
    app.send_raw(TestRequest::post().uri("/connexion").set_form([
        ("email", "julie@dla-gironde.fr"),
        ("password", PASSWORD),
        ("suite", ""),
    ]))
    .await
    .expect(401);
}

#[actix_web::test]
async fn an_administrator_edits_an_account_and_cannot_lock_themselves_out() {
    let app = common::spawn().await;
    let (_, id) = officer(&app, "julie@dla-gironde.fr").await;
    let cookie = sign_in(&app, "julie@dla-gironde.fr", PASSWORD).await;

    let form = app
        .get(&format!("/utilisateurs/{id}/modifier"))
        .await
        .expect(200)
        .text();
    assert!(around_field(&form, "name").contains("Julie Martin"));
    let version = around_field(&form, "version")
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();

    // A consultant role without its record: refused beside the field, typed name kept.
    let refused = app
        .post_form(
            &format!("/utilisateurs/{id}/modifier"),
            &[
                ("name", "Julie Martin-Roux"),
                ("role", "consultant"),
                ("dla_id", ""),
                ("consultant_id", ""),
                ("version", &version),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(around_field(&refused, "name").contains("Julie Martin-Roux"));
    assert!(around_field(&refused, "consultant_id").contains("fiche consultant·e"));

    // Renamed and disabled: her session ends.
    let dla_id = {
        let mut conn = app.pool.get().unwrap();
        cohorte::models::account::find(&mut conn, &id)
            .unwrap()
            .dla_id
            .unwrap()
    };
    app.post_form(
        &format!("/utilisateurs/{id}/modifier"),
        &[
            ("name", "Julie Martin-Roux"),
            ("role", "officer"),
            ("dla_id", &dla_id),
            ("consultant_id", ""),
            ("disabled", "on"),
            ("version", &version),
        ],
    )
    .await
    .expect(303);
    app.send_raw(with_cookie(TestRequest::get().uri("/compte"), &cookie))
        .await
        .expect(303);
    let list = app.get("/utilisateurs").await.expect(200).text();
    assert!(list.contains("Julie Martin-Roux") && list.contains("désactivé"));
    // The same version again: someone changed it since.
    app.post_form(
        &format!("/utilisateurs/{id}/modifier"),
        &[
            ("name", "Julie"),
            ("role", "officer"),
            ("dla_id", &dla_id),
            ("version", &version),
        ],
    )
    .await
    .expect(409);
    // No new link for a disabled account.
    app.post_form(&format!("/utilisateurs/{id}/lien"), &[])
        .await
        .expect(409);

    // The administrator can neither disable nor demote themselves.
    let admin = app.admin_id.clone();
    let own = app
        .post_form(
            &format!("/utilisateurs/{admin}/modifier"),
            &[
                ("name", "Alice Admin"),
                ("role", "officer"),
                ("dla_id", &dla_id),
                ("disabled", "on"),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(around_field(&own, "disabled").contains("propre compte"));
    assert!(around_field(&own, "role").contains("propre rôle"));
    app.get("/utilisateurs").await.expect(200);
}

/// The ids of the accounts a page lists (their « Modifier » links), in order.
fn listed_accounts(html: &str) -> Vec<String> {
    html.split("href=\"/utilisateurs/")
        .skip(1)
        .filter_map(|rest| rest.split_once("/modifier\""))
        .map(|(id, _)| id.to_string())
        .collect()
}

/// The accounts page pages in SQL like the other lists: 50 a page by role then name, the
/// rest on page 2, nobody on both, the pager linking them; each row still names its DLA
/// or consultant record.
#[actix_web::test]
async fn the_accounts_page_shows_fifty_accounts_a_page_with_their_dla_or_record() {
    let app = common::spawn().await;
    let dla = app.create_dla().await;
    let record = app
        .post_json(
            "/api/v1/consultants",
            serde_json::json!({"name": "Camille Conseil", "firm": "Cabinet", "email": "camille@conseil.fr", "dla_ids": [dla]}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    {
        let mut conn = app.pool.get().unwrap();
        // 17 consultant·es (0, 3, … 48) and 34 chargé·es de mission, besides Alice Admin.
        for i in 0..51 {
            let consultant = i % 3 == 0;
            common::write(&mut conn, |tx| {
                cohorte::models::account::create(
                    tx,
                    cohorte::models::account::NewUser {
                        email: &format!("personne{i:02}@cohorte.test"),
                        name: &format!("Personne {i:02}"),
                        role: if consultant { "consultant" } else { "officer" },
                        dla_id: (!consultant).then_some(dla.as_str()),
                        consultant_id: consultant.then_some(record.as_str()),
                        password: None,
                    },
                )
            })
            .unwrap();
        }
    }
    let links = |html: &str| html.replace("&#x3D;", "=");

    let first = app.get("/utilisateurs").await.expect(200).text();
    let on_first = listed_accounts(&first);
    assert_eq!(on_first.len(), 50, "{first}");
    assert!(first.contains("Page 1 sur 2 (52 comptes)"), "{first}");
    assert!(links(&first).contains("href=\"/utilisateurs?page=2\""));
    // By role: the administrator, then the consultant·es named by their record.
    assert_eq!(on_first[0], app.admin_id);
    assert!(first.contains("<td>Consultant·e</td>"), "{first}");
    assert!(first.contains("<td>Camille Conseil</td>"), "{first}");

    let second = app.get("/utilisateurs?page=2").await.expect(200).text();
    let on_second = listed_accounts(&second);
    assert_eq!(on_second.len(), 2, "{second}");
    assert!(links(&second).contains("href=\"/utilisateurs?page=1\""));
    assert!(!links(&second).contains("page=3"));
    // The last two chargé·es de mission by name, with their DLA.
    let last = second.find("Personne 49").expect("Personne 49 on page 2");
    assert!(second[last..].contains("Personne 50"), "{second}");
    assert!(second.contains("<td>DLA de la Gironde</td>"), "{second}");
    assert!(second.contains("pas encore choisi"));
    assert!(!first.contains("Personne 49") && !first.contains("Personne 50"));

    let mut everyone: Vec<String> = on_first.into_iter().chain(on_second).collect();
    everyone.sort();
    everyone.dedup();
    assert_eq!(
        everyone.len(),
        52,
        "no account on both pages, none left out"
    );

    // A page past the end shows the last one.
    let beyond = app.get("/utilisateurs?page=9").await.expect(200).text();
    assert_eq!(listed_accounts(&beyond).len(), 2);
}
