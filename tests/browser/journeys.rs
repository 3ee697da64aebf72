//! The three roles' work, as they do it in a browser, on one instance: the chargé·e de
//! mission builds and launches a cohort, its consultant·e runs the first session, and a
//! participant signs in from the convocation the SMTP sink received.

use chrono::{Datelike, Duration, Weekday};
use fantoccini::Locator;

use crate::harness::{Browser, LAPTOP, PHONE, Server, wait_for_mail, xpath_literal};

const COHORT: &str = "MSE Bordeaux Métropole 2027";

/// Eight associations (name, town, director) and the board member of the first two.
const ASSOCIATIONS: [(&str, &str, &str); 8] = [
    ("Les Jardins du Lac", "Bordeaux", "Inès Morel"),
    ("Ciné-Passion Bègles", "Bègles", "Hugo Lefèvre"),
    ("Sport Ensemble Cenon", "Cenon", "Amina Diallo"),
    ("Atelier Vélo Solidaire", "Talence", "Lucas Girard"),
    ("Musiques en Garonne", "Floirac", "Chloé Martin"),
    ("Maison des Familles", "Pessac", "Yanis Benali"),
    ("Théâtre du Pont", "Lormont", "Sarah Cohen"),
    ("Récup'Mérignac", "Mérignac", "Paul Nguyen"),
];

fn address(name: &str, run: &str) -> String {
    let local: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'ï' | 'î' => 'i',
            'ç' => 'c',
            'a'..='z' | '0'..='9' => c,
            _ => '.',
        })
        .collect();
    format!("{local}@asso-{run}.test")
}

