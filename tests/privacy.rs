//! Personal data (GDPR): the export of everything about a participant·e, the anonymisation
//! of a person or an association (nothing left of them anywhere in the database, attendance
//! and time totals unchanged), and the purge of ended cohorts.

mod common;

use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{Value, json};

use common::{TestApp, spawn};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every (table, column) of the database where `needle` appears, whatever the column's
/// type, ignoring ASCII case.
fn occurrences(app: &TestApp, needle: &str) -> Vec<String> {
    let mut conn = app.pool.get().unwrap();
    let mut found = Vec::new();
    for (table, columns) in common::db::tables(&mut conn) {
        for column in columns {
            let n: Count = diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM \"{table}\" WHERE {}",
                common::db::contains_sql(&conn, &column, needle)
            ))
            .get_result(&mut conn)
            .unwrap();
            if n.n > 0 {
                found.push(format!("{table}.{column} ({} rows)", n.n));
            }
        }
    }
    found
}

/// The database's files on disk (the database and its WAL) in which `needle` still appears
/// in their raw bytes, ignoring ASCII case: what someone reading the disk would find,
/// free space and old page copies included.
///
/// SQLite's guarantee (`secure_delete`, the checkpoint after an erasure): on PostgreSQL
/// there is none to check — dead row versions stay until vacuumed and WAL segments until
/// recycled, so erasure there rests on encrypted storage (docs/deploy.md) — and the scan
/// finds nothing to read.
fn on_disk(app: &TestApp, needle: &str) -> Vec<String> {
    if app.db.is_postgres() {
        return Vec::new();
    }
    let needle = needle.to_lowercase().into_bytes();
    let mut found = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let path = format!("{}{suffix}", app.config.database.url);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let n = bytes
            .to_ascii_lowercase()
            .windows(needle.len())
            .filter(|w| *w == needle.as_slice())
            .count();
        if n > 0 {
            found.push(format!("{path}: {n} times"));
        }
    }
    found
}

fn count(app: &TestApp, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(&mut app.pool.get().unwrap())
        .unwrap()
        .n
}

fn exec(app: &TestApp, sql: &str) {
    diesel::sql_query(sql)
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
}

const NAME: &str = "Zélie Marchetti";
const EMAIL: &str = "zelie.marchetti@ateliers-zephyr.fr";

struct Setup {
    cohort: String,
    association: String,
    person: String,
    time_entry: String,
}

/// A published cohort of two associations; Zélie Marchetti (a third person of the first)
/// attended the introductive session, is named in its notes and in a time entry, and
/// received her convocation.
async fn setup(app: &TestApp) -> Setup {
    let (cohort, associations) = app.cohort_with(2).await;
    let association = associations[0].clone();
    let person = app
        .post_json(
            &format!("/api/v1/associations/{association}/participants"),
            json!({"name": NAME, "email": EMAIL, "role": "autre", "function": "Trésorière adjointe"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let generated = app.generate(&cohort).await;
    let first = generated["sessions"][0]["id"].as_str().unwrap().to_string();
    app.put_json(
        &format!("/api/v1/sessions/{first}/log"),
        json!({"version": 0, "notes": format!("{NAME} a présenté le projet."), "attendance": []}),
    )
    .await
    .expect(200);
    let time_entry = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/time-entries"),
            json!({"date": "2027-01-11", "kind": "appui_individuel", "duration": 1,
                   "unit": "demi_journees", "association_id": association,
                   "comment": format!("Entretien avec {NAME} ({EMAIL})")}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_json(&format!("/api/v1/cohorts/{cohort}/publish"), json!({}))
        .await
        .expect(200);
    // Her first convocation went out.
    exec(
        app,
        &format!(
            "UPDATE outbox_emails SET status = 'sent', sent_at = created_at WHERE id = \
             (SELECT id FROM outbox_emails WHERE participant_id = '{person}' AND kind = 'convocation' \
              ORDER BY send_after LIMIT 1)"
        ),
    );
    Setup {
        cohort,
        association,
        person,
        time_entry,
    }
}

fn attended(app: &TestApp, person: &str) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM attendances WHERE participant_id = '{person}'"),
    )
}

fn time_total(app: &TestApp, cohort: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT COALESCE(SUM(COALESCE(half_days, 0)), 0) * 1000 + COALESCE(SUM(COALESCE(minutes, 0)), 0) AS n \
             FROM time_entries WHERE cohort_id = '{cohort}'"
        ),
    )
}

