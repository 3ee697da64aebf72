//! `cohorte copy`: moves a whole instance from its SQLite file to a new PostgreSQL database
//! (issue #15), so that a DLA that started on the embedded default can join a shared
//! instance.
//!
//! Nothing here names a table: the tables, their columns, the columns' types and the
//! foreign keys are read from the target once its migrations have run, so a new migration
//! needs no change here. Each table is read in batches of rows as one JSON array (SQLite's
//! `json_object`; blobs in bytea's hex form; timestamps cut to the microsecond, as diesel
//! writes them on PostgreSQL) and inserted with `json_populate_recordset`, which turns
//! each value into its column's type (0/1 into booleans, text into timestamps and dates).
//! Parents come before children, all in one PostgreSQL transaction, with the row count of
//! each table checked before it commits: a failure leaves the target as it was. The source
//! is read in one read transaction (a consistent snapshot, even while `serve` runs on it)
//! on a connection that cannot write (`PRAGMA query_only`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::Kind;

/// Rows per batch: one SELECT on the source and one INSERT on the target.
pub const BATCH_ROWS: i64 = 500;

/// Diesel's own table, which each database's migrations fill.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// One table copied: its rows in the source, and in the target before the commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    pub table: String,
    pub source: i64,
    pub target: i64,
}

/// Copies the SQLite instance at `from` into the PostgreSQL database `to` (migrated first,
/// and refused unless empty). `each` is called after each table, parents first, with its
/// counts; they are equal, or the copy stops there and nothing is written.
pub fn copy(from: &str, to: &str, each: &mut dyn FnMut(&Copied)) -> anyhow::Result<Vec<Copied>> {
    if Kind::of_url(from) == Kind::Postgres {
        bail!(
            "--from attend le chemin du fichier SQLite à copier (par exemple \
             data/cohorte.sqlite3), pas une adresse PostgreSQL."
        );
    }
    if Kind::of_url(to) != Kind::Postgres {
        bail!(
            "--to attend l'adresse d'une base PostgreSQL neuve \
             (postgres://utilisateur:mot-de-passe@hôte:port/base)."
        );
    }
    let path = super::sqlite_file(from);
    if !Path::new(path).is_file() {
        bail!("la base SQLite source « {path} » n'existe pas : vérifiez le chemin donné à --from.");
    }
    let mut source = open_source(path)?;

    let pool = super::connect(to, 1)?;
    let mut conn = pool.get()?;
    let super::Native::Pg(target) = conn.native() else {
        unreachable!("a postgres:// URL opens PostgreSQL")
    };
    let schema = Schema::of_target(target)?;
    schema.check_source(&mut source, path)?;

    let copied = target.transaction(|target| {
        let mut full = Vec::new();
        for table in &schema.tables {
            if count(target, table)? > 0 {
                full.push(table.as_str());
            }
        }
        if !full.is_empty() {
            bail!(
                "la base cible n'est pas vide (lignes dans : {}) : donnez à --to une base \
                 PostgreSQL neuve. Rien n'a été écrit.",
                full.join(", ")
            );
        }
        source.transaction(|source| {
            let mut copied = Vec::with_capacity(schema.tables.len());
            for table in &schema.tables {
                let source_rows = count(source, table)?;
                copy_table(source, target, table, &schema.columns[table])?;
                let done = Copied {
                    table: table.clone(),
                    source: source_rows,
                    target: count(target, table)?,
                };
                check(&done)?;
                each(&done);
                copied.push(done);
            }
            Ok(copied)
        })
    })?;
    // Fresh statistics for the planner, rather than waiting for autovacuum.
    target.batch_execute("ANALYZE")?;
    Ok(copied)
}

/// A mismatch stops the copy loudly (the transaction is rolled back).
fn check(c: &Copied) -> anyhow::Result<()> {
    if c.source != c.target {
        bail!(
            "{} : {} → {} : le nombre de lignes copiées diffère de la source ; copie annulée, \
             rien n'a été écrit.",
            c.table,
            c.source,
            c.target
        );
    }
    Ok(())
}

/// The source, read-only, brought to no migration: it must be at this version's schema.
fn open_source(path: &str) -> anyhow::Result<SqliteConnection> {
    let not_cohorte = |e: &dyn std::fmt::Display| {
        anyhow!("« {path} » ne peut pas être lu comme une base SQLite de Cohorte ({e}).")
    };
    let mut source = super::establish_sqlite(path).map_err(|e| not_cohorte(&e))?;
    source
        .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
        .map_err(|e| not_cohorte(&e))?;

    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let applied: BTreeSet<String> =
        diesel::sql_query(format!("SELECT version FROM {MIGRATIONS_TABLE}"))
            .load::<Version>(&mut source)
            .map_err(|e| not_cohorte(&e))?
            .into_iter()
            .map(|v| v.version)
            .collect();
    let known: BTreeSet<String> =
        diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(
            &super::SQLITE_MIGRATIONS,
        )
        .map_err(|e| anyhow!("{e}"))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    if !applied.is_subset(&known) {
        bail!(
            "la base source « {path} » vient d'une version plus récente de Cohorte : copiez-la \
             avec cette version-là."
        );
    }
    let pending = known.difference(&applied).count();
    if pending > 0 {
        bail!(
            "la base source « {path} » n'est pas à jour ({pending} migration(s) en attente) : \
             lancez d'abord « DATABASE_URL={path} cohorte migrate » avec cette version."
        );
    }
    Ok(source)
}

