//! HTTP: the application state, the routes of the pages and of the API, and the
//! protections every response carries.

pub mod access;
pub mod actor;
pub mod api;
pub mod form;
pub mod pages;
pub mod routes;
pub mod view;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, NormalizePath, TrailingSlash};
use actix_web::{HttpRequest, HttpResponse, web};
use handlebars::Handlebars;

use crate::config::Config;
use crate::db::{Author, Pool, Tx};
use crate::error::AppError;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub templates: Arc<Handlebars<'static>>,
    /// What the emails a change causes are built with.
    pub mail: crate::models::outbox::MailContext,
    /// The one clock: every write transaction's instant (`db::Tx::now`) and the pages'
    /// « now ». The wall clock, unless a test sets it.
    pub clock: crate::db::Clock,
    /// The instance's activity reports being built (`pages::report::load`).
    pub instance_reports: Arc<pages::report::InstanceReports>,
}

impl AppState {
    pub fn new(pool: Pool, config: Config) -> anyhow::Result<Self> {
        let templates = Arc::new(crate::templates::build(&config.templates.dir)?);
        let mail = crate::models::outbox::MailContext::new(&config, templates.clone());
        Ok(AppState {
            pool,
            config: Arc::new(config),
            templates,
            mail,
            clock: crate::db::Clock::system(),
            instance_reports: Arc::default(),
        })
    }

    /// The write entry of requests: runs a change in one write transaction (`db::write`),
    /// by the request's actor (the author the audit log names) at the instant of
    /// [`AppState::clock`], and, in that same transaction, brings the planned emails of the
    /// cohorts it touched up to date (`models::planner`): the change and its emails are
    /// committed together or not at all.
    pub async fn write<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let mail = self.mail.clone();
        let author = actor::current()
            .map(|i| i.actor.audit_author())
            .unwrap_or_else(Author::system);
        crate::db::write(&self.pool, author, &self.clock, move |tx| {
            let result = f(tx)?;
            crate::models::planner::sync_dirty(tx, &mail)?;
            Ok(result)
        })
        .await
    }

    /// [`AppState::write`] for a change that erases personal data (an anonymisation):
    /// once it is committed, the erased values are taken out of the files on disk too
    /// (`db::erase_from_files`: the personal indexes rebuilt, the WAL checkpointed).
    pub async fn erase<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let result = self.write(f).await?;
        // The erasure is committed: a failure here is logged, not the person's error.
        if let Err(e) = crate::db::erase_from_files_after_commit(&self.pool).await {
            tracing::warn!(error = %e, "no connection to clear the files after an erasure");
        }
        Ok(result)
    }
}

pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

/// Headers on every response (pages, API, errors). `https`: the app is served over TLS
/// (`server.public_url` starts with https://), which adds HSTS.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CACHE_CONTROL, "no-store"));
    if https {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// The application: its middleware, outermost first — the request's log span, the path's
/// trailing slash, the security headers, the access guard — around everything
/// [`configure`] registers. What `serve` runs on each worker and the integration tests
/// call, so that both go through the same chain.
pub fn app(
    state: AppState,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let https = state.config.server.is_https();
    actix_web::App::new()
        .wrap(actix_web::middleware::from_fn(actor::guard))
        .wrap(security_headers(https))
        .wrap(normalize())
        .wrap(tracing_actix_web::TracingLogger::<RequestSpan>::new())
        .configure(configure(state))
}

/// Registers everything on an `App` (see [`app`]).
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::PathConfig::default().error_handler(|_, req| {
                let e = AppError::NotFound("Adresse introuvable.".into());
                error_for(req, e)
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, req| {
                error_for(
                    req,
                    AppError::BadRequest {
                        code: "invalid_query",
                        message: format!("Paramètres invalides : {err}"),
                    },
                )
            }))
            .service(web::scope("/api/v1").configure(api::routes))
            .configure(pages::routes)
            .default_service(web::to(not_found));
    }
}

/// `NormalizePath` keeps `/cohortes/` and `/cohortes` the same page.
pub fn normalize() -> NormalizePath {
    NormalizePath::new(TrailingSlash::Trim)
}

fn error_for(req: &HttpRequest, e: AppError) -> actix_web::Error {
    if req.path().starts_with("/api/") {
        e.into()
    } else {
        pages::PageError::from(e).into()
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    Err(error_for(
        &req,
        AppError::NotFound("Cette page n'existe pas.".into()),
    ))
}

/// The request span of the logs: method and route *pattern* (`/connexion/lien/{token}`),
/// never the path itself, so that the secrets some URLs carry (sign-in and password links,
/// unsubscribe tokens) do not reach the logs. The pattern is recorded by the access guard,
/// which finds it anyway ([`record_route`]): finding a path's pattern walks the routes with
/// their regexes, 90,000 instructions a request, once is enough.
pub struct RequestSpan;

/// Records the route `pattern` of the request being served on its span (see
/// [`RequestSpan`]).
pub fn record_route(pattern: Option<&str>) {
    tracing::Span::current().record(
        "http.route",
        tracing::field::display(pattern.unwrap_or("(inconnue)")),
    );
}

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = tracing::field::Empty,
            http.status_code = tracing::field::Empty,
            request_id = %uuid::Uuid::new_v4(),
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("http.status_code", status);
    }
}
