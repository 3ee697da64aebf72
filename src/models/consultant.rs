//! Consultant·e (cabinet conseil) hired by the DLA to run a cohort, and the DLAs the
//! record belongs to (`consultant_dlas`): administrators see every record, a chargé·e de
//! mission only those of their DLA (see `web::access`, `Rule::ConsultantRecord`). A record
//! with no DLA is for administrators only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::{consultant_dlas, consultants, dlas};
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = consultants)]
pub struct Consultant {
    pub id: String,
    pub name: String,
    pub firm: String,
    pub email: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    /// Raised by every change; send it back to update (409 when stale).
    pub version: i32,
}

/// A record with the DLAs it belongs to, as the API returns it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConsultantRecord {
    #[serde(flatten)]
    pub consultant: Consultant,
    /// The DLAs whose chargé·es de mission see and change the record; empty: administrators
    /// only.
    pub dla_ids: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConsultantInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub firm: String,
    #[serde(default, deserialize_with = "lenient")]
    pub email: String,
    /// The DLAs the record belongs to. Administrators choose them (none: administrators
    /// only); a chargé·e de mission's new record belongs to their DLA and only an
    /// administrator changes the list. Absent: no DLA for a new record, unchanged for a
    /// change.
    #[serde(default)]
    pub dla_ids: Option<Vec<String>>,
    /// The version read before editing (required by `PUT`; ignored on creation).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

struct Values {
    name: String,
    firm: String,
    email: String,
    /// `None`: keep the stored list.
    dla_ids: Option<Vec<String>>,
}

impl ConsultantInput {
    fn check(&self, conn: &mut Conn) -> Result<Values, AppError> {
        let mut c = Check::new();
        let v = Values {
            name: c.required("name", &self.name, 150),
            firm: c.text("firm", &self.firm, 150),
            email: c.email("email", &self.email),
            dla_ids: match &self.dla_ids {
                None => None,
                Some(ids) => {
                    let mut kept: Vec<String> = ids
                        .iter()
                        .map(|d| d.trim().to_string())
                        .filter(|d| !d.is_empty())
                        .collect();
                    kept.sort();
                    kept.dedup();
                    let known: i64 = dlas::table
                        .filter(in_list(dlas::id, &kept))
                        .count()
                        .get_result(conn)?;
                    if known != kept.len() as i64 {
                        c.add("dla_ids", "Un des DLA choisis n'existe pas.");
                    }
                    Some(kept)
                }
            },
        };
        c.finish()?;
        Ok(v)
    }
}

impl From<&Consultant> for ConsultantInput {
    fn from(x: &Consultant) -> Self {
        ConsultantInput {
            name: x.name.clone(),
            firm: x.firm.clone(),
            email: x.email.clone(),
            dla_ids: None,
            version: x.version.to_string(),
        }
    }
}

impl From<&ConsultantRecord> for ConsultantInput {
    fn from(x: &ConsultantRecord) -> Self {
        ConsultantInput {
            dla_ids: Some(x.dla_ids.clone()),
            ..ConsultantInput::from(&x.consultant)
        }
    }
}

/// Every record, by name (administration: accounts).
pub fn list(conn: &mut Conn) -> Result<Vec<Consultant>, AppError> {
    Ok(consultants::table
        .order(consultants::name.asc())
        .select(Consultant::as_select())
        .load(conn)?)
}

/// The records of `dla_scope`'s DLAs (`None`: every record), by name.
fn visible(dla_scope: Option<&[String]>) -> consultants::BoxedQuery<'static, crate::db::Backend> {
    let query = consultants::table.into_boxed();
    match dla_scope {
        None => query,
        Some(ids) => query.filter(
            consultants::id.eq_any(
                consultant_dlas::table
                    .filter(in_list(consultant_dlas::dla_id, ids))
                    .select(consultant_dlas::consultant_id),
            ),
        ),
    }
}

