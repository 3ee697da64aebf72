//! Applications to a cohort's call (issue #14, table `applications`): what an association
//! typed on the public form (`models::call` receives it), and the staff's decisions on it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::Conn;
use crate::db::schema::applications;
use crate::domain::application::Status;
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: String,
    pub cohort_id: String,
    /// SHA-256 of the private link's secret; never shown.
    #[serde(skip)]
    pub edit_token_hash: String,
    /// `recue`, `retenue`, `attente`, `non_retenue` or `desistee`.
    pub status: String,
    pub name: String,
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub town: String,
    pub creation_date: Option<NaiveDate>,
    pub creation_year: Option<i32>,
    pub salaried_staff: Option<i32>,
    /// Full-time equivalents in hundredths (2,5 ETP = 250).
    pub fte_hundredths: Option<i32>,
    pub volunteers: Option<i32>,
    pub sector: String,
    pub general_interest: bool,
    pub director_name: String,
    pub director_function: String,
    pub director_email: String,
    pub board_name: String,
    pub board_function: String,
    pub board_email: String,
    pub motivation: String,
    pub available_all: bool,
    pub availability_note: String,
    pub consent_data: bool,
    pub consent_named: bool,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub submitted_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: String,
    /// The enrolled association it became.
    pub association_id: Option<String>,
    pub version: i32,
}

impl Application {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Received)
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Application, AppError> {
    Ok(applications::table
        .find(id)
        .select(Application::as_select())
        .first(conn)?)
}
