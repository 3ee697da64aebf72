//! `/cohorts`, the programme generation and the warnings.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::programme::ProgrammeTemplate;
use crate::domain::schedule::{Schedule, ScheduleOverride};
use crate::error::{AppError, ErrorBody};
use crate::models::cohort::{self, Cohort, CohortInput, ScheduleInput};
use crate::models::consultant;
use crate::models::input::lenient;
use crate::models::outbox::{self, FullEmail, OutboxEmail};
use crate::models::programme::{self, Generated};
use crate::web::AppState;
use crate::web::actor::Actor;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, OptionalJson, Patch};
use crate::web::api::paging::{self, Page, PageQuery};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts", web::get().to(list))
        .route("/cohorts", web::post().to(create))
        .route("/cohorts/{id}", web::get().to(get))
        .route("/cohorts/{id}", web::put().to(update))
        .route("/cohorts/{id}/programme", web::post().to(generate))
        .route("/cohorts/{id}/warnings", web::get().to(warnings))
        .route(
            "/cohorts/{id}/programme-template",
            web::get().to(get_template),
        )
        .route(
            "/cohorts/{id}/programme-template",
            web::put().to(put_template),
        )
        .route(
            "/cohorts/{id}/programme-template",
            web::delete().to(reset_template),
        )
        .route("/cohorts/{id}/publish", web::post().to(publish))
        .route(
            "/cohorts/{id}/mail-settings",
            web::get().to(get_mail_settings),
        )
        .route(
            "/cohorts/{id}/mail-settings",
            web::put().to(put_mail_settings),
        )
        .route("/cohorts/{id}/outbox", web::get().to(outbox))
        .route(
            "/cohorts/{id}/outbox/{email_id}",
            web::get().to(outbox_email),
        );
}

/// A cohort with its partner DLAs.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CohortOut {
    #[serde(flatten)]
    pub cohort: Cohort,
    pub partner_dla_ids: Vec<String>,
    /// On creation and change: the cohort's warnings after it (`{code, message}`, as
    /// `GET …/warnings` gives them), e.g. a cap above the method's 8 associations.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub warnings: Option<Vec<crate::domain::Warning>>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CohortsQuery {
    /// Keeps the cohorts whose name contains this text.
    search: Option<String>,
    /// `brouillon`, `en_cours` or `terminee`.
    status: Option<String>,
    /// Keeps the cohorts that start this year.
    year: Option<i32>,
    /// Keeps the cohorts this DLA owns.
    dla_id: Option<String>,
}

/// The cohorts the caller may see, the most recent start first, paged: the total is in the
/// `X-Total-Count` header.
#[utoipa::path(get, path = "/api/v1/cohorts", tag = "Cohortes", params(PageQuery, CohortsQuery),
    responses((status = 200, body = Vec<Cohort>), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody, description = paging::BAD_PAGE)))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    page: Page,
    query: web::Query<CohortsQuery>,
) -> ApiResult {
    let query = query.into_inner();
    let status = query.status.filter(|s| !s.trim().is_empty());
    if let Some(s) = &status
        && !cohort::STATUSES.iter().any(|(code, _)| code == s)
    {
        return Err(AppError::BadRequest {
            code: "invalid_status",
            message: "Statut inconnu : brouillon, en_cours ou terminee.".into(),
        });
    }
    let filter = cohort::CohortFilter {
        search: query.search.unwrap_or_default(),
        status,
        year: query.year,
        dla_id: query.dla_id.filter(|d| !d.trim().is_empty()),
        mail_trouble: None,
    };
    let scope = actor.cohort_scope();
    let (total, cohorts) = crate::db::run(&state.pool, move |c| {
        Ok((
            cohort::count(c, &scope, &filter)?,
            cohort::page(c, &scope, &filter, page.limit, page.offset)?,
        ))
    })
    .await?;
    Ok(Page::answer(total, &cohorts))
}

