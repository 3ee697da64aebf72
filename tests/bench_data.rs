//! `cohorte bench-data`, run as scripts/bench runs it, on a small size: the rows it writes
//! (the proportions per cohort), the outbox as the planner fills it, the accounts the
//! benchmark signs in with, and the ids it prints — so the command keeps working as the
//! schema changes.

use cohorte::db::{Author, write_with};
use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

fn bench_data(dir: &std::path::Path, db: &std::path::Path) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cohorte"));
    command
        .args(["bench-data", "--cohorts", "2", "--seed", "7"])
        // Away from any ./cohorte.toml.
        .current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("COHORTE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(&*key);
        }
    }
    command
        .env("DATABASE_URL", db)
        .env("COHORTE_MAIL__FILE_DIR", dir.join("mail"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn bench_data_builds_cohorts_with_their_history_and_the_benchmark_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite3");
    let out = bench_data(dir.path(), &db);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: HashMap<&str, &str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("BENCH_"))
        .filter_map(|l| l.split_once('='))
        .collect();
    for key in [
        "ADMIN_EMAIL",
        "OFFICER_EMAIL",
        "PASSWORD",
        "DLA",
        "COHORT",
        "SESSION_HELD",
        "SESSION_AHEAD",
        "ASSOCIATION",
        "PARTICIPANT_LINK",
    ] {
        assert!(
            printed.get(key).is_some_and(|v| !v.is_empty()),
            "BENCH_{key} printed: {stdout}"
        );
    }

    let pool = cohorte::db::connect(db.to_str().unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let counts: HashMap<String, i64> = cohorte::bench_data::table_counts(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    // Per cohort: 8 associations of 2 people, 11 sessions (3 collective, 8 bilans).
    assert_eq!(counts["dlas"], 1);
    assert_eq!(counts["cohorts"], 2);
    assert_eq!(counts["associations"], 16);
    assert_eq!(counts["participants"], 32);
    assert_eq!(counts["sessions"], 22);
    assert_eq!(
        counts["association_profiles"],
        2 * 8 + 2 * 2,
        "models and targets"
    );
    for table in [
        "audit_log",
        "time_entries",
        "session_logs",
        "cohort_budgets",
    ] {
        assert!(counts[table] > 0, "{table}: {counts:?}");
    }
    // The administrator, two chargé·es de mission and a consultant for the one DLA.
    assert_eq!(counts["users"], 4);

    // Cohort 0 is half-way: its outbox holds what was sent and what is still to come, as
    // the planner wrote it (planning again now adds nothing).
    let cohort = printed["COHORT"];
    let rows = cohorte::models::outbox::list_for_cohort(&mut conn, cohort).unwrap();
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    for status in ["sent", "scheduled", "draft"] {
        assert!(statuses.contains(&status), "{status} in {statuses:?}");
    }
    assert!(rows.len() > 100, "{} emails planned", rows.len());
    let config = cohorte::config::Config::defaults();
    let mail = cohorte::models::outbox::MailContext::new(
        &config,
        Arc::new(cohorte::templates::build("").unwrap()),
    );
    let again = write_with(&mut conn, Author::system(), chrono::Utc::now(), |tx| {
        cohorte::models::planner::sync_cohort(tx, &mail, cohort, chrono::Utc::now())
    })
    .unwrap();
    assert_eq!(again.queued, 0, "the planner had filled the outbox");

    // The two benchmark accounts sign in with the printed password; the others have none.
    let password = printed["PASSWORD"];
    for email in [printed["ADMIN_EMAIL"], printed["OFFICER_EMAIL"]] {
        let user = cohorte::models::account::find_by_email(&mut conn, email)
            .unwrap()
            .unwrap();
        let hash = user.password_hash.as_deref().unwrap();
        assert!(cohorte::models::account::verify_password(hash, password));
    }
    let without = cohorte::models::account::list(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|u| u.password_hash.is_none())
        .count();
    assert_eq!(without, 2);
    drop(conn);

    // A second run refuses to add to a database that has cohorts.
    let again = bench_data(dir.path(), &db);
    assert!(!again.status.success());
}

#[test]
fn bench_mail_queues_due_emails_in_an_empty_database_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mail.sqlite3");
    let pool = cohorte::db::connect(db.to_str().unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let due = chrono::DateTime::parse_from_rfc3339("2027-02-01T08:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        write_with(&mut conn, Author::system(), chrono::Utc::now(), |tx| {
            cohorte::bench_data::queue_emails(tx, 3, "banc.example", due)
        })
        .unwrap(),
        3
    );
    let due_ids = cohorte::models::outbox::due_ids(&mut conn, due, 10).unwrap();
    assert_eq!(due_ids.len(), 3, "all due at once");
    let row = cohorte::models::outbox::get_full(&mut conn, &due_ids[0]).unwrap();
    assert!(row.recipient_email.ends_with("@banc.example"), "{row:?}");
    assert!(row.ics.is_some() && row.body_html.len() > 1000, "{row:?}");
    drop(conn);

    // Never into an instance with cohorts: a real one would send them.
    let built = bench_data(dir.path(), &dir.path().join("bench.sqlite3"));
    assert!(built.status.success());
    let pool = cohorte::db::connect(dir.path().join("bench.sqlite3").to_str().unwrap(), 1).unwrap();
    let err = write_with(
        &mut pool.get().unwrap(),
        Author::system(),
        chrono::Utc::now(),
        |tx| cohorte::bench_data::queue_emails(tx, 3, "banc.example", due),
    )
    .unwrap_err();
    assert_eq!(err.code(), "database_not_empty");
}
