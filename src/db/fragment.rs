//! Fixed SQL that diesel's DSL cannot write (a `CASE` order, a pragma), as a type of its own.
//!
//! `diesel::dsl::sql` and `diesel::sql_query` mark their statement never to keep prepared:
//! SQLite compiles it again on every call (about 36,000 instructions for a short one). A
//! [`sql_fragment!`] is a unit type whose SQL is a constant: diesel gives it a static query
//! id, so a statement that uses it is kept prepared like any other.

/// Declares a unit type for a constant piece of SQL: an expression of SQL type `$st`,
/// usable on any table (like `diesel::dsl::sql`, nothing checks the columns it names).
///
/// ```ignore
/// sql_fragment!(
///     /// Current cohorts first.
///     pub StatusRank: Integer = "CASE cohorts.status WHEN 'en_cours' THEN 0 ELSE 1 END"
/// );
/// ```
macro_rules! sql_fragment {
    ($(#[$meta:meta])* $vis:vis $name:ident: $st:ty = $sql:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, diesel::query_builder::QueryId)]
        $vis struct $name;

        impl diesel::expression::Expression for $name {
            type SqlType = $st;
        }

        impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> diesel::QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }

        impl<QS> diesel::expression::AppearsOnTable<QS> for $name {}
        impl<QS> diesel::expression::SelectableExpression<QS> for $name {}
        impl<GB> diesel::expression::ValidGrouping<GB> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    };
}
pub(crate) use sql_fragment;

#[cfg(test)]
mod tests {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::prelude::*;
    use diesel::sql_types::Integer;
    use std::sync::{Arc, Mutex};

    sql_fragment!(Answer: Integer = "6 * 7");

    /// Counts the statements SQLite compiles (`CacheQuery` is diesel's event for a
    /// statement it prepares and keeps).
    struct Prepared(Arc<Mutex<usize>>);
    impl Instrumentation for Prepared {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                *self.0.lock().unwrap() += 1;
            }
        }
    }

    #[test]
    fn a_fragment_reads_as_its_sql_and_its_statement_is_kept_prepared() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let prepared = Arc::new(Mutex::new(0));
        conn.set_instrumentation(Prepared(prepared.clone()));
        for _ in 0..3 {
            assert_eq!(
                diesel::select(Answer).get_result::<i32>(&mut conn).unwrap(),
                42
            );
        }
        assert_eq!(*prepared.lock().unwrap(), 1, "prepared once, then kept");
        // What it replaces: a literal is compiled on every call and never kept.
        for _ in 0..3 {
            let literal = diesel::select(diesel::dsl::sql::<Integer>("6 * 7"));
            assert_eq!(literal.get_result::<i32>(&mut conn).unwrap(), 42);
        }
        assert_eq!(*prepared.lock().unwrap(), 1);
    }
}
