//! [`Conn`], the connection every model function takes: diesel's multi-backend connection
//! ([`Native`], derived by `#[derive(MultiConnection)]`) with the SQL of each statement built
//! once instead of on every call.
//!
//! The derived connection wraps each statement for the backend and renders its whole SQL
//! text in every pass diesel makes over it — the check that it may be kept prepared, the
//! look-up, the binds: two or three times a call, even when SQLite or PostgreSQL already
//! holds the statement prepared (callgrind, the cohort page: 12 % of a request, 1,200
//! identifiers quoted). [`Conn`] hands it the statement wrapped in [`Memo`], which renders
//! the SQL once per call and, for a statement diesel keeps prepared (a type of its own, no
//! list of values), once per process: the same rule diesel's statement cache follows.

use std::any::TypeId;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use diesel::backend::Backend;
use diesel::connection::{
    CacheSize, Connection, Instrumentation, LoadConnection, SimpleConnection, TransactionManager,
    TransactionManagerStatus,
};
use diesel::expression::QueryMetadata;
use diesel::internal::derives::multiconnection::{AstPassHelper, ConnectionSealed};
use diesel::query_builder::{AstPass, Query, QueryBuilder, QueryFragment, QueryId};
use diesel::{ConnectionResult, QueryResult};

use super::{Kind, MultiBackend, Native};

/// SQLite or PostgreSQL, by the URL (see [`Native`]); `native()` gives the backend's own
/// connection for what the multi-backend does not carry.
pub struct Conn {
    native: Native,
    /// SQLite's `query_only` flag as last set or read through this connection (`None`:
    /// not known yet, or a switch failed). The flag belongs to the connection and no
    /// rollback undoes it, so `db::tx` asks SQLite once a connection, not on every checkout
    /// (through the pragma's table function the question compiled a statement every time).
    query_only: Option<bool>,
}

impl Conn {
    /// The backend's own connection, to match on.
    pub fn native(&mut self) -> &mut Native {
        &mut self.native
    }

    /// SQLite's `query_only` flag as this connection knows it (see the field).
    pub(super) fn known_query_only(&self) -> Option<bool> {
        self.query_only
    }

    /// Records what `db::tx` set or read of the flag (`None` after a failed switch).
    pub(super) fn note_query_only(&mut self, on: Option<bool>) {
        self.query_only = on;
    }

    /// Which backend (for [`Kind::of`], the one way the rest of the code asks).
    pub(super) fn kind(&self) -> Kind {
        match self.native {
            Native::Pg(_) => Kind::Postgres,
            Native::Sqlite(_) => Kind::Sqlite,
        }
    }
}

impl From<Native> for Conn {
    fn from(native: Native) -> Conn {
        Conn {
            native,
            query_only: None,
        }
    }
}

impl ConnectionSealed for Conn {}

impl SimpleConnection for Conn {
    fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        self.native.batch_execute(query)
    }
}

impl Connection for Conn {
    type Backend = MultiBackend;
    type TransactionManager = Transactions;

    /// PostgreSQL by its URL, anything else a SQLite file opened as the pool opens it
    /// ([`super::establish_sqlite`]: the app's SQL functions registered).
    fn establish(database_url: &str) -> ConnectionResult<Self> {
        match Kind::of_url(database_url) {
            Kind::Postgres => diesel::PgConnection::establish(database_url).map(Native::Pg),
            Kind::Sqlite => super::establish_sqlite(database_url).map(Native::Sqlite),
        }
        .map(Conn::from)
    }

    fn execute_returning_count<T>(&mut self, source: &T) -> QueryResult<usize>
    where
        T: QueryFragment<MultiBackend> + QueryId,
    {
        let memo = Memo::new(source, self.kind());
        self.native.execute_returning_count(&memo)
    }

    fn transaction_state(&mut self) -> &mut Native {
        &mut self.native
    }

    fn instrumentation(&mut self) -> &mut dyn Instrumentation {
        self.native.instrumentation()
    }

    fn set_instrumentation(&mut self, instrumentation: impl Instrumentation) {
        self.native.set_instrumentation(instrumentation)
    }

    fn set_prepared_statement_cache_size(&mut self, size: CacheSize) {
        self.native.set_prepared_statement_cache_size(size)
    }
}

