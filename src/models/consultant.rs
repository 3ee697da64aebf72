//! Consultant·e (cabinet conseil) hired by the DLA to run a cohort.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::Conn;
use crate::db::schema::consultants;
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id, now};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = consultants)]
pub struct Consultant {
    pub id: String,
    pub name: String,
    pub firm: String,
    pub email: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
    /// Raised by every change; send it back to update (409 when stale).
    pub version: i32,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConsultantInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub firm: String,
    #[serde(default, deserialize_with = "lenient")]
    pub email: String,
    /// The version read before editing (required by `PUT`; ignored on creation).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

struct Values {
    name: String,
    firm: String,
    email: String,
}

impl ConsultantInput {
    fn check(&self) -> Result<Values, AppError> {
        let mut c = Check::new();
        let v = Values {
            name: c.required("name", &self.name, 150),
            firm: c.text("firm", &self.firm, 150),
            email: c.email("email", &self.email),
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
            version: x.version.to_string(),
        }
    }
}

pub fn list(conn: &mut Conn) -> Result<Vec<Consultant>, AppError> {
    Ok(consultants::table
        .order(consultants::name.asc())
        .select(Consultant::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Consultant, AppError> {
    consultants::table
        .find(id)
        .select(Consultant::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Consultant·e"))
}

pub fn create(conn: &mut Conn, input: &ConsultantInput) -> Result<Consultant, AppError> {
    let v = input.check()?;
    let t = now();
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
        .execute(conn)?;
    get(conn, &id)
}

pub fn update(conn: &mut Conn, id: &str, input: &ConsultantInput) -> Result<Consultant, AppError> {
    crate::db::write_tx(conn, |conn| {
        let v = input.check()?;
        let current = get(conn, id)?;
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
            consultants::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(crate::models::stale(changed));
        }
        get(conn, id)
    })
}
