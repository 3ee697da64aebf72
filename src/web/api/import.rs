//! `POST /cohorts/{id}/import`: the list import (`models::import`) through the API — the
//! text as pasted or as a CSV file's content, checked (`dry_run`) or saved, all or nothing.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::import;
use crate::error::{AppError, ErrorBody};
use crate::models::import::{Imported, Outcome, Preview};
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::Json;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/import", web::post().to(import_list));
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ImportRequest {
    /// The rows with their header line: tab-separated (pasted from a spreadsheet) or CSV
    /// with `;` or `,`, one row per participant (see « Importer une liste » in the user
    /// guide for the columns).
    pub text: String,
    /// Check only: answer the preview (200), save nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/import", tag = "Associations", request_body = ImportRequest,
    description = "Imports associations and their participant·es from a list, all or nothing. With `dry_run` the preview is answered (every row with its `errors`, `general` for the list's own problems such as the cap) and nothing is saved; otherwise a list with any problem is refused with 422, each message under `rows[i].field` (i from 0 in the rows read) or `text`.",
    responses(
        (status = 200, body = Preview, description = "Dry run: the preview."),
        (status = 201, body = Imported, description = "Saved: what was imported."),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "cohort_full: the cohort filled while saving"),
        (status = 422, body = ErrorBody, description = "The list cannot be read or has problems: nothing saved")))]
pub async fn import_list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<ImportRequest>,
) -> ApiResult {
    let id = path.into_inner();
    let body = body.into_inner();
    let table = import::parse(&body.text).map_err(|m| AppError::field("text", m))?;
    if body.dry_run {
        let preview = crate::db::run(&state.pool, move |c| {
            crate::models::import::preview(c, &id, &table)
        })
        .await?;
        return Ok(HttpResponse::Ok().json(preview));
    }
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let outcome = state
        .write(move |c| crate::models::import::save(c, &id, &table, "API", &template, am))
        .await?;
    match outcome {
        Outcome::Saved(done) => Ok(HttpResponse::Created().json(done)),
        Outcome::Refused(preview) => Err(preview.to_error()),
    }
}
