//! A DLA's places (issue #17): where its sessions happen, by name and address. A session
//! picks one of its cohort's DLA's places (`sessions.place_id`) or keeps free text in
//! `location`. A place is archived, never deleted: the sessions that used it keep it, new
//! ones no longer offer it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::places;
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::{audit, check_updated, check_version};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = places)]
pub struct Place {
    pub id: String,
    pub dla_id: String,
    pub name: String,
    /// The full address, as put in the invites (may be empty).
    pub address: String,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub archived_at: Option<NaiveDateTime>,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

impl Place {
    /// What a session's invites and pages say of it: « Maison des associations, 12 rue
    /// Sainte-Catherine, Bordeaux ».
    pub fn location(&self) -> String {
        if self.address.is_empty() {
            self.name.clone()
        } else {
            format!("{}, {}", self.name, self.address)
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PlaceInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub address: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl PlaceInput {
    fn check(&self) -> Result<(String, String), AppError> {
        let mut c = Check::new();
        let name = c.required("name", &self.name, 150);
        let address = c.text("address", &self.address, 300);
        c.finish()?;
        Ok((name, address))
    }
}

impl From<&Place> for PlaceInput {
    fn from(p: &Place) -> Self {
        PlaceInput {
            name: p.name.clone(),
            address: p.address.clone(),
            version: p.version.to_string(),
        }
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Place, AppError> {
    places::table
        .find(id)
        .select(Place::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Lieu"))
}

/// The DLA's places, in use first then archived, by name.
pub fn list_for_dla(conn: &mut Conn, dla_id: &str) -> Result<Vec<Place>, AppError> {
    let mut rows: Vec<Place> = places::table
        .filter(places::dla_id.eq(dla_id))
        .order((places::name.asc(), places::id.asc()))
        .select(Place::as_select())
        .load(conn)?;
    rows.sort_by_key(|p| p.archived_at.is_some());
    Ok(rows)
}

/// The places a session of a cohort of `dla_id` may pick: the DLA's, not archived, and
/// `keep` (the session's current one, even archived).
pub fn choices(conn: &mut Conn, dla_id: &str, keep: Option<&str>) -> Result<Vec<Place>, AppError> {
    Ok(list_for_dla(conn, dla_id)?
        .into_iter()
        .filter(|p| p.archived_at.is_none() || Some(p.id.as_str()) == keep)
        .collect())
}

/// Checks a session's `place_id` (trimmed; empty = none) for a cohort of `dla_id`: one of
/// the DLA's places, not archived unless it is the session's `current` one.
pub fn check_choice(
    conn: &mut Conn,
    c: &mut Check,
    dla_id: &str,
    value: &str,
    current: Option<&str>,
) -> Result<Option<Place>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let found = places::table
        .find(value)
        .select(Place::as_select())
        .first(conn)
        .optional()?;
    match found {
        Some(p) if p.dla_id == dla_id && (p.archived_at.is_none() || current == Some(value)) => {
            Ok(Some(p))
        }
        Some(p) if p.dla_id == dla_id => {
            c.add("place_id", "Ce lieu est archivé : choisissez-en un autre.");
            Ok(None)
        }
        _ => {
            c.add("place_id", "Choisissez un lieu de la liste du DLA.");
            Ok(None)
        }
    }
}

pub fn create(tx: &mut Tx, dla_id: &str, input: &PlaceInput) -> Result<Place, AppError> {
    crate::models::dla::get(tx, dla_id)?;
    let (name, address) = input.check()?;
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(places::table)
        .values((
            places::id.eq(&id),
            places::dla_id.eq(dla_id),
            places::name.eq(name),
            places::address.eq(address),
            places::version.eq(1),
            places::created_at.eq(t),
            places::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    let created = get(tx, &id)?;
    audit::created(tx, "place", &id, None, &created)?;
    Ok(created)
}

pub fn update(tx: &mut Tx, id: &str, input: &PlaceInput) -> Result<Place, AppError> {
    let (name, address) = input.check()?;
    let current = get(tx, id)?;
    check_version(&input.version, current.version, "Le lieu a été modifié")?;
    let n = diesel::update(
        places::table
            .find(id)
            .filter(places::version.eq(current.version)),
    )
    .set((
        places::name.eq(name),
        places::address.eq(address),
        places::version.eq(current.version + 1),
        places::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    check_updated(n, "Le lieu a été modifié")?;
    let updated = get(tx, id)?;
    audit::updated(tx, "place", id, None, &current, &updated)?;
    Ok(updated)
}

/// Archives the place (`archived = true`) or brings it back.
pub fn set_archived(tx: &mut Tx, id: &str, archived: bool) -> Result<Place, AppError> {
    let current = get(tx, id)?;
    let at = archived.then(|| tx.now_naive());
    diesel::update(places::table.find(id))
        .set((
            places::archived_at.eq(at),
            places::version.eq(current.version + 1),
            places::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    let updated = get(tx, id)?;
    audit::updated(tx, "place", id, None, &current, &updated)?;
    Ok(updated)
}
