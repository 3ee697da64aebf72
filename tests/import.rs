//! « Importer une liste » (issue #14, point 5): a file as French Excel writes it, a paste
//! from a spreadsheet, a UTF-8 file with commas, the preview and its corrections, the cap,
//! the upload as a browser sends it (multipart, CSRF), and the API — on a real database.

mod common;

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use cohorte::web::actor::{csrf_for, session_cookie_name};
use common::{Response, TestApp, form_of};

const TOWNS: [&str; 8] = [
    "Bègles",
    "Pessac",
    "Mérignac",
    "Talence",
    "Cenon",
    "Lormont",
    "Floirac",
    "Eysines",
];

/// The list of the issue: 8 associations, each with its director and a board member, as
/// typed in a French spreadsheet (accents, « oui »/« non », dates JJ/MM/AAAA, the labels of
/// the roles). `bad_email` replaces the address of the 6th association's board member.
fn french_list(separator: &str, bad_email: Option<&str>) -> String {
    let mut lines = vec![
        [
            "Association",
            "RNA",
            "Commune",
            "Date de création",
            "Salariés",
            "Secteur",
            "Intérêt général",
            "Nom",
            "Courriel",
            "Rôle",
            "Fonction",
        ]
        .join(separator),
    ];
    for (i, town) in TOWNS.iter().enumerate() {
        let n = i + 1;
        let name = format!("Élan solidaire n° {n}");
        lines.push(
            [
                name.as_str(),
                &format!("W33200451{n}"),
                town,
                &format!("1{n}/09/201{n}"),
                &format!("{}", n + 2),
                "Action sociale; insertion",
                if n == 3 { "non" } else { "oui" },
                &format!("Hélène Dirigeante {n}"),
                &format!("helene{n}@elan{n}.fr"),
                "Dirigeant·e salarié·e",
                "Directrice",
            ]
            .map(|cell| quote(cell, separator))
            .join(separator),
        );
        let email = match bad_email {
            Some(bad) if n == 6 => bad.to_string(),
            _ => format!("andre{n}@elan{n}.fr"),
        };
        lines.push(
            [
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                &format!("André Trésorier {n}"),
                &email,
                "Membre du CA",
                "Trésorier",
            ]
            .join(separator),
        );
    }
    lines.join("\r\n") + "\r\n"
}

/// A cell as a spreadsheet writes it: quoted when it holds the separator.
fn quote(cell: &str, separator: &str) -> String {
    if cell.contains(separator) {
        format!("\"{cell}\"")
    } else {
        cell.to_string()
    }
}

/// A `multipart/form-data` body as a browser sends the import form: the CSRF field, the
/// textarea, then the file.
fn multipart(csrf: &str, file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in [("csrf_token", csrf), ("text", "")] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads a file through the page as a browser does: the session cookie, the page's
/// origin, and the CSRF token in the form's own field (no header).
async fn upload(app: &TestApp, cohort: &str, file_name: &str, file: &[u8]) -> Response {
    upload_with_token(app, cohort, file_name, file, &csrf_for(&app.admin_cookie)).await
}

async fn upload_with_token(
    app: &TestApp,
    cohort: &str,
    file_name: &str,
    file: &[u8],
    csrf: &str,
) -> Response {
    let (content_type, body) = multipart(csrf, file_name, file);
    let req = TestRequest::post()
        .uri(&format!("/cohortes/{cohort}/import"))
        .insert_header((
            header::COOKIE,
            format!(
                "{}={}",
                session_cookie_name(app.config.server.is_https()),
                app.admin_cookie
            ),
        ))
        .insert_header((header::ORIGIN, app.config.server.public_url.clone()))
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body);
    app.send_raw(req).await
}

async fn new_cohort(app: &TestApp) -> String {
    let dla = app.create_dla().await;
    app.create_cohort(&dla, "Modèles socio-économiques 2027")
        .await
}

