//! The activity report (issue #17) printed by Chromium: a DLA with three cohorts of eight
//! associations each (the demo's and two more, eight towns and three funders each) holds on
//! two A4 pages, its sections unbroken.

use chrono::Datelike;

use crate::harness::{Browser, LAPTOP, Server};

/// Two more cohorts of the demo's DLA, starting the year the demo's started, full, each
/// with its contract and three funders.
fn two_more_cohorts(server: &Server) -> (String, i32) {
    use cohorte::db::{Author, write_with};
    use cohorte::models::association::{self, AssociationInput};
    use cohorte::models::budget::{self, ContractInput, FunderInput, FundersInput};
    use cohorte::models::cohort::{self, CohortInput};
    let pool = cohorte::db::connect(&server.database, 1).expect("the server's database");
    let mut conn = pool.get().expect("connection");
    let template = cohorte::config::Config::defaults().programme;
    let demo = cohort::get(&mut conn, &server.demo_cohort).expect("the demo cohort");
    let year = demo.start_date.year();
    for (n, towns) in [
        (
            "Numérique solidaire",
            [
                "Pessac",
                "Talence",
                "Bègles",
                "Mérignac",
                "Cenon",
                "Lormont",
                "Blanquefort",
                "Eysines",
            ],
        ),
        (
            "Emploi et insertion",
            [
                "Libourne", "Arcachon", "Langon", "Blaye", "Lesparre", "Bazas", "Cadillac",
                "Coutras",
            ],
        ),
    ] {
        write_with(&mut conn, Author::system(), chrono::Utc::now(), |tx| {
            let c = cohort::create(
                tx,
                &CohortInput {
                    name: format!("{n} {year}"),
                    dla_id: demo.dla_id.clone(),
                    territory: "Gironde".into(),
                    approach: "territoriale".into(),
                    start_date: format!("{year}-{:02}-01", demo.start_date.month()),
                    status: "en_cours".into(),
                    ..Default::default()
                },
            )?;
            for (i, town) in towns.iter().enumerate() {
                association::enrol(
                    tx,
                    &c.id,
                    &AssociationInput {
                        name: format!("Association {n} n° {}", i + 1),
                        town: town.to_string(),
                        sector: ["Culture", "Sport", "Insertion", "Environnement"][i % 4].into(),
                        salaried_staff: (i + 2).to_string(),
                        creation_year: "2012".into(),
                        general_interest: "on".into(),
                        ..Default::default()
                    },
                    &template,
                    false,
                )?;
            }
            budget::save_contract(
                tx,
                &c.id,
                &ContractInput {
                    contracted_days: "12".into(),
                    day_rate: "650".into(),
                    day_length: String::new(),
                    version: "0".into(),
                },
            )?;
            budget::save_funders(
                tx,
                &c.id,
                &FundersInput {
                    funders: vec![
                        FunderInput {
                            name: String::new(),
                            share: "40".into(),
                            dla_id: demo.dla_id.clone(),
                        },
                        FunderInput {
                            name: "État (DLA national)".into(),
                            share: "35".into(),
                            dla_id: String::new(),
                        },
                        FunderInput {
                            name: "Banque des Territoires".into(),
                            share: "25".into(),
                            dla_id: String::new(),
                        },
                    ],
                    version: String::new(),
                },
            )?;
            Ok(())
        })
        .expect("a cohort of eight");
    }
    (demo.dla_id, year)
}

/// Pages of a PDF as Chromium writes it: its page objects (`/Type /Page`, not `/Pages`).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Type /Page")
        .filter(|(i, _)| !text[i + 10..].starts_with('s'))
        .count()
}

#[tokio::test(flavor = "current_thread")]
async fn a_dla_with_three_cohorts_prints_its_activity_report_on_two_a4_pages() {
    let server = Server::start();
    let (dla, year) = two_more_cohorts(&server);

    let b = Browser::open(&server, "8-rapport", LAPTOP).await;
    b.sign_in(&server.officer).await;
    b.go(&format!("/dla/{dla}")).await;
    b.follow("Rapport d'activité").await;
    b.go(&format!("/dla/{dla}/rapport?annee={year}")).await;
    b.expect_text("Règles de comptage").await;
    b.expect_text(&format!("Numérique solidaire {year}")).await;
    b.expect_text(&format!("Emploi et insertion {year}")).await;
    b.expect_text("Banque des Territoires").await;
    b.shot("rapport").await;
    let pdf = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("print the report");
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser/8-rapport/rapport.pdf"),
        &pdf,
    )
    .expect("write the PDF");
    let pages = pdf_pages(&pdf);
    assert!(
        (1..=2).contains(&pages),
        "three cohorts hold on two A4 pages, not {pages}"
    );
    b.close().await;
    server.assert_no_server_error();
}
