//! `/outbox/status`: how sending is going across the instance, for monitoring
//! (administrators only, `web::access`). A cohort's own emails are under
//! `/cohorts/{id}/outbox` (`web::api::cohorts`).

use actix_web::{HttpResponse, web};

use crate::models::outbox_status::{self, SendingStatus, Watch};
use crate::web::AppState;
use crate::web::api::ApiResult;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/outbox/status", web::get().to(status));
}

/// How sending is going (administrators only).
///
/// Read at the moment of the call, over every cohort: the emails still to send whose
/// planned time has come (`due`), those among them that nothing has sent for
/// `late_after_minutes` (`late`) or that wait for a retry after a failed attempt
/// (`retrying`), the oldest of them with how late it is, and the emails that failed or
/// were sent within the last hour. The staff pages show a banner while `late` or
/// `retrying` emails exist in the person's cohorts.
#[utoipa::path(get, path = "/api/v1/outbox/status", tag = "Envois",
    responses((status = 200, body = SendingStatus, description = "The sending status now")))]
pub async fn status(state: web::Data<AppState>) -> ApiResult {
    let watch = Watch::new(state.clock.now(), state.config.mail.late_after());
    let status = crate::db::run(&state.pool, move |c| {
        outbox_status::sending_status(c, watch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(status))
}