/// What the copy needs of the target's schema.
struct Schema {
    /// Parents before children.
    tables: Vec<String>,
    /// Each table's columns (name, PostgreSQL type), in the table's order.
    columns: BTreeMap<String, Vec<(String, String)>>,
}

impl Schema {
    fn of_target(target: &mut PgConnection) -> anyhow::Result<Schema> {
        #[derive(QueryableByName)]
        struct Column {
            #[diesel(sql_type = Text)]
            table_name: String,
            #[diesel(sql_type = Text)]
            column_name: String,
            #[diesel(sql_type = Text)]
            data_type: String,
        }
        #[derive(QueryableByName)]
        struct Reference {
            #[diesel(sql_type = Text)]
            child: String,
            #[diesel(sql_type = Text)]
            parent: String,
        }
        let mut columns: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for c in diesel::sql_query(format!(
            "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                    c.data_type::text AS data_type \
             FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
               AND c.table_name <> '{MIGRATIONS_TABLE}' \
             ORDER BY c.table_name, c.ordinal_position"
        ))
        .load::<Column>(target)?
        {
            columns
                .entry(c.table_name)
                .or_default()
                .push((c.column_name, c.data_type));
        }
        let references: Vec<(String, String)> = diesel::sql_query(
            "SELECT ch.relname::text AS child, pa.relname::text AS parent \
             FROM pg_constraint k \
             JOIN pg_class ch ON ch.oid = k.conrelid \
             JOIN pg_class pa ON pa.oid = k.confrelid \
             JOIN pg_namespace n ON n.oid = ch.relnamespace \
             WHERE k.contype = 'f' AND n.nspname = current_schema()",
        )
        .load::<Reference>(target)?
        .into_iter()
        .map(|r| (r.child, r.parent))
        .collect();
        let names: Vec<String> = columns.keys().cloned().collect();
        Ok(Schema {
            tables: parents_first(&names, &references)?,
            columns,
        })
    }

    /// The source holds the same tables and columns (the two dialects' migrations agree).
    fn check_source(&self, source: &mut SqliteConnection, path: &str) -> anyhow::Result<()> {
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = Text)]
            name: String,
        }
        let tables: BTreeSet<String> = diesel::sql_query(format!(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '{MIGRATIONS_TABLE}'"
        ))
        .load::<Name>(source)?
        .into_iter()
        .map(|n| n.name)
        .collect();
        let expected: BTreeSet<String> = self.columns.keys().cloned().collect();
        if tables != expected {
            bail!(
                "les tables de « {path} » ne sont pas celles de PostgreSQL après ses migrations \
                 (seulement dans SQLite : {:?} ; seulement dans PostgreSQL : {:?}).",
                tables.difference(&expected).collect::<Vec<_>>(),
                expected.difference(&tables).collect::<Vec<_>>()
            );
        }
        for (table, columns) in &self.columns {
            let have: BTreeSet<String> = diesel::sql_query("SELECT name FROM pragma_table_info(?)")
                .bind::<Text, _>(table)
                .load::<Name>(source)?
                .into_iter()
                .map(|n| n.name)
                .collect();
            let want: BTreeSet<String> = columns.iter().map(|(c, _)| c.clone()).collect();
            if have != want {
                bail!(
                    "les colonnes de la table {table} diffèrent entre « {path} » et PostgreSQL \
                     (seulement dans SQLite : {:?} ; seulement dans PostgreSQL : {:?}).",
                    have.difference(&want).collect::<Vec<_>>(),
                    want.difference(&have).collect::<Vec<_>>()
                );
            }
        }
        Ok(())
    }
}

