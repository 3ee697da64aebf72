//! Who is making the request, and the guard that applies `web::access` to every request.
//!
//! `guard` (a middleware wrapped around every route) reads the credentials — a bearer API
//! token, or the session cookie on pages —, resolves the route's rule and the cohort the
//! path names, refuses what the actor may not do, checks CSRF on cookie-authenticated
//! forms, and leaves the `Actor` in the request for handlers. For a staff member's page
//! (GET, cookie) it also reads, on the same connection, the emails of their cohorts that
//! are late or failing: the layout's banner (`Identity::mail_trouble`), so that no handler
//! has to. The API never reads the
//! cookie: it is bearer-only, so it needs no CSRF protection; pages never read a bearer
//! token.

use std::future::{Ready, ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::models::account::{self, Lifetimes, Principal, Role};
use crate::models::scope::{self, CohortReach, CohortScope, Member};
use crate::web::AppState;
use crate::web::access::{self, Decision, Rule};

pub const SESSION_COOKIE: &str = "cohorte_session";
/// Its name over HTTPS: the `__Host-` prefix makes browsers refuse it unless it is Secure,
/// for path `/` and without `Domain`, so that no sibling subdomain can set or shadow it.
pub const HOST_SESSION_COOKIE: &str = "__Host-cohorte_session";

/// The session cookie's name: prefixed when the app is served over HTTPS.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// A staff member, signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub dla_id: Option<String>,
    pub consultant_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    Staff(Staff),
    Participant(Member),
}

/// How the request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    None,
    Bearer,
    /// The session cookie's value (never stored server-side).
    Cookie(String),
}

/// What the guard leaves in the request.
#[derive(Clone, Debug)]
pub struct Identity {
    pub actor: Actor,
    pub credential: Credential,
    /// On a staff member's pages: the emails of their cohorts that are late or failing,
    /// read by the guard with the identity (`models::outbox_status::trouble`), shown by the
    /// layout's banner.
    pub mail_trouble: Option<crate::models::outbox_status::Trouble>,
}

impl Identity {
    fn anonymous() -> Identity {
        Identity {
            actor: Actor::Anonymous,
            credential: Credential::None,
            mail_trouble: None,
        }
    }

    /// The CSRF token of a cookie session: a hash of the cookie under its own label, so it
    /// can be embedded in pages without revealing the cookie, and needs no storage.
    pub fn csrf_token(&self) -> Option<String> {
        match &self.credential {
            Credential::Cookie(token) => Some(csrf_for(token)),
            _ => None,
        }
    }
}