impl LoadConnection for Conn {
    type Cursor<'conn, 'query> = <Native as LoadConnection>::Cursor<'conn, 'query>;
    type Row<'conn, 'query> = <Native as LoadConnection>::Row<'conn, 'query>;

    fn load<'conn, 'query, T>(
        &'conn mut self,
        source: T,
    ) -> QueryResult<Self::Cursor<'conn, 'query>>
    where
        T: Query + QueryFragment<MultiBackend> + QueryId + 'query,
        MultiBackend: QueryMetadata<T::SqlType>,
    {
        let memo = Memo::new(source, self.kind());
        self.native.load(memo)
    }
}

impl diesel::r2d2::R2D2Connection for Conn {
    fn ping(&mut self) -> QueryResult<()> {
        self.native.ping()
    }

    fn is_broken(&mut self) -> bool {
        self.native.is_broken()
    }
}

impl diesel::migration::MigrationConnection for Conn {
    fn setup(&mut self) -> QueryResult<usize> {
        self.native.setup()
    }
}

/// [`Conn`]'s transactions: the backend's own.
pub struct Transactions;

impl TransactionManager<Conn> for Transactions {
    type TransactionStateData = Native;

    fn begin_transaction(conn: &mut Conn) -> QueryResult<()> {
        <Native as TransactionManager<Native>>::begin_transaction(&mut conn.native)
    }

    fn rollback_transaction(conn: &mut Conn) -> QueryResult<()> {
        <Native as TransactionManager<Native>>::rollback_transaction(&mut conn.native)
    }

    fn commit_transaction(conn: &mut Conn) -> QueryResult<()> {
        <Native as TransactionManager<Native>>::commit_transaction(&mut conn.native)
    }

    fn transaction_manager_status_mut(conn: &mut Conn) -> &mut TransactionManagerStatus {
        <Native as TransactionManager<Native>>::transaction_manager_status_mut(&mut conn.native)
    }

    fn is_broken_transaction_manager(conn: &mut Conn) -> bool {
        <Native as TransactionManager<Native>>::is_broken_transaction_manager(&mut conn.native)
    }
}

type MultiQueryBuilder = <MultiBackend as Backend>::QueryBuilder;

/// The SQL of the statements diesel keeps prepared, by their type and backend: built the
/// first time each runs (a few hundred types, a few hundred KB at most).
static SQL: LazyLock<RwLock<KnownSql>> = LazyLock::new(Default::default);

type KnownSql = HashMap<(TypeId, Kind), Arc<str>>;

/// A statement whose SQL text is rendered once: every pass but the binds' gets the text
/// (and whether it may be kept prepared) from the first.
pub(crate) struct Memo<T> {
    query: T,
    kind: Kind,
    built: OnceCell<(Arc<str>, bool)>,
}

impl<T> Memo<T> {
    fn new(query: T, kind: Kind) -> Memo<T> {
        Memo {
            query,
            kind,
            built: OnceCell::new(),
        }
    }
}

impl<T: QueryFragment<MultiBackend> + QueryId> Memo<T> {
    /// The statement's SQL and whether it may be kept prepared. Whether it may is asked of
    /// the statement on each call, as diesel's statement cache does: a type can hold values
    /// that change its SQL (`DEFAULT` for a missing value in an insert) and says so then.
    fn built(&self) -> QueryResult<&(Arc<str>, bool)> {
        if let Some(built) = self.built.get() {
            return Ok(built);
        }
        let (backend, mut builder) = match self.kind {
            Kind::Sqlite => (
                MultiBackend::Sqlite(Default::default()),
                MultiQueryBuilder::Sqlite(Default::default()),
            ),
            Kind::Postgres => (
                MultiBackend::Pg(Default::default()),
                MultiQueryBuilder::Pg(Default::default()),
            ),
        };
        let cached = self.query.is_safe_to_cache_prepared(&backend)?;
        let key = T::query_id().filter(|_| cached).map(|id| (id, self.kind));
        if let Some(key) = key
            && let Some(sql) = SQL.read().ok().and_then(|known| known.get(&key).cloned())
        {
            return Ok(self.built.get_or_init(|| (sql, true)));
        }
        self.query.to_sql(&mut builder, &backend)?;
        let sql: Arc<str> = builder.finish().into();
        if let Some(key) = key
            && let Ok(mut known) = SQL.write()
        {
            known.insert(key, sql.clone());
        }
        Ok(self.built.get_or_init(|| (sql, cached)))
    }
}

