//! `/cohorts/{id}/tasks`, `/tasks/{id}` and the per-association return status.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::error::ErrorBody;
use crate::models::task::{self, IntersessionTask, ReturnInput, TaskInput, TaskReturn};
use crate::web::AppState;
use crate::web::api::ApiResult;
use crate::web::api::body::{Json, Patch};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/cohorts/{id}/tasks", web::get().to(list))
        .route("/cohorts/{id}/tasks", web::post().to(create))
        .route("/tasks/{id}", web::put().to(update))
        .route("/tasks/{id}", web::delete().to(delete))
        .route(
            "/tasks/{id}/associations/{association_id}",
            web::put().to(set_return),
        );
}

/// The cohort's tasks and the returns recorded so far (an association without a
/// return row has the task « à faire »).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskList {
    pub tasks: Vec<IntersessionTask>,
    pub returns: Vec<TaskReturn>,
}

#[utoipa::path(get, path = "/api/v1/cohorts/{id}/tasks", tag = "Travaux préparatoires", responses((status = 200, body = TaskList)))]
pub async fn list(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let out = crate::db::run(&state.pool, move |c| {
        crate::models::cohort::get(c, &id)?;
        Ok(TaskList {
            tasks: task::list_for_cohort(c, &id)?,
            returns: task::returns_for_cohort(c, &id)?,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/cohorts/{id}/tasks", tag = "Travaux préparatoires", request_body = TaskInput,
    responses((status = 201, body = IntersessionTask), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<TaskInput>,
) -> ApiResult {
    let id = path.into_inner();
    let t = state.write(move |c| task::create(c, &id, &body)).await?;
    Ok(HttpResponse::Created().json(t))
}

#[utoipa::path(put, path = "/api/v1/tasks/{id}", tag = "Travaux préparatoires", request_body = TaskInput,
    responses((status = 200, body = IntersessionTask), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Patch<TaskInput>,
) -> ApiResult {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .write(move |c| {
                let current = task::get(c, &id)?;
                let input = body.apply(&TaskInput::from(&current), &current)?;
                task::update(c, &id, &input)
            })
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "Travaux préparatoires", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    state.write(move |c| task::delete(c, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/api/v1/tasks/{id}/associations/{association_id}", tag = "Travaux préparatoires", request_body = ReturnInput,
    description = "Sets the association's return of the homework, whole: `status` is required (`rendu` or `a_faire`); the participant's answer stays.",
    responses((status = 200, body = TaskReturn), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_return(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<ReturnInput>,
) -> ApiResult {
    let (id, aid) = path.into_inner();
    let today = crate::models::programme::today(state.clock.now());
    Ok(HttpResponse::Ok().json(
        state
            .write(move |c| task::set_return(c, &id, &aid, &body, today))
            .await?,
    ))
}
