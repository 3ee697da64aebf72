//! The socio-economic model's indicators on pages: the cohort mirror (named or anonymised,
//! projectable, consent), and the bilan page comparing the état des lieux with the target.
//!
//! Anonymisation is checked on the whole HTML: an association that did not choose to appear
//! by name must not be recognisable from anything in the page (name, town, sector, RNA,
//! reading, funder, id), in the normal view or in projection.

mod common;

use cohorte::domain::profile::{
    Alliance, Finances, Human, Levers, Profile, Reading, Resource, ResourceAmount,
};
use common::{TestApp, spawn};
use serde_json::json;

/// Enrols an association with its own town, sector and RNA; returns its id.
async fn enrol(
    app: &TestApp,
    cohort: &str,
    name: &str,
    town: &str,
    sector: &str,
    rna: &str,
) -> String {
    app.post_json(
        &format!("/api/v1/cohorts/{cohort}/associations"),
        json!({
            "name": name,
            "town": town,
            "sector": sector,
            "rna": rna,
            "creation_year": 2012,
            "salaried_staff": 4,
            "general_interest": true,
        }),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn finances(lines: &[(Resource, i64)], funder: &str, funder_euros: i64) -> Finances {
    Finances {
        year: Some(2025),
        resources: lines
            .iter()
            .map(|(resource, euros)| ResourceAmount {
                resource: *resource,
                amount_cents: euros * 100,
            })
            .collect(),
        largest_funder_name: funder.into(),
        largest_funder_cents: Some(funder_euros * 100),
    }
}

/// 85 % public money, 70 % from one funder.
fn dependent_profile() -> Profile {
    Profile {
        human: Human {
            employees: Some(4),
            employees_fte_hundredths: Some(350),
            volunteers: Some(12),
            volunteer_hours: Some(1_607),
            civic_service: Some(1),
            skills_sponsorship_days: None,
        },
        finances: finances(
            &[
                (Resource::SubventionRegion, 140_000),
                (Resource::SubventionCommune, 30_000),
                (Resource::Cotisations, 5_000),
                (Resource::Ventes, 25_000),
            ],
            "Mairie de Montussan-sur-Dronne",
            140_000,
        ),
        alliances: vec![Alliance {
            partner: "Fondation Zéphyrine".into(),
            actor_kind: "fondation".into(),
            nature: "moyens".into(),
        }],
        reading: Reading {
            strengths: "Notre recyclerie flottante unique en Gironde".into(),
            fragilities: "Une seule subvention porte tout".into(),
            risks: "Fin du conventionnement triennal".into(),
            ambition: "Ouvrir un second atelier péniche".into(),
        },
        ..Profile::default()
    }
}

/// Public, private and earned money, no funder above half.
fn hybrid_profile() -> Profile {
    Profile {
        human: Human {
            employees: Some(9),
            employees_fte_hundredths: Some(800),
            ..Human::default()
        },
        finances: finances(
            &[
                (Resource::SubventionCommune, 40_000),
                (Resource::SubventionDepartement, 20_000),
                (Resource::MecenatFondations, 30_000),
                (Resource::DonsParticuliers, 10_000),
                (Resource::Prestations, 60_000),
                (Resource::Formation, 40_000),
            ],
            "Ville de Pessac",
            40_000,
        ),
        reading: Reading {
            strengths: "Texte de la compagnie nommée".into(),
            ..Reading::default()
        },
        ..Profile::default()
    }
}

fn save(app: &TestApp, association: &str, stage: &str, p: &Profile) {
    let mut conn = app.pool.get().unwrap();
    common::write(&mut conn, |tx| {
        cohorte::models::profile::save(tx, association, stage, p, "", "test")
    })
    .unwrap();
}

/// A cohort with a dependent anonymised association, a hybrid named one and one without
/// profile; returns (cohort, anonymised, named, empty).
async fn mirror_cohort(app: &TestApp) -> (String, String, String, String) {
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Miroir 2027").await;
    let hidden = enrol(
        app,
        &cohort,
        "Les Ateliers Flottants",
        "Montussan-sur-Dronne",
        "Recyclerie nautique",
        "W332000123",
    )
    .await;
    let named = enrol(
        app,
        &cohort,
        "Compagnie du Théâtre Bleu",
        "Pessac",
        "Spectacle vivant",
        "",
    )
    .await;
    let empty = enrol(
        app,
        &cohort,
        "Jardins de Quinsac",
        "Quinsac",
        "Maraîchage",
        "",
    )
    .await;
    save(app, &hidden, "etat_des_lieux", &dependent_profile());
    save(app, &named, "etat_des_lieux", &hybrid_profile());
    app.post_form(
        &format!("/associations/{named}/miroir"),
        &[("mirror_named", "nom")],
    )
    .await
    .expect(303);
    (cohort, hidden, named, empty)
}

/// Everything that would reveal the anonymised association.
const HIDDEN: [&str; 11] = [
    "Ateliers Flottants",
    "Montussan",
    "Recyclerie nautique",
    "W332000123",
    "recyclerie flottante",
    "Une seule subvention",
    "conventionnement triennal",
    "atelier péniche",
    "Zéphyrine",
    "200 000",
    "200\u{202f}000",
];

#[actix_web::test]
async fn the_mirror_shows_names_only_for_associations_that_chose_it() {
    let app = spawn().await;
    let (cohort, hidden, named, _) = mirror_cohort(&app).await;
    for uri in [
        format!("/cohortes/{cohort}/miroir"),
        format!("/cohortes/{cohort}/miroir?projeter=1"),
    ] {
        let page = app.get(&uri).await.expect(200).text();
        for secret in
            HIDDEN
                .iter()
                .copied()
                .chain([hidden.as_str(), "Jardins de Quinsac", "Quinsac"])
        {
            assert!(!page.contains(secret), "{uri} reveals {secret:?}:\n{page}");
        }
        assert!(page.contains("Association A"), "{page}");
        assert!(
            page.contains("Association B"),
            "the one without profile, anonymised too"
        );
        assert!(
            page.contains("Compagnie du Théâtre Bleu"),
            "named by choice"
        );
        // Figures only, never the named one's texts or funder either.
        assert!(!page.contains("Texte de la compagnie") && !page.contains("Ville de Pessac"));
        assert!(!page.contains(&named), "no id in the mirror");
        assert!(!page.contains("<script"));
    }
}

#[actix_web::test]
async fn the_mirror_puts_dependent_models_first_with_flags_and_the_average() {
    let app = spawn().await;
    let (cohort, _, _, _) = mirror_cohort(&app).await;
    let page = app
        .get(&format!("/cohortes/{cohort}/miroir"))
        .await
        .expect(200)
        .text();
    let dependent_row = page
        .find("<li class=\"mirror-row dependent\">")
        .expect("dependent row");
    let hybrid_row = page
        .find("<li class=\"mirror-row hybridised\">")
        .expect("hybrid row");
    let empty_row = page
        .find("pas encore renseigné")
        .expect("row without profile");
    let average = page.find("Moyenne de la cohorte").expect("average row");
    assert!(dependent_row < hybrid_row && hybrid_row < empty_row && empty_row < average);
    let dep = &page[dependent_row..hybrid_row];
    // Letters follow a hash of the ids: A or B, the other for the one without profile.
    let letter = if dep.contains(">Association A</h2>") {
        "B"
    } else {
        "A"
    };
    assert!(dep.contains(&format!(
        ">Association {}</h2>",
        if letter == "A" { "B" } else { "A" }
    )));
    assert!(
        page[page.find("<li class=\"mirror-row\">").unwrap()..average]
            .contains(&format!(">Association {letter}</h2>"))
    );
    assert!(dep.contains(">dépendance</span>"));
    assert!(dep.contains("Premier financeur : 70\u{a0}% des ressources"));
    assert!(dep.contains("4\u{a0}types de ressources sur 15"));
    // The stacked bar: 85 % public of a 300-unit bar.
    assert!(
        dep.contains("width=\"255.0\" height=\"36.0\" class=\"seg seg-public\""),
        "{dep}"
    );
    let hyb = &page[hybrid_row..empty_row];
    assert!(hyb.contains("Compagnie du Théâtre Bleu") && hyb.contains(">modèle hybride</span>"));
    assert!(!hyb.contains(">dépendance</span>"));
    // Shared scale: 8 ETP (the largest) fills the bar, 3,5 ETP does not.
    assert!(hyb.contains("Salarié·es : 8\u{a0}ETP"));
    assert!(page.contains("Échelle : une barre entière représente 10\u{a0}ETP"));
    // Average of 85 % and 30 % public.
    let avg = &page[average..];
    assert!(avg.contains("Subventions publiques 57,5\u{a0}%"), "{avg}");
    assert!(page.contains("2 associations sur 3 ont renseigné"));
    // Three SVGs per filled row and for the average, each with its own ids.
    assert_eq!(page.matches("role=\"img\"").count(), 9);
    assert!(page.contains("id=\"r1-res-t\"") && page.contains("id=\"moyenne-all-d\""));
}

#[actix_web::test]
async fn projection_hides_staff_chrome_and_uses_large_type() {
    let app = spawn().await;
    let (cohort, _, _, _) = mirror_cohort(&app).await;
    let staff = app
        .get(&format!("/cohortes/{cohort}/miroir"))
        .await
        .expect(200)
        .text();
    assert!(staff.contains("Navigation principale") && staff.contains("miroir/consentements"));
    assert!(staff.contains(&format!("/cohortes/{cohort}/miroir?projeter=1")));
    let screen = app
        .get(&format!("/cohortes/{cohort}/miroir?projeter=1"))
        .await
        .expect(200)
        .text();
    assert!(screen.contains("class=\"mirror projection\""));
    assert!(!screen.contains("Navigation principale"));
    assert!(!screen.contains("consentements") && !screen.contains("Fil d'Ariane"));
    assert!(screen.contains("Quitter la projection"));
    // A strange value is the normal view, not an error.
    app.get(&format!("/cohortes/{cohort}/miroir?projeter=%FF&x=1"))
        .await
        .expect(200);
}

#[actix_web::test]
async fn the_consent_form_flips_how_peers_see_the_association() {
    let app = spawn().await;
    let (cohort, hidden, named, _) = mirror_cohort(&app).await;
    let consent = app
        .get(&format!("/cohortes/{cohort}/miroir/consentements"))
        .await
        .expect(200)
        .text();
    assert!(consent.contains("Apparaît dans le miroir"));
    assert!(consent.contains(&format!("action=\"/associations/{hidden}/miroir\"")));
    assert!(
        consent.contains("<option value=\"nom\" selected>sous son nom</option>"),
        "the named one"
    );

    // The anonymised association now chooses its name; the named one withdraws it.
    let res = app
        .post_form(
            &format!("/associations/{hidden}/miroir"),
            &[("mirror_named", "nom")],
        )
        .await
        .expect(303);
    let to = res.header("location").unwrap().to_string();
    assert_eq!(
        to,
        format!("/cohortes/{cohort}/miroir/consentements?notice=miroir_nomme")
    );
    assert!(
        app.get(&to)
            .await
            .expect(200)
            .text()
            .contains("sous son nom dans le miroir")
    );
    app.post_form(
        &format!("/associations/{named}/miroir"),
        &[("mirror_named", "anonyme")],
    )
    .await
    .expect(303);
    let page = app
        .get(&format!("/cohortes/{cohort}/miroir"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Les Ateliers Flottants"));
    assert!(!page.contains("Compagnie du Théâtre Bleu"), "{page}");
    let api = app
        .get(&format!("/api/v1/associations/{named}"))
        .await
        .expect(200)
        .json();
    assert_eq!(api["mirror_named"], false);

    // A value outside the choices is refused with the form again, nothing changes.
    let refused = app
        .post_form(
            &format!("/associations/{hidden}/miroir"),
            &[("mirror_named", "peut-être")],
        )
        .await
        .expect(422)
        .text();
    assert!(refused.contains("Choisissez « sous son nom » ou « anonymement »"));
    app.post_form(&format!("/associations/{hidden}/miroir"), &[])
        .await
        .expect(422);
}

#[actix_web::test]
async fn the_bilan_page_compares_the_état_des_lieux_with_the_target_model() {
    let app = spawn().await;
    let (_, hidden, _, empty) = mirror_cohort(&app).await;
    let target = Profile {
        levers: Levers {
            human: "Recruter une coordinatrice bénévole".into(),
            financial: "Développer les prestations aux entreprises".into(),
            alliances: "Convention avec la communauté de communes".into(),
            actions: "- Rencontrer trois mécènes\n\n- Chiffrer l'offre de formation\n".into(),
        },
        reading: Reading {
            ambition: "Diviser par deux la part du premier financeur".into(),
            ..Reading::default()
        },
        ..hybrid_profile()
    };
    save(&app, &hidden, "cible", &target);
    let page = app
        .get(&format!("/associations/{hidden}/bilan-modele"))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Bilan du modèle socio-économique"));
    // Before / target: public share 85 % → 30 %, dependence oui → non.
    let row = page
        .find("<th scope=\"row\">Subventions publiques</th>")
        .unwrap();
    assert!(page[row..].starts_with(
        "<th scope=\"row\">Subventions publiques</th><td class=\"num\">85\u{a0}%</td><td class=\"num\">30\u{a0}%</td>"
    ));
    let dep = page
        .find("<th scope=\"row\">Dépendance à un financeur</th>")
        .unwrap();
    assert!(page[dep..].starts_with(
        "<th scope=\"row\">Dépendance à un financeur</th><td class=\"num\">oui</td><td class=\"num\">non</td>"
    ));
    // Both snapshots drawn, with distinct ids.
    assert!(page.contains("id=\"avant-res-t\"") && page.contains("id=\"cible-res-t\""));
    // The reading, the levers and the pistes d'actions (one per line, bullets dropped).
    for text in [
        "Notre recyclerie flottante unique en Gironde",
        "Fin du conventionnement triennal",
        "Recruter une coordinatrice bénévole",
        "Convention avec la communauté de communes",
        "Diviser par deux la part du premier financeur",
        "<li>Rencontrer trois mécènes</li>",
        "<li>Chiffrer l&#x27;offre de formation</li>",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    assert!(page.contains("Ctrl+P"), "printable");

    // Nothing filled yet: the page still shows, with dashes.
    let bare = app
        .get(&format!("/associations/{empty}/bilan-modele"))
        .await
        .expect(200)
        .text();
    assert!(bare.contains("L'état des lieux n'est pas encore renseigné"));
    assert!(bare.contains("<td class=\"num\">—</td>"));
}

#[actix_web::test]
async fn unknown_ids_answer_404() {
    let app = spawn().await;
    app.get("/cohortes/inconnue/miroir").await.expect(404);
    app.get("/cohortes/inconnue/miroir?projeter=1")
        .await
        .expect(404);
    app.get("/cohortes/inconnue/miroir/consentements")
        .await
        .expect(404);
    app.get("/associations/inconnue/bilan-modele")
        .await
        .expect(404);
    app.post_form("/associations/inconnue/miroir", &[("mirror_named", "nom")])
        .await
        .expect(404);
    app.post_form(
        "/associations/inconnue/miroir",
        &[("mirror_named", "n'importe")],
    )
    .await
    .expect(404);
}

#[actix_web::test]
async fn anonymous_letters_are_stable_and_names_are_escaped() {
    let app = spawn().await;
    let (cohort, ids) = app.cohort_with(5).await;
    for (n, id) in ids.iter().enumerate() {
        save(
            &app,
            id,
            "etat_des_lieux",
            &if n % 2 == 0 {
                dependent_profile()
            } else {
                hybrid_profile()
            },
        );
    }
    let uri = format!("/cohortes/{cohort}/miroir");
    let first = app.get(&uri).await.expect(200).text();
    assert_eq!(
        first,
        app.get(&uri).await.expect(200).text(),
        "same page twice"
    );
    for letter in ["A", "B", "C", "D", "E"] {
        assert!(first.contains(&format!(">Association {letter}</h2>")));
    }
    assert!(!first.contains("Association n°"), "no enrolment name");
    // A name with markup, shown by choice, is escaped.
    let evil = enrol(
        &app,
        &cohort,
        "<script>alert(1)</script> & Cie",
        "Talence",
        "Culture",
        "",
    )
    .await;
    app.post_form(
        &format!("/associations/{evil}/miroir"),
        &[("mirror_named", "nom")],
    )
    .await
    .expect(303);
    let page = app.get(&uri).await.expect(200).text();
    assert!(!page.contains("<script>alert"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie"),
        "{page}"
    );
    // The dashboard links to the mirror.
    let dashboard = app
        .get(&format!("/cohortes/{cohort}/tableau-de-bord"))
        .await
        .expect(200)
        .text();
    assert!(dashboard.contains(&format!("href=\"/cohortes/{cohort}/miroir\"")));
}