impl<T: QueryId> QueryId for Memo<T> {
    type QueryId = T::QueryId;
    const HAS_STATIC_QUERY_ID: bool = T::HAS_STATIC_QUERY_ID;
}

impl<T: Query> Query for Memo<T> {
    type SqlType = T::SqlType;
}

impl<T: QueryFragment<MultiBackend> + QueryId> QueryFragment<MultiBackend> for Memo<T> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        if pass.bind_collector().is_some() || pass.debug_binds().is_some() {
            return self.query.walk_ast(pass);
        }
        // The SQL pass, the check that the statement may be kept prepared, or the check
        // that it is not empty: each takes what it needs of these two calls.
        let (sql, cached) = self.built()?;
        if !cached {
            pass.unsafe_to_cache_prepared();
        }
        pass.push_sql(sql);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;

    diesel::table! {
        memo_people (id) {
            id -> Integer,
            town -> Text,
        }
    }

    fn conn() -> Conn {
        let mut conn = Conn::from(Native::Sqlite(
            diesel::SqliteConnection::establish(":memory:").unwrap(),
        ));
        conn.batch_execute(
            "CREATE TABLE memo_people (id INTEGER PRIMARY KEY, town TEXT NOT NULL DEFAULT 'Lyon')",
        )
        .unwrap();
        conn
    }

    /// The SQL kept for a statement's type, if any.
    fn known<T: QueryId>(_: &T) -> Option<Arc<str>> {
        SQL.read()
            .unwrap()
            .get(&(T::query_id()?, Kind::Sqlite))
            .cloned()
    }

    #[test]
    fn a_statement_kept_prepared_has_its_sql_built_once_and_answers_with_each_calls_values() {
        use self::memo_people::dsl::*;
        let mut conn = conn();
        for (n, t) in [(1, "Nantes"), (2, "Brest")] {
            diesel::insert_into(memo_people)
                .values((id.eq(n), town.eq(t)))
                .execute(&mut conn)
                .unwrap();
        }
        let by_id = |conn: &mut Conn, n: i32| {
            memo_people
                .filter(id.eq(n))
                .select(town)
                .first::<String>(conn)
                .unwrap()
        };
        assert_eq!(by_id(&mut conn, 1), "Nantes");
        let sql = known(&memo_people.filter(id.eq(1)).select(town).limit(1))
            .expect("kept by its type after the first call");
        assert!(sql.contains("WHERE"), "{sql}");
        assert_eq!(by_id(&mut conn, 2), "Brest", "the second call's own value");
    }

    #[test]
    fn a_statement_whose_sql_follows_its_values_is_built_on_each_call() {
        use self::memo_people::dsl::*;
        let mut conn = conn();
        for (n, t) in [(1, "Nantes"), (2, "Brest"), (3, "Rennes")] {
            diesel::insert_into(memo_people)
                .values((id.eq(n), town.eq(t)))
                .execute(&mut conn)
                .unwrap();
        }
        let towns = |conn: &mut Conn, ids: Vec<i32>| {
            memo_people
                .filter(id.eq_any(ids))
                .order(id)
                .select(town)
                .load::<String>(conn)
                .unwrap()
        };
        assert_eq!(towns(&mut conn, vec![1]), ["Nantes"]);
        assert_eq!(towns(&mut conn, vec![2, 3]), ["Brest", "Rennes"]);
        assert_eq!(towns(&mut conn, vec![]), Vec::<String>::new());
        // An insert with a value missing (the column's default) after one with it: the
        // same type, another SQL.
        diesel::insert_into(memo_people)
            .values((id.eq(4), Some(town.eq("Lille"))))
            .execute(&mut conn)
            .unwrap();
        diesel::insert_into(memo_people)
            .values((id.eq(5), None::<diesel::dsl::Eq<town, &str>>))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(towns(&mut conn, vec![4, 5]), ["Lille", "Lyon"]);
    }
}
