//! Pistes d'actions of an association (`action_leads`): what it means to try after a
//! session (text, who carries it, by when), with the session it came out of. They show on
//! the session log, on the association's page, in its comptes rendus and at its bilan.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::action_leads;
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::{association, check_updated, check_version, session};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = action_leads)]
pub struct ActionLead {
    pub id: String,
    pub cohort_id: String,
    pub association_id: String,
    /// The session it came out of, if any.
    pub session_id: Option<String>,
    pub text: String,
    /// Who carries it, free text: « la directrice », « le bureau ».
    pub owner: String,
    pub due_date: Option<NaiveDate>,
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

/// A piste d'actions as typed. `due_date` is `AAAA-MM-JJ` or `JJ/MM/AAAA`, empty for none;
/// `session_id` empty for none (it must be a session of the association's cohort that
/// concerns it); `version` is the one read (empty: no check).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ActionLeadInput {
    #[serde(default, deserialize_with = "lenient")]
    pub text: String,
    #[serde(default, deserialize_with = "lenient")]
    pub owner: String,
    #[serde(default, deserialize_with = "lenient")]
    pub due_date: String,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<&ActionLead> for ActionLeadInput {
    fn from(l: &ActionLead) -> Self {
        ActionLeadInput {
            text: l.text.clone(),
            owner: l.owner.clone(),
            due_date: l
                .due_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            session_id: l.session_id.clone().unwrap_or_default(),
            version: l.version.to_string(),
        }
    }
}

struct Values {
    text: String,
    owner: String,
    due_date: Option<NaiveDate>,
    session_id: Option<String>,
}

impl ActionLeadInput {
    fn check(&self, conn: &mut Conn, a: &association::Association) -> Result<Values, AppError> {
        let mut c = Check::new();
        let text = c.required("text", &self.text, 1_000);
        let owner = c.text("owner", &self.owner, 200);
        let due_date = if self.due_date.trim().is_empty() {
            None
        } else {
            c.date("due_date", &self.due_date)
        };
        let session_id = match self.session_id.trim() {
            "" => None,
            sid => match session::get(conn, sid) {
                Ok(s)
                    if s.cohort_id == a.cohort_id
                        && s.association_id.as_ref().is_none_or(|x| x == &a.id) =>
                {
                    Some(s.id)
                }
                _ => {
                    c.add(
                        "session_id",
                        "Cette séance ne concerne pas l'association dans sa cohorte.",
                    );
                    None
                }
            },
        };
        c.finish()?;
        Ok(Values {
            text,
            owner,
            due_date,
            session_id,
        })
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<ActionLead, AppError> {
    action_leads::table
        .find(id)
        .select(ActionLead::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Piste d'actions"))
}

/// Oldest first: the order they came out of the sessions.
pub fn list_for_association(
    conn: &mut Conn,
    association_id: &str,
) -> Result<Vec<ActionLead>, AppError> {
    Ok(action_leads::table
        .filter(action_leads::association_id.eq(association_id))
        .order((action_leads::created_at.asc(), action_leads::id.asc()))
        .select(ActionLead::as_select())
        .load(conn)?)
}

pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<ActionLead>, AppError> {
    Ok(action_leads::table
        .filter(action_leads::cohort_id.eq(cohort_id))
        .order((action_leads::created_at.asc(), action_leads::id.asc()))
        .select(ActionLead::as_select())
        .load(conn)?)
}

pub fn list_for_session(conn: &mut Conn, session_id: &str) -> Result<Vec<ActionLead>, AppError> {
    Ok(action_leads::table
        .filter(action_leads::session_id.eq(session_id))
        .order((action_leads::created_at.asc(), action_leads::id.asc()))
        .select(ActionLead::as_select())
        .load(conn)?)
}

/// Adds a piste d'actions to an association (and the session it came out of, if given).
pub fn create(
    tx: &mut Tx,
    association_id: &str,
    input: &ActionLeadInput,
) -> Result<ActionLead, AppError> {
    let a = association::get(tx, association_id)?;
    let v = input.check(tx, &a)?;
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(action_leads::table)
        .values((
            action_leads::id.eq(&id),
            action_leads::cohort_id.eq(&a.cohort_id),
            action_leads::association_id.eq(&a.id),
            action_leads::session_id.eq(&v.session_id),
            action_leads::text.eq(&v.text),
            action_leads::owner.eq(&v.owner),
            action_leads::due_date.eq(v.due_date),
            action_leads::version.eq(1),
            action_leads::created_at.eq(t),
            action_leads::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    get(tx, &id)
}

/// Edits a piste d'actions; refused (409) when it changed since `input.version` was read.
/// An empty `session_id` keeps the session it came out of.
pub fn update(tx: &mut Tx, id: &str, input: &ActionLeadInput) -> Result<ActionLead, AppError> {
    let current = get(tx, id)?;
    let a = association::get(tx, &current.association_id)?;
    let v = input.check(tx, &a)?;
    check_version(
        &input.version,
        current.version,
        "La piste d'actions a été modifiée",
    )?;
    let n = diesel::update(
        action_leads::table
            .find(id)
            .filter(action_leads::version.eq(current.version)),
    )
    .set((
        action_leads::session_id.eq(v.session_id.or(current.session_id)),
        action_leads::text.eq(&v.text),
        action_leads::owner.eq(&v.owner),
        action_leads::due_date.eq(v.due_date),
        action_leads::version.eq(current.version + 1),
        action_leads::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    check_updated(n, "La piste d'actions a été modifiée")?;
    get(tx, id)
}

pub fn delete(tx: &mut Tx, id: &str) -> Result<ActionLead, AppError> {
    let l = get(tx, id)?;
    diesel::delete(action_leads::table.find(id)).execute(tx.conn())?;
    Ok(l)
}
