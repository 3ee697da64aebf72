//! `column IN (ids)` written so that the database keeps the statement prepared.
//!
//! diesel's `eq_any(vec)` marks its statement as one never to keep: SQLite compiled it
//! again on every call (the DLA calendar ran 15 of those a page). [`in_list`] is the same
//! `IN` on SQLite with the list padded to the next power of two (the last id repeated), so
//! that a statement has a handful of shapes that diesel keeps prepared by their SQL; on
//! PostgreSQL the list is one bound `text[]` under `= ANY`. Lists over 4,096 ids are not
//! padded (SQLite's limit on bound values). A statement whose list has more than
//! [`KEPT_UP_TO`] placeholders is compiled for its call and not kept: SQLite's program for
//! an `IN` of a thousand values weighs about a megabyte, and each pooled connection kept its
//! own (measured: the instance's report at 3,000 cohorts left 4.5 MB of statements on every
//! connection that built it). Both use the column's index
//! (`tests/query_plans.rs`). An empty list matches nothing (`IN (NULL)`).
//!
//! Measured before choosing (callgrind, the cohort page): the list as one JSON array read
//! by `json_each` keeps a single shape, but SQLite then builds a temporary index of it on
//! every call, which cost more than compiling the statement again.

use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// `column IN ids`, for a `WHERE` (see the module); `column` is text (ids, addresses,
/// kinds, statuses).
pub fn in_list<C, I>(column: C, ids: I) -> InList<C>
where
    C: Expression,
    C::SqlType: IsText,
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    InList {
        column,
        ids: ids.into_iter().map(|id| id.as_ref().to_owned()).collect(),
        none: None,
    }
}

/// How many placeholders a list of `n` ids gets on SQLite: the next power of two up to
/// [`PADDED_UP_TO`], `n` itself beyond (an instance-wide list of thousands is rare, and
/// padding it could pass SQLite's limit of 32,766 bound values).
fn padded(n: usize) -> usize {
    if n <= PADDED_UP_TO {
        n.max(1).next_power_of_two()
    } else {
        n
    }
}

const PADDED_UP_TO: usize = 4096;

/// The longest list (in placeholders) whose statement is kept prepared on SQLite: the
/// lists of a page (a cohort's associations, a page of sessions, a DLA's cohorts) are
/// shorter; an instance's report or an export's thousands of ids are rare and heavy.
const KEPT_UP_TO: usize = 256;

/// The SQL types [`in_list`] compares: text, optional or not.
pub trait IsText {}
impl IsText for Text {}
impl IsText for Nullable<Text> {}

/// The expression [`in_list`] builds.
#[derive(Debug, Clone)]
pub struct InList<C> {
    column: C,
    ids: Vec<String>,
    /// What an empty list binds.
    none: Option<String>,
}

impl<C: Expression> Expression for InList<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for InList<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for InList<C> where C: SelectableExpression<QS> {}

impl<C, GB> ValidGrouping<GB> for InList<C>
where
    C: ValidGrouping<GB>,
{
    type IsAggregate = C::IsAggregate;
}

