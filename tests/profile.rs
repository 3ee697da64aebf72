//! The socio-economic model through HTTP: the staff form saved and read back (French amounts
//! and FTE), refused input kept as typed with each message beside its field (422), a stale
//! version (409), the participant's personal link, the CSV exports parsed back as French
//! Excel reads them, and the JSON API.

mod common;

use serde_json::{Value, json};

use common::{Response, TestApp, spawn};

const NBSP: char = '\u{a0}';
const NNBSP: char = '\u{202f}';

fn location(res: &Response) -> &str {
    res.header("location").expect("a redirect")
}

async fn stored(app: &TestApp, association: &str, stage: &str) -> Value {
    app.get(&format!(
        "/api/v1/associations/{association}/profile/{stage}"
    ))
    .await
    .expect(200)
    .json()
}

fn amount(p: &Value, resource: &str) -> Option<i64> {
    p["profile"]["finances"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["resource"] == resource)
        .map(|l| l["amount_cents"].as_i64().unwrap())
}

/// A full état des lieux as a participant would type it.
fn typed() -> Vec<(&'static str, &'static str)> {
    vec![
        ("version", "0"),
        ("employees", "4"),
        ("employees_fte", "3,5"),
        ("volunteers", "25"),
        ("volunteer_hours", "3 214"),
        ("civic_service", "2"),
        ("skills_sponsorship_days", ""),
        ("year", "2025"),
        ("resource_subvention_region", "12 500,50 €"),
        ("resource_subvention_commune", "30000"),
        ("resource_ventes", "7 499,50"),
        ("largest_funder_name", "Ville de Bègles"),
        ("largest_funder_amount", "30 000"),
        ("alliance_0_partner", "Mairie de Bègles"),
        ("alliance_0_actor_kind", "collectivite"),
        ("alliance_0_nature", "moyens"),
        ("alliance_1_partner", ""),
        ("alliance_1_actor_kind", ""),
        ("alliance_1_nature", ""),
        ("alliance_2_partner", "Fondation « Élan »"),
        ("alliance_2_actor_kind", "fondation"),
        ("alliance_2_nature", "positionnement"),
        ("das_0_name", "Ateliers d'insertion"),
        ("das_0_share", "60"),
        ("das_0_notes", ""),
        ("strengths", "Une équipe stable ; des bénévoles fidèles"),
        ("fragilities", "Trésorerie tendue"),
        ("risks", ""),
        ("ambition", "Développer les ventes"),
    ]
}

