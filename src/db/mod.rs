//! Storage: the connection pool, backend choice, embedded migrations and the one way
//! handlers reach the database (`run`, which leaves the async runtime).
//!
//! Everything backend-specific lives here. Today the embedded SQLite (bundled) backend is
//! the only one compiled; the schema and the queries in `models/` stay portable so that the
//! PostgreSQL backend (migrations in `migrations/postgres`) slots in as a second `Conn`
//! variant without touching the models.

pub mod schema;
mod stamp;
mod tx;

pub use stamp::{MaybeStamp, Stamp};
pub use tx::{Author, Clock, Tx, if_not_busy, set_read_only, side_write, write, write_with};

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool as R2d2Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

/// The connection type every model function takes.
pub type Conn = diesel::SqliteConnection;
/// Its backend, for boxed queries built in models.
pub type Backend = <Conn as diesel::Connection>::Backend;
pub type Pool = R2d2Pool<ConnectionManager<Conn>>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

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

/// Per-connection settings: foreign keys on, WAL so readers never block the writer, a
/// busy timeout so concurrent writers wait (up to the budget) instead of failing at once,
/// and `secure_delete` so that deleted or overwritten content (an anonymised address) is
/// zeroed in the file instead of lingering in free space.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so that nothing below fails on a busy database.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
             PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Turns `DATABASE_URL` / `database.url` into a SQLite path, creating its folder.
fn sqlite_path(url: &str) -> anyhow::Result<String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "« database.url » désigne PostgreSQL, que cette version de Cohorte ne prend pas \
             encore en charge : indiquez un fichier SQLite (par défaut data/cohorte.sqlite3)."
        );
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let path = path.strip_prefix("sqlite:").unwrap_or(path);
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
    open(url, pool_size, Waits::default())
}

/// Builds the pool as configured (`[database]`) and applies pending migrations.
pub fn connect_with(
    config: &crate::config::DatabaseConfig,
    pool_size: u32,
) -> anyhow::Result<Pool> {
    open(&config.url, pool_size, Waits::from_config(config))
}

fn open(url: &str, pool_size: u32, waits: Waits) -> anyhow::Result<Pool> {
    let path = sqlite_path(url)?;
    private_database_files(&path)?;
    if path != ":memory:" {
        // WAL is a property of the database file: set it once, before the pool opens.
        use diesel::Connection;
        let mut conn = Conn::establish(&path)?;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
            waits.lock_ms()
        ))?;
    }
    let manager = ConnectionManager::<Conn>::new(path);
    let pool = R2d2Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(waits.pool)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: waits.lock_ms(),
        }))
        .build(manager)?;
    migrate(&pool)?;
    Ok(pool)
}

/// Applies every pending embedded migration; returns how many ran.
pub fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    let applied = conn
        .run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("mise à jour de la base impossible (migration) : {e}"))?;
    for m in &applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(applied.len())
}

/// The read entry: runs blocking database work off the async runtime, on one pooled
/// connection that refuses writes while `f` runs ([`tx::read_only`]). Changes go through
/// the write entry ([`write`], [`write_with`]), which alone hands out a [`Tx`].
pub async fn run<F, T>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    blocking(pool, move |conn| tx::read_only(conn, f)).await
}

/// Runs `f` off the async runtime on a checked-out connection. Work that gave up waiting
/// for the database ([`AppError::Busy`]) is logged here with how long it waited; the
/// request's span (`web::RequestSpan`) names the route.
async fn blocking<F, T>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let started = std::time::Instant::now();
    let result = actix_web::web::block(move || {
        let mut conn = checkout(&pool)?;
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

/// The database answers (`/healthz`): a read of its schema, which opens a read transaction
/// on the file (a bare `SELECT 1` would not touch it).
pub fn ping(conn: &mut Conn) -> Result<(), AppError> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1 FROM sqlite_master LIMIT 1").execute(conn)?;
    Ok(())
}

/// A pooled connection, for reading: it refuses writes outside the write entry
/// ([`set_read_only`]). None free within the pool's wait is [`AppError::Busy`].
pub fn checkout(
    pool: &Pool,
) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<Conn>>, AppError> {
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

/// Whether SQLite gave up waiting for a lock another connection holds (`SQLITE_BUSY`, and
/// `SQLITE_LOCKED` between connections of one process). Diesel reports both as
/// `DatabaseErrorKind::Unknown` with SQLite's own message.
pub fn is_busy(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message.starts_with("database is locked")
                || message.starts_with("database table is locked")
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => is_busy(commit_error),
        _ => false,
    }
}

/// Runs `f` with the connection's busy timeout set to `ms`, then puts the previous one back
/// (a pooled connection outlives this use).
pub(crate) fn with_busy_timeout<T>(
    conn: &mut Conn,
    ms: u32,
    f: impl FnOnce(&mut Conn) -> T,
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
    let result = f(conn);
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", previous.timeout))?;
    Ok(result)
}

/// Whether a transaction is open on the connection.
pub(crate) fn in_transaction(conn: &mut Conn) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .is_some()
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

    if in_transaction(conn) {
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
    let result = with_busy_timeout(conn, CHECKPOINT_WAIT_MS, |conn| {
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
