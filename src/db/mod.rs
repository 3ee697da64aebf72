//! Storage: the connection pool, backend choice, embedded migrations and the one way
//! handlers reach the database (`run`, which leaves the async runtime).
//!
//! Both backends are compiled into the one binary and chosen by `database.url`
//! (`DATABASE_URL`): a file path (or `sqlite:`) for the embedded SQLite, the default, and
//! `postgres://…` for a shared instance. [`Conn`] is diesel's `MultiConnection` over the
//! two: the models' queries are written once in diesel's DSL and run on either. What is
//! backend-specific (pragmas, the write transaction's `BEGIN`, row locks, the WAL, `ON
//! CONFLICT`, which diesel's multi-backend does not cover) lives in this module.

mod conn;
pub mod copy;
mod fragment;
mod list;
pub mod schema;
mod sqlite_process;
mod stamp;
mod tx;

pub use conn::Conn;
pub(crate) use fragment::sql_fragment;
pub use list::{InList, in_list};
pub use stamp::{MaybeStamp, Stamp};
pub use tx::{Author, Clock, Tx, if_not_busy, set_read_only, side_write, write, write_with};

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::Pool as R2d2Pool;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

/// The backend's own connection behind [`Conn`]: SQLite or PostgreSQL, by the URL.
///
/// PostgreSQL comes first: diesel's `establish` tries the variants in order and SQLite
/// accepts any string as a file name (`open` picks the variant by the URL anyway).
#[derive(diesel::MultiConnection)]
pub enum Native {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Its backend, for boxed queries built in models.
pub type Backend = MultiBackend;
pub type Pool = R2d2Pool<Manager>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn of_url(url: &str) -> Kind {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Kind::Postgres
        } else {
            Kind::Sqlite
        }
    }

    pub fn of(conn: &Conn) -> Kind {
        conn.kind()
    }
}

/// Runs the same diesel code on the backend's own connection, for the few statements that
/// diesel's multi-backend connection does not carry (`ON CONFLICT`, `FOR UPDATE`): the body
/// is compiled once per backend, with `$c` the `PgConnection` or the `SqliteConnection`.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $crate::db::Conn::native($conn) {
            $crate::db::Native::Pg($c) => $body,
            $crate::db::Native::Sqlite($c) => $body,
        }
    };
}

/// Loads a select's rows locked `FOR UPDATE SKIP LOCKED` on PostgreSQL: rows another
/// transaction holds are passed over, not waited for, so that several instances sharing a
/// queue each take a different part of it. SQLite has no row locks: the select runs as it
/// is, and the caller runs it inside the write transaction ([`write_with`]), whose `BEGIN IMMEDIATE` already keeps
/// every other writer out until it commits. Evaluates to a `QueryResult<Vec<_>>`.
#[macro_export]
macro_rules! load_skip_locked {
    ($conn:expr, $query:expr) => {
        match $crate::db::Conn::native($conn) {
            $crate::db::Native::Pg(c) => diesel::RunQueryDsl::load(
                diesel::QueryDsl::skip_locked(diesel::QueryDsl::for_update($query)),
                c,
            ),
            $crate::db::Native::Sqlite(c) => diesel::RunQueryDsl::load($query, c),
        }
    };
}