#[actix_web::test]
async fn the_staff_form_saves_french_amounts_and_fte_and_reads_them_back() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let a = &associations[0];
    let form = app
        .get(&format!("/associations/{a}/modele/etat_des_lieux"))
        .await
        .expect(200)
        .text();
    for section in [
        "Richesses humaines",
        "Ressources financières (dernier exercice clos)",
        "Alliances stratégiques",
        "Domaines d'activité stratégiques (facultatif)",
        "Votre lecture",
    ] {
        assert!(form.contains(section), "section {section}");
    }
    assert!(form.contains("name=\"version\" value=\"0\""));

    let res = app
        .post_form(
            &format!("/associations/{a}/modele/etat_des_lieux"),
            &typed(),
        )
        .await
        .expect(303);
    assert_eq!(
        location(&res),
        format!("/associations/{a}/modele?notice=profil_enregistre#etat_des_lieux")
    );

    let p = stored(&app, a, "etat_des_lieux").await;
    assert_eq!(p["version"], 1);
    assert_eq!(p["updated_by"], "l'équipe");
    assert_eq!(amount(&p, "subvention_region"), Some(1_250_050));
    assert_eq!(amount(&p, "subvention_commune"), Some(3_000_000));
    assert_eq!(amount(&p, "ventes"), Some(749_950));
    assert_eq!(p["profile"]["human"]["employees_fte_hundredths"], 350);
    assert_eq!(p["profile"]["human"]["volunteer_hours"], 3214);
    assert_eq!(p["profile"]["finances"]["largest_funder_cents"], 3_000_000);
    // The blank alliance row is skipped.
    let alliances = p["profile"]["alliances"].as_array().unwrap();
    assert_eq!(alliances.len(), 2);
    assert_eq!(alliances[1]["partner"], "Fondation « Élan »");
    assert_eq!(p["profile"]["das"][0]["budget_share_bp"], 6_000);
    assert_eq!(p["indicators"]["total_cents"], 5_000_000);
    assert_eq!(p["indicators"]["largest_funder_bp"], 6_000);

    // The read view shows the figures in French.
    let page = app
        .get(&format!(
            "/associations/{a}/modele?notice=profil_enregistre"
        ))
        .await
        .expect(200)
        .text();
    assert!(
        page.contains("L&#x27;état des lieux a été enregistré.")
            || page.contains("L'état des lieux a été enregistré.")
    );
    assert!(page.contains(&format!("12{NNBSP}500,50{NBSP}€")), "{page}");
    assert!(page.contains(&format!("50{NNBSP}000,00{NBSP}€")));
    assert!(page.contains(&format!("3,5{NBSP}ETP")));
    assert!(page.contains(&format!("60{NBSP}%")), "largest funder share");
    assert!(page.contains("Fondation « Élan » — Fondation — de positionnement"));
    assert!(page.contains(&format!("/associations/{a}/modele/cible")));
    // The three pillars' indicators (web::pages::mirror's partial).
    assert!(page.contains("Indicateurs"));
    assert!(page.contains("id=\"ind-etat_des_lieux-res-t\""), "{page}");

    // The form opens again at version 1 with the amounts as a person types them.
    let form = app
        .get(&format!("/associations/{a}/modele/etat_des_lieux"))
        .await
        .expect(200)
        .text();
    assert!(form.contains("name=\"version\" value=\"1\""));
    assert!(
        common::around_field(&form, "resource_subvention_region").contains("value=\"12 500,50\"")
    );
    assert!(common::around_field(&form, "employees_fte").contains("value=\"3,5\""));
    // The total is shown after the save.
    assert!(form.contains(&format!("50{NNBSP}000,00{NBSP}€")));

    // The printable profile and the association page link to it.
    let print = app
        .get(&format!("/associations/{a}/modele/imprimer"))
        .await
        .expect(200)
        .text();
    assert!(print.contains("Imprimé le"));
    assert!(print.contains(&format!("12{NNBSP}500,50{NBSP}€")));
    let show = app
        .get(&format!("/associations/{a}"))
        .await
        .expect(200)
        .text();
    assert!(show.contains("Modèle socio-économique"));
    assert!(show.contains(&format!("href=\"/associations/{a}/modele/etat_des_lieux\"")));
}

#[actix_web::test]
async fn a_new_target_model_starts_from_the_ambition_of_the_assessment() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let a = &associations[0];
    app.post_form(
        &format!("/associations/{a}/modele/etat_des_lieux"),
        &typed(),
    )
    .await
    .expect(303);
    let form = app
        .get(&format!("/associations/{a}/modele/cible"))
        .await
        .expect(200)
        .text();
    assert!(form.contains("Modèle visé"));
    assert!(form.contains("Développer les ventes</textarea>"));
    assert!(form.contains("name=\"lever_financial\""));
    let res = app
        .post_form(
            &format!("/associations/{a}/modele/cible"),
            &[
                ("version", "0"),
                ("ambition", "Développer les ventes"),
                ("lever_financial", "Une boutique en ligne"),
                (
                    "actions",
                    "Étude de marché\nRecruter un·e chargé·e de vente",
                ),
            ],
        )
        .await
        .expect(303);
    assert!(location(&res).ends_with("notice=profil_cible_enregistre#cible"));
    let p = stored(&app, a, "cible").await;
    assert_eq!(p["profile"]["levers"]["financial"], "Une boutique en ligne");
    app.get(&format!("/associations/{a}/modele/inconnue"))
        .await
        .expect(404);
}