async fn associations(app: &TestApp, cohort: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/cohorts/{cohort}/associations"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

async fn participants(app: &TestApp, association: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/associations/{association}/participants"))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

/// The page's text with the entities handlebars writes decoded.
fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#x3D;", "=")
        .replace("&amp;", "&")
}

#[actix_web::test]
async fn a_french_excel_file_with_a_bad_row_is_shown_then_imported_once_corrected() {
    let app = common::spawn().await;
    let cohort = new_cohort(&app).await;
    let list = french_list(";", Some("andre6@elan6"));
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&list);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "Windows-1252, as French Excel saves « CSV (séparateur : point-virgule) »"
    );

    // The preview: the bad address beside its row, nothing saved.
    let res = upload(&app, &cohort, "cohorte 2027.csv", &bytes).await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.text());
    let html = unescape(&res.text());
    assert!(
        html.contains("1 ligne à corriger : rien n'est enregistré tant qu'une ligne est refusée."),
        "{html}"
    );
    assert!(
        html.contains("Source : fichier « cohorte 2027.csv »"),
        "{html}"
    );
    assert!(html.contains("La liste compte 8 associations et 16 participant·es"));
    // The 6th association's second person is on line 13 (the header is line 1).
    let bad = html
        .find("value=\"andre6@elan6\"")
        .expect("the address given back as typed");
    let cell: String = html[bad..].chars().take(400).collect();
    assert!(
        cell.contains("aria-invalid=\"true\"")
            && cell.contains("Adresse e-mail invalide (exemple : prenom.nom@association.fr)."),
        "{cell}"
    );
    assert!(html.contains("Ligne 13, Courriel : Adresse e-mail invalide"));
    assert!(
        html.contains("value=\"Élan solidaire n° 1\""),
        "accents decoded"
    );
    assert!(
        html.contains("value=\"Action sociale; insertion\""),
        "quoted ;"
    );
    assert_eq!(associations(&app, &cohort).await.len(), 0);

    // « Importer » while the row is refused saves nothing either.
    let mut fields = form_of(&res.text(), &format!("/cohortes/{cohort}/import/apercu"));
    let mut importing = fields.clone();
    importing.push(("action".into(), "importer".into()));
    let pairs: Vec<(&str, &str)> = importing
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = app
        .post_form(&format!("/cohortes/{cohort}/import/apercu"), &pairs)
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(associations(&app, &cohort).await.len(), 0);

    // Corrected in the preview, checked again, then imported.
    for (k, v) in fields.iter_mut() {
        if k == "email" && v == "andre6@elan6" {
            *v = "andre6@elan6.fr".into();
        }
    }
    let mut checking = fields.clone();
    checking.push(("action".into(), "verifier".into()));
    let pairs: Vec<(&str, &str)> = checking
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = app
        .post_form(&format!("/cohortes/{cohort}/import/apercu"), &pairs)
        .await
        .expect(200);
    let html = unescape(&res.text());
    assert!(html.contains("Aucun problème"), "{html}");
    assert!(!html.contains("aria-invalid"));
    let mut importing = form_of(&res.text(), &format!("/cohortes/{cohort}/import/apercu"));
    importing.push(("action".into(), "importer".into()));
    let pairs: Vec<(&str, &str)> = importing
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = app
        .post_form(&format!("/cohortes/{cohort}/import/apercu"), &pairs)
        .await
        .expect(303);
    let location = res.header("location").unwrap().to_string();
    assert_eq!(location, format!("/cohortes/{cohort}?notice=import_8_16"));
    let page = unescape(&app.get(&location).await.expect(200).text());
    assert!(
        page.contains("8 associations et 16 participant·es importés."),
        "{page}"
    );

    // The associations and their people, with their fields.
    let list = associations(&app, &cohort).await;
    assert_eq!(list.len(), 8);
    let mut people = 0;
    for (i, a) in list.iter().enumerate() {
        let n = i + 1;
        assert_eq!(a["name"], format!("Élan solidaire n° {n}"));
        assert_eq!(a["rna"], format!("W33200451{n}"));
        assert_eq!(a["town"], TOWNS[i]);
        assert_eq!(a["creation_date"], format!("201{n}-09-1{n}"));
        assert_eq!(a["creation_year"], 2010 + n as i64);
        assert_eq!(a["salaried_staff"], n as i64 + 2);
        assert_eq!(a["sector"], "Action sociale; insertion");
        assert_eq!(a["general_interest"], n != 3);
        let ps = participants(&app, a["id"].as_str().unwrap()).await;
        let got: Vec<(&str, &str, &str, &str)> = ps
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap(),
                    p["email"].as_str().unwrap(),
                    p["role"].as_str().unwrap(),
                    p["function"].as_str().unwrap(),
                )
            })
            .collect();
        let (helene, andre) = (
            format!("Hélène Dirigeante {n}"),
            format!("André Trésorier {n}"),
        );
        let (e1, e2) = (
            format!("helene{n}@elan{n}.fr"),
            format!("andre{n}@elan{n}.fr"),
        );
        let mut expected = vec![
            (helene.as_str(), e1.as_str(), "direction", "Directrice"),
            (andre.as_str(), e2.as_str(), "gouvernance", "Trésorier"),
        ];
        let mut got = got;
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
        people += ps.len();
    }
    assert_eq!(people, 16);

    // The journal: each row created through the usual functions, and one summary.
    let audit = app
        .get(&format!("/api/v1/cohorts/{cohort}/audit?limit=500"))
        .await
        .expect(200)
        .json();
    let entries = audit.as_array().expect("audit entries");
    let count = |entity: &str| entries.iter().filter(|e| e["entity"] == entity).count();
    assert_eq!(count("association"), 8);
    assert_eq!(count("participant"), 16);
    assert_eq!(count("import"), 1);
    let summary = entries.iter().find(|e| e["entity"] == "import").unwrap();
    assert_eq!(
        summary["summary"],
        "Import d'une liste « 8 associations et 16 participant·es » : création"
    );
}