diesel::define_sql_function! {
    /// SQL's `lower()`, for a search that ignores case on both backends (`LIKE` ignores
    /// ASCII case on SQLite, no case on PostgreSQL). It folds ASCII letters only on
    /// SQLite, by the database's locale on PostgreSQL.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// [`crate::domain::outbox::key_digest`] as a SQL function of SQLite, registered on
    /// every connection ([`establish_sqlite`]): the migration that turned the outbox's
    /// deduplication keys into digests calls it (SQLite has no digest function of its own;
    /// PostgreSQL's migration uses `sha256`).
    fn cohorte_key_digest(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Opens a SQLite connection as the app does: SQLite's process-wide settings applied first
/// (the first time), then the app's SQL functions registered (see [`cohorte_key_digest`]).
/// Every SQLite connection of the app is opened here, the migrations' included.
pub fn establish_sqlite(target: &str) -> diesel::ConnectionResult<diesel::SqliteConnection> {
    let mut conn = sqlite_process::establish(target)?;
    cohorte_key_digest_utils::register_impl(&mut conn, |text: String| {
        crate::domain::outbox::key_digest(&text)
    })
    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

/// How long a checkpoint after an erasure may wait for writers and readers: short, because
/// a `TRUNCATE` checkpoint blocks new writers while it waits, so its wait adds to theirs
/// (with 200 ms, the writes running through a purge of 980 cohorts had a p99 of 222 ms).
const CHECKPOINT_WAIT_MS: u32 = 50;

/// How long work waits for the database before giving up with [`AppError::Busy`] (503
/// « Cohorte est très occupé », `Retry-After`): for the write lock another connection holds
/// (SQLite's busy timeout: one writer at a time), and for a free pooled connection.
///
/// Short on purpose: the background work (purge, planner, dispatcher) writes in short
/// transactions, so a change that still waits after `lock` is better answered « try again »
/// than kept waiting — and never « database is locked » as a 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waits {
    pub lock: Duration,
    pub pool: Duration,
}

impl Default for Waits {
    /// The values of `config/default.toml`.
    fn default() -> Self {
        Waits {
            lock: Duration::from_millis(2_000),
            pool: Duration::from_millis(5_000),
        }
    }
}

impl Waits {
    pub fn from_config(config: &crate::config::DatabaseConfig) -> Waits {
        Waits {
            lock: Duration::from_millis(config.lock_wait_ms.into()),
            pool: Duration::from_millis(config.pool_wait_ms.into()),
        }
    }

    fn lock_ms(&self) -> u128 {
        self.lock.as_millis()
    }
}

/// Opens the pool's connections on the backend the URL names (diesel's own manager would
/// try PostgreSQL first with a SQLite path) and gives each its per-connection settings.
///
/// SQLite: foreign keys on, a busy timeout so concurrent writers wait (up to the budget)
/// instead of failing at once, and `secure_delete` so that deleted or overwritten content
/// (an anonymised address) is zeroed in the file instead of lingering in free space.
/// PostgreSQL: the same budget as `lock_timeout`, so a change waiting for a row another
/// transaction holds gives up as [`AppError::Busy`], and UTC as the session's time zone.
#[derive(Debug)]
pub struct Manager {
    kind: Kind,
    /// The URL for PostgreSQL, the file's path for SQLite.
    target: String,
    lock_ms: u128,
    /// Statements taking this long or more are logged (`[database] slow_statement_ms`).
    slow: Option<Duration>,
}

/// Logs, as a warning, each statement that takes `threshold` or more on its connection:
/// its SQL without its parameters (they may carry personal data) and its duration. Off
/// unless `[database] slow_statement_ms` is set: for an operator, or a benchmark, looking
/// for what a page waits on.
#[derive(Debug)]
struct SlowLog {
    threshold: Duration,
    started: Option<std::time::Instant>,
}

impl diesel::connection::Instrumentation for SlowLog {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::connection::InstrumentationEvent as E;
        match event {
            E::StartQuery { .. } => self.started = Some(std::time::Instant::now()),
            E::FinishQuery { query, .. } => {
                let Some(took) = self.started.take().map(|at| at.elapsed()) else {
                    return;
                };
                if took >= self.threshold {
                    let text = query.to_string();
                    let sql = text.split(" -- binds: ").next().unwrap_or_default();
                    tracing::warn!(
                        ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                        statement = sql.trim(),
                        "slow statement"
                    );
                }
            }
            _ => {}
        }
    }
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        use diesel::Connection;
        let conn = match self.kind {
            Kind::Postgres => Native::Pg(
                diesel::PgConnection::establish(&self.target)
                    .map_err(diesel::r2d2::Error::ConnectionError)?,
            ),
            Kind::Sqlite => Native::Sqlite(
                establish_sqlite(&self.target).map_err(diesel::r2d2::Error::ConnectionError)?,
            ),
        };
        let mut conn = Conn::from(conn);
        let settings = match self.kind {
            // busy_timeout first, so that nothing below fails on a busy database.
            Kind::Sqlite => format!(
                "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                 PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
                self.lock_ms
            ),
            Kind::Postgres => format!(
                "SET lock_timeout = '{}ms'; SET TIME ZONE 'UTC';",
                self.lock_ms
            ),
        };
        conn.batch_execute(&settings)
            .map_err(diesel::r2d2::Error::QueryError)?;
        if let Some(threshold) = self.slow {
            conn.set_instrumentation(SlowLog {
                threshold,
                started: None,
            });
        }
        Ok(conn)
    }

    /// The check of every checkout (r2d2's `test_on_check_out`, on by default): on
    /// PostgreSQL a round trip, on SQLite (an embedded file, no connection to lose) a look
    /// at the flag the connection noted. It hands the connection over as its borrower
    /// expects it: refusing writes for the read entry ([`run`]), which leaves it so for
    /// the next read, and writable for anything else (the write entry, the dispatcher, the
    /// commands, the tests' fixtures).
    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        tx::settle(conn, READ_CHECKOUT.get()).map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

/// The file a SQLite URL names (`sqlite://`, `sqlite:` or a bare path).
fn sqlite_file(url: &str) -> &str {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    path.strip_prefix("sqlite:").unwrap_or(path)
}

/// Turns `DATABASE_URL` / `database.url` into a SQLite path, creating its folder.
fn sqlite_path(url: &str) -> anyhow::Result<String> {
    let path = sqlite_file(url);
    if path != ":memory:"
        && let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        crate::private_files::create_dir(parent).map_err(|e| {
            anyhow::anyhow!(
                "impossible de créer le dossier de la base {} ({e}) : vérifiez « database.url » et les droits.",
                parent.display()
            )
        })?;
    }
    Ok(path.to_string())
}

