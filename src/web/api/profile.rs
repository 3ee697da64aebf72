//! `/associations/{id}/profile/{stage}`: the socio-economic model, as JSON.
//!
//! `stage` is `etat_des_lieux` or `cible`. The body of a PUT is the form's flat fields
//! (`models::profile_form`), numbers accepted as text; the answer is the stored snapshot
//! with its indicators.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::domain::profile::{Indicators, indicators};
use crate::error::{AppError, ErrorBody};
use crate::models::profile::{self, StoredProfile};
use crate::models::profile_form::ProfileInput;
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::Patch;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route(
        "/associations/{id}/profile/{stage}",
        web::get().to(get_profile),
    )
    .route(
        "/associations/{id}/profile/{stage}",
        web::put().to(put_profile),
    );
}

/// A stored snapshot (version 0 and an empty profile when nothing is stored) and its
/// indicators: shares per family in basis points, largest funder, resource types…
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfileAnswer {
    #[serde(flatten)]
    pub stored: StoredProfile,
    #[schema(value_type = Object)]
    pub indicators: Indicators,
}

fn answer(stored: StoredProfile) -> ProfileAnswer {
    ProfileAnswer {
        indicators: indicators(&stored.profile),
        stored,
    }
}

#[utoipa::path(get, path = "/api/v1/associations/{id}/profile/{stage}", tag = "Modèle socio-économique",
    params(("id" = String, Path), ("stage" = String, Path, description = "etat_des_lieux ou cible")),
    responses((status = 200, body = ProfileAnswer), (status = 404, body = ErrorBody)))]
pub async fn get_profile(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (id, stage) = path.into_inner();
    let stored = crate::db::run(&state.pool, move |c| profile::get(c, &id, &stage)).await?;
    Ok(HttpResponse::Ok().json(answer(stored)))
}

/// Replaces the snapshot of the stage. Fields as the form posts them: `employees_fte`
/// « 3,5 », `resource_<code>` « 12 500,50 », `alliance_<i>_partner|actor_kind|nature`,
/// `das_<i>_name|share|notes`… and `version` (« 0 » for a first save; required). Fields
/// left out keep their stored value; an empty text empties a field; unknown fields → 422.
/// 422 with a French message per field; 409 when the version is stale.
#[utoipa::path(put, path = "/api/v1/associations/{id}/profile/{stage}", tag = "Modèle socio-économique",
    params(("id" = String, Path), ("stage" = String, Path, description = "etat_des_lieux ou cible")),
    request_body = ProfileInput,
    responses((status = 200, body = ProfileAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_profile(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Patch<ProfileInput>,
) -> ApiResult {
    let (id, stage) = path.into_inner();
    let stored = state
        .write(move |c| {
            // An unknown stage or association answers 404 before the body is judged.
            let current = profile::get(c, &id, &stage)?;
            let input = body.apply(
                &ProfileInput::from_profile(&current.profile, current.version),
                &current,
            )?;
            let unknown: crate::error::FieldErrors = input
                .unknown_keys()
                .into_iter()
                .map(|k| {
                    (
                        k.to_string(),
                        "Champ inconnu du modèle socio-économique : retirez-le.".to_string(),
                    )
                })
                .collect();
            if !unknown.is_empty() {
                return Err(AppError::validation(unknown));
            }
            let p = input.parse().map_err(AppError::validation)?;
            profile::save(c, &id, &stage, &p, input.version(), "l'équipe")
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer(stored)))
}