#[actix_web::test]
async fn a_tab_separated_paste_is_previewed_and_imported() {
    let app = common::spawn().await;
    let cohort = new_cohort(&app).await;
    let paste = "Association\tCommune\tNom\tCourriel\tRôle\tFonction\n\
                 Le Lien\tPessac\tChloé Martin\tchloe@lien.fr\tdirection\t\n\
                 \t\tDenis Roux\tdenis@lien.fr\tPrésident\t\n\
                 Cap Sud\tCenon\t\t\t\t\n";
    let res = app
        .post_form(&format!("/cohortes/{cohort}/import"), &[("text", paste)])
        .await
        .expect(200);
    let html = unescape(&res.text());
    assert!(html.contains("Source : collage"), "{html}");
    assert!(html.contains("La liste compte 2 associations et 2 participant·es"));
    let mut fields = form_of(&res.text(), &format!("/cohortes/{cohort}/import/apercu"));
    fields.push(("action".into(), "importer".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post_form(&format!("/cohortes/{cohort}/import/apercu"), &pairs)
        .await
        .expect(303);
    let list = associations(&app, &cohort).await;
    let names: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Le Lien") && names.contains(&"Cap Sud"));
    let lien = list.iter().find(|a| a["name"] == "Le Lien").unwrap();
    let ps = participants(&app, lien["id"].as_str().unwrap()).await;
    let denis = ps.iter().find(|p| p["name"] == "Denis Roux").unwrap();
    assert_eq!(denis["role"], "gouvernance");
    assert_eq!(
        denis["function"], "Président",
        "the role's word fills the function"
    );
    let cap_sud = list.iter().find(|a| a["name"] == "Cap Sud").unwrap();
    assert!(
        participants(&app, cap_sud["id"].as_str().unwrap())
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn a_utf8_file_with_a_bom_and_commas_is_read_with_unknown_columns_reported() {
    let app = common::spawn().await;
    let cohort = new_cohort(&app).await;
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        french_list(",", None)
            .replace("Secteur", "Téléphone")
            .as_bytes(),
    );
    let res = upload(&app, &cohort, "liste.csv", &bytes).await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
    let html = unescape(&res.text());
    assert!(
        html.contains("Colonnes non reconnues, ignorées : « Téléphone »."),
        "{html}"
    );
    assert!(html.contains("value=\"Hélène Dirigeante 1\""));
    assert!(html.contains("La liste compte 8 associations et 16 participant·es"));
    assert!(!html.contains("aria-invalid"), "{html}");
}

#[actix_web::test]
async fn the_cap_refuses_a_list_with_too_many_associations() {
    let app = common::spawn().await;
    let (cohort, _) = app.cohort_with(2).await;
    let text = french_list(";", None);
    // Eight more than the two enrolled, in a cohort of eight.
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": text, "dry_run": true}),
        )
        .await
        .expect(200);
    let preview = res.json();
    assert_eq!(preview["associations"], 8);
    assert_eq!(
        preview["general"][0],
        "La cohorte accueille 8 associations au maximum : 2 places déjà prises (associations inscrites ou candidatures retenues), 8 nouvelles dans la liste. Augmentez la capacité de la cohorte ou retirez des associations de la liste."
    );
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": text}),
        )
        .await
        .expect(422);
    let error = res.api_error("validation_failed");
    assert!(
        error["fields"]["text"]
            .as_str()
            .unwrap()
            .contains("2 places déjà prises")
    );
    assert_eq!(associations(&app, &cohort).await.len(), 2);

    // On the page, too: the message on top, nothing saved.
    let res = app
        .post_form(&format!("/cohortes/{cohort}/import"), &[("text", &text)])
        .await;
    assert_eq!(res.status.as_u16(), 422);
    assert!(unescape(&res.text()).contains("2 places déjà prises (associations inscrites ou candidatures retenues), 8 nouvelles dans la liste"));
}

#[actix_web::test]
async fn the_api_answers_each_rows_problems_and_saves_all_or_nothing() {
    let app = common::spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let text = "Association;SIRET;Salariés;Nom;Courriel;Rôle\n\
                Association n° 1;;3;Zoé;zoe@a.fr;direction\n\
                Nouvelle;123;douze;Yann;yann@b;stagiaire\n\
                ;;;Yves;YANN@b;autre\n";
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": text, "dry_run": true}),
        )
        .await
        .expect(200);
    let rows = res.json()["rows"].clone();
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(
        rows[0]["errors"]["association"],
        "Une association de ce nom est déjà inscrite dans la cohorte."
    );
    assert!(rows[1]["errors"]["siret"].is_string());
    assert_eq!(
        rows[1]["errors"]["salaried_staff"],
        "Indiquez un nombre entier, par exemple 12."
    );
    assert_eq!(
        rows[1]["errors"]["email"],
        "Adresse e-mail invalide (exemple : prenom.nom@association.fr)."
    );
    assert_eq!(
        rows[1]["errors"]["role"],
        "Choisissez le rôle : direction salariée, gouvernance ou autre."
    );
    assert!(
        rows[2]["errors"]["email"]
            .as_str()
            .unwrap()
            .contains("déjà celle d'une autre personne")
    );
    assert_eq!(rows[2]["name"], "Yves", "the cells given back");

    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": text, "dry_run": false}),
        )
        .await
        .expect(422);
    let fields = res.api_error("validation_failed")["fields"].clone();
    assert!(fields["rows[0].association"].is_string(), "{fields}");
    assert!(fields["rows[1].email"].is_string());
    assert_eq!(associations(&app, &cohort).await.len(), 1);

    let good =
        "Association;Nom;Courriel;Rôle;Fonction\nNouvelle;Yann;yann@b.fr;gouvernance;Président\n";
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": good}),
        )
        .await
        .expect(201);
    assert_eq!(res.json(), json!({"associations": 1, "participants": 1}));
    assert_eq!(associations(&app, &cohort).await.len(), 2);

    // Unreadable lists are 422 on `text`.
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": "Nom;Courriel\nA;a@b.fr"}),
        )
        .await
        .expect(422);
    assert!(
        res.api_error("validation_failed")["fields"]["text"]
            .as_str()
            .unwrap()
            .contains("« Association »")
    );
}