/// The records of `dla_scope`'s DLAs (`None`: all), by name, `limit` from `offset`.
pub fn list_visible(
    conn: &mut Conn,
    dla_scope: Option<&[String]>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ConsultantRecord>, AppError> {
    let rows: Vec<Consultant> = visible(dla_scope)
        .order((consultants::name.asc(), consultants::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(Consultant::as_select())
        .load(conn)?;
    with_dlas(conn, rows)
}

pub fn count_visible(conn: &mut Conn, dla_scope: Option<&[String]>) -> Result<i64, AppError> {
    Ok(visible(dla_scope).count().get_result(conn)?)
}

/// Whether the record exists and belongs to one of `dla_scope`'s DLAs (`None`: any).
pub fn is_visible(
    conn: &mut Conn,
    dla_scope: Option<&[String]>,
    id: &str,
) -> Result<bool, AppError> {
    let n: i64 = visible(dla_scope)
        .filter(consultants::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The records someone may assign to a cohort: those of `dla_scope` and, when editing,
/// the one already assigned (kept even when it is not theirs).
pub fn assignable(
    conn: &mut Conn,
    dla_scope: Option<&[String]>,
    assigned: Option<&str>,
) -> Result<Vec<Consultant>, AppError> {
    let mut rows: Vec<Consultant> = visible(dla_scope)
        .order(consultants::name.asc())
        .select(Consultant::as_select())
        .load(conn)?;
    if let Some(id) = assigned
        && !rows.iter().any(|r| r.id == id)
        && let Ok(current) = get(conn, id)
    {
        rows.push(current);
        rows.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(rows)
}

/// Refuses to assign to a cohort a record the person may not see. The record already
/// assigned may stay (a partner DLA edits the cohort without owning its consultant·e).
/// The same answer whether the record exists or not, so ids cannot be probed.
pub fn check_assignable(
    conn: &mut Conn,
    dla_scope: Option<&[String]>,
    assigned: Option<&str>,
    chosen: &str,
) -> Result<(), AppError> {
    let chosen = chosen.trim();
    if chosen.is_empty() || dla_scope.is_none() || Some(chosen) == assigned {
        return Ok(());
    }
    if is_visible(conn, dla_scope, chosen)? {
        Ok(())
    } else {
        Err(AppError::field(
            "consultant_id",
            "Cette fiche consultant·e n'appartient pas à votre DLA : choisissez-en une dans la liste.",
        ))
    }
}

/// The DLAs a record belongs to, sorted.
pub fn dla_ids(conn: &mut Conn, id: &str) -> Result<Vec<String>, AppError> {
    Ok(consultant_dlas::table
        .filter(consultant_dlas::consultant_id.eq(id))
        .order(consultant_dlas::dla_id.asc())
        .select(consultant_dlas::dla_id)
        .load(conn)?)
}

fn with_dlas(conn: &mut Conn, rows: Vec<Consultant>) -> Result<Vec<ConsultantRecord>, AppError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let links: Vec<(String, String)> = consultant_dlas::table
        .filter(in_list(consultant_dlas::consultant_id, ids))
        .order(consultant_dlas::dla_id.asc())
        .select((consultant_dlas::consultant_id, consultant_dlas::dla_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|consultant| ConsultantRecord {
            dla_ids: links
                .iter()
                .filter(|(k, _)| *k == consultant.id)
                .map(|(_, d)| d.clone())
                .collect(),
            consultant,
        })
        .collect())
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Consultant, AppError> {
    consultants::table
        .find(id)
        .select(Consultant::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Consultant·e"))
}

/// The record with its DLAs.
pub fn record(conn: &mut Conn, id: &str) -> Result<ConsultantRecord, AppError> {
    let consultant = get(conn, id)?;
    Ok(ConsultantRecord {
        dla_ids: dla_ids(conn, id)?,
        consultant,
    })
}

fn set_dlas(tx: &mut Tx, id: &str, dla_ids: &[String]) -> Result<(), AppError> {
    diesel::delete(consultant_dlas::table.filter(consultant_dlas::consultant_id.eq(id)))
        .execute(tx.conn())?;
    for d in dla_ids {
        diesel::insert_into(consultant_dlas::table)
            .values((
                consultant_dlas::consultant_id.eq(id),
                consultant_dlas::dla_id.eq(d),
            ))
            .execute(tx.conn())?;
    }
    Ok(())
}

/// Creates a record belonging to `input.dla_ids` (who may choose them is decided by the
/// caller: `Actor::consultant_dlas`).
pub fn create(tx: &mut Tx, input: &ConsultantInput) -> Result<ConsultantRecord, AppError> {
    let v = input.check(tx)?;
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(consultants::table)
        .values((
            consultants::id.eq(&id),
            consultants::name.eq(v.name),
            consultants::firm.eq(v.firm),
            consultants::email.eq(v.email),
            consultants::created_at.eq(t),
            consultants::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    set_dlas(tx, &id, v.dla_ids.as_deref().unwrap_or_default())?;
    record(tx, &id)
}

/// Changes a record; its DLAs only when `input.dla_ids` is given.
pub fn update(
    tx: &mut Tx,
    id: &str,
    input: &ConsultantInput,
) -> Result<ConsultantRecord, AppError> {
    let current = get(tx, id)?;
    let v = input.check(tx)?;
    let changed = "La fiche consultant·e a été modifiée";
    crate::models::check_version(&input.version, current.version, changed)?;
    // Conditional on the version read: never overwrites a change made since.
    let n = diesel::update(
        consultants::table
            .find(id)
            .filter(consultants::version.eq(current.version)),
    )
    .set((
        consultants::name.eq(v.name),
        consultants::firm.eq(v.firm),
        consultants::email.eq(v.email),
        consultants::version.eq(current.version + 1),
        consultants::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    if n == 0 {
        return Err(crate::models::stale(changed));
    }
    if let Some(ids) = &v.dla_ids {
        set_dlas(tx, id, ids)?;
    }
    record(tx, id)
}
