//! Storage: the connection pool, backend choice, embedded migrations and the one way
//! handlers reach the database (`run`, which leaves the async runtime).
//!
//! Everything backend-specific lives here. Today the embedded SQLite (bundled) backend is
//! the only one compiled; the schema and the queries in `models/` stay portable so that the
//! PostgreSQL backend (migrations in `migrations/postgres`) slots in as a second `Conn`
//! variant without touching the models.

pub mod schema;

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

/// Per-connection settings: foreign keys on, WAL so readers never block the writer, and a
/// busy timeout so concurrent writers wait instead of failing.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so that nothing below fails on a busy database.
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Turns `DATABASE_URL` / `database.url` into a SQLite path, creating its folder.
fn sqlite_path(url: &str) -> anyhow::Result<String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "this build of Cohorte only includes the embedded SQLite backend; \
             PostgreSQL support is not compiled in"
        );
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let path = path.strip_prefix("sqlite:").unwrap_or(path);
    if path != ":memory:"
        && let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            anyhow::anyhow!("cannot create database folder {}: {e}", parent.display())
        })?;
    }
    Ok(path.to_string())
}

/// Builds the pool and applies pending migrations.
pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Pool> {
    let path = sqlite_path(url)?;
    if path != ":memory:" {
        // WAL is a property of the database file: set it once, before the pool opens.
        use diesel::Connection;
        let mut conn = Conn::establish(&path)?;
        conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
    }
    let manager = ConnectionManager::<Conn>::new(path);
    let pool = R2d2Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(Duration::from_secs(30))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)?;
    migrate(&pool)?;
    Ok(pool)
}

/// Applies every pending embedded migration; returns how many ran.
pub fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    let applied = conn
        .run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    for m in &applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(applied.len())
}

/// Runs blocking database work off the async runtime, inside one pooled connection.
pub async fn run<F, T>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool
            .get()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("database pool: {e}")))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// A write transaction that serialises writers, so that checks made inside it (the
/// cohort's cap, a version number) still hold at commit. SQLite: `BEGIN IMMEDIATE`.
pub fn write_tx<T, F>(conn: &mut Conn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Conn) -> Result<T, AppError>,
{
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let nested = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .is_some();
    if nested {
        // Already inside a write transaction (e.g. the demo loader): a savepoint.
        conn.transaction(f)
    } else {
        conn.immediate_transaction(f)
    }
}