/// The tables ordered so that each comes after the tables its foreign keys reference
/// (`references`: child, parent); alphabetical among those free to go. A reference to
/// itself or to a table not copied is no constraint; a cycle is refused.
pub fn parents_first(
    tables: &[String],
    references: &[(String, String)],
) -> anyhow::Result<Vec<String>> {
    let all: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> =
        all.iter().map(|t| (*t, BTreeSet::new())).collect();
    for (child, parent) in references {
        if child != parent
            && all.contains(parent.as_str())
            && let Some(parents) = waiting.get_mut(child.as_str())
        {
            parents.insert(parent.as_str());
        }
    }
    let mut order = Vec::with_capacity(all.len());
    while !waiting.is_empty() {
        let next = waiting
            .iter()
            .find(|(_, parents)| parents.is_empty())
            .map(|(t, _)| *t)
            .ok_or_else(|| {
                anyhow!(
                    "les clés étrangères des tables {:?} forment un cycle : pas d'ordre de copie.",
                    waiting.keys().collect::<Vec<_>>()
                )
            })?;
        waiting.remove(next);
        for parents in waiting.values_mut() {
            parents.remove(next);
        }
        order.push(next.to_string());
    }
    Ok(order)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count<C>(conn: &mut C, table: &str) -> anyhow::Result<i64>
where
    C: Connection,
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Count>,
{
    let sql = format!("SELECT count(*) AS n FROM {}", quoted(table));
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

/// Copies one table in batches of [`BATCH_ROWS`], in rowid order.
fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &str,
    columns: &[(String, String)],
) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Batch {
        #[diesel(sql_type = Text)]
        rows: String,
        #[diesel(sql_type = Nullable<BigInt>)]
        last: Option<i64>,
    }
    let fields: Vec<String> = columns
        .iter()
        .map(|(name, pg_type)| {
            let c = quoted(name);
            let value = match pg_type.as_str() {
                // bytea's input form: \x then hex digits (hex(NULL) would be '').
                "bytea" => format!("CASE WHEN {c} IS NULL THEN NULL ELSE '\\x' || hex({c}) END"),
                // « 2027-01-11 09:30:00.123456789 »: PostgreSQL would round to the
                // microsecond, diesel truncates; do as diesel.
                "timestamp without time zone" => format!("substr({c}, 1, 26)"),
                _ => c,
            };
            format!("'{}', {value}", name.replace('\'', "''"))
        })
        .collect();
    // SQLite takes at most 127 arguments per function: a wide row is merged from several
    // objects (a key json_patch drops for its null value reads as NULL all the same).
    let object = fields
        .chunks(60)
        .map(|chunk| format!("json_object({})", chunk.join(", ")))
        .reduce(|merged, next| format!("json_patch({merged}, {next})"))
        .unwrap_or_else(|| "json_object()".into());
    let select = format!(
        "SELECT json_group_array({object}) AS rows, max(copy_rowid) AS last \
         FROM (SELECT rowid AS copy_rowid, * FROM {} WHERE rowid > ? ORDER BY rowid LIMIT ?)",
        quoted(table)
    );
    let insert = format!(
        "INSERT INTO {t} SELECT * FROM json_populate_recordset(NULL::{t}, $1::json)",
        t = quoted(table)
    );
    let mut after = i64::MIN;
    loop {
        let batch = diesel::sql_query(&select)
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(BATCH_ROWS)
            .get_result::<Batch>(source)
            .with_context(|| format!("lecture de la table {table} dans SQLite"))?;
        let Some(last) = batch.last else {
            return Ok(());
        };
        diesel::sql_query(&insert)
            .bind::<Text, _>(&batch.rows)
            .execute(target)
            .with_context(|| format!("écriture de la table {table} dans PostgreSQL"))?;
        after = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn refs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect()
    }

    #[test]
    fn parents_come_before_the_tables_that_reference_them() {
        let order = parents_first(
            &names(&["associations", "cohorts", "dlas", "participants", "users"]),
            &refs(&[
                ("participants", "associations"),
                ("associations", "cohorts"),
                ("cohorts", "dlas"),
                ("users", "dlas"),
            ]),
        )
        .unwrap();
        assert_eq!(
            order,
            names(&["dlas", "cohorts", "associations", "participants", "users"])
        );
    }

    #[test]
    fn a_reference_to_itself_or_to_a_table_not_copied_does_not_block() {
        let order = parents_first(
            &names(&["b", "a"]),
            &refs(&[("a", "a"), ("b", "elsewhere"), ("a", "b")]),
        )
        .unwrap();
        assert_eq!(order, names(&["b", "a"]));
    }

    #[test]
    fn a_cycle_of_foreign_keys_is_refused() {
        let e =
            parents_first(&names(&["a", "b", "c"]), &refs(&[("a", "b"), ("b", "a")])).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn a_count_that_differs_stops_the_copy() {
        let same = Copied {
            table: "dlas".into(),
            source: 3,
            target: 3,
        };
        assert!(check(&same).is_ok());
        let e = check(&Copied { target: 2, ..same }).unwrap_err();
        assert!(e.to_string().starts_with("dlas : 3 → 2"), "{e}");
    }

    #[test]
    fn a_missing_source_is_refused_before_anything_is_opened() {
        let e = copy(
            "/nonexistent/cohorte.sqlite3",
            "postgres://nobody@127.0.0.1:1/none",
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("n'existe pas"), "{e}");
        assert!(!Path::new("/nonexistent/cohorte.sqlite3").exists());
    }

    #[test]
    fn the_target_must_be_postgresql_and_the_source_sqlite() {
        let e = copy("a.sqlite3", "b.sqlite3", &mut |_| {}).unwrap_err();
        assert!(e.to_string().starts_with("--to attend"), "{e}");
        let e = copy("postgres://x@h/db", "postgres://x@h/db2", &mut |_| {}).unwrap_err();
        assert!(e.to_string().starts_with("--from attend"), "{e}");
    }
}