#[actix_web::test]
async fn refused_input_is_shown_again_with_each_message_beside_its_field() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let a = &associations[0];
    let mut fields = typed();
    let set = |fields: &mut Vec<(&'static str, &'static str)>, k, v| {
        fields.retain(|(n, _)| *n != k);
        fields.push((k, v));
    };
    set(&mut fields, "resource_ventes", "-200");
    set(&mut fields, "resource_subvention_region", "douze mille");
    set(&mut fields, "employees", "quatre");
    set(&mut fields, "largest_funder_amount", "900 000");
    set(&mut fields, "alliance_2_nature", "");
    let res = app
        .post_form(&format!("/associations/{a}/modele/etat_des_lieux"), &fields)
        .await
        .expect(422);
    let page = res.text();
    assert!(page.contains("La saisie contient 5 erreurs"), "{page}");
    let ventes = common::around_field(&page, "resource_ventes");
    assert!(ventes.contains("value=\"-200\""));
    assert!(ventes.contains("ne peut pas être négatif"), "{ventes}");
    let region = common::around_field(&page, "resource_subvention_region");
    assert!(region.contains("value=\"douze mille\""));
    assert!(region.contains("Montant illisible"));
    let employees = common::around_field(&page, "employees");
    assert!(employees.contains("value=\"quatre\""));
    assert!(employees.contains("nombre entier"));
    let largest = common::around_field(&page, "largest_funder_amount");
    assert!(largest.contains("value=\"900 000\""));
    assert!(
        largest.contains("ne peut pas dépasser le total"),
        "{largest}"
    );
    // The third form row, whatever the blank row before it.
    let nature = common::around_field(&page, "alliance_2_nature");
    assert!(
        nature.contains("Choisissez la nature de l&#x27;alliance")
            || nature.contains("Choisissez la nature de l'alliance"),
        "{nature}"
    );
    assert!(!common::around_field(&page, "alliance_0_nature").contains("Choisissez"));
    // Everything else typed is still there.
    assert!(
        common::around_field(&page, "alliance_2_partner").contains("value=\"Fondation « Élan »\"")
    );
    assert!(
        common::around_field(&page, "alliance_2_actor_kind")
            .contains("value=\"fondation\" selected")
    );
    assert!(common::around_field(&page, "employees_fte").contains("value=\"3,5\""));
    assert!(page.contains("Une équipe stable ; des bénévoles fidèles</textarea>"));
    assert!(
        common::around_field(&page, "das_0_name").contains("value=\"Ateliers d&#x27;insertion\"")
            || common::around_field(&page, "das_0_name").contains("value=\"Ateliers d'insertion\"")
    );
    // Nothing saved.
    assert_eq!(stored(&app, a, "etat_des_lieux").await["version"], 0);
}

#[actix_web::test]
async fn a_stale_version_is_409_and_keeps_what_was_typed() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let a = &associations[0];
    app.post_form(
        &format!("/associations/{a}/modele/etat_des_lieux"),
        &typed(),
    )
    .await
    .expect(303);
    // Someone else had opened the empty form (version 0) and saves after.
    let res = app
        .post_form(
            &format!("/associations/{a}/modele/etat_des_lieux"),
            &[
                ("version", "0"),
                ("employees", "9"),
                ("strengths", "Seconde saisie"),
            ],
        )
        .await
        .expect(409);
    let page = res.text();
    assert!(page.contains("Ce modèle socio-économique a été modifié par quelqu"));
    assert!(common::around_field(&page, "employees").contains("value=\"9\""));
    assert!(page.contains("Seconde saisie</textarea>"));
    // Saving again from this page overwrites knowingly: it carries the current version.
    assert!(page.contains("name=\"version\" value=\"1\""));
    let p = stored(&app, a, "etat_des_lieux").await;
    assert_eq!(p["version"], 1);
    assert_eq!(
        p["profile"]["human"]["employees"], 4,
        "the first save stands"
    );
}