/// Creates the database file owner-only before SQLite does (SQLite would create it 0644
/// under the usual umask), and tightens it and its companions when they exist already.
/// SQLite gives the `-wal`, `-shm` and `-journal` files it creates the database file's
/// permissions (`findCreateFileMode` in its Unix VFS), so these follow.
fn private_database_files(path: &str) -> anyhow::Result<()> {
    if path == ":memory:" || path.starts_with("file:") {
        // A URI names the file with parameters: leave it to SQLite.
        return Ok(());
    }
    match crate::private_files::create_new_file(Path::new(path)) {
        Ok(_) => tracing::info!(
            path,
            "database file created, readable by Cohorte's user only"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => anyhow::bail!(
            "impossible de créer la base {path} ({e}) : vérifiez « database.url » et les droits."
        ),
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = format!("{path}{suffix}");
        crate::private_files::tighten_file(Path::new(&file)).map_err(|e| {
            anyhow::anyhow!("impossible de restreindre les droits de {file} ({e}).")
        })?;
    }
    Ok(())
}

/// Builds the pool with the default [`Waits`] and applies pending migrations.
pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Pool> {
    open_migrated(url, pool_size, Waits::default(), None)
}

/// Builds the pool as configured (`[database]`) and applies pending migrations.
pub fn connect_with(
    config: &crate::config::DatabaseConfig,
    pool_size: u32,
) -> anyhow::Result<Pool> {
    let slow = (config.slow_statement_ms > 0)
        .then(|| Duration::from_millis(config.slow_statement_ms.into()));
    open_migrated(&config.url, pool_size, Waits::from_config(config), slow)
}

/// [`open`], then every pending migration applied.
fn open_migrated(
    url: &str,
    pool_size: u32,
    waits: Waits,
    slow: Option<Duration>,
) -> anyhow::Result<Pool> {
    let pool = open(url, pool_size, waits, slow)?;
    migrate(&pool)?;
    Ok(pool)
}

/// One connection as configured, its migrations not applied yet: `cohorte migrate` applies
/// them itself ([`migrate`]) and says how many ran.
pub fn connect_unmigrated(config: &crate::config::DatabaseConfig) -> anyhow::Result<Pool> {
    open(&config.url, 1, Waits::from_config(config), None)
}

fn open(url: &str, pool_size: u32, waits: Waits, slow: Option<Duration>) -> anyhow::Result<Pool> {
    let kind = Kind::of_url(url);
    let target = match kind {
        Kind::Postgres => url.to_string(),
        Kind::Sqlite => {
            let path = sqlite_path(url)?;
            private_database_files(&path)?;
            if path != ":memory:" {
                // WAL is a property of the database file: set it once, before the pool opens.
                let mut conn = establish_sqlite(&path)?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                    waits.lock_ms()
                ))?;
            }
            path
        }
    };
    let manager = Manager {
        kind,
        target,
        lock_ms: waits.lock_ms(),
        slow,
    };
    let pool = R2d2Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(waits.pool)
        // r2d2's default, said because writes depend on it: the check of each checkout
        // (`Manager::is_valid`) is what makes a connection a read left read-only writable
        // again for anything but a read.
        .test_on_check_out(true)
        .build(manager)
        .map_err(|e| match kind {
            Kind::Postgres => anyhow::anyhow!(
                "connexion à PostgreSQL impossible ({e}) : vérifiez « database.url » \
                 (postgres://utilisateur:mot-de-passe@hôte:port/base) et que le serveur répond."
            ),
            Kind::Sqlite => anyhow::anyhow!("ouverture de la base SQLite impossible : {e}"),
        })?;
    Ok(pool)
}