#[utoipa::path(post, path = "/api/v1/cohorts", tag = "Cohortes", request_body = CohortInput,
    responses((status = 201, body = CohortOut), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<CohortInput>,
) -> ApiResult {
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let out = state
        .write(move |c| {
            actor.check_dla("dla_id", &body.dla_id)?;
            consultant::check_assignable(
                c,
                actor.dla_scope().as_deref(),
                None,
                &body.consultant_id,
            )?;
            let cohort = cohort::create(c, &body)?;
            let partner_dla_ids = cohort::partner_ids(c, &cohort.id)?;
            let warnings = programme::overview(c, &cohort.id, &template, am)?.warnings;
            Ok(CohortOut {
                cohort,
                partner_dla_ids,
                warnings: Some(warnings),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}", tag = "Cohortes", responses((status = 200, body = CohortOut), (status = 404, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        Ok(CohortOut {
            cohort: cohort::get(c, &id)?,
            partner_dla_ids: cohort::partner_ids(c, &id)?,
            warnings: None,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(put, path = "/api/v1/cohorts/{id}", tag = "Cohortes", request_body = CohortInput,
    responses((status = 200, body = CohortOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: Patch<CohortInput>,
) -> ApiResult {
    let id = path.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let (viewer, gap) = (
        crate::web::pages::calendar::viewer_scope(),
        crate::web::pages::calendar::travel_gap(&state),
    );
    let out = state
        .write(move |c| {
            let current = cohort::get(c, &id)?;
            let partners = cohort::partner_ids(c, &id)?;
            let input = body.apply(
                &CohortInput::from((&current, partners.clone())),
                // As a change answers it, warnings included: a client may send it back.
                &CohortOut {
                    cohort: current.clone(),
                    partner_dla_ids: partners.clone(),
                    warnings: Some(Vec::new()),
                },
            )?;
            actor.check_cohort_ownership(
                &current.dla_id,
                &partners,
                &input.dla_id,
                &input.partner_dla_ids,
            )?;
            consultant::check_assignable(
                c,
                actor.dla_scope().as_deref(),
                current.consultant_id.as_deref(),
                &input.consultant_id,
            )?;
            let cohort = cohort::update(c, &id, &input)?;
            let mut warnings = programme::overview(c, &id, &template, am)?.warnings;
            // A new consultant·e may be busy elsewhere (issue #17).
            let now = c.now();
            warnings.extend(crate::models::calendar::warnings_for_cohort(
                c, &id, now, &viewer, gap,
            )?);
            Ok(CohortOut {
                cohort,
                partner_dla_ids: cohort::partner_ids(c, &id)?,
                warnings: Some(warnings),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct GenerateInput {
    /// Replace an existing programme (its sessions and tasks are deleted).
    #[serde(default, deserialize_with = "lenient")]
    pub replace: String,
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/programme", tag = "Cohortes", request_body(content = GenerateInput, description = "Optional; `{}` or no body generates a new programme"),
    responses((status = 201, body = Generated), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "A programme exists and `replace` is not set")))]
pub async fn generate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    // The body is optional, but a body that is there must be a valid object.
    OptionalJson(input): OptionalJson<GenerateInput>,
) -> ApiResult {
    let id = path.into_inner();
    let replace = crate::models::input::Check::checkbox(&input.replace);
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let (viewer, gap) = (
        crate::web::pages::calendar::viewer_scope(),
        crate::web::pages::calendar::travel_gap(&state),
    );
    let generated = state
        .write(move |c| {
            let mut generated = programme::generate(c, &id, &template, am, replace)?;
            // The new sessions' conflicts with the instance's others (issue #17).
            let now = c.now();
            generated
                .warnings
                .extend(crate::models::calendar::warnings_for_cohort(
                    c, &id, now, &viewer, gap,
                )?);
            Ok(generated)
        })
        .await?;
    Ok(HttpResponse::Created().json(generated))
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/warnings", tag = "Cohortes", responses((status = 200, description = "List of {code, message}"), (status = 404, body = ErrorBody)))]
pub async fn warnings(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let (template, am) = (
        state.config.programme.clone(),
        state.config.calendar.alsace_moselle,
    );
    let o = crate::db::run(&state.pool, move |c| {
        programme::overview(c, &id, &template, am)
    })
    .await?;
    Ok(HttpResponse::Ok().json(o.warnings))
}

/// The cohort's programme template and the cohort's version, which a `PUT` must send back.
fn template_out(co: &Cohort, default: &ProgrammeTemplate) -> Result<serde_json::Value, AppError> {
    let mut out =
        serde_json::to_value(co.template(default)).map_err(|e| AppError::Internal(e.into()))?;
    out["version"] = co.version.into();
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/programme-template", tag = "Cohortes",
    responses((status = 200, description = "The cohort's programme template (its own, or the configured default), with `version`: the cohort's version, to send back with a change"), (status = 404, body = ErrorBody)))]
pub async fn get_template(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let co = crate::db::run(&state.pool, move |c| cohort::get(c, &id)).await?;
    Ok(HttpResponse::Ok().json(template_out(&co, &state.config.programme)?))
}

#[utoipa::path(put, path = "/api/v1/cohorts/{id}/programme-template", tag = "Cohortes",
    request_body(content = Object, description = "The template's fields to change, as returned by GET, and `version` (required). Absent fields keep their value; `tasks` is replaced as a whole."),
    responses((status = 200, description = "Saved: the template and the cohort's new version"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_template(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<ProgrammeTemplate>,
) -> ApiResult {
    let id = path.into_inner();
    let (version, body) = body.split_version()?;
    let default = state.config.programme.clone();
    let saved = state
        .write(move |c| {
            let current = cohort::get(c, &id)?.template(&default);
            let template = body.apply_requiring(&current, &current, &[])?;
            cohort::set_template(c, &id, Some(&template), &version)
        })
        .await?;
    Ok(HttpResponse::Ok().json(template_out(&saved, &state.config.programme)?))
}

#[utoipa::path(delete, path = "/api/v1/cohorts/{id}/programme-template", tag = "Cohortes",
    responses((status = 200, description = "Back to the configured default"), (status = 404, body = ErrorBody)))]
pub async fn reset_template(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let saved = state
        .write(move |c| cohort::set_template(c, &id, None, ""))
        .await?;
    Ok(HttpResponse::Ok().json(template_out(&saved, &state.config.programme)?))
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/publish", tag = "Envois",
    responses((status = 200, body = Cohort, description = "Published (publishing again changes nothing): convocations and reminders are queued"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn publish(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let co = state.write(move |c| cohort::publish(c, &id)).await?;
    Ok(HttpResponse::Ok().json(co))
}

/// A cohort's sending settings: what is in force, and the cohort's own overrides.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MailSettingsOut {
    pub effective: Schedule,
    pub overrides: ScheduleOverride,
    pub version: i32,
}

fn mail_settings_out(co: &Cohort, defaults: &Schedule) -> MailSettingsOut {
    MailSettingsOut {
        effective: co.schedule(defaults),
        overrides: co.schedule_override(),
        version: co.version,
    }
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/mail-settings", tag = "Envois",
    responses((status = 200, body = MailSettingsOut), (status = 404, body = ErrorBody)))]
pub async fn get_mail_settings(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let co = crate::db::run(&state.pool, move |c| cohort::get(c, &id)).await?;
    Ok(HttpResponse::Ok().json(mail_settings_out(&co, &state.config.mail.schedule)))
}

#[utoipa::path(put, path = "/api/v1/cohorts/{id}/mail-settings", tag = "Envois",
    request_body = ScheduleInput,
    responses((status = 200, body = MailSettingsOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_mail_settings(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<ScheduleInput>,
) -> ApiResult {
    let id = path.into_inner();
    let defaults = state.config.mail.schedule.clone();
    let co = state
        .write(move |c| {
            let current = cohort::get(c, &id)?;
            let input = body.apply(
                &ScheduleInput::from_override(&current.schedule_override(), current.version),
                &mail_settings_out(&current, &defaults),
            )?;
            cohort::set_schedule(c, &id, &input, &defaults)
        })
        .await?;
    Ok(HttpResponse::Ok().json(mail_settings_out(&co, &state.config.mail.schedule)))
}

/// One page of the cohort's emails, the latest first, without their bodies.
///
/// The latest by `send_after` first, then by the time they were queued, then by id: pages
/// never overlap. Each item is the email's row (recipient, subject, status, attempts,
/// error, dates…); `GET /api/v1/cohorts/{id}/outbox/{email_id}` gives one email with its
/// bodies.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}/outbox", tag = "Envois", params(PageQuery),
    responses((status = 200, body = Vec<OutboxEmail>, description = "One page of the cohort's emails, the latest first, without their bodies"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = paging::BAD_PAGE)))]
pub async fn outbox(state: web::Data<AppState>, path: web::Path<String>, page: Page) -> ApiResult {
    let id = path.into_inner();
    let (total, rows) = crate::db::run(&state.pool, move |c| {
        cohort::get(c, &id)?;
        Ok((
            outbox::count_for_cohort(c, &id, None)?,
            outbox::page_latest_first(c, &id, page.limit, page.offset)?,
        ))
    })
    .await?;
    Ok(Page::answer(total, &rows))
}

/// One email of the cohort with its bodies.
///
/// The email's row as the list gives it, with its rendered bodies: `body_text`,
/// `body_html` and, when it carries an invitation (`ics_method`), the `.ics`.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}/outbox/{email_id}", tag = "Envois",
    params(("id" = String, Path, description = "The cohort"), ("email_id" = String, Path, description = "An email of that cohort, as listed by `GET …/outbox`")),
    responses((status = 200, body = FullEmail), (status = 404, body = ErrorBody, description = "No such email in this cohort")))]
pub async fn outbox_email(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (id, email_id) = path.into_inner();
    let email = crate::db::run(&state.pool, move |c| {
        outbox::get_full_in_cohort(c, &id, &email_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(email))
}
