//! Staff sign-in and sign-out, password reset by emailed link, and the first
//! administrator's one-time link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::AppError;
use crate::models::account::{self, LinkPurpose, LinkTarget, Principal, SignIn, Throttle};
use crate::models::input::Check;
use crate::web::AppState;
use crate::web::actor::{Actor, Credential, Identity, expired_session_cookie, session_cookie};
use crate::web::form::Form;
use crate::web::pages::{NoticeQuery, PageResult, redirect, render, render_status, with_notice};

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/connexion", web::get().to(sign_in_form))
        .route("/connexion", web::post().to(sign_in))
        .route("/deconnexion", web::post().to(sign_out))
        .route("/mot-de-passe-oublie", web::get().to(forgot_form))
        .route("/mot-de-passe-oublie", web::post().to(forgot))
        .route("/mot-de-passe/{token}", web::get().to(reset_form))
        .route("/mot-de-passe/{token}", web::post().to(reset))
        .route(
            "/premier-administrateur/{token}",
            web::get().to(first_admin_form),
        )
        .route(
            "/premier-administrateur/{token}",
            web::post().to(first_admin),
        );
}

/// Where each kind of account lands after signing in.
pub fn home_of(actor: &Actor) -> &'static str {
    match actor {
        Actor::Staff(_) => "/cohortes",
        Actor::Participant(_) => "/portail",
        Actor::Anonymous => "/connexion",
    }
}

/// `/`: the home of whoever is signed in.
pub async fn home(actor: Actor) -> HttpResponse {
    redirect(home_of(&actor), None)
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct SignInInput {
    #[serde(default)]
    pub email: String,
    #[serde(default, skip_serializing)]
    pub password: String,
    #[serde(default)]
    pub suite: String,
}

/// Only a path of this app (no `//host`, no scheme) is followed after sign-in.
fn local_target(suite: &str) -> Option<&str> {
    crate::web::pages::local_path(suite)
}

#[derive(Deserialize, Default)]
struct SignInQuery {
    #[serde(default)]
    suite: String,
    #[serde(default)]
    notice: String,
}

async fn sign_in_form(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<SignInQuery>,
) -> PageResult {
    if matches!(actor, Actor::Staff(_)) {
        return Ok(redirect(
            local_target(&q.suite).unwrap_or("/cohortes"),
            None,
        ));
    }
    let ctx = json!({
        "title": "Connexion",
        "form": SignInInput { suite: q.suite.clone(), ..Default::default() },
    });
    render(
        &state,
        "pages/auth/sign_in",
        with_notice(
            ctx,
            &NoticeQuery {
                notice: q.notice.clone(),
            },
        ),
    )
}

/// The client's address, for throttling: the connection's peer, or — behind a reverse
/// proxy that sets it (`server.trust_forwarded_for`) — the last `X-Forwarded-For` hop.
pub fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let peer = req.peer_addr().map(|a| a.ip());
    client_address_from(trust_forwarded_for, &forwarded, peer)
}

/// The client's address from the `X-Forwarded-For` values (joined with `,`) and the peer.
/// Only the right-most hop is the proxy's own word: everything left of it was sent by the
/// client and may be made up to dodge the throttle.
pub fn client_address_from(
    trust_forwarded_for: bool,
    forwarded: &str,
    peer: Option<std::net::IpAddr>,
) -> String {
    if trust_forwarded_for
        && let Some(ip) = forwarded
            .rsplit(',')
            .map(str::trim)
            .find(|hop| !hop.is_empty())
            .and_then(|hop| hop.parse::<std::net::IpAddr>().ok())
    {
        return ip.to_string();
    }
    peer.map(|ip| ip.to_string())
        .unwrap_or_else(|| "inconnue".to_string())
}

#[cfg(test)]
mod client_address_tests {
    use super::client_address_from;