/// The Monday at least three weeks ahead, as a date field holds it.
fn start_date() -> String {
    let mut d = chrono::Local::now().date_naive() + Duration::days(21);
    while d.weekday() != Weekday::Mon {
        d += Duration::days(1);
    }
    d.format("%Y-%m-%d").to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn officer_consultant_and_participant_journeys() {
    let server = Server::start();
    let run = format!("{:x}", std::process::id());
    let cohort_path = officer_journey(&server, &run).await;
    consultant_journey(&server, &cohort_path).await;
    participant_journey(&server, &run, &cohort_path).await;
    server.assert_no_server_error();
}

/// Signs in, creates the cohort, enrols eight associations with their people, is refused
/// a ninth, generates the programme, moves a session (its work follows), publishes and
/// watches the convocations leave. Returns the cohort's path.
async fn officer_journey(server: &Server, run: &str) -> String {
    let b = Browser::open(server, "1-charge-de-mission", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.shot("cohortes").await;

    b.follow("Créer une cohorte").await;
    b.fill("Nom de la cohorte", COHORT).await;
    b.fill("Territoire", "Bordeaux Métropole").await;
    b.choose(
        "Approche de constitution du groupe",
        "Approche territoriale",
    )
    .await;
    b.fill("Date de début", &start_date()).await;
    b.fill("Nombre maximal d'associations", "8").await;
    b.choose("Consultant·e", &server.consultant.name).await;
    b.fill("Chargé·e de mission", &server.officer.name).await;
    b.fill("Son adresse e-mail", &server.officer.email).await;
    b.shot("nouvelle-cohorte").await;
    b.press("Enregistrer").await;
    let cohort_path = b
        .path()
        .await
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(cohort_path.starts_with("/cohortes/"), "{cohort_path}");
    b.expect_text(COHORT).await;
    b.expect_text("Aucune association inscrite").await;
    b.shot("cohorte-vide").await;

    for (i, (name, town, director)) in ASSOCIATIONS.iter().enumerate() {
        b.go(&cohort_path).await;
        b.follow("Inscrire une association").await;
        b.fill("Nom de l'association", name).await;
        b.fill("Commune", town).await;
        b.fill("Secteur d'activité", "Culture et lien social").await;
        b.fill("Année de création", &format!("{}", 2008 + i)).await;
        b.fill("Nombre de salarié·es", &format!("{}", 2 + i)).await;
        if i == 0 {
            b.shot("inscrire-association").await;
        }
        b.press("Inscrire l'association").await;
        b.expect_text(name).await;
        let mut people = vec![(director.to_string(), "Direction salariée", "")];
        if i < 2 {
            people.push((
                format!("Membre du bureau {}", i + 1),
                "Gouvernance",
                "Président·e",
            ));
        }
        for (person, role, function) in people {
            let shot = (i == 0 && role == "Gouvernance").then_some("ajouter-personne");
            add_person(&b, &person, &address(&person, run), role, function, shot).await;
        }
        if i == 0 {
            b.shot("association").await;
        }
    }

    // The ninth is refused, with what to do, and what was typed is kept.
    b.go(&cohort_path).await;
    b.expect_text("8 / 8").await;
    b.follow("Inscrire une association").await;
    b.expect_text("est complète").await;
    b.fill("Nom de l'association", "Une Association de Trop")
        .await;
    b.allow_console("409 (Conflict)");
    b.press("Inscrire l'association").await;
    b.expect_text("La cohorte est complète").await;
    let kept = b
        .field("Nom de l'association")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("Une Association de Trop"));
    b.shot("neuvieme-refusee").await;

    // The programme.
    b.go(&cohort_path).await;
    b.press("Générer le programme").await;
    b.expect_text("Session introductive").await;
    b.expect_text("Bilan individuel").await;
    b.shot("programme").await;

    // The programme template: an introductive session of 1 h 30, saved, then the programme
    // recreated from it.
    b.follow("Modèle de programme").await;
    // The first « Durée » on the page is the introductive session's.
    b.fill("Durée", "1 h 30").await;
    b.shot("modele-de-programme").await;
    b.press("Enregistrer le modèle").await;
    b.expect_text("Le modèle de programme de la cohorte a été enregistré")
        .await;
    // Opening the « Recréer » box and ticking the confirmation stay on the page.
    for (xpath, what) in [
        (
            "//details[contains(@class,'regenerate')]/summary",
            "« Recréer le programme à partir du modèle »",
        ),
        (
            "//label[normalize-space(.)='Je confirme le remplacement du programme actuel']",
            "the box confirming the replacement",
        ),
    ] {
        b.client
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|_| panic!("no {what} on the cohort page"))
            .click()
            .await
            .expect("click");
    }
    b.press("Recréer le programme").await;
    // The browser's text may turn the no-break spaces of « 9 h 30 » into spaces.
    let page = b.text().await.replace('\u{a0}', " ");
    b.expect_contains(&page, "9 h 30 – 11 h 00");
    b.shot("programme-recree").await;

    // Move the « état des lieux » session by a week: its preparatory work follows.
    b.click(
        "//li[contains(@class,'session')][.//h3[contains(., 'tat des lieux')]]//a[starts-with(normalize-space(.), 'Déplacer')]",
        "« Déplacer » link on the état des lieux session",
    )
    .await;
    b.expect_text("suivront du même nombre de jours").await;
    let linked_due = task_due_on_move_page(&b).await;
    let date = b
        .field("Nouvelle date")
        .await
        .prop("value")
        .await
        .expect("date")
        .expect("the current date is filled in");
    let current = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").expect("ISO date");
    // A week later, on a working day (the form avoids holidays, as a user would).
    let moved = cohorte::domain::calendar::next_working_day(current + Duration::days(7), false);
    b.fill("Nouvelle date", &moved.format("%Y-%m-%d").to_string())
        .await;
    b.shot("deplacer-seance").await;
    b.press("Déplacer la séance").await;
    b.expect_text("Séance déplacée").await;
    // The work follows by as many days, on the working day before if it lands on a day off.
    let followed =
        cohorte::domain::calendar::previous_working_day(linked_due + (moved - current), false);
    assert_ne!(followed, linked_due);
    let summary = b.text().await;
    b.expect_contains(
        &summary,
        &format!(
            "échéance du {} au {}",
            cohorte::domain::fr::date_long(linked_due),
            cohorte::domain::fr::date_long(followed)
        ),
    );
    b.shot("seance-deplacee").await;
    b.follow("Revenir au programme").await;
    let page = b.text().await;
    b.expect_contains(&page, &cohorte::domain::fr::date_long(moved));
    b.expect_contains(
        &page,
        &format!("À rendre le {}", cohorte::domain::fr::date_long(followed)),
    );

    // Review before sending: the automatic emails wait as drafts, the officer reads one and
    // releases them; the dispatcher sends them to the SMTP sink.
    b.go(&format!("{cohort_path}/envois")).await;
    b.expect_text("Aucun e-mail pour l'instant").await;
    b.follow("Modifier les réglages").await;
    b.choose("Valider les envois", "Oui").await;
    b.press("Enregistrer les réglages").await;
    b.go(&cohort_path).await;
    b.follow("Publier le programme").await;
    b.shot("publier").await;
    b.press("Publier le programme").await;
    b.go(&format!("{cohort_path}/envois")).await;
    b.expect_text("attendent votre validation").await;
    b.shot("envois-a-valider").await;
    b.follow("Convocation").await;
    b.expect_text("Bonjour").await;
    b.shot("apercu-convocation").await;
    // Under review nothing has left yet.
    let director = address(ASSOCIATIONS[0].2, run);
    assert!(
        crate::harness::mail_to(&director).is_empty(),
        "an email left before it was validated"
    );
    b.go(&format!("{cohort_path}/envois")).await;
    b.press("Valider les").await;
    b.expect_text("Les e-mails à valider sont validés").await;
    // Everyone's convocations leave (the sent filter lists each person), none fails.
    let everyone: Vec<String> = ASSOCIATIONS
        .iter()
        .map(|(_, _, director)| address(director, run))
        .chain((1..=2).map(|i| address(&format!("Membre du bureau {i}"), run)))
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        b.go(&format!("{cohort_path}/envois?statut=sent")).await;
        let text = b.text().await;
        let waiting: Vec<&String> = everyone
            .iter()
            .filter(|a| !text.contains(a.as_str()))
            .collect();
        if waiting.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no convocation sent within 90 s to {waiting:?}:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    b.expect_text("Seuls les e-mails « envoyé » sont affichés")
        .await;
    let counts = b
        .client
        .find(Locator::Css("ul.outbox-counts"))
        .await
        .expect("the counts by status")
        .text()
        .await
        .expect("text");
    assert!(!counts.contains("échec"), "failed emails: {counts}");
    b.shot("envois-partis").await;
    b.close().await;
    cohort_path
}

