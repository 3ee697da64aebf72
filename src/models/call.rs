//! A cohort's call for applications (issue #14, table `calls`): its public link, closing
//! date, presentation and optional information meeting.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::Conn;
use crate::db::schema::calls;
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = calls, primary_key(cohort_id))]
pub struct Call {
    pub cohort_id: String,
    /// The public link's secret; `None` while the link is revoked.
    #[serde(skip)]
    pub token: Option<String>,
    /// Last day applications are accepted, until midnight in Europe/Paris.
    pub closes_on: NaiveDate,
    pub presentation: String,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub meeting_starts_at: Option<NaiveDateTime>,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub meeting_ends_at: Option<NaiveDateTime>,
    pub meeting_location: String,
    pub meeting_video_link: String,
    /// The information meeting invite's SEQUENCE.
    pub meeting_sequence: i32,
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

/// The cohort's call, if one was opened.
pub fn for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Option<Call>, AppError> {
    Ok(calls::table
        .find(cohort_id)
        .select(Call::as_select())
        .first(conn)
        .optional()?)
}