#[actix_web::test]
async fn the_export_holds_the_person_their_attendance_and_the_emails_they_received() {
    let app = spawn().await;
    let s = setup(&app).await;

    let data = app
        .get(&format!("/api/v1/participants/{}/export", s.person))
        .await
        .expect(200)
        .json();
    assert_eq!(data["participant"]["name"], NAME);
    assert_eq!(data["participant"]["email"], EMAIL);
    assert_eq!(data["participant"]["function"], "Trésorière adjointe");
    assert_eq!(data["association"]["id"], s.association.as_str());
    assert_eq!(data["cohort"]["id"], s.cohort.as_str());
    let attendance = data["attendance"].as_array().unwrap();
    assert!(!attendance.is_empty(), "{data}");
    assert_eq!(attendance[0]["status"], "present");
    let emails = data["emails"].as_array().unwrap();
    let sent: Vec<&Value> = emails.iter().filter(|e| e["status"] == "sent").collect();
    assert_eq!(sent.len(), 1, "{emails:?}");
    assert_eq!(sent[0]["recipient_email"], EMAIL);
    assert!(
        sent[0]["body_text"].as_str().unwrap().contains("Zélie"),
        "{}",
        sent[0]["body_text"]
    );
    assert!(data["homework_returns"].is_array());
    assert!(data["sign_in"]["sessions"].is_array());

    // The page's download: a JSON attachment with the same content.
    let res = app
        .get(&format!("/participants/{}/export.json", s.person))
        .await
        .expect(200);
    assert!(res.content_type().starts_with("application/json"));
    let disposition = res.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(".json"),
        "{disposition}"
    );
    assert_eq!(res.json()["participant"]["email"], EMAIL);

    app.get("/api/v1/participants/inconnu/export")
        .await
        .expect(404)
        .api_error("not_found");
}

#[actix_web::test]
async fn an_anonymised_person_is_nowhere_in_the_database_but_attendance_and_time_stay() {
    let app = spawn().await;
    let s = setup(&app).await;
    assert!(!occurrences(&app, EMAIL).is_empty());
    assert!(!occurrences(&app, NAME).is_empty());
    let attendance_before = attended(&app, &s.person);
    let time_before = time_total(&app, &s.cohort);
    assert!(attendance_before > 0);
    let pending_before = count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM outbox_emails WHERE participant_id = '{}' AND status = 'scheduled'",
            s.person
        ),
    );
    assert!(pending_before > 0);

    // The confirmation says what is kept and what is erased, then the form does it.
    let page = app
        .get(&format!("/participants/{}/anonymiser", s.person))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Ce qui est effacé"), "{page}");
    assert!(page.contains("Ce qui est conservé"), "{page}");
    assert!(page.contains(&format!("action=\"/participants/{}/anonymiser\"", s.person)));
    let res = app
        .post_form(&format!("/participants/{}/anonymiser", s.person), &[])
        .await
        .expect(303);
    let location = res.header("location").unwrap();
    assert_eq!(
        location,
        format!(
            "/associations/{}?notice=participant_anonymise",
            s.association
        )
    );
    let shown = app.get(location).await.expect(200).text();
    assert!(shown.contains("La personne a été anonymisée"), "{shown}");
    assert!(shown.contains("Participant·e anonymisé·e"));

    assert_eq!(occurrences(&app, EMAIL), Vec::<String>::new());
    assert_eq!(occurrences(&app, NAME), Vec::<String>::new());
    assert_eq!(occurrences(&app, "Marchetti"), Vec::<String>::new());
    assert_eq!(attended(&app, &s.person), attendance_before);
    assert_eq!(time_total(&app, &s.cohort), time_before);
    // The time entry is still there, with its comment rid of her.
    let comment = count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM time_entries WHERE id = '{}' AND comment LIKE 'Entretien avec Participant%'",
            s.time_entry
        ),
    );
    assert_eq!(comment, 1);
    // Nothing will go to her any more; what was sent is history without content.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM outbox_emails WHERE participant_id = '{}' \
                 AND status IN ('draft', 'scheduled', 'failed')",
                s.person
            )
        ),
        0
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM outbox_emails WHERE participant_id = '{}' AND status = 'sent'",
                s.person
            )
        ),
        1
    );

    // Twice is fine, through the API as well; a later change to the cohort queues nothing
    // to her again.
    let p = app
        .post_json(
            &format!("/api/v1/participants/{}/anonymise", s.person),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(p["name"], "Participant·e anonymisé·e");
    assert!(p["email"].as_str().unwrap().ends_with(".invalid"));
    assert_eq!(p["function"], "");
    assert_eq!(p["reminders"], false);
    app.post_form(&format!("/participants/{}/anonymiser", s.person), &[])
        .await
        .expect(303);
    let nadia = app
        .get(&format!(
            "/api/v1/associations/{}/participants",
            s.association
        ))
        .await
        .expect(200)
        .json()[0]
        .clone();
    assert_eq!(nadia["name"], "Nadia Benali");
    app.put_json(
        &format!("/api/v1/participants/{}", nadia["id"].as_str().unwrap()),
        json!({"name": "Nadia Benali", "email": nadia["email"], "role": "direction",
               "function": "Directrice générale", "version": nadia["version"]}),
    )
    .await
    .expect(200);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM outbox_emails WHERE participant_id = '{}' \
                 AND status IN ('draft', 'scheduled')",
                s.person
            )
        ),
        0
    );
    assert_eq!(attended(&app, &s.person), attendance_before);

    app.post_json("/api/v1/participants/inconnu/anonymise", json!({}))
        .await
        .expect(404);
    app.get("/participants/inconnu/anonymiser")
        .await
        .expect(404);
}