    #[test]
    fn the_throttle_trusts_only_the_hop_the_proxy_added() {
        let peer = Some("10.0.0.2".parse().unwrap());
        // The client wrote « 1.2.3.4 » itself; the proxy appended the real address.
        assert_eq!(
            client_address_from(true, "1.2.3.4, 203.0.113.7", peer),
            "203.0.113.7"
        );
        assert_eq!(
            client_address_from(true, "203.0.113.7", peer),
            "203.0.113.7"
        );
        // Not behind a proxy: the header is ignored whatever it says.
        assert_eq!(client_address_from(false, "1.2.3.4", peer), "10.0.0.2");
        // A malformed last hop is not trusted.
        assert_eq!(
            client_address_from(true, "1.2.3.4, bogus", peer),
            "10.0.0.2"
        );
        assert_eq!(client_address_from(true, "", peer), "10.0.0.2");
    }
}

async fn sign_in(
    state: web::Data<AppState>,
    identity: Identity,
    req: HttpRequest,
    Form(input): Form<SignInInput>,
) -> PageResult {
    let throttle = Throttle::from_config(&state.config.auth);
    let lifetimes = account::Lifetimes::from_config(&state.config.auth);
    let address = client_address(&req, state.config.server.trust_forwarded_for);
    let (email, password) = (input.email.clone(), input.password.clone());
    let previous = match identity.credential {
        Credential::Cookie(token) => Some(token),
        _ => None,
    };
    let outcome = state
        .write(move |c| {
            let at = c.now_naive();
            let result = account::sign_in(c, &email, &password, &address, throttle)?;
            if let SignIn::Ok(user) = &result {
                // A new session at every sign-in: a cookie planted before cannot be reused.
                if let Some(old) = previous {
                    account::end_session(c, &old)?;
                }
                let token =
                    account::start_session(c, &Principal::User(user.id.clone()), lifetimes, at)?;
                return Ok((result, Some(token)));
            }
            Ok((result, None))
        })
        .await?;
    let (status, message) = match outcome {
        (SignIn::Ok(user), Some(token)) => {
            tracing::info!(user = %user.id, "signed in");
            let target = local_target(&input.suite).unwrap_or("/cohortes");
            return Ok(HttpResponse::SeeOther()
                .cookie(session_cookie(&token, state.config.server.is_https()))
                .insert_header((actix_web::http::header::LOCATION, target.to_string()))
                .finish());
        }
        (SignIn::Throttled(minutes), _) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Trop de tentatives de connexion : réessayez dans {minutes} minute{}.",
                if minutes > 1 { "s" } else { "" }
            ),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "Adresse e-mail ou mot de passe incorrect.".to_string(),
        ),
    };
    let mut ctx = json!({
        "title": "Connexion",
        "form": input,
        "error_message": message,
        "errors": {"password": message},
    });
    render_status(&state, status, "pages/auth/sign_in", &mut ctx)
}

async fn sign_out(state: web::Data<AppState>, identity: Identity) -> PageResult {
    if let Credential::Cookie(token) = identity.credential {
        state
            .write(move |c| account::end_session(c, &token))
            .await?;
    }
    Ok(HttpResponse::SeeOther()
        .cookie(expired_session_cookie(state.config.server.is_https()))
        .insert_header((
            actix_web::http::header::LOCATION,
            "/connexion?notice=deconnecte",
        ))
        .finish())
}

// --- Password reset --------------------------------------------------------------------

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct EmailInput {
    #[serde(default)]
    pub email: String,
}

async fn forgot_form(state: web::Data<AppState>) -> PageResult {
    render(
        &state,
        "pages/auth/forgot",
        json!({"title": "Mot de passe oublié", "form": EmailInput::default()}),
    )
}