/// The due date of the first work listed on the move page (« à rendre le … »).
async fn task_due_on_move_page(b: &Browser) -> chrono::NaiveDate {
    let text = b.text().await;
    let due = text
        .split("(à rendre le ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("a linked work with its due date:\n{text}"));
    parse_date_long(due).unwrap_or_else(|| panic!("« {due} » is a French long date"))
}

/// Opens the first session of the cohort, records who came and the time spent, and opens
/// the feuille d'émargement ready to print.
async fn consultant_journey(server: &Server, cohort_path: &str) {
    let b = Browser::open(server, "2-consultant", LAPTOP).await;
    b.sign_in(&server.consultant).await;
    b.expect_text(COHORT).await;
    b.shot("cohortes").await;
    b.go(cohort_path).await;
    b.follow("Session introductive").await;
    b.shot("seance").await;
    b.follow("Journal de séance").await;
    // Hugo Lefèvre did not come: one absence, the rest stays « présent·e ».
    let absent = b
        .client
        .find(Locator::XPath(&format!(
            "(//tr[th[contains(., {})]]//label[contains(., 'absent')])[last()]",
            xpath_literal("Hugo Lefèvre")
        )))
        .await
        .expect("an « Absent·e » choice for Hugo Lefèvre");
    absent.click().await.expect("click");
    b.fill(
        "Notes de séance",
        "Tour de table des modèles ; chacun repart avec son état des lieux à préparer.",
    )
    .await;
    b.shot("journal").await;
    b.press("Enregistrer le journal").await;
    b.expect_text("Dernier enregistrement").await;
    // Read back as saved: Hugo absent, Inès present.
    for (who, value, expected) in [
        ("Hugo Lefèvre", "absent", true),
        ("Inès Morel", "absent", false),
        ("Inès Morel", "present", true),
    ] {
        let radio = b
            .client
            .find(Locator::XPath(&format!(
                "(//tr[th[contains(., {})]]//input[@type='radio' and @value='{value}'])[last()]",
                xpath_literal(who)
            )))
            .await
            .unwrap_or_else(|_| panic!("the « {value} » choice of {who}"));
        assert_eq!(
            radio.is_selected().await.expect("selected"),
            expected,
            "{who} « {value} » after saving"
        );
    }

    // Time: the session itself, on the budget page.
    b.go(&format!("{cohort_path}/budget")).await;
    b.shot("budget").await;
    b.fill(
        "Date",
        &chrono::Local::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string(),
    )
    .await;
    b.choose("Nature", "Animation collective").await;
    b.fill("Durée", "2").await;
    b.choose("Unité", "demi-journées").await;
    b.choose("Séance", "Session introductive").await;
    b.fill("Commentaire", "Animation de la session introductive")
        .await;
    b.press("Enregistrer le temps").await;
    // Two half-days make one day, on the entry's own row.
    let row = b
        .client
        .find(Locator::XPath(
            "//tr[td[contains(., 'Animation de la session introductive')]]",
        ))
        .await
        .expect("the new time entry's row")
        .text()
        .await
        .expect("row text");
    assert!(row.contains("(1 jour)"), "{row}");
    assert!(row.contains("Animation collective"), "{row}");
    b.shot("temps-saisi").await;

    b.go(cohort_path).await;
    b.follow("Session introductive").await;
    b.follow("Journal de séance").await;
    b.follow("Feuille d'émargement").await;
    b.expect_text("Feuille d'émargement").await;
    b.expect_text("Hugo Lefèvre").await;
    b.shot("emargement").await;
    let pdf = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("print the émargement");
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser/2-consultant/emargement.pdf"),
        pdf,
    )
    .expect("write the PDF");
    b.close().await;
}

