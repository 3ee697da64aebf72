//! The database a test runs on: a new SQLite file in a temporary folder, or — when
//! `COHORTE_TEST_POSTGRES` names a PostgreSQL server (`scripts/test` starts one on
//! loopback and runs every test a second time with it) — a new database on that server,
//! dropped when the test ends.

#![allow(dead_code)] // each test binary uses a different part

use diesel::Connection;
use diesel::connection::SimpleConnection;

/// The server's URL when the tests run on PostgreSQL, e.g.
/// `postgres://cohorte@127.0.0.1:55432/postgres` (its database is the one to connect to
/// for creating the tests' own).
pub fn postgres_server() -> Option<String> {
    std::env::var("COHORTE_TEST_POSTGRES")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Whether this run is the PostgreSQL one.
pub fn on_postgres() -> bool {
    postgres_server().is_some()
}

pub struct TestDb {
    url: String,
    /// Holds the SQLite file (and is a working folder on PostgreSQL too).
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> TestDb {
        match postgres_server() {
            None => TestDb::sqlite(),
            Some(server) => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let name = format!("cohorte_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&server)
                    .unwrap_or_else(|e| panic!("PostgreSQL at {server}: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the test database");
                let (base, _) = server.rsplit_once('/').expect("postgres://…/database");
                TestDb {
                    url: format!("{base}/{name}"),
                    dir,
                    postgres: Some((server, name)),
                }
            }
        }
    }

    /// A new SQLite file whatever the run (the source of `cohorte copy`).
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        TestDb {
            url: dir
                .path()
                .join("cohorte.sqlite3")
                .to_str()
                .expect("utf-8 path")
                .to_string(),
            dir,
            postgres: None,
        }
    }

    /// What `database.url` / `DATABASE_URL` takes.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres
            && let Ok(mut admin) = diesel::PgConnection::establish(server)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Every table of the application and its columns, in the backend's catalogue (the
/// migrations' own bookkeeping left out): for the scans that look for a value anywhere.
pub fn tables(conn: &mut cohorte::db::Conn) -> Vec<(String, Vec<String>)> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        column_name: String,
    }
    let sql = match cohorte::db::Kind::of(conn) {
        cohorte::db::Kind::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations' ORDER BY m.name, p.cid"
        }
        cohorte::db::Kind::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS table_name, \
             CAST(column_name AS TEXT) AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations' \
             ORDER BY table_name, ordinal_position"
        }
    };
    let columns: Vec<Column> = diesel::sql_query(sql).load(conn).expect("catalogue");
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for c in columns {
        match tables.last_mut() {
            Some((t, cols)) if *t == c.table_name => cols.push(c.column_name),
            _ => tables.push((c.table_name, vec![c.column_name])),
        }
    }
    tables
}

/// SQL that is true where `column` (any type, read as text) contains `needle`, ignoring
/// ASCII case, on either backend. `needle` is written as a literal: test values only.
pub fn contains_sql(conn: &cohorte::db::Conn, column: &str, needle: &str) -> String {
    let needle = needle.replace('\'', "''");
    match cohorte::db::Kind::of(conn) {
        cohorte::db::Kind::Sqlite => {
            format!("instr(lower(CAST(\"{column}\" AS TEXT)), lower('{needle}')) > 0")
        }
        cohorte::db::Kind::Postgres => {
            format!("strpos(lower(CAST(\"{column}\" AS TEXT)), lower('{needle}')) > 0")
        }
    }
}
