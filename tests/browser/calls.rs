//! The public application form of a call (issue #14) on a 375-px-wide phone: one field
//! refused comes back as typed with its message beside it, corrected, sent.

use fantoccini::Locator;

use crate::harness::{Browser, LAPTOP, Server};

/// A phone as narrow as the form must work at (iPhone SE / mini width).
const NARROW: (u32, u32) = (375, 812);

#[tokio::test(flavor = "current_thread")]
async fn an_association_applies_from_a_phone_after_one_refused_field() {
    let server = Server::start();

    // The chargé·e de mission opens the call and reads its public link.
    let b = Browser::open(&server, "7-appel", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.go(&format!("/cohortes/{}/appel", server.demo_cohort))
        .await;
    let closes = (chrono::Utc::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    b.fill("Date de clôture", &closes).await;
    b.press("Ouvrir l'appel").await;
    b.expect_text("L'appel à candidatures a été enregistré.")
        .await;
    let link = b
        .field("Lien à transmettre aux associations")
        .await
        .prop("value")
        .await
        .expect("value")
        .expect("the public link");
    let path = link[link.find("/candidature/").expect("a public path")..].to_string();
    b.close().await;

    // An association, on its phone, without an account.
    let p = Browser::open(&server, "7-candidature-telephone", NARROW).await;
    p.go(&path).await;
    let mut problems = crate::accessibility::axe(&p).await;
    p.fill("Nom de l'association", "Les Jardins Partagés").await;
    p.fill("Numéro RNA", "W332004518").await;
    p.fill("Commune", "Libourne").await;
    p.fill("Année de création", "2012").await;
    p.fill("Équivalents temps plein (ETP)", "2,5").await;
    for (legend, name, email) in [
        ("director", "Inès Petit", "ines.petit@jardins"),
        ("board", "Marc Roux", "marc.roux@jardins.test"),
    ] {
        let field = |f: &str| format!("f-{legend}_{f}");
        for (id, value) in [(field("name"), name), (field("email"), email)] {
            let el = p.client.find(Locator::Id(&id)).await.expect("field");
            el.send_keys(value).await.expect("type");
        }
    }
    p.fill(
        "Pourquoi l'association souhaite-t-elle être accompagnée ?",
        "Revoir notre modèle économique.",
    )
    .await;
    for id in ["f-available_all", "f-consent_data"] {
        p.client
            .find(Locator::Id(id))
            .await
            .expect("checkbox")
            .click()
            .await
            .expect("tick");
    }
    p.shot("formulaire-rempli").await;
    p.allow_console("422 (Unprocessable Entity)");
    p.press("Envoyer la candidature").await;

    // Refused: the address kept as typed, its message beside it, the rest kept too.
    p.expect_text("Adresse e-mail invalide").await;
    let bad = p
        .client
        .find(Locator::Id("f-director_email"))
        .await
        .unwrap();
    assert_eq!(
        bad.prop("value").await.unwrap().as_deref(),
        Some("ines.petit@jardins")
    );
    assert_eq!(
        bad.attr("aria-describedby").await.unwrap().as_deref(),
        Some("f-director_email-error")
    );
    let name = p.field("Nom de l'association").await;
    assert_eq!(
        name.prop("value").await.unwrap().as_deref(),
        Some("Les Jardins Partagés")
    );
    // Nothing wider than the phone.
    let wide: bool = p
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!wide, "the refused form scrolls sideways at 375 px");
    p.shot("champ-refuse").await;
    problems.extend(crate::accessibility::axe(&p).await);
    assert!(problems.is_empty(), "axe:\n{}", problems.join("\n"));

    // Corrected (the ticked boxes came back ticked), sent: the confirmation page.
    bad.clear().await.unwrap();
    bad.send_keys("ines.petit@jardins.test").await.unwrap();
    p.press("Envoyer la candidature").await;
    p.expect_text("Candidature envoyée").await;
    p.shot("confirmation").await;
    p.close().await;
    server.assert_no_server_error();
}