/// Opens the link of the convocation the SMTP sink received, signs in, returns a
/// homework with an answer and turns reminders off — on a phone.
async fn participant_journey(server: &Server, run: &str, cohort_path: &str) {
    let who = ASSOCIATIONS[0].2;
    let mail = wait_for_mail(&address(who, run), "Convocation", 60).await;
    let body = mail.body_text(0).expect("a text part").into_owned();
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/connexion/lien/"))
        .unwrap_or_else(|| panic!("a personal sign-in link in the convocation:\n{body}"))
        .trim_end_matches(['.', ')', '>', ','])
        .to_string();
    assert!(link.starts_with(&server.base), "{link}");
    assert!(
        body.contains("Où : lieu à préciser"),
        "a convocation without a place says so:\n{body}"
    );

    let b = Browser::open(server, "3-participant", PHONE).await;
    b.go(&link).await;
    b.expect_text("Bonjour Inès").await;
    b.shot("lien").await;
    b.press("Me connecter").await;
    assert!(b.path().await.starts_with("/portail"), "{}", b.path().await);
    b.expect_text("Vos travaux préparatoires").await;
    b.shot("portail").await;

    let answer = b
        .client
        .find(Locator::Css(
            "textarea[id^='answer-'], input[id^='answer-']",
        ))
        .await
        .expect("an answer field for the first homework");
    answer
        .send_keys("https://partage.asso.test/etat-des-lieux.pdf")
        .await
        .expect("type");
    b.press("Marquer rendu").await;
    b.expect_text("rendu le").await;
    let kept = b
        .client
        .find(Locator::Css(
            "textarea[id^='answer-'], input[id^='answer-']",
        ))
        .await
        .expect("the answer field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        kept.as_deref(),
        Some("https://partage.asso.test/etat-des-lieux.pdf"),
        "the answer is kept"
    );
    b.shot("travail-rendu").await;

    turn_reminders_off(&b, true).await;
    b.go("/portail").await;
    b.expect_text("Vous ne recevez pas les rappels").await;
    b.close().await;

    // The team reads the answer on the cohort page.
    let b = Browser::open(server, "4-suivi-des-rendus", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.go(cohort_path).await;
    let returns = b
        .client
        .find(Locator::Css("ul.returns"))
        .await
        .expect("the follow-up of the first work")
        .text()
        .await
        .expect("text");
    assert!(
        returns.contains("Réponse : https://partage.asso.test/etat-des-lieux.pdf"),
        "{returns}"
    );
    b.close().await;
}

/// « lundi 11 janvier 2027 » (or « 1er ») back to a date.
fn parse_date_long(text: &str) -> Option<chrono::NaiveDate> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year] = words.as_slice() else {
        return None;
    };
    let month = (1..=12).find(|m| cohorte::domain::fr::month_name(*m) == *month)?;
    let day: u32 = day.trim_end_matches("er").parse().ok()?;
    chrono::NaiveDate::from_ymd_opt(year.parse().ok()?, month, day)
}

