//! The applications to a cohort's call, staff side (issue #14): the list with each one's
//! eligibility (paged, filtered by status), one application, a decision (with its email,
//! refused with 409 `cohort_full` beyond the cap) and the enrolment of a retained one.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::application::Status;
use crate::error::{AppError, ErrorBody};
use crate::models::application::{self, Decided, DecisionInput, Enrolled, Reviewed};
use crate::models::cohort;
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::api::ApiResult;
use crate::web::api::body::Json;
use crate::web::api::paging::{self, Page, PageQuery};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/applications", web::get().to(list))
        .route("/applications/{id}", web::get().to(get))
        .route("/applications/{id}/decision", web::post().to(decide))
        .route("/applications/{id}/enrol", web::post().to(enrol));
}

/// The status filter of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Only the applications of this status: `recue`, `retenue`, `attente`, `non_retenue`
    /// or `desistee`.
    status: Option<String>,
}

impl StatusQuery {
    fn check(&self) -> Result<Option<Status>, AppError> {
        match self.status.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(code) => Status::from_code(code).map(Some).ok_or_else(|| {
                AppError::field(
                    "status",
                    "Statut inconnu : recue, retenue, attente, non_retenue ou desistee.",
                )
            }),
        }
    }
}

/// The call's applications, the first received first, each with the method's criteria,
/// duplicates within the call and the associations already accompanied (of a DLA the
/// caller does not see: only the year and that DLA's name). The total is in
/// `X-Total-Count`.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}/applications", tag = "Candidatures",
    params(PageQuery, StatusQuery),
    responses((status = 200, body = Vec<Reviewed>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = paging::BAD_PAGE)))]
pub async fn list(
    state: web::Data<AppState>,
    path: web::Path<String>,
    page: Page,
    query: web::Query<StatusQuery>,
    actor: Actor,
) -> ApiResult {
    let status = query.check()?;
    let id = path.into_inner();
    let scope = actor.cohort_scope();
    let (total, rows) = crate::db::run(&state.pool, move |c| {
        cohort::get(c, &id)?;
        let total = application::count(c, &id, status)?;
        let apps = application::page(c, &id, status, page.limit, page.offset)?;
        Ok((total, application::review(c, &id, apps, &scope)?))
    })
    .await?;
    Ok(Page::answer(total, &rows))
}

/// One application with its eligibility.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "Candidatures",
    responses((status = 200, body = Reviewed), (status = 404, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, path: web::Path<String>, actor: Actor) -> ApiResult {
    let id = path.into_inner();
    let scope = actor.cohort_scope();
    Ok(HttpResponse::Ok()
        .json(crate::db::run(&state.pool, move |c| application::reviewed(c, &id, &scope)).await?))
}

/// Sets the application's status. `retenue`, `attente` and `non_retenue` queue the decision
/// email to both addresses (drafts when the cohort's emails are reviewed before sending).
#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "Candidatures",
    request_body = DecisionInput,
    responses((status = 200, body = Decided), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`cohort_full` (every place taken: enrolled associations and retained applications), `stale_version`, `same_status`, `application_enrolled`"),
        (status = 422, body = ErrorBody, description = "`status` unknown")))]
pub async fn decide(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<DecisionInput>,
) -> ApiResult {
    let id = path.into_inner();
    let mail = state.mail.clone();
    let d = state
        .write(move |c| application::decide(c, &id, &body, &mail))
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Enrols a retained application: the association, its director and board member, the
/// human pillar of its état des lieux, in one transaction.
#[utoipa::path(post, path = "/api/v1/applications/{id}/enrol", tag = "Candidatures",
    responses((status = 201, body = Enrolled), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`application_not_retained`, `application_enrolled`, `application_incomplete` (the association or a participant refused: same name in the cohort, same address twice…), `cohort_full`")))]
pub async fn enrol(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let e = state
        .write(move |c| application::enrol(c, &id, &template, am))
        .await?;
    Ok(HttpResponse::Created().json(e))
}