#[actix_web::test]
async fn an_upload_without_the_forms_csrf_token_is_refused() {
    let app = common::spawn().await;
    let cohort = new_cohort(&app).await;
    let bytes = french_list(";", None).into_bytes();
    let res = upload_with_token(&app, &cohort, "liste.csv", &bytes, "forged").await;
    assert_eq!(res.status.as_u16(), 403);
    assert_eq!(associations(&app, &cohort).await.len(), 0);
}

#[actix_web::test]
async fn the_model_file_reads_back_as_the_columns_with_its_example() {
    let app = common::spawn().await;
    let cohort = new_cohort(&app).await;
    let res = app
        .get(&format!("/cohortes/{cohort}/import/modele.csv"))
        .await
        .expect(200);
    assert!(res.content_type().starts_with("text/csv"));
    let text = res.text();
    assert!(text.starts_with('\u{feff}'), "BOM for Excel");
    assert!(text.starts_with(
        "\u{feff}Association;RNA;SIRET;Commune;Date de création;Salariés;Secteur;Intérêt général;Nom;Courriel;Rôle;Fonction\r\n"
    ));
    let res = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/import"),
            json!({"text": text, "dry_run": true}),
        )
        .await
        .expect(200);
    let preview = res.json();
    assert_eq!(
        (
            preview["associations"].as_i64(),
            preview["participants"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert!(
        preview["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["errors"] == json!({})),
        "{preview}"
    );
}