/// Applies every pending embedded migration of the pool's dialect; returns how many ran.
///
/// On PostgreSQL, two instances starting together would race on the same migration: the
/// first takes a session-level advisory lock that the second waits for, and the second
/// then finds nothing pending.
pub fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    fn names<E: std::fmt::Display>(
        result: Result<Vec<diesel::migration::MigrationVersion<'_>>, E>,
    ) -> anyhow::Result<Vec<String>> {
        result
            .map(|applied| applied.iter().map(|m| m.to_string()).collect())
            .map_err(|e| anyhow::anyhow!("mise à jour de la base impossible (migration) : {e}"))
    }
    let applied = match conn.native() {
        Native::Sqlite(c) => names(c.run_pending_migrations(SQLITE_MIGRATIONS))?,
        Native::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = names(c.run_pending_migrations(POSTGRES_MIGRATIONS));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result?
        }
    };
    for m in &applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(applied.len())
}

/// The row `$id` of `$table` locked until the end of the write transaction, on PostgreSQL
/// (see [`lock_cohort`]).
macro_rules! lock_row {
    ($conn:expr, $table:ident, $id:expr) => {{
        use diesel::{QueryDsl, RunQueryDsl};
        use schema::$table;
        debug_assert!(in_transaction($conn), "a row lock outside a transaction");
        if let Native::Pg(c) = $conn.native() {
            $table::table
                .find($id)
                .select($table::id)
                .for_update()
                .load::<String>(c)?;
        }
        Ok(())
    }};
}

/// Locks the cohort's row until the end of the write transaction, so that what is checked
/// against its places afterwards (the cap: `cohort::places_taken`) still holds at commit
/// when several instances write at once. Called first wherever the cap is checked.
/// PostgreSQL: `SELECT … FOR UPDATE` (the next holder waits for the commit and, at READ
/// COMMITTED, each of its statements then sees what the previous one committed). SQLite:
/// nothing, `BEGIN IMMEDIATE` already serialises the writers. A missing cohort locks
/// nothing: the caller's own read reports it.
pub fn lock_cohort(conn: &mut Conn, id: &str) -> Result<(), AppError> {
    lock_row!(conn, cohorts, id)
}

/// [`lock_cohort`] for an association's row: what is computed from its participants and
/// written on it (`association::note_roles`) then sees every participant committed before.
pub fn lock_association(conn: &mut Conn, id: &str) -> Result<(), AppError> {
    lock_row!(conn, associations, id)
}

/// PostgreSQL advisory lock keys (one namespace for the whole instance).
const MIGRATION_LOCK: i64 = 0x436f_686f_7274_0001;
const PLANNER_LOCK: i64 = 0x436f_686f_7274_0002;
const PURGE_LOCK: i64 = 0x436f_686f_7274_0003;

/// The background jobs that every dispatcher (each `cohorte serve`, each `cohorte
/// dispatch`) runs, and that must run on one instance at a time ([`exclusive`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// The planner's pass (`models::planner::plan`): two passes at once could each queue
    /// what the other is queuing.
    Planner,
    /// The privacy purge (`models::privacy`): long, in many short transactions.
    Purge,
}

impl Job {
    fn key(self) -> i64 {
        match self {
            Job::Planner => PLANNER_LOCK,
            Job::Purge => PURGE_LOCK,
        }
    }
}

/// Runs `f` if no other instance is running `job`, and returns what it gave; `None`, without
/// running it, when another instance is (logged at debug: that instance does the work).
///
/// PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`, one key per job),
/// taken without waiting and released when `f` returns, fails or panics; a process that dies
/// holding it loses it with its connection. Session-level rather than transaction-level,
/// because the jobs write in many short transactions of their own. SQLite: `f` runs at
/// once; its one writer at a time already serialises the jobs' writes, and several
/// processes on one SQLite file are not the shared set-up this guards.
pub fn exclusive<T>(
    conn: &mut Conn,
    job: Job,
    f: impl FnOnce(&mut Conn) -> Result<T, AppError>,
) -> Result<Option<T>, AppError> {
    use diesel::sql_types::{BigInt, Bool};
    use diesel::{QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }

    if Kind::of(conn) == Kind::Sqlite {
        return f(conn).map(Some);
    }
    let got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(job.key())
        .get_result::<Locked>(conn)?
        .locked;
    if !got {
        tracing::debug!(?job, "skipped: another instance is running this job");
        return Ok(None);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    // Whatever `f` did: a pooled connection outlives this use, and would keep the lock.
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
        .bind::<BigInt, _>(job.key())
        .get_result::<Locked>(conn);
    match result {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(value) => {
            let value = value?;
            if !unlocked?.locked {
                tracing::warn!(?job, "advisory lock not held any more when released");
            }
            Ok(Some(value))
        }
    }
}

/// The read entry: runs blocking database work off the async runtime, on one pooled
/// connection that refuses writes while `f` runs ([`tx::read_only`]). Changes go through
/// the write entry ([`write`], [`write_with`]), which alone hands out a [`Tx`].
pub async fn run<F, T>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    blocking(pool, true, move |conn| tx::read_only(conn, f)).await
}