#[actix_web::test]
async fn an_anonymised_person_is_not_left_in_the_database_files_free_space_or_wal() {
    let app = spawn().await;
    if app.db.is_postgres() {
        eprintln!("SQLite's files only: PostgreSQL keeps dead row versions until vacuumed");
        return;
    }
    let s = setup(&app).await;
    // Copied in many rows and pages: the participant, the emails, the notes, the audit log.
    assert!(!on_disk(&app, EMAIL).is_empty());

    app.post_json(
        &format!("/api/v1/participants/{}/anonymise", s.person),
        json!({}),
    )
    .await
    .expect(200);

    assert_eq!(on_disk(&app, EMAIL), Vec::<String>::new());
    assert_eq!(on_disk(&app, NAME), Vec::<String>::new());
    assert_eq!(on_disk(&app, "Marchetti"), Vec::<String>::new());
}

/// A person who changed address has emails to both: once anonymised, each of them keeps a
/// deduplication key of its own row, not a digest of either address (the two would share
/// one once both are the same placeholder).
#[actix_web::test]
async fn the_emails_to_an_anonymised_person_keep_keys_of_their_own_not_of_her_addresses() {
    use cohorte::db::schema::outbox_emails;
    let app = spawn().await;
    let s = setup(&app).await;
    let people = app
        .get(&format!(
            "/api/v1/associations/{}/participants",
            s.association
        ))
        .await
        .expect(200)
        .json();
    let her = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == s.person.as_str())
        .unwrap()
        .clone();
    app.put_json(
        &format!("/api/v1/participants/{}", s.person),
        json!({"name": NAME, "email": "zelie@nouvelle-adresse.fr", "role": "autre",
               "function": "Trésorière adjointe", "version": her["version"]}),
    )
    .await
    .expect(200);
    let to_her = |app: &TestApp| -> Vec<(String, String, String)> {
        outbox_emails::table
            .filter(outbox_emails::participant_id.eq(&s.person))
            .select((
                outbox_emails::id,
                outbox_emails::recipient_email,
                outbox_emails::dedup_key,
            ))
            .load(&mut app.pool.get().unwrap())
            .unwrap()
    };
    let addresses: std::collections::BTreeSet<String> =
        to_her(&app).into_iter().map(|(_, to, _)| to).collect();
    assert_eq!(
        addresses.len(),
        2,
        "emails to the old and the new address: {addresses:?}"
    );

    app.post_json(
        &format!("/api/v1/participants/{}/anonymise", s.person),
        json!({}),
    )
    .await
    .expect(200);
    let rows = to_her(&app);
    assert!(!rows.is_empty());
    for (id, to, key) in rows {
        assert!(to.ends_with("@anonyme.invalid"), "{to}");
        assert_eq!(key, cohorte::domain::outbox::erased_key(&id));
    }
}