fn csv_rows(res: &Response) -> Vec<Vec<String>> {
    assert_eq!(res.content_type(), "text/csv; charset=utf-8");
    assert!(res.body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    common::parse_csv(std::str::from_utf8(&res.body[3..]).expect("UTF-8"))
}

#[actix_web::test]
async fn the_cohort_csv_opens_in_french_excel_with_one_line_per_association_and_stage() {
    let app = spawn().await;
    let (cohort, mut associations) = app.cohort_with(1).await;
    let accented = app.enrol(&cohort, "Les Pêcheurs d'Été ; Bègles").await;
    associations.push(accented.clone());
    app.post_form(
        &format!("/associations/{accented}/modele/etat_des_lieux"),
        &typed(),
    )
    .await
    .expect(303);

    let res = app
        .get(&format!("/cohortes/{cohort}/modeles.csv"))
        .await
        .expect(200);
    let disposition = res.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"modeles-modeles-socio-economiques-2027-"),
        "{disposition}"
    );
    let rows = csv_rows(&res);
    assert_eq!(rows[0][0], "Association");
    assert_eq!(rows[0][1], "Étape");
    assert_eq!(rows[0][4], "Total des ressources (€)");
    assert_eq!(rows.len(), 1 + 2 * 2, "two associations × two stages");
    let header = &rows[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let filled = rows
        .iter()
        .find(|r| r[0] == "Les Pêcheurs d'Été ; Bègles" && r[1] == "État des lieux")
        .expect("the accented association's assessment");
    assert_eq!(filled[col("Renseigné")], "oui");
    assert_eq!(filled[col("Exercice")], "2025");
    assert_eq!(filled[col("Total des ressources (€)")], "50000,00");
    assert_eq!(filled[col("Subventions publiques (%)")], "85,00");
    assert_eq!(filled[col("Financements privés (%)")], "0,00");
    assert_eq!(filled[col("Revenus d'activité (%)")], "15,00");
    assert_eq!(filled[col("Premier financeur (%)")], "60,00");
    assert_eq!(filled[col("Types de ressources")], "3");
    assert_eq!(filled[col("Salarié·es (ETP)")], "3,5");
    assert_eq!(filled[col("Bénévoles")], "25");
    assert_eq!(filled[col("Alliances de positionnement")], "1");
    assert_eq!(filled[col("Alliances de moyens")], "1");
    assert_eq!(filled[col("Mis à jour par")], "l'équipe");
    let empty = rows
        .iter()
        .find(|r| r[0] == "Association n° 1" && r[1] == "Modèle visé")
        .unwrap();
    assert_eq!(empty[col("Renseigné")], "non");
    assert_eq!(empty[col("Total des ressources (€)")], "");

    // One association: section; item; both stages side by side.
    let res = app
        .get(&format!("/associations/{accented}/modele.csv"))
        .await
        .expect(200);
    let rows = csv_rows(&res);
    assert_eq!(
        rows[0],
        ["Section", "Élément", "État des lieux", "Modèle visé"]
    );
    let line = |item: &str| {
        rows.iter()
            .find(|r| r[1] == item)
            .unwrap_or_else(|| panic!("no line {item}"))
            .clone()
    };
    assert_eq!(
        line("Subventions de la région"),
        [
            "Ressources financières",
            "Subventions de la région",
            "12500,50",
            ""
        ]
    );
    assert_eq!(line("Salarié·es en ETP")[2], "3,5");
    assert_eq!(
        line("Forces")[2],
        "Une équipe stable ; des bénévoles fidèles"
    );
    assert_eq!(
        line("Alliance 2")[2],
        "Fondation « Élan » — Fondation — de positionnement"
    );
}

#[actix_web::test]
async fn the_api_round_trips_a_profile_with_its_indicators() {
    let app = spawn().await;
    let (_, associations) = app.cohort_with(1).await;
    let a = &associations[0];
    let uri = format!("/api/v1/associations/{a}/profile/etat_des_lieux");
    let empty = app.get(&uri).await.expect(200).json();
    assert_eq!(empty["version"], 0);
    assert_eq!(empty["indicators"]["total_cents"], 0);

    let body = json!({
        "version": 0,
        "employees": 2,
        "employees_fte": 1.5,
        "year": 2025,
        "resource_prestations": "60 000",
        "resource_formation": 40000,
        "resource_mecenat_fondations": "30 000",
        "resource_subvention_commune": "40 000",
        "alliance_0_partner": "Université de Bordeaux",
        "alliance_0_actor_kind": "academique",
        "alliance_0_nature": "production",
        "ambition": null,
    });
    let saved = app.put_json(&uri, body.clone()).await.expect(200).json();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["stage"], "etat_des_lieux");
    assert_eq!(saved["profile"]["human"]["employees_fte_hundredths"], 150);
    assert_eq!(saved["indicators"]["total_cents"], 17_000_000);
    assert_eq!(saved["indicators"]["hybridised"], true);
    let read = app.get(&uri).await.expect(200).json();
    assert_eq!(read["profile"], saved["profile"]);
    assert_eq!(read["indicators"], saved["indicators"]);

    // Same body again: the version is stale.
    let res = app.put_json(&uri, body).await.expect(409);
    res.api_error("stale_version");
    // Bad input: 422 with the form's field names.
    let res = app
        .put_json(
            &uri,
            // A row with its partner only (the stored nature and kind emptied).
            json!({"version": 1, "resource_ventes": "-5", "alliance_0_partner": "Seul",
                   "alliance_0_nature": "", "alliance_0_actor_kind": ""}),
        )
        .await
        .expect(422);
    let error = res.api_error("validation_failed");
    assert!(error["fields"]["resource_ventes"].is_string());
    assert!(error["fields"]["alliance_0_nature"].is_string());
    assert!(error["fields"]["alliance_0_actor_kind"].is_string());
    app.put_json(
        &format!("/api/v1/associations/{a}/profile/autre"),
        json!({}),
    )
    .await
    .expect(404);
    app.get("/api/v1/associations/inconnue/profile/cible")
        .await
        .expect(404);
    let doc = app.get("/api/v1/openapi.json").await.expect(200).json();
    assert!(doc["paths"]["/api/v1/associations/{id}/profile/{stage}"]["put"].is_object());
}
