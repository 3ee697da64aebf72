//! One error type for the whole app and the one place it becomes a response.
//!
//! Use `AppError` everywhere below the web layer. Bad input is `Validation` (with French
//! messages per field) or `BadRequest`; a missing row is `NotFound`; a rule that refuses a
//! change (the cohort is full, a stale version) is `Conflict`. The database still locked by
//! another writer after the wait budget (`db::Waits`) is `Busy`: 503 with `Retry-After`,
//! nothing changed, try again. `Internal` is for bugs and infrastructure failures only: it
//! is the only variant that answers 500.
//!
//! The API answers `{"error": {"code", "message", "fields"}}`; pages wrap the error in
//! `web::pages::PageError`, which renders the same information as HTML.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Validation {
        message: String,
        fields: FieldErrors,
    },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    /// A request body over the limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// A known address asked with a method it does not answer (405); the methods it does.
    #[error("Cette adresse ne prend pas la méthode {method} : utilisez {}.", allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        allowed: Vec<&'static str>,
    },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// The database stayed locked by another writer, or no connection came free, within
    /// the wait budget (`db::Waits`): nothing was changed, and the same request can be sent
    /// again in a moment (503, `Retry-After`). Made from the database errors themselves
    /// (`From<diesel::result::Error>`, `db::checkout`), never by hand.
    #[error("Cohorte est très occupé en ce moment : réessayez dans quelques secondes.")]
    Busy,
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// The `Retry-After` a 503 `Busy` carries, in seconds: time for the short background
/// transactions ahead to finish.
pub const RETRY_AFTER_SECS: u32 = 3;

impl AppError {
    pub fn validation(fields: FieldErrors) -> Self {
        let message = if fields.len() == 1 {
            "La saisie contient une erreur : corrigez le champ signalé.".to_string()
        } else {
            format!(
                "La saisie contient {} erreurs : corrigez les champs signalés.",
                fields.len()
            )
        };
        AppError::Validation { message, fields }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), message.into());
        Self::validation(fields)
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} introuvable."))
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "validation_failed",
            AppError::BadRequest { code, .. } | AppError::Conflict { code, .. } => code,
            AppError::NotFound(_) => "not_found",
            AppError::TooLarge(_) => "payload_too_large",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Busy => "busy",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The message a user sees; internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => {
                "Une erreur inattendue s'est produite. Réessayez ; si elle persiste, \
                 contactez l'administrateur·rice."
                    .to_string()
            }
            other => other.to_string(),
        }
    }

    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            AppError::Validation { fields, .. } => Some(fields),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `Allow` header a 405 carries.
    pub fn allow(&self) -> Option<String> {
        match self {
            AppError::MethodNotAllowed { allowed, .. } => Some(allowed.join(", ")),
            _ => None,
        }
    }

    /// The `Retry-After` header (seconds) a 503 carries.
    pub fn retry_after(&self) -> Option<u32> {
        matches!(self, AppError::Busy).then_some(RETRY_AFTER_SECS)
    }

    /// Adds the headers the error calls for (`Allow` of a 405, `Retry-After` of a 503) to
    /// a response built for it — an error page, or a form shown again.
    pub fn add_headers(&self, response: &mut HttpResponse) {
        use actix_web::http::header::{ALLOW, HeaderValue, RETRY_AFTER};
        if let Some(allow) = self.allow()
            && let Ok(value) = HeaderValue::from_str(&allow)
        {
            response.headers_mut().insert(ALLOW, value);
        }
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
    }

    pub fn log(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound("Élément introuvable.".into()),
            other if crate::db::is_busy(&other) => AppError::Busy,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `validation_failed`, `cohort_full`.
    pub code: String,
    /// A French sentence the user can act on.
    pub message: String,
    /// Per-field French messages (empty unless `validation_failed`).
    pub fields: FieldErrors,
}

impl ErrorBody {
    pub fn from_error(e: &AppError) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: e.code().to_string(),
                message: e.public_message(),
                fields: e.fields().cloned().unwrap_or_default(),
            },
        }
    }
}

/// JSON rendering, used by the API (and by any handler that returns `AppError` directly).
impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut response = HttpResponse::build(self.status()).json(ErrorBody::from_error(self));
        self.add_headers(&mut response);
        response
    }
}
