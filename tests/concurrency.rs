//! Correct under concurrency on both backends (issue #15, point 3): version-checked edits,
//! the cohort's cap, unique names and addresses, and email matching. Run on SQLite, and
//! on PostgreSQL when `COHORTE_TEST_POSTGRES` is set — where, at READ COMMITTED, a check
//! made by a read before the write no longer holds at commit.
//!
//! The races are played deterministically by [`interleave`]: the first writer writes and
//! keeps its transaction open while the second reads and writes. On SQLite the second
//! waits for the write lock and reads after the commit; on PostgreSQL it reads before the
//! commit, and only the database's own checks (the `UPDATE`'s condition, the cohort's row
//! lock, a UNIQUE index) keep it from writing over the first.

mod common;

use std::sync::{Barrier, mpsc};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use serde_json::json;

use cohorte::db::{Pool, Tx};
use cohorte::error::AppError;
use cohorte::models::association::{self, AssociationInput};
use common::TestApp;

/// How long the first writer keeps its transaction open after writing: time for the
/// second to read and reach its write, well within the lock wait (2 s).
const HOLD: Duration = Duration::from_millis(500);

/// Runs `first` in a write transaction kept open [`HOLD`] after it, and `second` in its
/// own write transaction on another connection once `first` has written; returns both
/// outcomes.
fn interleave<A: Send, B: Send>(
    pool: &Pool,
    first: impl FnOnce(&mut Tx<'_>) -> Result<A, AppError> + Send,
    second: impl FnOnce(&mut Tx<'_>) -> Result<B, AppError> + Send,
) -> (Result<A, AppError>, Result<B, AppError>) {
    let (wrote, written) = mpsc::channel();
    std::thread::scope(|s| {
        let a = s.spawn(move || {
            let mut conn = pool.get().expect("connection");
            common::write(&mut conn, |tx| {
                let result = first(tx);
                wrote.send(()).expect("second writer waiting");
                std::thread::sleep(HOLD);
                result
            })
        });
        let b = s.spawn(move || {
            written.recv().expect("first writer wrote");
            let mut conn = pool.get().expect("connection");
            common::write(&mut conn, second)
        });
        (a.join().expect("first writer"), b.join().expect("second"))
    })
}

fn association(app: &TestApp, id: &str) -> association::Association {
    association::get(&mut app.pool.get().unwrap(), id).unwrap()
}

/// The association's form as read now, with another name.
fn renamed(app: &TestApp, id: &str, name: &str) -> AssociationInput {
    AssociationInput {
        name: name.into(),
        ..AssociationInput::from(&association(app, id))
    }
}

fn new_association(name: &str) -> AssociationInput {
    AssociationInput {
        name: name.into(),
        town: "Bordeaux".into(),
        sector: "Culture".into(),
        creation_year: "2010".into(),
        salaried_staff: "3".into(),
        general_interest: "on".into(),
        ..AssociationInput::default()
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, AppError>, code: &str) {
    match result {
        Err(AppError::Conflict { code: c, .. }) if c == code => {}
        other => panic!("expected the conflict {code}, got {other:?}"),
    }
}

#[track_caller]
fn assert_field<T: std::fmt::Debug>(result: Result<T, AppError>, field: &str, message: &str) {
    match result {
        Err(AppError::Validation { fields, .. }) => {
            assert_eq!(
                fields.get(field).map(String::as_str),
                Some(message),
                "{fields:?}"
            )
        }
        other => panic!("expected a message on {field}, got {other:?}"),
    }
}

// --- Version-checked edits ------------------------------------------------------------

#[actix_web::test]
async fn two_edits_made_from_the_same_version_one_is_saved_the_other_refused_as_stale() {
    let app = common::spawn().await;
    let (_, ids) = app.cohort_with(1).await;
    let id = ids[0].clone();
    let (first, second) = (
        renamed(&app, &id, "Le Relais"),
        renamed(&app, &id, "La Ruche"),
    );
    assert_eq!(first.version, "1");

    let (saved, refused) = interleave(
        &app.pool,
        |c| association::update(c, &id, &first),
        |c| association::update(c, &id, &second),
    );

    saved.expect("the first edit is saved");
    assert_conflict(refused, "stale_version");
    let stored = association(&app, &id);
    assert_eq!((stored.name.as_str(), stored.version), ("Le Relais", 2));
}

#[actix_web::test]
async fn two_first_saves_of_a_record_one_is_saved_the_other_refused_as_stale() {
    use cohorte::domain::profile::Profile;
    use cohorte::models::profile;
    let app = common::spawn().await;
    let (_, ids) = app.cohort_with(1).await;
    let id = ids[0].clone();
    let save = |by: &'static str| {
        let id = id.clone();
        move |c: &mut Tx<'_>| profile::save(c, &id, "etat_des_lieux", &Profile::default(), "0", by)
    };

    // Both read « no row yet » (version 0); the second insert meets the first's row.
    let (saved, refused) = interleave(&app.pool, save("Première"), save("Seconde"));

    saved.expect("the first save");
    assert_conflict(refused, "stale_version");
    let stored = profile::get(&mut app.pool.get().unwrap(), &id, "etat_des_lieux").unwrap();
    assert_eq!(
        (stored.updated_by.as_str(), stored.version),
        ("Première", 1)
    );
}

// --- The cap ----------------------------------------------------------------------------

#[actix_web::test]
async fn an_enrolment_waiting_for_the_last_place_is_refused_once_the_first_is_committed() {
    let app = common::spawn().await;
    let (cohort, _) = app.cohort_with(7).await;
    let template = app.config.programme.clone();

    let (enrolled, refused) = interleave(
        &app.pool,
        |c| association::enrol(c, &cohort, &new_association("Huitième"), &template, false),
        |c| association::enrol(c, &cohort, &new_association("Neuvième"), &template, false),
    );

    enrolled.expect("the last place");
    assert_conflict(refused, "cohort_full");
    let count = association::list_for_cohort(&mut app.pool.get().unwrap(), &cohort)
        .unwrap()
        .len();
    assert_eq!(count, 8);
}

/// A director and a board member added at once to an association without either: the two
/// facts the DLA overview reads on the association count both people. On PostgreSQL the
/// second write waits for the first's commit before looking at the participants (without
/// that, its look kept the snapshot of before and wrote « no director »).
#[actix_web::test]
async fn two_people_added_at_once_to_an_association_both_count_in_its_facts() {
    use cohorte::models::participant::{self, ParticipantInput};
    let app = common::spawn().await;
    let (cohort, _) = app.cohort_with(0).await;
    let template = app.config.programme.clone();
    let id = common::write(&mut app.pool.get().unwrap(), |tx| {
        association::enrol(
            tx,
            &cohort,
            &new_association("Sans personne"),
            &template,
            false,
        )
    })
    .unwrap()
    .id;
    let person = |name: &str, email: &str, role: &str| ParticipantInput {
        name: name.into(),
        email: email.into(),
        role: role.into(),
        function: "Président".into(),
        ..ParticipantInput::default()
    };
    let (director, board) = interleave(
        &app.pool,
        |tx| {
            participant::create(
                tx,
                &id,
                &person("Inès Morel", "ines@exemple.fr", "direction"),
            )
        },
        |tx| {
            participant::create(
                tx,
                &id,
                &person("Paul Mercier", "paul@exemple.fr", "gouvernance"),
            )
        },
    );
    director.expect("the director");
    board.expect("the board member");
    let profiles =
        association::profiles_for_cohorts(&mut app.pool.get().unwrap(), &[cohort]).unwrap();
    let facts = profiles.iter().find(|p| p.id == id).unwrap();
    assert_eq!((facts.has_director, facts.has_governance), (true, true));
}

#[actix_web::test]
async fn twelve_enrolments_at_once_into_two_places_left_enrol_exactly_two() {
    let app = common::spawn().await;
    let (cohort, _) = app.cohort_with(6).await;
    let template = app.config.programme.clone();
    let pool = cohorte::db::connect(app.db.url(), 12).expect("a pool of 12");
    let start = Barrier::new(12);

    let outcomes: Vec<Result<association::Association, AppError>> = std::thread::scope(|s| {
        let runs: Vec<_> = (1..=12)
            .map(|i| {
                let (pool, start, template, cohort) = (&pool, &start, &template, &cohort);
                s.spawn(move || {
                    let mut conn = pool.get().expect("connection");
                    start.wait();
                    let input = new_association(&format!("Candidate n° {i}"));
                    common::write(&mut conn, |tx| {
                        association::enrol(tx, cohort, &input, template, false)
                    })
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });

    let enrolled = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(enrolled, 2, "{outcomes:?}");
    for refused in outcomes.into_iter().filter(Result::is_err) {
        assert_conflict(refused, "cohort_full");
    }
    let count = association::list_for_cohort(&mut app.pool.get().unwrap(), &cohort)
        .unwrap()
        .len();
    assert_eq!(count, 8);
}

// --- Unique names and addresses ---------------------------------------------------------

const DUPLICATE_NAME: &str = "Une association de ce nom est déjà inscrite dans la cohorte.";

#[actix_web::test]
async fn a_rename_racing_another_into_the_same_name_is_refused_on_the_name_field() {
    let app = common::spawn().await;
    let (_, ids) = app.cohort_with(2).await;
    let (x, y) = (ids[0].clone(), ids[1].clone());
    let (first, second) = (
        renamed(&app, &x, "Le Phare"),
        renamed(&app, &y, " le PHARE "),
    );

    // Each reads no other « le phare »: only the index sees the other's row.
    let (saved, refused) = interleave(
        &app.pool,
        |c| association::update(c, &x, &first),
        |c| association::update(c, &y, &second),
    );

    saved.expect("the first rename");
    assert_field(refused, "name", DUPLICATE_NAME);
    assert_eq!(association(&app, &y).version, 1, "the second is unchanged");
}

#[actix_web::test]
async fn a_name_that_differs_only_by_case_or_surrounding_spaces_is_refused_with_the_field_message()
{
    let app = common::spawn().await;
    let dla = app.create_dla().await;
    let cohort = app.create_cohort(&dla, "Cohorte Gironde 2027").await;
    let body = |name: &str| json!({"name": name, "town": "Bordeaux", "sector": "Culture"});
    let uri = format!("/api/v1/cohorts/{cohort}/associations");
    let mut ids = Vec::new();
    for name in ["École des Arts", "La Ruche"] {
        let created = app.post_json(&uri, body(name)).await.expect(201).json();
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let (arts, other) = (&ids[0], &ids[1]);

    // Enrolling: Unicode capitals (« É ») and spaces make no other name, on the API…
    for name in ["  école des arts ", "ÉCOLE DES ARTS"] {
        let error = app.post_json(&uri, body(name)).await.expect(422);
        assert_eq!(
            error.api_error("validation_failed")["fields"]["name"],
            DUPLICATE_NAME
        );
    }
    // … and on the page, which shows the form again with what was typed.
    let page = app
        .post_form(
            &format!("/cohortes/{cohort}/associations"),
            &[("name", "école DES arts"), ("town", "Bordeaux")],
        )
        .await
        .expect(422)
        .text();
    assert!(
        page.contains("Une association de ce nom est déjà inscrite"),
        "{page}"
    );
    assert!(page.contains("école DES arts"), "{page}");
    // Renaming another into it.
    let error = app
        .put_json(
            &format!("/api/v1/associations/{other}"),
            json!({"name": "École Des Arts", "version": 1}),
        )
        .await
        .expect(422);
    assert_eq!(
        error.api_error("validation_failed")["fields"]["name"],
        DUPLICATE_NAME
    );
    // Its own name in another case is a change of its own.
    app.put_json(
        &format!("/api/v1/associations/{arts}"),
        json!({"name": "ÉCOLE des arts", "version": 1}),
    )
    .await
    .expect(200);
    // Another cohort may have one of the same name.
    let elsewhere = app.create_cohort(&dla, "Cohorte Landes 2027").await;
    app.post_json(
        &format!("/api/v1/cohorts/{elsewhere}/associations"),
        body("école des arts"),
    )
    .await
    .expect(201);
}

#[actix_web::test]
async fn an_address_a_participant_of_the_association_has_in_another_case_is_refused() {
    let app = common::spawn().await;
    let (_, ids) = app.cohort_with(1).await;
    let uri = format!("/api/v1/associations/{}/participants", ids[0]);
    app.post_json(
        &uri,
        json!({"name": "Zoé Martin", "email": "Zoe.Martin@Exemple.FR", "role": "autre"}),
    )
    .await
    .expect(201);
    let error = app
        .post_json(
            &uri,
            json!({"name": "Z. Martin", "email": " zoe.martin@exemple.fr ", "role": "autre"}),
        )
        .await
        .expect(422);
    assert_eq!(
        error.api_error("validation_failed")["fields"]["email"],
        "Cette adresse est déjà celle d'un·e participant·e de l'association."
    );
}

#[actix_web::test]
async fn the_same_guest_added_twice_to_a_bilan_is_refused_on_the_email_field() {
    let app = common::spawn().await;
    let (cohort, _) = app.cohort_with(1).await;
    let generated = app.generate(&cohort).await;
    let bilan = generated["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "bilan_individuel")
        .expect("a bilan")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/api/v1/sessions/{bilan}/guests");
    let guest =
        |email: &str| json!({"name": "Inès Garcia", "email": email, "organisation": "DLA 33"});
    app.post_json(&uri, guest("ines.garcia@dla33.fr"))
        .await
        .expect(201);
    let error = app
        .post_json(&uri, guest("Ines.Garcia@DLA33.fr"))
        .await
        .expect(422);
    assert_eq!(
        error.api_error("validation_failed")["fields"]["email"],
        "Cette personne est déjà invitée à ce bilan."
    );
}

#[actix_web::test]
async fn a_second_account_with_the_same_address_in_another_case_is_refused_on_the_email_field() {
    let app = common::spawn().await;
    let refused = common::write(&mut app.pool.get().unwrap(), |tx| {
        cohorte::models::account::create(
            tx,
            cohorte::models::account::NewUser {
                email: " ADMIN@cohorte.test",
                name: "Alice bis",
                role: "admin",
                dla_id: None,
                consultant_id: None,
                password: None,
            },
        )
    });
    assert_field(
        refused,
        "email",
        "Un compte existe déjà avec cette adresse.",
    );
}

// --- Email matching and search ------------------------------------------------------------

#[actix_web::test]
async fn a_sign_in_link_asked_with_the_address_in_another_case_reaches_the_participant() {
    use cohorte::db::schema::outbox_emails;
    let app = common::spawn().await;
    let (_, ids) = app.cohort_with(1).await;
    let created = app
        .post_json(
            &format!("/api/v1/associations/{}/participants", ids[0]),
            json!({"name": "Zoé Martin", "email": "Zoe.Martin@Exemple.FR", "role": "autre"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(
        created["email"], "zoe.martin@exemple.fr",
        "stored normalised"
    );
    let pid = created["id"].as_str().unwrap().to_string();

    app.send_raw(
        actix_web::test::TestRequest::post()
            .uri("/connexion/participant")
            .set_form([("email", "  ZOE.martin@exemple.fr ")]),
    )
    .await
    .expect(200);

    let queued: Vec<String> = outbox_emails::table
        .filter(outbox_emails::kind.eq("sign_in_link"))
        .select(outbox_emails::participant_id.assume_not_null())
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(queued, vec![pid]);
}

#[actix_web::test]
async fn the_cohorts_search_ignores_case_on_both_backends() {
    let app = common::spawn().await;
    let dla = app.create_dla().await;
    app.create_cohort(&dla, "Modèles Socio-économiques 2027")
        .await;
    for search in ["socio", "SOCIO-ÉCONOMIQUES", "modèles"] {
        let found = app
            .get(&format!("/api/v1/cohorts?search={}", urlencoding(search)))
            .await
            .expect(200)
            .json();
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{search}: {found}");
    }
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// --- The migration --------------------------------------------------------------------

/// The embedded migrations of `db`'s dialect.
fn migrations_of(db: &common::db::TestDb) -> diesel_migrations::EmbeddedMigrations {
    if db.is_postgres() {
        cohorte::db::POSTGRES_MIGRATIONS
    } else {
        cohorte::db::SQLITE_MIGRATIONS
    }
}

/// Brings `db` to migration `before` (the end of its version), writes `rows` as they were
/// then, and runs the next migrations up to `upto`, or all of them; the connection that
/// ran them (opened as the app opens it, its SQL functions registered).
fn migrate_around(
    db: &common::db::TestDb,
    before: &str,
    rows: &str,
    upto: Option<&str>,
) -> cohorte::db::Conn {
    let mut conn = <cohorte::db::Conn as Connection>::establish(db.url()).unwrap();
    let next = |conn: &mut cohorte::db::Conn| {
        conn.run_next_migration(migrations_of(db))
            .unwrap()
            .to_string()
    };
    while !next(&mut conn).ends_with(before) {}
    conn.batch_execute(rows).unwrap();
    match upto {
        Some(last) => while !next(&mut conn).ends_with(last) {},
        None => {
            conn.run_pending_migrations(migrations_of(db)).unwrap();
        }
    }
    conn
}

/// Rows written before 000023 — names in several cases, anonymised associations sharing
/// one name, guests sharing the purge's placeholder, an address with capitals — are
/// keyed by the migration without breaking its unique indexes; and 000029 notes on each
/// association whether its people include a director and a board member.
#[test]
fn migrations_000023_and_000029_key_and_note_the_rows_written_before_them() {
    let db = common::db::TestDb::new();
    let rows = "
        INSERT INTO dlas (id, name, area, created_at, updated_at)
            VALUES ('d', 'DLA', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO cohorts (id, dla_id, name, territory, approach, start_date, created_at, updated_at)
            VALUES ('c', 'd', 'C', 't', 'territoriale', '2027-01-11', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO associations (id, cohort_id, name, sector, town, general_interest, created_at, updated_at, anonymised_at) VALUES
            ('a1', 'c', '  Le Relais ', 's', 't', TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
            ('a2', 'c', 'Association anonymisée', 's', 't', TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-06-01 00:00:00'),
            ('a3', 'c', 'Association anonymisée', 's', 't', TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-06-01 00:00:00');
        INSERT INTO participants (id, association_id, name, email, role, created_at, updated_at) VALUES
            ('p', 'a1', 'Zoé', ' Zoe.Martin@Exemple.FR', 'autre', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('p2', 'a2', 'Inès', 'ines@exemple.fr', 'direction', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('p3', 'a3', 'Paul', 'paul@exemple.fr', 'gouvernance', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO sessions (id, cohort_id, kind, association_id, starts_at, ends_at, created_at, updated_at)
            VALUES ('s', 'c', 'bilan_individuel', 'a1', '2027-03-01 08:00:00', '2027-03-01 12:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO session_guests (id, session_id, name, email, created_at) VALUES
            ('g1', 's', 'Invité·e', 'invite@anonyme.invalid', '2026-01-01 00:00:00'),
            ('g2', 's', 'Invité·e', 'invite@anonyme.invalid', '2026-01-01 00:00:00');";
    // Up to 000022, the rows, then the rest.
    migrate_around(&db, "000022", rows, None);

    use cohorte::db::schema::{associations, participants, session_guests};
    let pool = cohorte::db::connect(db.url(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let keys: Vec<(String, Option<String>)> = associations::table
        .order(associations::id)
        .select((associations::id, associations::name_key))
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        keys,
        vec![
            ("a1".into(), Some("le relais".into())),
            ("a2".into(), None),
            ("a3".into(), None),
        ]
    );
    let noted: Vec<(String, bool, bool)> = associations::table
        .order(associations::id)
        .select((
            associations::id,
            associations::has_director,
            associations::has_governance,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        noted,
        vec![
            ("a1".into(), false, false),
            ("a2".into(), true, false),
            ("a3".into(), false, true),
        ]
    );
    let email: String = participants::table
        .find("p")
        .select(participants::email)
        .first(&mut conn)
        .unwrap();
    assert_eq!(email, "zoe.martin@exemple.fr");
    let guests: Vec<String> = session_guests::table
        .order(session_guests::id)
        .select(session_guests::email)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        guests,
        vec!["invite-g1@anonyme.invalid", "invite-g2@anonyme.invalid"]
    );
}

/// Migration 000030 turns the outbox's deduplication keys into the digests the app now
/// computes, on both backends: a key written before it is the same as the app's for the
/// same row (so no email is queued twice across the upgrade); an erased recipient's email
/// gets its row's key, the old text's leftover address with it; the emails to no
/// participant of cohorts purged already lose their recipient's address. And back down:
/// the keys' text, a second row of the same text keeping its id.
#[test]
fn migration_000030_turns_the_outbox_keys_into_the_apps_digests() {
    use cohorte::db::schema::outbox_emails;
    use cohorte::domain::outbox::{dedup_key, erased_key, key_digest};
    use cohorte::models::outbox::row_key;
    let db = common::db::TestDb::new();
    let rows = "
        INSERT INTO dlas (id, name, area, created_at, updated_at)
            VALUES ('d', 'DLA', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO cohorts (id, dla_id, name, territory, approach, start_date, created_at, updated_at, purged_at) VALUES
            ('old', 'd', 'C 2023', 't', 'territoriale', '2023-01-09', '2023-01-01 00:00:00', '2023-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('c', 'd', 'C 2027', 't', 'territoriale', '2027-01-11', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL);
        INSERT INTO associations (id, cohort_id, name, sector, town, general_interest, created_at, updated_at)
            VALUES ('a', 'c', 'Le Relais', 's', 't', TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO participants (id, association_id, name, email, role, created_at, updated_at) VALUES
            ('p', 'a', 'Nadia', 'nadia@jardins.fr', 'direction', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
            ('q', 'a', 'Participant·e anonymisé·e', 'anonyme-q@anonyme.invalid', 'autre', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
        INSERT INTO outbox_emails (id, cohort_id, kind, item_id, recipient_email, recipient_name,
            participant_id, revision, dedup_key, subject, status, send_after, next_attempt_at,
            created_at, updated_at, last_error) VALUES
         ('live', 'c', 'convocation', 's1', 'Nadia@Jardins.fr', 'Nadia', 'p', 2,
            'convocation|s1|nadia@jardins.fr#p|2', 'Convocation', 'scheduled',
            '2027-01-04 08:00:00', '2027-01-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
         ('summary', 'c', 'weekly_summary', 'c', 'officer@dla.fr', 'Chargée', NULL, 20270104,
            'weekly_summary|c|officer@dla.fr|20270104', 'Semaine', 'sent',
            '2027-01-04 08:00:00', '2027-01-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
         ('erased', 'c', 'convocation', 's1', 'anonyme-q@anonyme.invalid', 'Participant·e anonymisé·e', 'q', 1,
            'convocation|s1|ancienne@exemple.fr#q|1', 'Convocation', 'cancelled',
            '2027-01-04 08:00:00', '2027-01-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
         ('guest', 'old', 'guest_convocation', 'g1', 'claire.martin@exemple.fr', 'Claire Martin', NULL, 0,
            'guest_convocation|g1|claire.martin@exemple.fr|0', 'Bilan', 'failed',
            '2023-05-04 08:00:00', '2023-05-04 08:00:00', '2023-01-01 00:00:00', '2023-01-01 00:00:00',
            '550 <claire.martin@exemple.fr> unknown'),
         ('guest2', 'c', 'guest_convocation', 'g2', 'paul@exemple.fr', 'Paul', NULL, 0,
            'guest_convocation|g2|paul@exemple.fr|0', 'Bilan', 'scheduled',
            '2027-05-04 08:00:00', '2027-05-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
         ('notice', 'old', 'session_moved', 's9', 'claire.martin@exemple.fr', 'Claire Martin', NULL, 2,
            'session_moved|s9|claire.martin@exemple.fr|2', 'Bilan déplacé', 'sent',
            '2023-05-02 08:00:00', '2023-05-02 08:00:00', '2023-01-01 00:00:00', '2023-01-01 00:00:00', NULL),
         ('accent', 'c', 'convocation', 's3', 'zoé@société.fr', 'Zoé', 'p', 1,
            'convocation|s3|zoé@société.fr#p|1', 'Convocation', 'sent',
            '2027-01-04 08:00:00', '2027-01-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
         ('shared1', 'c', 'convocation', 's2', 'contact@relais.fr', 'X', NULL, 1,
            'convocation|s2|contact@relais.fr#x|1', 'Convocation', 'sent',
            '2027-01-04 08:00:00', '2027-01-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL),
         ('shared2', 'c', 'convocation', 's2', 'contact@relais.fr', 'Y', NULL, 1,
            'convocation|s2|contact@relais.fr#y|1', 'Convocation', 'sent',
            '2027-01-04 08:00:00', '2027-01-04 08:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL);";
    type Row = (String, String, String, String, Option<String>);
    let read = |conn: &mut cohorte::db::Conn| -> Vec<Row> {
        outbox_emails::table
            .order(outbox_emails::id)
            .select((
                outbox_emails::id,
                outbox_emails::dedup_key,
                outbox_emails::recipient_email,
                outbox_emails::recipient_name,
                outbox_emails::last_error,
            ))
            .load(conn)
            .unwrap()
    };
    let row = |id: &str, key: String, to: &str, name: &str, error: Option<&str>| -> Row {
        (
            id.into(),
            key,
            to.into(),
            name.into(),
            error.map(Into::into),
        )
    };
    // Up to 000029, the rows, then 000030; and, after the checks, back down.
    let mut conn = migrate_around(&db, "000029", rows, Some("000030"));
    let anonymous = cohorte::models::privacy::ANONYMOUS_GUEST;
    assert_eq!(
        read(&mut conn),
        vec![
            // Not ASCII: the SQL digest reads the same UTF-8 bytes as the app's.
            row(
                "accent",
                row_key("convocation", "s3", "zoé@société.fr", Some("p"), 1),
                "zoé@société.fr",
                "Zoé",
                None
            ),
            row(
                "erased",
                erased_key("erased"),
                "anonyme-q@anonyme.invalid",
                "Participant·e anonymisé·e",
                None
            ),
            row(
                "guest",
                erased_key("guest"),
                "invite-g1@anonyme.invalid",
                anonymous,
                None
            ),
            row(
                "guest2",
                row_key("guest_convocation", "g2", "paul@exemple.fr", None, 0),
                "paul@exemple.fr",
                "Paul",
                None
            ),
            row(
                "live",
                row_key("convocation", "s1", "Nadia@Jardins.fr", Some("p"), 2),
                "Nadia@Jardins.fr",
                "Nadia",
                None
            ),
            row(
                "notice",
                erased_key("notice"),
                "destinataire-notice@anonyme.invalid",
                cohorte::models::privacy::ANONYMOUS_RECIPIENT,
                None
            ),
            // Participants deleted since (their emails lost `#participant`): keys of
            // what was stored.
            row(
                "shared1",
                key_digest("convocation|s2|contact@relais.fr#x|1"),
                "contact@relais.fr",
                "X",
                None
            ),
            row(
                "shared2",
                key_digest("convocation|s2|contact@relais.fr#y|1"),
                "contact@relais.fr",
                "Y",
                None
            ),
            row(
                "summary",
                dedup_key("weekly_summary", "c", "officer@dla.fr", 20270104),
                "officer@dla.fr",
                "Chargée",
                None
            ),
        ]
    );

    // Down: the text of each key, from its row.
    conn.revert_last_migration(migrations_of(&db)).unwrap();
    let keys: Vec<String> = read(&mut conn).into_iter().map(|r| r.1).collect();
    assert_eq!(
        keys,
        vec![
            "convocation|s3|zoé@société.fr#p|1",
            "convocation|s1|anonyme-q@anonyme.invalid#q|1",
            "guest_convocation|g1|invite-g1@anonyme.invalid|0",
            "guest_convocation|g2|paul@exemple.fr|0",
            "convocation|s1|nadia@jardins.fr#p|2",
            "session_moved|s9|destinataire-notice@anonyme.invalid|2",
            // The same text once `#participant` is gone: the second keeps its id.
            "convocation|s2|contact@relais.fr|1",
            "convocation|s2|contact@relais.fr|1|shared2",
            "weekly_summary|c|officer@dla.fr|20270104",
        ]
    );
}