async fn forgot(state: web::Data<AppState>, Form(input): Form<EmailInput>) -> PageResult {
    let mut check = Check::new();
    check.email("email", &input.email);
    if let Err(e) = check.finish() {
        return crate::web::pages::rerender(
            &state,
            "pages/auth/forgot",
            json!({"title": "Mot de passe oublié"}),
            &input,
            e,
        );
    }
    let minutes = state.config.auth.reset_link_minutes.clamp(5, 24 * 60);
    let email = input.email.clone();
    let link = state
        .write(move |c| {
            let at = c.now_naive();
            let Some(user) = account::find_by_email(c, &email)? else {
                return Ok(None);
            };
            // One email every 5 minutes at most: the form cannot flood someone's inbox.
            if user.disabled
                || account::has_recent_link(
                    c,
                    LinkPurpose::PasswordReset,
                    &user.id,
                    at - chrono::Duration::minutes(5),
                )?
            {
                return Ok(None);
            }
            let token = account::create_link(
                c,
                LinkPurpose::PasswordReset,
                &LinkTarget {
                    user_id: Some(user.id.clone()),
                    participant_id: None,
                },
                chrono::Duration::minutes(minutes as i64),
                at,
            )?;
            Ok(Some((user, token)))
        })
        .await?;
    // Sent now rather than through the outbox, so that the link never rests in the
    // database; the answer is the same whether the account exists or not.
    if let Some((user, token)) = link {
        let link = format!(
            "{}/mot-de-passe/{token}",
            state.config.server.public_url.trim_end_matches('/')
        );
        let data = json!({"name": user.name, "email": user.email, "link": link,
            "minutes": minutes, "dla_name": "votre DLA"});
        // Sent after the answer, so that its duration does not tell whether the account
        // exists.
        let state = state.clone();
        actix_web::rt::spawn(async move {
            let sent = send_now(&state, &user.name, &user.email, "password_reset", &data).await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "password reset email not sent");
            }
        });
    }
    render(
        &state,
        "pages/auth/forgot",
        json!({"title": "Mot de passe oublié", "form": input, "sent": true, "minutes": minutes}),
    )
}

/// Renders `email/<message>` and sends it at once on the configured transport.
pub async fn send_now(
    state: &AppState,
    to_name: &str,
    to_address: &str,
    message: &str,
    data: &serde_json::Value,
) -> Result<(), AppError> {
    let renderer = &*state.mail.renderer;
    let rendered = renderer
        .render(message, data)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let email = crate::mail::render::Email {
        to_name: to_name.to_string(),
        to_address: to_address.to_string(),
        rendered,
        calendar: None,
    };
    let config = state.config.mail.clone();
    web::block(move || -> Result<(), AppError> {
        let from =
            crate::mail::sender(&config).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
        let message = email
            .to_message(&from, &crate::mail::render::new_message_id(&from))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
        // Someone waits for this page: not the dispatcher's ten minutes of RFC 5321.
        crate::mail::Transport::interactive(&config)?
            .send(&message)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
        Ok(())
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct PasswordInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default, skip_serializing)]
    pub password: String,
    #[serde(default, skip_serializing)]
    pub password_confirm: String,
}

fn password_page(
    state: &AppState,
    purpose: LinkPurpose,
    token: &str,
    refused: Option<&str>,
) -> serde_json::Value {
    let first = purpose == LinkPurpose::FirstAdmin;
    json!({
        "title": if first { "Créer le compte administrateur" } else { "Choisir un nouveau mot de passe" },
        "intro": if first { "Bienvenue sur Cohorte. Ce compte administrera l'instance : il crée les DLA et les comptes des chargé·es de mission et des consultant·es." } else { "" },
        "action": if first { format!("/premier-administrateur/{token}") } else { format!("/mot-de-passe/{token}") },
        "ask_identity": first,
        "submit": if first { "Créer le compte" } else { "Enregistrer le mot de passe" },
        "refused": refused,
        "retry_href": if first { "/connexion" } else { "/mot-de-passe-oublie" },
        "retry_label": if first { "Aller à la page de connexion" } else { "Demander un nouveau lien" },
        "form": PasswordInput::default(),
        "public_page": true,
        "https": state.config.server.is_https(),
    })
}

