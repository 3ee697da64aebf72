//! `/me`: who the bearer token belongs to.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::web::actor::Actor;
use crate::web::api::ApiResult;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/me", web::get().to(me));
}

/// The account a token acts for.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    /// `admin`, `officer` (chargé·e de mission) or `consultant`.
    pub role: String,
    /// The DLA of a chargé·e de mission.
    pub dla_id: Option<String>,
    /// The consultant record of a consultant·e.
    pub consultant_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "Compte",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(actor: Actor) -> ApiResult {
    let staff = actor.staff().ok_or_else(|| {
        AppError::Unauthorized(
            "Authentification requise : envoyez un jeton d'API dans l'en-tête « Authorization: Bearer … ».".into(),
        )
    })?;
    Ok(HttpResponse::Ok().json(Me {
        id: staff.user_id.clone(),
        email: staff.email.clone(),
        name: staff.name.clone(),
        role: staff.role.as_str().to_string(),
        dla_id: staff.dla_id.clone(),
        consultant_id: staff.consultant_id.clone(),
    }))
}