/// Its statement is kept by its SQL, which has one shape per power of two on SQLite.
impl<C: QueryId> QueryId for InList<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InList<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let placeholders = padded(self.ids.len());
        if placeholders > KEPT_UP_TO {
            out.unsafe_to_cache_prepared();
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for i in 0..placeholders {
            if i > 0 {
                out.push_sql(", ");
            }
            match self.ids.get(i).or(self.ids.last()) {
                Some(id) => out.push_bind_param::<Text, String>(id)?,
                None => out.push_bind_param::<Nullable<Text>, Option<String>>(&self.none)?,
            }
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for InList<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<Text>, Vec<String>>(&self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<C> QueryFragment<MultiBackend> for InList<C>
where
    C: QueryFragment<Sqlite> + QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;
    use crate::db::{Conn, Native};

    diesel::table! {
        list_people (id) {
            id -> Text,
            email -> Nullable<Text>,
        }
    }

    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// An in-memory SQLite database with `list_people` (indexed by email) and `rows`.
    fn people(rows: &str) -> Conn {
        let mut conn = Conn::from(Native::Sqlite(
            diesel::SqliteConnection::establish(":memory:").unwrap(),
        ));
        conn.batch_execute(&format!(
            "CREATE TABLE list_people (id TEXT PRIMARY KEY, email TEXT); \
             CREATE INDEX list_people_email ON list_people (email); \
             INSERT INTO list_people VALUES {rows};"
        ))
        .unwrap();
        conn
    }

    #[test]
    fn a_padded_list_matches_its_ids_uses_the_index_and_an_empty_one_nothing() {
        use self::list_people::dsl::*;
        let mut conn =
            people("('a', 'zoe.o''neil@exemple.fr'), ('b', NULL), ('c', 'lea@exemple.fr')");
        let found = |conn: &mut Conn, emails: &[&str]| {
            list_people
                .filter(in_list(email, emails))
                .order(id)
                .select(id)
                .load::<String>(conn)
                .unwrap()
        };
        assert_eq!(
            found(&mut conn, &["zoe.o'neil@exemple.fr", "lea@exemple.fr"]),
            ["a", "c"]
        );
        assert_eq!(found(&mut conn, &["lea@exemple.fr"]), ["c"]);
        assert_eq!(found(&mut conn, &[]), Vec::<String>::new());
        assert_eq!(
            found(
                &mut conn,
                &["x@exemple.fr", "y@exemple.fr", "lea@exemple.fr"]
            ),
            ["c"],
            "three ids padded to four"
        );

        // A list longer than the padding's reach, and longer than half SQLite's limit of
        // bound values (padded, it would pass it).
        let many: Vec<String> = (0..20_000)
            .map(|i| format!("p{i}@exemple.fr"))
            .chain(["lea@exemple.fr".to_string()])
            .collect();
        let ids: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(found(&mut conn, &ids), ["c"]);
        assert_eq!(padded(3), 4);
        assert_eq!(padded(0), 1);
        assert_eq!(padded(5000), 5000);

        let plan: Vec<Plan> = diesel::sql_query(
            "EXPLAIN QUERY PLAN SELECT id FROM list_people WHERE email IN (?, ?)",
        )
        .bind::<Text, _>("lea@exemple.fr")
        .bind::<Text, _>("lea@exemple.fr")
        .load(&mut conn)
        .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.detail.contains("USING INDEX list_people_email")),
            "{:?}",
            plan.iter().map(|p| &p.detail).collect::<Vec<_>>()
        );
    }

    /// Counts the statements diesel prepares and keeps (`CacheQuery`).
    struct Kept(std::sync::Arc<std::sync::Mutex<Vec<usize>>>);
    impl diesel::connection::Instrumentation for Kept {
        fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
            if let diesel::connection::InstrumentationEvent::CacheQuery { sql, .. } = event {
                self.0.lock().unwrap().push(sql.matches('?').count());
            }
        }
    }

    #[test]
    fn a_short_list_s_statement_is_kept_prepared_a_long_one_is_not() {
        use self::list_people::dsl::*;
        let mut conn = people("('a', 'lea@exemple.fr')");
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        conn.set_instrumentation(Kept(kept.clone()));
        let many: Vec<String> = (0..1000).map(|i| format!("p{i}@exemple.fr")).collect();
        for n in [3, 3, 200, 200, 1000, 1000] {
            let mut ids: Vec<&str> = many[..n - 1].iter().map(String::as_str).collect();
            ids.push("lea@exemple.fr");
            let found = list_people
                .filter(in_list(email, &ids))
                .select(id)
                .load::<String>(&mut conn)
                .unwrap();
            assert_eq!(found, ["a"], "{n} ids");
        }
        // Four and 256 placeholders each kept once; the 1,024 compiled for each call.
        assert_eq!(*kept.lock().unwrap(), [4, 256]);
    }
}