async fn link_form(state: web::Data<AppState>, purpose: LinkPurpose, token: String) -> PageResult {
    let (t, at) = (token.clone(), state.clock.now().naive_utc());
    let peeked =
        crate::db::run(&state.pool, move |c| account::peek_link(c, purpose, &t, at)).await?;
    let refused = peeked.err().map(|r| r.message());
    let mut ctx = password_page(&state, purpose, &token, refused);
    let status = if refused.is_some() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    render_status(&state, status, "pages/auth/password", &mut ctx)
}

async fn reset_form(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    link_form(state, LinkPurpose::PasswordReset, path.into_inner()).await
}

async fn first_admin_form(state: web::Data<AppState>, path: web::Path<String>) -> PageResult {
    link_form(state, LinkPurpose::FirstAdmin, path.into_inner()).await
}

async fn use_link(
    state: web::Data<AppState>,
    purpose: LinkPurpose,
    token: String,
    input: PasswordInput,
) -> PageResult {
    let lifetimes = account::Lifetimes::from_config(&state.config.auth);
    let (t, i) = (token.clone(), input.clone());
    let outcome = state
        .write(move |c| {
            let at = c.now_naive();
            let mut check = Check::new();
            account::check_password(
                &mut check,
                "password",
                &i.password,
                Some(&i.password_confirm),
            );
            if purpose == LinkPurpose::FirstAdmin {
                check.required("name", &i.name, 200);
                check.email("email", &i.email);
            }
            // Checked before the link is used, so that a typo does not burn it.
            if let Err(refusal) = account::peek_link(c, purpose, &t, at)? {
                return Ok(Err(refusal.message()));
            }
            // A first-administrator link printed by an earlier start is void once anyone
            // has an account.
            if purpose == LinkPurpose::FirstAdmin && account::count(c)? > 0 {
                return Ok(Err(
                    "Le compte administrateur existe déjà : connectez-vous avec lui.",
                ));
            }
            check.finish()?;
            let target = match account::consume_link(c, purpose, &t, at)? {
                Ok(target) => target,
                Err(refusal) => return Ok(Err(refusal.message())),
            };
            let user_id = match purpose {
                LinkPurpose::FirstAdmin => {
                    let id = account::create(
                        c,
                        account::NewUser {
                            email: &i.email,
                            name: &i.name,
                            role: "admin",
                            dla_id: None,
                            consultant_id: None,
                            password: Some(&i.password),
                        },
                    )?
                    .id;
                    account::void_links(c, LinkPurpose::FirstAdmin, at)?;
                    id
                }
                _ => {
                    let id = target.user_id.unwrap_or_default();
                    account::set_password(c, &id, &i.password)?;
                    id
                }
            };
            Ok(Ok(account::start_session(
                c,
                &Principal::User(user_id),
                lifetimes,
                at,
            )?))
        })
        .await;
    match outcome {
        Ok(Ok(session)) => Ok(HttpResponse::SeeOther()
            .cookie(session_cookie(&session, state.config.server.is_https()))
            .insert_header((
                actix_web::http::header::LOCATION,
                if purpose == LinkPurpose::FirstAdmin {
                    "/cohortes?notice=compte_cree"
                } else {
                    "/cohortes?notice=mot_de_passe_change"
                },
            ))
            .finish()),
        Ok(Err(message)) => {
            let mut ctx = password_page(&state, purpose, &token, Some(message));
            render_status(&state, StatusCode::GONE, "pages/auth/password", &mut ctx)
        }
        Err(e) => {
            let ctx = password_page(&state, purpose, &token, None);
            crate::web::pages::rerender(&state, "pages/auth/password", ctx, &input, e)
        }
    }
}

async fn reset(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<PasswordInput>,
) -> PageResult {
    use_link(state, LinkPurpose::PasswordReset, path.into_inner(), input).await
}

async fn first_admin(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Form(input): Form<PasswordInput>,
) -> PageResult {
    use_link(state, LinkPurpose::FirstAdmin, path.into_inner(), input).await
}
