//! The one write path: [`Tx`], the transaction every model function that writes takes, and
//! the entries that alone can open one ([`write_with`] on a checked-out connection, its
//! async wrapper [`write`]); the author of its changes ([`Author`]) and its instant, taken
//! from the one [`Clock`].
//!
//! A `Tx` cannot be built outside `db`: a model function that writes must be handed one, so
//! it runs inside the caller's write transaction, under the caller's author and instant. The
//! read entry (`db::run`) hands out a bare connection, which the database itself keeps from
//! writing ([`set_read_only`]): a write in a read path fails in tests instead of passing
//! unnoticed.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;

use super::{Conn, Pool};
use crate::error::AppError;

/// Who makes the changes of a write transaction, as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// As shown: « Claire Martin (chargé·e de mission) ».
    pub label: String,
    pub user_id: Option<String>,
}

impl Author {
    /// Changes nobody asked for in person: the dispatcher, the planner, the purge, the
    /// command line.
    pub fn system() -> Self {
        Author {
            label: "Système".to_string(),
            user_id: None,
        }
    }
}

/// The one clock: the wall clock, or an instant set by whoever replays time
/// (`cohorte dispatch --now`, the tests). Clones share the instant, so a test that moves
/// the clock of its `AppState` moves every request's « now ».
#[derive(Clone, Debug)]
pub struct Clock(Arc<AtomicI64>);

/// The stored value of a clock that follows the wall clock.
const SYSTEM: i64 = i64::MIN;

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The wall clock (`Utc::now`).
    pub fn system() -> Clock {
        Clock(Arc::new(AtomicI64::new(SYSTEM)))
    }

    /// Stopped at `at` (to the microsecond, what the database keeps) until set again.
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        let clock = Clock::system();
        clock.set(at);
        clock
    }

    /// `at` when given, else the wall clock: what a command's `--now` asks for.
    pub fn at(at: Option<DateTime<Utc>>) -> Clock {
        at.map_or_else(Clock::system, Clock::fixed)
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.0.load(Ordering::Relaxed) {
            SYSTEM => Utc::now(),
            micros => DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now),
        }
    }

    /// Stops the clock (and its clones) at `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_micros(), Ordering::Relaxed);
    }

    /// Moves the clock by `by` from its current instant and stops it there.
    pub fn advance(&self, by: chrono::Duration) {
        self.set(self.now() + by);
    }

    /// Back to the wall clock.
    pub fn follow_system(&self) {
        self.0.store(SYSTEM, Ordering::Relaxed);
    }
}

/// A write transaction: the connection it runs on, the author of its changes and its
/// instant. Only [`write_with`] (and [`Tx::savepoint`] inside one) creates it.
///
/// It dereferences to the connection, so read functions taking `&mut Conn` accept a `Tx`
/// as is; diesel's own `.execute(…)` and `.load(…)` take `tx.conn()`.
pub struct Tx<'c> {
    conn: &'c mut Conn,
    author: Author,
    now: DateTime<Utc>,
}

impl<'c> Tx<'c> {
    /// Private to `db`: the write entries are the only way in.
    pub(super) fn new(conn: &'c mut Conn, author: Author, now: DateTime<Utc>) -> Tx<'c> {
        Tx { conn, author, now }
    }

    pub fn conn(&mut self) -> &mut Conn {
        self.conn
    }

    /// Who the audit log names for the changes of this transaction.
    pub fn author(&self) -> &Author {
        &self.author
    }

    /// The transaction's instant, taken once from the clock when it opened.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// [`Tx::now`] as stored in `Timestamp` columns.
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now.naive_utc()
    }

    /// Runs `f` under a savepoint of this transaction: an error of `f` undoes what `f`
    /// wrote and nothing else, so the caller can carry on (a row refused among others).
    pub fn savepoint<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let author = self.author.clone();
        let now = self.now;
        self.conn
            .transaction(|conn| f(&mut Tx::new(conn, author, now)))
    }
}

impl Deref for Tx<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
    }
}