pub fn csrf_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cohorte csrf v1\0");
    h.update(session_token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

impl Actor {
    pub fn staff(&self) -> Option<&Staff> {
        match self {
            Actor::Staff(s) => Some(s),
            _ => None,
        }
    }

    pub fn member(&self) -> Option<&Member> {
        match self {
            Actor::Participant(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::Staff(s) if s.role == Role::Admin)
    }

    /// The cohorts this actor sees in lists.
    pub fn cohort_scope(&self) -> CohortScope {
        match self {
            Actor::Staff(s) => {
                CohortScope::of_staff(s.role, s.dla_id.as_deref(), s.consultant_id.as_deref())
            }
            _ => CohortScope::Nothing,
        }
    }

    /// The DLAs this actor may pick (for a new cohort, in lists): `None` = all.
    pub fn dla_scope(&self) -> Option<Vec<String>> {
        match self {
            Actor::Staff(s) if s.role == Role::Admin => None,
            Actor::Staff(s) => Some(s.dla_id.iter().cloned().collect()),
            _ => Some(Vec::new()),
        }
    }

    /// Refuses a DLA given in a body (a new cohort's, a partner) the actor does not belong
    /// to.
    pub fn check_dla(&self, field: &str, dla_id: &str) -> Result<(), AppError> {
        match self.dla_scope() {
            None => Ok(()),
            Some(ids) if ids.iter().any(|d| d == dla_id) => Ok(()),
            Some(_) => Err(AppError::field(
                field,
                "Vous ne pouvez créer une cohorte que pour votre DLA.",
            )),
        }
    }

    /// Who carries a cohort and who shares it is the owning DLA's decision: a partner
    /// DLA's officer may edit the cohort but not change its owner or its partners, and
    /// moving a cohort to another DLA needs to belong to the new one.
    pub fn check_cohort_ownership(
        &self,
        current_dla: &str,
        current_partners: &[String],
        new_dla: &str,
        new_partners: &[String],
    ) -> Result<(), AppError> {
        let Actor::Staff(staff) = self else {
            return Err(AppError::Forbidden("Réservé à l'équipe du DLA.".into()));
        };
        if staff.role == Role::Admin {
            return Ok(());
        }
        let owner = staff.dla_id.as_deref() == Some(current_dla);
        if !owner {
            let mut before: Vec<&str> = current_partners.iter().map(String::as_str).collect();
            let mut after: Vec<&str> = new_partners
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty() && *s != current_dla)
                .collect();
            before.sort_unstable();
            before.dedup();
            after.sort_unstable();
            after.dedup();
            let mut check = crate::models::input::Check::new();
            if new_dla.trim() != current_dla {
                check.add(
                    "dla_id",
                    "Seul le DLA porteur peut confier la cohorte à un autre DLA.",
                );
            }
            if before != after {
                check.add(
                    "partner_dla_ids",
                    "Seul le DLA porteur peut changer les DLA partenaires.",
                );
            }
            return check.finish();
        }
        if current_dla == new_dla.trim() {
            Ok(())
        } else {
            self.check_dla("dla_id", new_dla)
        }
    }

    /// The DLAs to store on a consultant record (`None`: keep the stored list), from the
    /// list asked for (`asked`, `None` when not given) and, on a change, the stored one
    /// (`current`; `None` on a creation). Administrators choose freely (none: the record
    /// is theirs only). A chargé·e de mission's new record belongs to their DLA, and they
    /// cannot change a record's list: sharing a record with another DLA, or taking it
    /// from one, is an administrator's decision.
    pub fn consultant_dlas(
        &self,
        current: Option<&[String]>,
        asked: Option<&[String]>,
    ) -> Result<Option<Vec<String>>, AppError> {
        let Actor::Staff(staff) = self else {
            return Err(AppError::Forbidden("Réservé à l'équipe du DLA.".into()));
        };
        if staff.role == Role::Admin {
            return Ok(asked.map(<[String]>::to_vec));
        }
        let Some(own) = staff
            .dla_id
            .as_deref()
            .filter(|_| staff.role == Role::Officer)
        else {
            return Err(AppError::Forbidden("Réservé à l'équipe du DLA.".into()));
        };
        let set = |ids: &[String]| {
            let mut v: Vec<String> = ids
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        match (current, asked) {
            (None, asked) => {
                if asked.is_some_and(|a| set(a).iter().any(|d| d != own)) {
                    return Err(AppError::field(
                        "dla_ids",
                        "Une fiche que vous créez appartient à votre DLA : seul·e un·e \
                         administrateur·rice peut la partager avec d'autres DLA.",
                    ));
                }
                Ok(Some(vec![own.to_string()]))
            }
            (Some(_), None) => Ok(None),
            (Some(current), Some(asked)) => {
                if set(current) == set(asked) {
                    Ok(None)
                } else {
                    Err(AppError::field(
                        "dla_ids",
                        "Seul·e un·e administrateur·rice peut changer les DLA de cette fiche.",
                    ))
                }
            }
        }
    }

    /// As shown in the header and the audit log.
    pub fn label(&self) -> String {
        match self {
            Actor::Anonymous => "Anonyme".to_string(),
            Actor::Staff(s) => format!("{} ({})", s.name, s.role.label().to_lowercase()),
            Actor::Participant(m) => format!("{} (participant·e, {})", m.name, m.association_name),
        }
    }

    pub fn audit_author(&self) -> crate::models::audit::Author {
        crate::models::audit::Author {
            label: self.label(),
            user_id: self.staff().map(|s| s.user_id.clone()),
        }
    }

    /// What the layout shows about who is signed in.
    pub fn view(&self) -> Value {
        match self {
            Actor::Anonymous => json!({"signed_in": false}),
            Actor::Staff(s) => json!({
                "signed_in": true, "is_staff": true, "name": s.name, "role_label": s.role.label(),
                "is_admin": s.role == Role::Admin,
                "is_officer": matches!(s.role, Role::Admin | Role::Officer),
                "dla_id": s.dla_id,
            }),
            Actor::Participant(m) => json!({
                "signed_in": true, "is_participant": true, "name": m.name,
                "association": m.association_name,
            }),
        }
    }
}

impl FromRequest for Actor {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<Identity>()
            .map(|i| i.actor.clone())
            .unwrap_or(Actor::Anonymous)))
    }
}

impl FromRequest for Identity {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<Identity>()
            .cloned()
            .unwrap_or_else(Identity::anonymous)))
    }
}

tokio::task_local! {
    /// The identity of the request being handled, for the page renderer (CSRF field,
    /// who is signed in) and the audit log's author.
    pub static CURRENT: Identity;
}

