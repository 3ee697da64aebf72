//! DLA (Dispositif Local d'Accompagnement): owns cohorts, may be partner of others.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::dlas;
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = dlas)]
pub struct Dla {
    pub id: String,
    pub name: String,
    /// Department or region, e.g. « Gironde (33) » or « Nouvelle-Aquitaine ».
    pub area: String,
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
    /// The DLA's contact address (may be empty): replies to a cohort's emails, and the
    /// invites' « Accepter », reach it when the cohort names no chargé·e de mission.
    pub email: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct DlaInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub area: String,
    /// Optional contact address.
    #[serde(default, deserialize_with = "lenient")]
    pub email: String,
    /// The version read before editing (required by `PUT`; ignored on creation).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl DlaInput {
    /// Name, area and contact address (empty when none), checked.
    pub fn check(&self) -> Result<(String, String, String), AppError> {
        let mut c = Check::new();
        let name = c.required("name", &self.name, 150);
        let area = c.required("area", &self.area, 150);
        let email = if self.email.trim().is_empty() {
            String::new()
        } else {
            c.email("email", &self.email)
        };
        c.finish()?;
        Ok((name, area, email))
    }
}

impl From<&Dla> for DlaInput {
    fn from(d: &Dla) -> Self {
        DlaInput {
            name: d.name.clone(),
            area: d.area.clone(),
            email: d.email.clone(),
            version: d.version.to_string(),
        }
    }
}

pub fn list(conn: &mut Conn) -> Result<Vec<Dla>, AppError> {
    Ok(dlas::table
        .order(dlas::name.asc())
        .select(Dla::as_select())
        .load(conn)?)
}

/// The DLAs of `dla_scope` (`None`: every DLA).
fn visible(dla_scope: Option<&[String]>) -> dlas::BoxedQuery<'static, crate::db::Backend> {
    let query = dlas::table.into_boxed();
    match dla_scope {
        None => query,
        Some(ids) => query.filter(in_list(dlas::id, ids)),
    }
}

/// The DLAs of `dla_scope` (`None`: all), by name and id, `limit` from `offset`: the DLA
/// page, the scope in the `WHERE`.
pub fn list_visible(
    conn: &mut Conn,
    dla_scope: Option<&[String]>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Dla>, AppError> {
    Ok(visible(dla_scope)
        .order((dlas::name.asc(), dlas::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(Dla::as_select())
        .load(conn)?)
}

pub fn count_visible(conn: &mut Conn, dla_scope: Option<&[String]>) -> Result<i64, AppError> {
    Ok(visible(dla_scope).count().get_result(conn)?)
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Dla, AppError> {
    dlas::table
        .find(id)
        .select(Dla::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("DLA"))
}

pub fn create(tx: &mut Tx, input: &DlaInput) -> Result<Dla, AppError> {
    let (name, area, email) = input.check()?;
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(dlas::table)
        .values((
            dlas::id.eq(&id),
            dlas::name.eq(name),
            dlas::area.eq(area),
            dlas::email.eq(email),
            dlas::created_at.eq(t),
            dlas::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    get(tx, &id)
}

pub fn update(tx: &mut Tx, id: &str, input: &DlaInput) -> Result<Dla, AppError> {
    update_in_tx(tx, id, input)
}

fn update_in_tx(tx: &mut Tx, id: &str, input: &DlaInput) -> Result<Dla, AppError> {
    let (name, area, email) = input.check()?;
    let current = get(tx, id)?;
    crate::models::check_version(&input.version, current.version, "Le DLA a été modifié")?;
    // The version is part of the condition: a change made since the read is never
    // overwritten, whatever the backend's isolation.
    let changed = diesel::update(
        dlas::table
            .find(id)
            .filter(dlas::version.eq(current.version)),
    )
    .set((
        dlas::name.eq(name),
        dlas::area.eq(area),
        dlas::email.eq(email),
        dlas::version.eq(current.version + 1),
        dlas::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    if changed == 0 {
        return Err(crate::models::stale("Le DLA a été modifié"));
    }
    // Its name (and address) is in every email of its cohorts: rebuild those not sent yet.
    use crate::db::schema::cohorts;
    let owned: Vec<String> = cohorts::table
        .filter(cohorts::dla_id.eq(id))
        .select(cohorts::id)
        .load(tx.conn())?;
    for cohort_id in owned {
        crate::models::planner::touch(tx, &cohort_id)?;
    }
    get(tx, id)
}