/// The write entry, on a checked-out connection: opens one write transaction that
/// serialises writers (SQLite: `BEGIN IMMEDIATE`, so that checks made inside it — the
/// cohort's cap, a version number — still hold at commit), runs `f` in it under `author`
/// and `now`, and commits when `f` succeeds (rolls back otherwise). The connection may
/// write only while it runs ([`set_read_only`]).
///
/// Not inside another transaction: there, [`Tx::savepoint`] is the nested rollback point.
pub fn write_with<T>(
    conn: &mut Conn,
    author: Author,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if super::in_transaction(conn) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a write transaction opened inside another one (use Tx::savepoint)"
        )));
    }
    let was_read_only = is_read_only(conn)?;
    if was_read_only {
        set_read_only(conn, false)?;
    }
    let result = super::transaction(conn, |conn| f(&mut Tx::new(conn, author, now)));
    if was_read_only {
        // The connection goes back to the read path that lent it: failing to lock it
        // again is the database's failure.
        set_read_only(conn, true)?;
    }
    result
}

/// [`write_with`] off the async runtime, on one pooled connection, at the clock's instant.
pub async fn write<F, T>(pool: &Pool, author: Author, clock: &Clock, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let clock = clock.clone();
    super::blocking(pool, false, move |conn| {
        write_with(conn, author, clock.now(), f)
    })
    .await
}

/// A write a read path needs done (a secret created on first use): a write entry of its
/// own under [`Author::system`] — or, on a connection a [`Tx`] lent to a read function,
/// part of that transaction, whose lock is held already.
pub fn side_write<T>(
    conn: &mut Conn,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if super::in_transaction(conn) {
        return f(&mut Tx::new(conn, Author::system(), now));
    }
    write_with(conn, Author::system(), now, f)
}