/// What SQLite's page rebuild can leave in an index page (a split moves cells to a sibling
/// and their old bytes stay between the page's cell pointers and its cells, where
/// `secure_delete` does not reach) is taken out by the anonymisation from the web: it
/// rebuilds the indexes whose keys hold personal data. The fragment is written by hand into
/// the associations' name index, which anonymising a participant does not otherwise touch:
/// only the rebuild rewrites that page.
#[actix_web::test]
async fn the_anonymisation_from_a_page_rebuilds_the_indexes_that_held_the_person() {
    let app = spawn().await;
    if app.db.is_postgres() {
        eprintln!("SQLite's files only");
        return;
    }
    let s = setup(&app).await;
    let number = |sql: &str| count(&app, sql) as usize;
    // Everything in the database file, nothing in the WAL: the page written below is the one
    // every connection reads next.
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    let checkpoint: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(checkpoint.busy, 0);
    let root =
        number("SELECT rootpage AS n FROM sqlite_master WHERE name = 'associations_name_key'");
    let page_size = number("SELECT page_size AS n FROM pragma_page_size");
    let path = app.config.database.url.clone();
    let stale = format!("convocation|{}|{}|1", s.cohort, EMAIL.to_lowercase());
    {
        use std::io::{Read, Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let offset = ((root - 1) * page_size) as u64;
        let mut page = vec![0u8; page_size];
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.read_exact(&mut page).unwrap();
        assert_eq!(page[0], 0x0a, "the index is one leaf page");
        let cells = u16::from_be_bytes([page[3], page[4]]) as usize;
        let content = u16::from_be_bytes([page[5], page[6]]) as usize;
        let gap = 8 + 2 * cells;
        assert!(gap + stale.len() < content);
        page[gap..gap + stale.len()].copy_from_slice(stale.as_bytes());
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.write_all(&page).unwrap();
        file.sync_all().unwrap();
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM pragma_integrity_check WHERE integrity_check = 'ok'"
        ),
        1
    );

    app.post_form(&format!("/participants/{}/anonymiser", s.person), &[])
        .await
        .expect(303);

    assert_eq!(on_disk(&app, EMAIL), Vec::<String>::new());
    assert_eq!(on_disk(&app, "Marchetti"), Vec::<String>::new());
}

#[actix_web::test]
async fn an_anonymised_association_loses_its_identity_and_people_but_keeps_the_figures() {
    let app = spawn().await;
    let s = setup(&app).await;
    let a = app
        .get(&format!("/api/v1/associations/{}", s.association))
        .await
        .expect(200)
        .json();
    let name = a["name"].as_str().unwrap().to_string();
    let people: Vec<Value> = app
        .get(&format!(
            "/api/v1/associations/{}/participants",
            s.association
        ))
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(people.len(), 3);
    let emails: Vec<String> = people
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect();
    let attendance_before: i64 = people
        .iter()
        .map(|p| attended(&app, p["id"].as_str().unwrap()))
        .sum();
    let time_before = time_total(&app, &s.cohort);

    // Its page links to the action; the confirmation then the redirect.
    let show = app
        .get(&format!("/associations/{}", s.association))
        .await
        .expect(200)
        .text();
    assert!(show.contains(&format!("/associations/{}/anonymiser", s.association)));
    assert!(show.contains(&format!("/participants/{}/export.json", s.person)));
    let page = app
        .get(&format!("/associations/{}/anonymiser", s.association))
        .await
        .expect(200)
        .text();
    assert!(page.contains("Ce qui est conservé"), "{page}");
    let res = app
        .post_form(&format!("/associations/{}/anonymiser", s.association), &[])
        .await
        .expect(303);
    assert_eq!(
        res.header("location").unwrap(),
        format!(
            "/associations/{}?notice=association_anonymisee",
            s.association
        )
    );

    assert_eq!(occurrences(&app, &name), Vec::<String>::new());
    for email in &emails {
        assert_eq!(occurrences(&app, email), Vec::<String>::new(), "{email}");
    }
    let a = app
        .get(&format!("/api/v1/associations/{}", s.association))
        .await
        .expect(200)
        .json();
    assert_eq!(a["name"], "Association anonymisée");
    assert_eq!(a["town"], "");
    assert_eq!(a["creation_year"], 2010);
    assert_eq!(a["salaried_staff"], 5);
    let after: i64 = people
        .iter()
        .map(|p| attended(&app, p["id"].as_str().unwrap()))
        .sum();
    assert_eq!(after, attendance_before);
    assert_eq!(time_total(&app, &s.cohort), time_before);
    // The other association is untouched.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM participants WHERE anonymised_at IS NULL AND association_id <> '{}'",
                s.association
            )
        ),
        2
    );

    // Twice is fine.
    app.post_json(
        &format!("/api/v1/associations/{}/anonymise", s.association),
        json!({}),
    )
    .await
    .expect(200);
    app.get(&format!("/associations/{}", s.association))
        .await
        .expect(200);
}