/// The core flows with JavaScript switched off in Chromium: every step is a link or a form
/// the server answers (the app ships no script; this proves nothing needs one).
#[tokio::test(flavor = "current_thread")]
async fn core_flows_work_without_javascript() {
    let server = Server::start();
    let run = format!("nojs{:x}", std::process::id());

    let b = Browser::open_without_javascript(&server, "5-sans-javascript", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.follow("Créer une cohorte").await;
    b.fill("Nom de la cohorte", "Cohorte sans JavaScript").await;
    b.fill("Territoire", "Gironde").await;
    b.fill("Date de début", &start_date()).await;
    b.choose("Consultant·e", &server.consultant.name).await;
    b.press("Enregistrer").await;
    let cohort_path = b
        .path()
        .await
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    b.follow("Inscrire une association").await;
    b.fill("Nom de l'association", "Atelier Sans Script").await;
    b.press("Inscrire l'association").await;
    let alice = address("Alice Martin", &run);
    add_person(&b, "Alice Martin", &alice, "Direction salariée", "", None).await;
    b.go(&cohort_path).await;
    b.press("Générer le programme").await;
    b.expect_text("Bilan individuel").await;
    // A destructive action through its confirmation page: remove the person, then add her
    // back.
    b.go(&cohort_path).await;
    b.follow("Atelier Sans Script").await;
    b.click(
        "//a[contains(@href, '/participants/') and contains(@href, '/modifier')]",
        "« Modifier » link of Alice Martin",
    )
    .await;
    b.follow("Retirer Alice Martin").await;
    b.expect_text("sera retiré·e").await;
    b.shot("confirmation").await;
    b.press("Retirer Alice Martin").await;
    b.expect_text("La personne a été retirée.").await;
    b.expect_text("Personne n'est encore inscrit·e").await;
    add_person(&b, "Alice Martin", &alice, "Direction salariée", "", None).await;
    // Publish: the convocation reaches the SMTP sink.
    b.go(&cohort_path).await;
    b.follow("Publier le programme").await;
    b.press("Publier le programme").await;
    wait_for_mail(&alice, "Convocation", 60).await;
    b.close().await;

    // A participant of the demo signs in and returns a homework, on a phone.
    let p = Browser::open_without_javascript(&server, "5-sans-javascript-participant", PHONE).await;
    p.go(&server.participant_link).await;
    p.press("Me connecter").await;
    p.expect_text("Vos travaux préparatoires").await;
    p.press("Marquer rendu").await;
    p.expect_text("C'est noté").await;
    turn_reminders_off(&p, false).await;
    p.close().await;
    server.assert_no_server_error();
}

/// « Ajouter une personne » from the association's page, the form filled by its labels;
/// `shot` names a screenshot of the filled form.
async fn add_person(
    b: &Browser,
    name: &str,
    email: &str,
    role: &str,
    function: &str,
    shot: Option<&str>,
) {
    b.follow("Ajouter une personne").await;
    b.fill("Prénom et nom", name).await;
    b.fill("Adresse e-mail", email).await;
    b.choose("Rôle dans l'association", role).await;
    b.fill("Fonction", function).await;
    if let Some(shot) = shot {
        b.shot(shot).await;
    }
    b.press("Enregistrer").await;
    b.expect_text(name).await;
}

/// From the portal: « Changer mes préférences », « Non, pas de rappels », saved — and
/// still chosen when the page comes back. `shots`: screenshots of both steps.
async fn turn_reminders_off(b: &Browser, shots: bool) {
    b.follow("Changer mes préférences").await;
    b.field("Non, pas de rappels")
        .await
        .click()
        .await
        .expect("choose « Non »");
    if shots {
        b.shot("preferences").await;
    }
    b.press("Enregistrer").await;
    b.expect_text("Vos préférences d'e-mails ont été enregistrées")
        .await;
    let off = b
        .field("Non, pas de rappels")
        .await
        .is_selected()
        .await
        .expect("selected");
    assert!(off, "reminders stay off after saving");
    if shots {
        b.shot("preferences-enregistrees").await;
    }
}

/// « Importer une liste » in a real browser: a file as French Excel saves it (Windows-1252,
/// `;`) with 8 associations and their 16 participant·es, one address mistyped; the
/// preview shows it beside its cell, the officer corrects it there, checks again, imports.
#[tokio::test(flavor = "current_thread")]
async fn a_french_excel_list_is_imported_after_its_bad_row_is_corrected() {
    let server = Server::start();
    let run = format!("imp{:x}", std::process::id());
    let b = Browser::open(&server, "6-import", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.follow("Créer une cohorte").await;
    b.fill("Nom de la cohorte", "Cohorte importée").await;
    b.fill("Territoire", "Gironde").await;
    b.fill("Date de début", &start_date()).await;
    b.choose("Consultant·e", &server.consultant.name).await;
    b.press("Enregistrer").await;
    b.follow("Importer une liste").await;

    let mut lines =
        vec!["Association;Commune;Salariés;Intérêt général;Nom;Courriel;Rôle;Fonction".to_string()];
    for (i, (name, town, _)) in ASSOCIATIONS.iter().enumerate() {
        let director = address(&format!("Hélène Directrice {i}"), &run);
        let board = if i == 5 {
            "andré.trésorier@".to_string()
        } else {
            address(&format!("André Trésorier {i}"), &run)
        };
        lines.push(format!(
            "{name};{town};4;oui;Hélène Directrice {i};{director};Dirigeant·e salarié·e;Directrice"
        ));
        lines.push(format!(
            ";;;;André Trésorier {i};{board};Membre du CA;Trésorier"
        ));
    }
    let text = lines.join("\r\n") + "\r\n";
    // « · » has no Windows-1252 byte: French Excel would write the role without it.
    let text = text.replace("Dirigeant·e salarié·e", "Dirigeante salariée");
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    let dir = tempfile::tempdir().expect("folder");
    let file = dir.path().join("cohorte.csv");
    std::fs::write(&file, &bytes).expect("write the file");
    b.field("Fichier CSV")
        .await
        .send_keys(file.to_str().expect("path"))
        .await
        .expect("choose the file");
    b.shot("fichier-choisi").await;
    b.allow_console("422");
    b.press("Vérifier la liste").await;
    b.expect_text("1 ligne à corriger").await;
    b.expect_text("La liste compte 8 associations et 16 participant·es.")
        .await;
    b.expect_text("Adresse e-mail invalide").await;
    b.shot("ligne-refusee").await;

    let bad = b
        .client
        .find(Locator::Css("input[aria-invalid='true']"))
        .await
        .expect("the refused cell");
    assert_eq!(
        bad.prop("value").await.expect("value").as_deref(),
        Some("andré.trésorier@"),
        "the cell as typed"
    );
    bad.clear().await.expect("clear");
    bad.send_keys(&address("André Trésorier 5", &run))
        .await
        .expect("type");
    b.press("Vérifier à nouveau").await;
    b.expect_text("Aucun problème").await;
    b.press("Importer").await;
    b.expect_text("8 associations et 16 participant·es importés.")
        .await;
    for (name, _, _) in ASSOCIATIONS {
        b.expect_text(name).await;
    }
    b.shot("liste-importee").await;
    b.close().await;
    server.assert_no_server_error();
}