/// A small write that may be skipped (a session's « last seen », a token's « last used »):
/// a [`side_write`] done at once if the write lock is free, else skipped without waiting —
/// `Ok(None)` — so that a reader is never held up, nor refused, behind another
/// connection's write.
pub fn if_not_busy<T>(
    conn: &mut Conn,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, AppError>,
) -> Result<Option<T>, AppError> {
    if super::in_transaction(conn) {
        return side_write(conn, now, f).map(Some);
    }
    let result = match super::Kind::of(conn) {
        super::Kind::Sqlite => {
            super::with_busy_timeout(conn, 0, |conn, _| side_write(conn, now, f))?
        }
        // A row another transaction holds: give up at once (0 would mean « wait forever »).
        super::Kind::Postgres => side_write(conn, now, |tx| {
            tx.conn().batch_execute("SET LOCAL lock_timeout = '1ms'")?;
            f(tx)
        }),
    };
    match result {
        Ok(value) => Ok(Some(value)),
        Err(AppError::Busy) => {
            tracing::debug!("optional write skipped: the database is busy");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Runs `f` (read use: `db::run`) on a connection that refuses writes. A write in `f`
/// fails: « attempt to write a readonly database ».
///
/// The connection is left refusing writes: the next read that checks it out finds it so
/// and changes nothing, while any other checkout makes it writable again
/// ([`settle`], from `db::Manager::is_valid`). Setting the pragma on SQLite expires every
/// statement the connection has prepared (a flag pragma compiles to `OP_Expire`), so
/// turning it on and off around each read made every read prepare all its statements
/// again.
pub(super) fn read_only<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    settle(conn, true)?;
    f(conn)
}

/// Makes the connection refuse writes (`true`) or accept them, if it does not already:
/// setting it again when it is so would expire SQLite's prepared statements for nothing.
/// Also the pool's check of a connection it hands out (on SQLite a look at what the
/// connection noted, on PostgreSQL a round trip).
pub(super) fn settle(conn: &mut Conn, read_only: bool) -> Result<(), diesel::result::Error> {
    if query_only(conn)? != read_only {
        switch(conn, read_only)?;
    }
    Ok(())
}

/// Whether the connection refuses writes. The one place, with [`set_read_only`], that
/// knows how each backend does it.
fn is_read_only(conn: &mut Conn) -> Result<bool, AppError> {
    Ok(query_only(conn)?)
}

/// On SQLite, the flag as this connection last set or read it (asked once a connection);
/// on PostgreSQL, asked every time, as before: a `SET` made inside a transaction that rolls
/// back is undone, and the round trip also checks the connection the pool hands out.
fn query_only(conn: &mut Conn) -> Result<bool, diesel::result::Error> {
    use diesel::sql_types::{Integer, Text};
    use diesel::{QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct QueryOnly {
        #[diesel(sql_type = Integer)]
        query_only: i32,
    }
    // Kept prepared (a fragment, not `sql_query`): asked on every checkout.
    super::sql_fragment!(
        DefaultReadOnly: Text = "current_setting('default_transaction_read_only')"
    );

    match super::Kind::of(conn) {
        super::Kind::Sqlite => {
            if let Some(on) = conn.known_query_only() {
                return Ok(on);
            }
            let on = diesel::sql_query("PRAGMA query_only")
                .get_result::<QueryOnly>(conn)?
                .query_only
                != 0;
            conn.note_query_only(Some(on));
            Ok(on)
        }
        super::Kind::Postgres => {
            Ok(diesel::select(DefaultReadOnly).get_result::<String>(conn)? == "on")
        }
    }
}

/// Makes the connection refuse (`true`) or accept writes. SQLite: `PRAGMA query_only`,
/// under which any INSERT, UPDATE, DELETE or DDL fails (« attempt to write a readonly
/// database »). PostgreSQL: `default_transaction_read_only`, under which every statement
/// outside an explicit `BEGIN READ WRITE` runs in a read-only transaction (« cannot execute
/// INSERT in a read-only transaction »). The read entry turns it on ([`read_only`]) and
/// the pool's other checkouts off ([`settle`]); the write entry, reached from a read (a
/// [`side_write`]), turns it off for its transaction only.
pub fn set_read_only(conn: &mut Conn, read_only: bool) -> Result<(), AppError> {
    switch(conn, read_only)?;
    Ok(())
}

/// [`set_read_only`], and the connection's note of it (unknown if the switch failed).
fn switch(conn: &mut Conn, read_only: bool) -> Result<(), diesel::result::Error> {
    let result = conn.batch_execute(read_only_sql(conn, read_only));
    let known = result.is_ok() && super::Kind::of(conn) == super::Kind::Sqlite;
    conn.note_query_only(known.then_some(read_only));
    result
}

fn read_only_sql(conn: &Conn, read_only: bool) -> &'static str {
    match (super::Kind::of(conn), read_only) {
        (super::Kind::Sqlite, true) => "PRAGMA query_only = ON;",
        (super::Kind::Sqlite, false) => "PRAGMA query_only = OFF;",
        (super::Kind::Postgres, true) => "SET default_transaction_read_only = on;",
        (super::Kind::Postgres, false) => "SET default_transaction_read_only = off;",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use diesel::RunQueryDsl;

    /// A row of `instance_secrets`, the simplest table to write to.
    fn insert(conn: &mut Conn, name: &str) -> Result<usize, diesel::result::Error> {
        diesel::sql_query(
            "INSERT INTO instance_secrets (name, value, created_at) \
             VALUES (?, 'x', '2027-01-11 08:30:00')",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .execute(conn)
    }

    fn stored(conn: &mut Conn) -> i64 {
        use crate::db::schema::instance_secrets;
        use diesel::QueryDsl;
        instance_secrets::table.count().get_result(conn).unwrap()
    }

    #[actix_web::test]
    async fn the_read_entry_cannot_write_and_the_write_entries_can() {
        let tmp = tempfile::tempdir().unwrap();
        // One connection: each entry below gets the same one back from the pool.
        let pool = crate::db::connect(tmp.path().join("c.sqlite3").to_str().unwrap(), 1).unwrap();
        let refused = crate::db::run(&pool, |conn| Ok(insert(conn, "stray")?)).await;
        match refused {
            Err(AppError::Internal(e)) => assert!(e.to_string().contains("readonly"), "{e}"),
            other => panic!("a write in the read entry must fail: {other:?}"),
        }
        // A write a read path needs is its own transaction; the path stays read-only.
        let now = Utc.with_ymd_and_hms(2027, 1, 11, 8, 30, 0).unwrap();
        crate::db::run(&pool, move |conn| {
            side_write(conn, now, |tx| {
                assert_eq!(tx.author(), &Author::system());
                Ok(insert(tx.conn(), "side")?)
            })?;
            assert!(insert(conn, "stray again").is_err(), "still read-only");
            Ok(())
        })
        .await
        .unwrap();
        // The write entry, at the clock's instant; the connection goes back writable.
        let clock = Clock::fixed(now);
        let at = crate::db::write(&pool, Author::system(), &clock, |tx| {
            insert(tx.conn(), "written")?;
            Ok(tx.now())
        })
        .await
        .unwrap();
        assert_eq!(at, now);
        let mut conn = pool.get().unwrap();
        assert_eq!(stored(&mut conn), 2);
        insert(&mut conn, "a command's own write").unwrap();
        drop(conn);
        // A read leaves the connection refusing writes, for the next read; any other
        // checkout gets it writable.
        crate::db::run(&pool, |conn| Ok(stored(conn)))
            .await
            .unwrap();
        let refused = crate::db::run(&pool, |conn| Ok(insert(conn, "stray")?)).await;
        assert!(refused.is_err(), "a read after a read still cannot write");
        let mut conn = pool.get().unwrap();
        insert(&mut conn, "a fixture's write after a read").unwrap();
        assert_eq!(stored(&mut conn), 4);
    }

    #[actix_web::test]
    async fn sqlite_is_asked_for_the_read_only_flag_once_a_connection_then_only_told() {
        use diesel::connection::{Connection, InstrumentationEvent};
        use std::sync::{Arc, Mutex};

        let tmp = tempfile::tempdir().unwrap();
        let pool = crate::db::connect(tmp.path().join("c.sqlite3").to_str().unwrap(), 1).unwrap();
        let sent: Arc<Mutex<Vec<String>>> = Arc::default();
        {
            // The pool's check of this checkout asked and noted the flag.
            let mut conn = pool.get().unwrap();
            let log = sent.clone();
            conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::StartQuery { query, .. } = event {
                    log.lock().unwrap().push(query.to_string());
                }
            });
        }
        for _ in 0..3 {
            crate::db::run(&pool, |conn| Ok(stored(conn)))
                .await
                .unwrap();
        }
        crate::db::write(&pool, Author::system(), &Clock::system(), |tx| {
            Ok(insert(tx.conn(), "written")?)
        })
        .await
        .unwrap();
        let refused = crate::db::run(&pool, |conn| Ok(insert(conn, "stray")?)).await;
        assert!(refused.is_err(), "the read after the write cannot write");
        let flags: Vec<String> = sent
            .lock()
            .unwrap()
            .iter()
            .filter(|sql| sql.contains("query_only"))
            .cloned()
            .collect();
        // Three reads: switched on once; the write: off, then the read: on again. Never
        // asked again.
        assert_eq!(
            flags,
            [
                "PRAGMA query_only = ON;",
                "PRAGMA query_only = OFF;",
                "PRAGMA query_only = ON;"
            ],
        );
    }

    #[test]
    fn a_write_entry_inside_a_transaction_is_refused_and_a_savepoint_undoes_only_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let pool = crate::db::connect(tmp.path().join("c.sqlite3").to_str().unwrap(), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let now = Utc::now();
        write_with(&mut conn, Author::system(), now, |tx| {
            insert(tx.conn(), "kept")?;
            assert!(write_with(tx.conn(), Author::system(), now, |_| Ok(())).is_err());
            let undone: Result<(), AppError> = tx.savepoint(|tx| {
                insert(tx.conn(), "undone")?;
                Err(AppError::NotFound("refused".into()))
            });
            assert!(undone.is_err());
            Ok(())
        })
        .unwrap();
        assert_eq!(stored(&mut conn), 1);
    }

    #[test]
    fn a_fixed_clock_stays_put_and_its_clones_move_with_it() {
        let t = Utc.with_ymd_and_hms(2021, 1, 11, 8, 30, 0).unwrap();
        let clock = Clock::fixed(t);
        let shared = clock.clone();
        assert_eq!(clock.now(), t);
        shared.advance(chrono::Duration::days(1));
        assert_eq!(clock.now(), t + chrono::Duration::days(1));
        clock.follow_system();
        assert!(shared.now() > t + chrono::Duration::days(1));
        assert_eq!(Clock::at(Some(t)).now(), t);
    }
}