/// The identity of the request being handled, when inside one.
pub fn current() -> Option<Identity> {
    CURRENT.try_with(|i| i.clone()).ok()
}

/// The session cookie, set at sign-in.
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(session_cookie_name(secure), token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// The cookie that removes it, at sign-out.
pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build(session_cookie_name(secure), "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::ZERO)
        .finish()
}

fn staff_of(user: account::User) -> Option<Staff> {
    (!user.disabled).then(|| Staff {
        role: user.role(),
        user_id: user.id,
        name: user.name,
        email: user.email,
        dla_id: user.dla_id,
        consultant_id: user.consultant_id,
    })
}

/// The `{name}` segments of `pattern` matched against `path`.
fn captures<'a>(pattern: &'a str, path: &'a str) -> Vec<(&'a str, &'a str)> {
    pattern
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(p, v)| {
            p.strip_prefix('{')
                .and_then(|p| p.strip_suffix('}'))
                .map(|name| (name, v))
        })
        .collect()
}

enum Resolved {
    Ok(Box<(Identity, Option<CohortReach>, Vec<String>)>),
    BadToken,
    Missing,
}

const FORM_LIMIT: usize = 512 * 1024;

/// The middleware: see the module's documentation.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let path = req.path().to_string();
    let is_api = path.starts_with("/api/");
    let pattern = req.match_pattern();
    crate::web::record_route(pattern.as_deref());
    let rule = pattern
        .as_deref()
        .and_then(|p| access::rule(req.method().as_str(), p));
    let params: Vec<(String, String)> = pattern
        .as_deref()
        .map(|p| {
            captures(p, &path)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let id_param = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone());

    // A known address asked with another method (HEAD, OPTIONS, TRACE, PATCH…): 405 with
    // the methods it takes, decided before any credential is read. Clients and scanners
    // send these all the time, so it is not worth more than a debug line.
    if let Some(p) = pattern.as_deref()
        && rule.is_none()
    {
        let allowed = access::methods(p);
        if !allowed.is_empty() {
            tracing::debug!(method = %req.method(), pattern = p, "method not allowed");
            let e = AppError::MethodNotAllowed {
                method: req.method().to_string(),
                allowed,
            };
            return Ok(req.into_response(refusal(is_api, &path, e)));
        }
    }

    // API tokens open the API only: a leaked token cannot reach the pages (where it could
    // mint new tokens or password links).
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
        .filter(|_| is_api);
    let cookie = if is_api {
        None
    } else {
        req.cookie(session_cookie_name(state.config.server.is_https()))
            .map(|c| c.value().to_string())
            .filter(|v| !v.is_empty())
    };
    let lifetimes = Lifetimes::from_config(&state.config.auth);
    let id_for_lookup = id_param.clone();
    // No credential and nothing to look up (a static file, the sign-in page): no database
    // connection at all — these answer even when the database is busy, and the benchmark
    // uses the static file as the server's ceiling.
    let lookup = bearer.is_some()
        || cookie.is_some()
        || matches!(rule, Some(Rule::Cohort(..) | Rule::ConsultantRecord));
    // A staff page (not the API, not a public page, not a form sent) shows the banner of
    // late or failing emails: read here, with the identity, on the same connection.
    let page_view =
        !is_api && *req.method() == Method::GET && !matches!(rule, None | Some(Rule::Public));
    let watch =
        crate::models::outbox_status::Watch::new(state.clock.now(), state.config.mail.late_after());
    let resolved = if !lookup {
        Ok(Resolved::Ok(Box::new((
            Identity::anonymous(),
            None,
            Vec::new(),
        ))))
    } else {
        let at = state.clock.now().naive_utc();
        crate::db::run(&state.pool, move |conn| {
            let identity = if let Some(token) = bearer {
                match account::api_token_user(conn, &token, at)?.and_then(staff_of) {
                    Some(staff) => Identity {
                        actor: Actor::Staff(staff),
                        credential: Credential::Bearer,
                        mail_trouble: None,
                    },
                    None => return Ok(Resolved::BadToken),
                }
            } else if let Some(token) = cookie {
                let actor = match account::session_principal(conn, &token, lifetimes, at)? {
                    Some(Principal::User(id)) => account::find(conn, &id)
                        .ok()
                        .and_then(staff_of)
                        .map(Actor::Staff),
                    Some(Principal::Participant(id)) => {
                        scope::member(conn, &id)?.map(Actor::Participant)
                    }
                    None => None,
                };
                match actor {
                    Some(actor) => {
                        let mail_trouble = match &actor {
                            Actor::Staff(_) if page_view => crate::models::outbox_status::trouble(
                                conn,
                                &actor.cohort_scope(),
                                watch,
                            )?,
                            _ => None,
                        };
                        Identity {
                            actor,
                            credential: Credential::Cookie(token),
                            mail_trouble,
                        }
                    }
                    None => Identity::anonymous(),
                }
            } else {
                Identity::anonymous()
            };
            let reach = match (rule, &id_for_lookup) {
                (Some(Rule::Cohort(via, _)), Some(id)) => scope::reach_via(conn, via, id)?,
                _ => None,
            };
            let record_dlas = match (rule, &id_for_lookup) {
                (Some(Rule::ConsultantRecord), Some(id)) => match scope::consultant_dlas(conn, id)?
                {
                    Some(dlas) => dlas,
                    None if matches!(identity.actor, Actor::Staff(_)) => {
                        return Ok(Resolved::Missing);
                    }
                    None => Vec::new(),
                },
                _ => Vec::new(),
            };
            if matches!(rule, Some(Rule::Cohort(..))) && reach.is_none() {
                // Unknown resource: signed-in staff get a 404, others the usual refusal.
                if matches!(identity.actor, Actor::Staff(_)) {
                    return Ok(Resolved::Missing);
                }
            }
            Ok(Resolved::Ok(Box::new((identity, reach, record_dlas))))
        })
        .await
    };

    let (identity, reach, record_dlas) = match resolved {
        Ok(Resolved::Ok(found)) => *found,
        Ok(Resolved::BadToken) => {
            return Ok(req.into_response(refusal(
                is_api,
                &path,
                AppError::Unauthorized("Jeton d'API inconnu ou révoqué.".into()),
            )));
        }
        Ok(Resolved::Missing) => {
            return Ok(req.into_response(refusal(
                is_api,
                &path,
                AppError::NotFound("Cette page n'existe pas ou plus.".into()),
            )));
        }
        Err(e) => return Ok(req.into_response(refusal(is_api, &path, e))),
    };

    if let Some(pattern) = &pattern {
        let decision = match rule {
            Some(rule) => access::decide(
                &identity.actor,
                rule,
                reach.as_ref(),
                id_param.as_deref(),
                &record_dlas,
            ),
            None => {
                tracing::error!(method = %req.method(), pattern, "route not classified in web::access");
                Decision::Deny
            }
        };
        match decision {
            Decision::Allow => {}
            Decision::SignIn => {
                let response = if is_api {
                    refusal(
                        true,
                        &path,
                        AppError::Unauthorized(
                            "Authentification requise : envoyez un jeton d'API dans l'en-tête « Authorization: Bearer … »."
                                .into(),
                        ),
                    )
                } else {
                    let target = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/");
                    HttpResponse::SeeOther()
                        .insert_header((
                            header::LOCATION,
                            format!("/connexion?suite={}", urlencode(target)),
                        ))
                        .finish()
                };
                return Ok(req.into_response(response));
            }
            Decision::Deny => {
                return Ok(req.into_response(refusal(
                    is_api,
                    &path,
                    AppError::Forbidden(
                        "Vous n'avez pas accès à cette page avec votre compte.".into(),
                    ),
                )));
            }
        }
    }

    // CSRF: pages changed through a browser.
    if !is_api && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        if !same_origin(&req, &state.config.server.public_url) {
            return Ok(req.into_response(refusal(
                false,
                &path,
                AppError::Forbidden(
                    "Formulaire refusé : il ne vient pas de Cohorte (origine différente).".into(),
                ),
            )));
        }
        if let Some(expected) = identity.csrf_token() {
            let mut payload = req.take_payload();
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk?;
                if body.len() + chunk.len() > FORM_LIMIT {
                    return Ok(req.into_response(refusal(
                        false,
                        &path,
                        AppError::TooLarge("Le formulaire envoyé est trop volumineux.".into()),
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            let body = body.freeze();
            let multipart = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
            let from_multipart = if multipart {
                multipart_csrf(req.headers(), body.clone()).await
            } else {
                None
            };
            let given = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or(from_multipart)
                .or_else(|| {
                    serde_html_form::from_bytes::<Vec<(String, String)>>(&body)
                        .ok()
                        .and_then(|pairs| {
                            pairs
                                .into_iter()
                                .find(|(k, _)| k == "csrf_token")
                                .map(|(_, v)| v)
                        })
                });
            if given.as_deref() != Some(expected.as_str()) {
                return Ok(req.into_response(refusal(
                    false,
                    &path,
                    AppError::Forbidden(
                        "Formulaire expiré ou incomplet : rechargez la page et recommencez.".into(),
                    ),
                )));
            }
            req.set_payload(Payload::from(body));
        }
    }

    req.extensions_mut().insert(identity.clone());
    let res = CURRENT.scope(identity, next.call(req)).await?;
    Ok(res.map_into_boxed_body())
}

/// The `csrf_token` field of a `multipart/form-data` body (a form that uploads a file: the
/// list import), read with `actix-multipart` from the body the guard holds.
async fn multipart_csrf(headers: &header::HeaderMap, body: web::Bytes) -> Option<String> {
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut form = actix_multipart::Multipart::new(headers, stream);
    while let Some(field) = form.next().await {
        let mut field = field.ok()?;
        let wanted = field.name() == Some("csrf_token");
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            if wanted {
                value.extend_from_slice(&chunk.ok()?);
            }
        }
        if wanted {
            return String::from_utf8(value).ok();
        }
    }
    None
}

/// `Origin` (or, without it, `Referer`) names this app; requests without either (non-
/// browser clients) pass, the CSRF token then decides.
fn same_origin(req: &ServiceRequest, public_url: &str) -> bool {
    let header_value = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(value) = header_value else {
        return true;
    };
    let origin_of = |url: &str| -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let host = rest.split('/').next().unwrap_or("");
        format!("{}://{}", scheme.to_lowercase(), host.to_lowercase())
    };
    let given = origin_of(value);
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host()).to_lowercase();
    given == origin_of(public_url) || given == own
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn refusal(is_api: bool, _path: &str, e: AppError) -> HttpResponse {
    use actix_web::ResponseError;
    let mut res = if is_api {
        e.error_response()
    } else {
        crate::web::pages::PageError::from(e).error_response()
    };
    if is_api && res.status() == actix_web::http::StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"cohorte\""),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_path_parameters() {
        assert_eq!(
            captures(
                "/taches/{id}/associations/{aid}",
                "/taches/t1/associations/a2"
            ),
            vec![("id", "t1"), ("aid", "a2")]
        );
        assert!(captures("/cohortes", "/cohortes").is_empty());
    }

    fn officer(dla: &str) -> Actor {
        Actor::Staff(Staff {
            user_id: "u".into(),
            name: "Chargée".into(),
            email: "c@dla.test".into(),
            role: Role::Officer,
            dla_id: Some(dla.into()),
            consultant_id: None,
        })
    }

    #[test]
    fn an_officers_new_consultant_record_belongs_to_their_dla_and_no_other() {
        let a = officer("dla-a");
        let own = Some(vec!["dla-a".to_string()]);
        assert_eq!(a.consultant_dlas(None, None).unwrap(), own);
        assert_eq!(a.consultant_dlas(None, Some(&[])).unwrap(), own);
        assert_eq!(
            a.consultant_dlas(None, Some(&[" dla-a ".into()])).unwrap(),
            own
        );
        let err = a
            .consultant_dlas(None, Some(&["dla-a".into(), "dla-b".into()]))
            .unwrap_err();
        assert!(err.fields().is_some_and(|f| f.get("dla_ids").is_some()));
    }

    #[test]
    fn only_administrators_change_the_dlas_of_a_consultant_record() {
        let a = officer("dla-a");
        let current = ["dla-a".to_string(), "dla-b".to_string()];
        assert_eq!(a.consultant_dlas(Some(&current), None).unwrap(), None);
        let same = ["dla-b".to_string(), "dla-a".to_string()];
        assert_eq!(
            a.consultant_dlas(Some(&current), Some(&same)).unwrap(),
            None
        );
        assert!(
            a.consultant_dlas(Some(&current), Some(&["dla-a".into()]))
                .is_err()
        );
        let admin = Actor::Staff(Staff {
            role: Role::Admin,
            dla_id: None,
            ..match officer("x") {
                Actor::Staff(s) => s,
                _ => unreachable!(),
            }
        });
        assert_eq!(
            admin
                .consultant_dlas(Some(&current), Some(&["dla-c".into()]))
                .unwrap(),
            Some(vec!["dla-c".to_string()])
        );
        assert_eq!(admin.consultant_dlas(None, None).unwrap(), None);
    }

    #[test]
    fn csrf_token_is_bound_to_the_session_and_hides_it() {
        let a = csrf_for("session-a");
        assert_eq!(a, csrf_for("session-a"));
        assert_ne!(a, csrf_for("session-b"));
        assert!(!a.contains("session"));
        assert_eq!(a.len(), 32);
    }
}
