//! JSON API under `/api/v1`, described by the OpenAPI document at `/api/v1/openapi.json`.
//! Errors are `{"error": {"code", "message", "fields"}}` (see `error.rs`); bad input is
//! always a 4xx.

pub mod applications;
pub mod associations;
pub mod audit;
pub mod body;
pub mod budget;
pub mod calls;
pub mod cohorts;
pub mod evaluations;
pub mod import;
pub mod journal;
pub mod me;
pub mod openapi;
pub mod outbox;
pub mod paging;
pub mod privacy;
pub mod profile;
pub mod reference;
pub mod report;
pub mod sessions;
pub mod tasks;

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use crate::error::AppError;
use crate::web::api::openapi::CommonResponses;

pub type ApiResult = Result<HttpResponse, AppError>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cohorte API",
        version = "1",
        description = "Accompagnements collectifs sur le modèle socio-économique : cohortes, associations, programme en quatre sessions. Les erreurs suivent la forme {\"error\": {\"code\", \"message\", \"fields\"}}."
    ),
    paths(
        reference::list_dlas,
        reference::create_dla,
        reference::get_dla,
        reference::update_dla,
        reference::list_consultants,
        reference::create_consultant,
        reference::update_consultant,
        cohorts::list,
        cohorts::create,
        cohorts::get,
        cohorts::update,
        cohorts::generate,
        cohorts::warnings,
        cohorts::get_template,
        cohorts::put_template,
        cohorts::reset_template,
        cohorts::publish,
        cohorts::get_mail_settings,
        cohorts::put_mail_settings,
        cohorts::outbox,
        cohorts::outbox_email,
        outbox::status,
        associations::list,
        associations::enrol,
        associations::get,
        associations::update,
        associations::delete,
        associations::list_participants,
        associations::create_participant,
        associations::update_participant,
        associations::delete_participant,
        import::import_list,
        sessions::list,
        sessions::create,
        sessions::get,
        sessions::update,
        sessions::move_session,
        sessions::delete,
        sessions::list_guests,
        sessions::add_guest,
        sessions::remove_guest,
        tasks::list,
        tasks::create,
        tasks::update,
        tasks::delete,
        tasks::set_return,
        // Budget and time entries (web::api::budget): add its paths below this line.
        budget::get_budget,
        budget::put_budget,
        budget::list_entries,
        budget::create_entry,
        budget::update_entry,
        budget::delete_entry,
        // Session logs (web::api::journal): add its paths below this line.
        journal::get_log,
        journal::put_log,
        journal::list_action_leads,
        journal::create_action_lead,
        journal::update_action_lead,
        journal::delete_action_lead,
        // Socio-economic model (web::api::profile): add its paths below this line.
        profile::get_profile,
        profile::put_profile,
        // Journal of changes (web::api::audit).
        audit::list,
        // Personal data (web::api::privacy) and the caller's account (web::api::me).
        privacy::export,
        privacy::anonymise_participant,
        privacy::anonymise_association,
        me::me,
        // Évaluations of the accompaniment (web::api::evaluations).
        evaluations::list,
        // Applications to a call, staff side (web::api::applications).
        applications::list,
        applications::get,
        applications::decide,
        applications::enrol,
        // Calls for applications (web::api::calls).
        calls::get_call,
        calls::put_call,
        calls::revoke_link,
        calls::new_link,
        // Activity report and association search (web::api::report, issue #17).
        report::dla_report,
        report::instance_report,
        report::search_associations,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&CommonResponses)
)]
pub struct ApiDoc;

/// Every API route, as a tree of scopes (`web::routes`) under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let mut r = crate::web::routes::Routes::new();
    r.route("/openapi.json", web::get().to(openapi));
    reference::routes(&mut r);
    cohorts::routes(&mut r);
    associations::routes(&mut r);
    applications::routes(&mut r);
    import::routes(&mut r);
    sessions::routes(&mut r);
    evaluations::routes(&mut r);
    tasks::routes(&mut r);
    budget::routes(&mut r);
    calls::routes(&mut r);
    journal::routes(&mut r);
    profile::routes(&mut r);
    audit::routes(&mut r);
    privacy::routes(&mut r);
    me::routes(&mut r);
    outbox::routes(&mut r);
    report::routes(&mut r);
    r.register(cfg, Some(unknown_endpoint));
    cfg.default_service(unknown_endpoint());
}

/// The API's 404, in its scope and in each of its nested ones.
fn unknown_endpoint() -> actix_web::Route {
    web::to(|| async {
        Err::<HttpResponse, _>(AppError::NotFound("Point d'accès inconnu de l'API.".into()))
    })
}

async fn openapi() -> ApiResult {
    Ok(HttpResponse::Ok().json(ApiDoc::openapi()))
}