#[actix_web::test]
async fn the_purge_anonymises_cohorts_ended_long_ago_only_and_blanks_their_emails() {
    let app = spawn().await;
    let s = setup(&app).await;
    // A second cohort, from September 2029.
    let dla = app.create_dla().await;
    let recent = app
        .post_json(
            "/api/v1/cohorts",
            json!({"dla_id": dla, "name": "Cohorte 2029", "territory": "Gironde",
                   "approach": "territoriale", "start_date": "2029-09-03"}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.enrol(&recent, "Les Jardins du Lac").await;
    app.generate(&recent).await;
    let attendance_before = attended(&app, &s.person);

    // 1 January 2030: the 2027 cohort ended more than 24 months ago, the 2029 one did not.
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 3, 0, 0).unwrap();
    let mut conn = app.pool.get().unwrap();
    let n = cohorte::models::privacy::purge_ended_cohorts(&mut conn, 24, now).unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        cohorte::models::privacy::purge_ended_cohorts(&mut conn, 24, now).unwrap(),
        0,
        "once"
    );
    // 0 months: never.
    let later = Utc.with_ymd_and_hms(2040, 1, 1, 3, 0, 0).unwrap();
    assert_eq!(
        cohorte::models::privacy::purge_ended_cohorts(&mut conn, 0, later).unwrap(),
        0
    );
    drop(conn);

    assert_eq!(occurrences(&app, EMAIL), Vec::<String>::new());
    assert_eq!(occurrences(&app, NAME), Vec::<String>::new());
    assert_eq!(on_disk(&app, EMAIL), Vec::<String>::new());
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM participants p JOIN associations a ON a.id = p.association_id \
                 WHERE a.cohort_id = '{}' AND p.anonymised_at IS NULL",
                s.cohort
            )
        ),
        0
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM outbox_emails e JOIN outbox_bodies b ON b.email_id = e.id \
                 WHERE e.cohort_id = '{}' AND (b.ics IS NOT NULL OR b.packed IS NOT NULL \
                 OR b.body_text LIKE '%Bonjour%' OR b.body_html LIKE '%Bonjour%')",
                s.cohort
            )
        ),
        0
    );
    assert!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM outbox_emails WHERE cohort_id = '{}'",
                s.cohort
            )
        ) > 0
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM cohorts WHERE id = '{}' AND purged_at IS NOT NULL",
                s.cohort
            )
        ),
        1
    );
    assert_eq!(attended(&app, &s.person), attendance_before);
    // The recent cohort keeps its people.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM participants p JOIN associations a ON a.id = p.association_id \
                 WHERE a.cohort_id = '{recent}' AND p.anonymised_at IS NULL AND p.name = 'Nadia Benali'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM cohorts WHERE id = '{recent}' AND purged_at IS NULL"
            )
        ),
        1
    );
}

#[actix_web::test]
async fn the_purge_leaves_a_cohort_without_sessions_alone() {
    let app = spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte sans séance").await;
    app.enrol(&cohort, "Les Jardins du Lac").await;
    // Years on: no session, so no end to count the 24 months from.
    let now = Utc.with_ymd_and_hms(2040, 1, 1, 3, 0, 0).unwrap();
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        cohorte::models::privacy::purge_ended_cohorts(&mut conn, 24, now).unwrap(),
        0
    );
    drop(conn);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM participants p JOIN associations a ON a.id = p.association_id \
                 WHERE a.cohort_id = '{cohort}' AND p.anonymised_at IS NULL"
            )
        ),
        2
    );
}