thread_local! {
    /// Set while the read entry checks a connection out, for [`Manager::is_valid`].
    static READ_CHECKOUT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` off the async runtime on a checked-out connection (for the read entry when
/// `read`). Work that gave up waiting for the database ([`AppError::Busy`]) is logged
/// here with how long it waited; the request's span (`web::RequestSpan`) names the route.
async fn blocking<F, T>(pool: &Pool, read: bool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let started = std::time::Instant::now();
    let result = actix_web::web::block(move || {
        READ_CHECKOUT.set(read);
        let conn = checkout(&pool);
        READ_CHECKOUT.set(false);
        let mut conn = conn?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?;
    if let Err(AppError::Busy) = &result {
        tracing::warn!(
            waited_ms = started.elapsed().as_millis() as u64,
            "database busy: answered 503 after waiting for the write lock or a connection"
        );
    }
    result
}

/// The database answers (`/healthz`): on SQLite a read of its schema, which opens a read
/// transaction on the file (a bare `SELECT 1` would not touch it); on PostgreSQL a round
/// trip to the server.
pub fn ping(conn: &mut Conn) -> Result<(), AppError> {
    use diesel::RunQueryDsl;
    let sql = match Kind::of(conn) {
        Kind::Sqlite => "SELECT 1 FROM sqlite_master LIMIT 1",
        Kind::Postgres => "SELECT 1",
    };
    diesel::sql_query(sql).execute(conn)?;
    Ok(())
}

/// A pooled connection, for reading: it refuses writes outside the write entry
/// ([`set_read_only`]). None free within the pool's wait is [`AppError::Busy`].
pub fn checkout(pool: &Pool) -> Result<diesel::r2d2::PooledConnection<Manager>, AppError> {
    let conn = pool.get().map_err(|e| {
        // r2d2's only error is the timeout; it carries the last connection error, if any.
        let message = e.to_string();
        if message == "timed out waiting for connection" || message.contains("database is locked") {
            AppError::Busy
        } else {
            AppError::Internal(anyhow::anyhow!("database pool: {message}"))
        }
    })?;
    Ok(conn)
}

/// Whether the database gave up waiting for a lock another connection holds: SQLite's
/// `SQLITE_BUSY` (and `SQLITE_LOCKED` between connections of one process), PostgreSQL's
/// `lock_timeout` (55P03), a deadlock (40P01) or a serialization failure (40001), all of
/// which a retry resolves. Diesel reports most as `DatabaseErrorKind::Unknown` with the
/// database's own message.
pub fn is_busy(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message.starts_with("database is locked")
                || message.starts_with("database table is locked")
                || message.starts_with("canceling statement due to lock timeout")
                || message.starts_with("deadlock detected")
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => is_busy(commit_error),
        _ => false,
    }
}

/// Runs `f` with the connection's busy timeout set to `ms`, then puts the previous one back
/// (a pooled connection outlives this use); `f` is given the previous one.
pub(crate) fn with_busy_timeout<T>(
    conn: &mut Conn,
    ms: u32,
    f: impl FnOnce(&mut Conn, u32) -> T,
) -> Result<T, diesel::result::Error> {
    use diesel::sql_types::Integer;
    use diesel::{QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = Integer)]
        timeout: i32,
    }

    let previous = diesel::sql_query("PRAGMA busy_timeout").get_result::<Timeout>(conn)?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {ms};"))?;
    let result = f(conn, previous.timeout.max(0) as u32);
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", previous.timeout))?;
    Ok(result)
}

/// A write transaction that serialises the checks made inside it (the cohort's cap, a
/// version number) with the other writers, so that they still hold at commit.
///
/// SQLite: `BEGIN IMMEDIATE`, the one writer at a time. PostgreSQL: `BEGIN READ WRITE` at
/// READ COMMITTED, with the rows a check depends on locked by [`lock_cohort`] and the
/// version checks made by the `UPDATE … WHERE version = ?` itself.
pub(crate) fn transaction<T, F>(conn: &mut Conn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError>,
{
    use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
    match conn.native() {
        Native::Sqlite(_) => begin_immediate(conn)?,
        Native::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN READ WRITE")?,
    }
    match f(conn) {
        Ok(value) => {
            <Conn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <Conn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// How often a writer waiting for SQLite's write lock tries again.
const WRITE_LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// SQLite's `BEGIN IMMEDIATE`, waiting for the write lock up to the connection's busy
/// timeout (the lock budget) by trying again every [`WRITE_LOCK_POLL`].
///
/// SQLite's own busy handler sleeps 1, 2, 5, 10 … then 50 and 100 ms between its tries, so
/// a writer that has waited a while sleeps on for up to 100 ms after the lock is free, and
/// one that keeps missing it behind back-to-back transactions (the purge's steps, other
/// writers) can wait several of those sleeps: the slowest writes during a purge waited
/// about 220 ms for steps of a few milliseconds. Only the `BEGIN` waits here; the
/// statements inside the transaction run with the busy timeout as it was.
fn begin_immediate(conn: &mut Conn) -> Result<(), diesel::result::Error> {
    use diesel::connection::AnsiTransactionManager;
    with_busy_timeout(conn, 0, |conn, budget_ms| {
        let Native::Sqlite(c) = conn.native() else {
            unreachable!("BEGIN IMMEDIATE is SQLite's")
        };
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_millis(u64::from(budget_ms));
        loop {
            match AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE") {
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(WRITE_LOCK_POLL)
                }
                other => break other,
            }
        }
    })?
}

/// Whether a transaction is open on the connection.
pub(crate) fn in_transaction(conn: &mut Conn) -> bool {
    use diesel::connection::{Connection, TransactionManager};
    <Conn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .is_some()
}

/// The index keys that hold what an erasure removes: participants' and guests' addresses,
/// associations' names (in `associations_name_key` and, for the enrolment order,
/// `associations_cohort_idx`). Not the outbox's deduplication keys: digests
/// (`domain::outbox::dedup_key`), with no address in them.
const ERASED_KEYS: [(&str, &str); 4] = [
    ("participants", "email"),
    ("session_guests", "email"),
    ("associations", "name_key"),
    ("associations", "name"),
];

/// After an erasure has committed (an anonymisation, the end of a purge): takes the erased
/// values out of the files on disk. On SQLite, `secure_delete` zeroes what is deleted or
/// overwritten, but not everything a b-tree once held: when a page is rebuilt to move cells
/// to a sibling (`rebuildPage`, in a page split), the old bytes between its cell pointers and
/// its cells stay — copies of entries still live elsewhere, which an anonymisation then
/// changes. Index keys taken in random order split pages all the time, so the indexes whose
/// keys hold personal data are rebuilt ([`rebuild_indexes_on`]: their old pages are freed,
/// hence zeroed), then the WAL is checkpointed ([`checkpoint_after_erasure`]).
pub fn erase_from_files(conn: &mut Conn) {
    rebuild_indexes_on(conn, &ERASED_KEYS);
    checkpoint_after_erasure(conn);
}

/// [`erase_from_files`] off the async runtime once an erasure has committed
/// (`AppState::erase`), on a pooled connection checked out for writing (the pool's check,
/// [`Manager::is_valid`], hands it over writable): the index rebuild is a write, which the
/// read path's connections (`PRAGMA query_only`) refuse.
pub async fn erase_from_files_after_commit(pool: &Pool) -> Result<(), AppError> {
    blocking(pool, false, |conn| {
        erase_from_files(conn);
        Ok(())
    })
    .await
}

/// `REINDEX` of every SQLite index with one of `keys` (table, column) among its columns,
/// each in its own short write (at a network's size, 48,000 participants and 24,000
/// associations, 70 ms at most each). Best effort: a failure is logged, never the error of
/// the person who erased. Nothing inside a transaction (the caller runs it after the
/// commit) nor on PostgreSQL.
pub fn rebuild_indexes_on(conn: &mut Conn, keys: &[(&str, &str)]) {
    use diesel::sql_types::Text;
    use diesel::{QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = Text)]
        name: String,
    }

    if in_transaction(conn) || Kind::of(conn) != Kind::Sqlite {
        return;
    }
    for (table, column) in keys {
        let indexes = diesel::sql_query(
            "SELECT il.name AS name FROM pragma_index_list(?) AS il, \
             pragma_index_info(il.name) AS ii WHERE ii.name = ?",
        )
        .bind::<Text, _>(*table)
        .bind::<Text, _>(*column)
        .load::<Index>(conn);
        let indexes = match indexes {
            Ok(indexes) => indexes,
            Err(e) => {
                tracing::warn!(error = %e, table, "indexes to rebuild after an erasure not found");
                continue;
            }
        };
        for index in indexes {
            let sql = format!("REINDEX \"{}\"", index.name.replace('"', "\"\""));
            if let Err(e) = conn.batch_execute(&sql) {
                tracing::warn!(error = %e, index = index.name, "index not rebuilt after an erasure");
            }
        }
    }
}

/// After a read of a network's worth of rows (the instance's report): gives back what the
/// connection's SQLite caches took for it — the page cache, the temporary database's
/// cache, the sorter's buffers (`PRAGMA shrink_memory`) — and what the calling thread's
/// allocator kept of the build's memory ([`crate::memory::give_back`]). Each pooled
/// connection and each of the pool's threads keeps them otherwise, for whatever it serves
/// next: measured at 3,000 cohorts, 5 to 6 MB more on each connection that built the
/// report, and 15 MB of peak resident size with 32 reports at once. Best effort (a failure
/// is logged); PostgreSQL's memory is the server's.
pub fn release_memory(conn: &mut Conn) {
    if Kind::of(conn) == Kind::Sqlite
        && let Err(e) = conn.batch_execute("PRAGMA shrink_memory;")
    {
        tracing::debug!(error = %e, "SQLite could not release its caches");
    }
    crate::memory::give_back();
}

/// After an erasure has committed (an anonymisation, a purge batch): copies the WAL into
/// the database file and empties the WAL, so that the erased values, which `secure_delete`
/// zeroed in the new pages, no longer sit in the WAL's older copies of those pages nor in
/// the database file's.
///
/// Best effort and short: it waits at most `CHECKPOINT_WAIT_MS` for the writers (which
/// wait for it in turn, with their own busy timeout, instead of failing) and for the
/// readers still on an older snapshot; if they are not done, the WAL is left for a later
/// checkpoint and this is logged, never an error for the person who erased. Inside a
/// transaction it does nothing: the caller runs it after the commit.
pub fn checkpoint_after_erasure(conn: &mut Conn) {
    use diesel::sql_types::Integer;
    use diesel::{QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = Integer)]
        busy: i32,
        #[diesel(sql_type = Integer)]
        log: i32,
        #[diesel(sql_type = Integer)]
        checkpointed: i32,
    }

    if in_transaction(conn) || Kind::of(conn) != Kind::Sqlite {
        // PostgreSQL keeps no WAL copy of a row for readers: its dead row versions go with
        // the next (auto)vacuum.
        return;
    }
    // First a passive checkpoint, which copies what it can without taking the write lock:
    // after a purge batch the WAL holds many megabytes, and copying them under TRUNCATE held
    // every writer back for seconds (the benchmark's writes during a purge waited past the
    // busy budget). TRUNCATE then only has the frames written since to copy.
    if let Err(e) =
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Checkpoint>(conn)
    {
        tracing::debug!(error = %e, "passive WAL checkpoint after an erasure failed");
    }
    let result = with_busy_timeout(conn, CHECKPOINT_WAIT_MS, |conn, _| {
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result::<Checkpoint>(conn)
    })
    .and_then(|r| r);
    match result {
        Ok(c) if c.busy == 0 => tracing::debug!("WAL checkpointed and emptied after an erasure"),
        Ok(c) => tracing::info!(
            wal_frames = c.log,
            checkpointed = c.checkpointed,
            "WAL not emptied after an erasure (database busy): a later checkpoint will do it"
        ),
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint after an erasure failed"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn times_in_file(path: &Path, needle: &[u8]) -> usize {
        let bytes = std::fs::read(path).unwrap();
        bytes.windows(needle.len()).filter(|w| *w == needle).count()
    }

    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        n: i32,
    }

    #[test]
    fn an_index_rebuilt_after_an_erasure_loses_what_a_page_split_left_between_its_cells() {
        use diesel::connection::SimpleConnection;

        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cohorte.sqlite3");
        let url = path.to_str().unwrap();
        let pool = connect(url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        conn.batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL); \
             CREATE INDEX t_k ON t (k); \
             INSERT INTO t (k) VALUES ('a|1'), ('b|2'), ('c|3');",
        )
        .unwrap();
        let root = diesel::sql_query("SELECT rootpage AS n FROM sqlite_master WHERE name = 't_k'")
            .get_result::<Number>(&mut conn)
            .unwrap()
            .n as usize;
        let page_size = diesel::sql_query("SELECT page_size AS n FROM pragma_page_size")
            .get_result::<Number>(&mut conn)
            .unwrap()
            .n as usize;
        drop(conn);
        drop(pool);

        // What SQLite's `rebuildPage` leaves when a split moves cells to a sibling: their
        // old bytes between the page's cell pointers and its cells, which `secure_delete`
        // does not zero. Written by hand here, in the index's one (leaf) page.
        let mut bytes = std::fs::read(&path).unwrap();
        let page = &mut bytes[(root - 1) * page_size..root * page_size];
        assert_eq!(page[0], 0x0a, "an index leaf page");
        let cells = u16::from_be_bytes([page[3], page[4]]) as usize;
        let content = u16::from_be_bytes([page[5], page[6]]) as usize;
        let gap = 8 + 2 * cells;
        let stale = b"convocation|s1|zelie.marchetti@exemple.fr|1";
        assert!(gap + stale.len() < content);
        page[gap..gap + stale.len()].copy_from_slice(stale);
        std::fs::write(&path, &bytes).unwrap();

        let pool = connect(url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let ok = |conn: &mut Conn| {
            diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pragma_integrity_check WHERE integrity_check = 'ok'",
            )
            .get_result::<Number>(conn)
            .unwrap()
            .n
        };
        assert_eq!(ok(&mut conn), 1);
        checkpoint_after_erasure(&mut conn);
        assert_eq!(
            times_in_file(&path, b"zelie.marchetti"),
            1,
            "a checkpoint alone keeps it"
        );

        rebuild_indexes_on(&mut conn, &[("t", "k")]);
        checkpoint_after_erasure(&mut conn);
        assert_eq!(times_in_file(&path, b"zelie.marchetti"), 0);
        assert_eq!(ok(&mut conn), 1);
        let found = diesel::sql_query("SELECT id AS n FROM t INDEXED BY t_k WHERE k = 'b|2'")
            .get_result::<Number>(&mut conn)
            .unwrap();
        assert_eq!(found.n, 2);
    }

    #[test]
    fn a_new_database_its_wal_and_its_folder_are_readable_by_their_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let path = dir.join("cohorte.sqlite3");
        let pool = connect(path.to_str().unwrap(), 2).unwrap();
        // A write while the connection is open: the WAL and its index exist now.
        diesel::sql_query("CREATE TABLE t (x TEXT)")
            .execute(&mut pool.get().unwrap())
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
        }
    }

    #[test]
    fn an_existing_database_left_open_to_others_is_tightened_at_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let path = dir.join("cohorte.sqlite3");
        drop(connect(path.to_str().unwrap(), 1).unwrap());
        // As an older version left them, under the usual umask 022.
        let wal = dir.join("cohorte.sqlite3-wal");
        std::fs::write(&wal, "").unwrap();
        for p in [&path, &wal] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

        // Checked while open: SQLite removes the WAL when the last connection closes.
        let _pool = connect(path.to_str().unwrap(), 1).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }
}

#[cfg(test)]
mod slow_log_tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use diesel::connection::Connection;
    use diesel::sql_types::Text;
    use diesel::{QueryableByName, RunQueryDsl};

    use super::SlowLog;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        x: String,
    }

    /// What `SlowLog` logs for one statement, with a parameter, at `threshold`.
    fn logged(threshold: Duration) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
            conn.set_instrumentation(SlowLog {
                threshold,
                started: None,
            });
            let row = diesel::sql_query("SELECT ? AS x")
                .bind::<Text, _>("camille@exemple.fr")
                .get_result::<Row>(&mut conn)
                .unwrap();
            assert_eq!(row.x, "camille@exemple.fr");
        });
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_slow_statement_is_logged_with_its_sql_never_its_parameters() {
        let text = logged(Duration::ZERO);
        assert!(text.contains("slow statement"), "{text}");
        assert!(text.contains("SELECT ? AS x"), "{text}");
        assert!(text.contains("ms="), "{text}");
        assert!(
            !text.contains("camille@exemple.fr"),
            "a parameter may be personal data: {text}"
        );
        assert!(
            logged(Duration::from_secs(3600)).is_empty(),
            "under the threshold, nothing"
        );
    }
}
