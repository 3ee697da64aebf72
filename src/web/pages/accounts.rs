//! Accounts: « Mon compte » for every staff member (password, API tokens) and the
//! administrators' accounts page (list, create, edit, new password link).
//!
//! No password is ever typed by an administrator: a new account receives by email a
//! single-use link (`account::password_link`, 7 days) to choose its own, and the link is also
//! shown once on the result page in case the email does not arrive. An API token's secret
//! is shown once, on the page that created it; only its hash is stored.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::models::account::password_link;
use crate::models::account::{self, Principal, Role, SignIn, Throttle, User};
use crate::models::input::Check;
use crate::models::{consultant, dla};
use crate::web::AppState;
use crate::web::actor::{Actor, Credential, Identity, Staff, session_cookie};
use crate::web::form::Form;
use crate::web::pages::auth::send_now;
use crate::web::pages::{
    Confirm, NoticeQuery, PER_PAGE, PageQuery, PageResult, confirm, page_number, pager, redirect,
    render, render_status, rerender, with_notice,
};
use crate::web::view;

/// How long the link of a new account (or a new link) stays valid.
pub const LINK_DAYS: i64 = 7;

pub fn routes(cfg: &mut crate::web::routes::Routes) {
    cfg.route("/compte", web::get().to(my_account))
        .route("/compte/mot-de-passe", web::post().to(change_password))
        .route("/compte/jetons", web::post().to(create_token))
        .route(
            "/compte/jetons/{id}/revoquer",
            web::get().to(confirm_revoke_token),
        )
        .route("/compte/jetons/{id}/revoquer", web::post().to(revoke_token))
        .route("/utilisateurs", web::get().to(list))
        .route("/utilisateurs", web::post().to(create))
        .route("/utilisateurs/nouveau", web::get().to(new_form))
        .route("/utilisateurs/{id}/modifier", web::get().to(edit_form))
        .route("/utilisateurs/{id}/modifier", web::post().to(update))
        .route("/utilisateurs/{id}/lien", web::post().to(new_link));
}

/// The signed-in staff member (the guard has already let only staff through).
fn staff(actor: &Actor) -> Result<&Staff, AppError> {
    actor
        .staff()
        .ok_or_else(|| AppError::Forbidden("Cette page est réservée à l'équipe.".into()))
}

fn when(t: Option<chrono::NaiveDateTime>) -> Option<String> {
    t.map(view::utc_long)
}

// --- My account ------------------------------------------------------------------------

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct PasswordChangeInput {
    #[serde(default, skip_serializing)]
    pub current_password: String,
    #[serde(default, skip_serializing)]
    pub password: String,
    #[serde(default, skip_serializing)]
    pub password_confirm: String,
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct TokenInput {
    #[serde(default)]
    pub name: String,
}

/// Everything « Mon compte » shows about `user_id`.
async fn account_ctx(state: &AppState, user_id: &str) -> Result<Value, AppError> {
    let id = user_id.to_string();
    let public_url = state
        .config
        .server
        .public_url
        .trim_end_matches('/')
        .to_string();
    let (user, tokens, dla_name, consultant_name, feed_url) =
        crate::db::run(&state.pool, move |c| {
            let user = account::find(c, &id)?;
            // The private calendar feed (issue #17), also on the DLA's calendar page.
            let feed_url = crate::models::feed::staff_calendar_url(c, &public_url, &id)?;
            let tokens = account::api_tokens_of(c, &id)?;
            let dla_name = match &user.dla_id {
                Some(d) => dla::list(c)?
                    .into_iter()
                    .find(|x| &x.id == d)
                    .map(|x| x.name),
                None => None,
            };
            let consultant_name = match &user.consultant_id {
                Some(k) => consultant::list(c)?
                    .into_iter()
                    .find(|x| &x.id == k)
                    .map(|x| x.name),
                None => None,
            };
            Ok((user, tokens, dla_name, consultant_name, feed_url))
        })
        .await?;
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created": view::utc_long(t.created_at),
                "last_used": when(t.last_used_at),
                "revoked": when(t.revoked_at),
            })
        })
        .collect();
    Ok(json!({
        "title": "Mon compte",
        "nav_account": true,
        "feed_url": feed_url,
        "me": {
            "name": user.name,
            "email": user.email,
            "role_label": user.role().label(),
            "dla_name": dla_name,
            "consultant_name": consultant_name,
            "has_password": user.password_hash.is_some(),
        },
        "tokens": tokens,
        "form": TokenInput::default(),
    }))
}

async fn my_account(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let me = staff(&actor)?;
    let ctx = account_ctx(&state, &me.user_id).await?;
    render(&state, "pages/accounts/mine", with_notice(ctx, &q))
}

/// The current password is checked like a sign-in (same throttle), so this form cannot be
/// used to guess it faster than the sign-in page.
async fn change_password(
    state: web::Data<AppState>,
    actor: Actor,
    identity: Identity,
    req: HttpRequest,
    Form(input): Form<PasswordChangeInput>,
) -> PageResult {
    let me = staff(&actor)?.clone();
    let mut check = Check::new();
    if input.current_password.is_empty() {
        check.add("current_password", "Saisissez votre mot de passe actuel.");
    }
    account::check_password(
        &mut check,
        "password",
        &input.password,
        Some(&input.password_confirm),
    );
    if let Err(e) = check.finish() {
        let ctx = account_ctx(&state, &me.user_id).await?;
        return rerender(
            &state,
            "pages/accounts/mine",
            ctx,
            &TokenInput::default(),
            e,
        );
    }
    let throttle = Throttle::from_config(&state.config.auth);
    let address =
        crate::web::pages::auth::client_address(&req, state.config.server.trust_forwarded_for);
    let (email, current) = (me.email.clone(), input.current_password.clone());
    let outcome = state
        .write(move |tx| account::sign_in(tx, &email, &current, &address, throttle))
        .await?;
    let refusal = match outcome {
        SignIn::Ok(user) if user.id == me.user_id => None,
        SignIn::Throttled(minutes) => Some(format!(
            "Trop de tentatives : réessayez dans {minutes} minute{}.",
            if minutes > 1 { "s" } else { "" }
        )),
        _ => Some("Mot de passe actuel incorrect.".to_string()),
    };
    if let Some(message) = refusal {
        let ctx = account_ctx(&state, &me.user_id).await?;
        return rerender(
            &state,
            "pages/accounts/mine",
            ctx,
            &TokenInput::default(),
            AppError::field("current_password", message),
        );
    }
    // `set_password` ends every session of the account, this one included: a signed-in
    // browser gets a fresh session so that only the other ones end.
    let lifetimes = account::Lifetimes::from_config(&state.config.auth);
    let with_cookie = matches!(identity.credential, Credential::Cookie(_));
    let (uid, password) = (me.user_id.clone(), input.password.clone());
    let session = state
        .write(move |c| {
            account::set_password(c, &uid, &password)?;
            if with_cookie {
                let at = c.now_naive();
                Ok(Some(account::start_session(
                    c,
                    &Principal::User(uid.clone()),
                    lifetimes,
                    at,
                )?))
            } else {
                Ok(None)
            }
        })
        .await?;
    let mut response = redirect("/compte", Some("mot_de_passe_change"));
    if let Some(token) = session {
        response
            .add_cookie(&session_cookie(&token, state.config.server.is_https()))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
    }
    Ok(response)
}

/// Creates a token and shows its secret once, on this page (not after a redirect: the
/// secret must not travel in an address or be shown again).
async fn create_token(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<TokenInput>,
) -> PageResult {
    let me = staff(&actor)?.clone();
    let (uid, name) = (me.user_id.clone(), input.name.clone());
    let created = state
        .write(move |c| account::create_api_token(c, &uid, &name))
        .await;
    let mut ctx = account_ctx(&state, &me.user_id).await?;
    match created {
        Ok((token, secret)) => {
            if let Some(obj) = ctx.as_object_mut() {
                obj.insert(
                    "new_token".into(),
                    json!({"name": token.name, "secret": secret}),
                );
            }
            render_status(&state, StatusCode::CREATED, "pages/accounts/mine", &mut ctx)
        }
        Err(e) => rerender(&state, "pages/accounts/mine", ctx, &input, e),
    }
}

async fn confirm_revoke_token(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> PageResult {
    let me = staff(&actor)?.clone();
    let id = path.into_inner();
    let tid = id.clone();
    // Only one's own live tokens: another's, or one already revoked, is not found.
    let token = crate::db::run(&state.pool, move |c| {
        account::api_tokens_of(c, &me.user_id)?
            .into_iter()
            .find(|t| t.id == tid && t.revoked_at.is_none())
            .ok_or_else(|| AppError::not_found("Jeton"))
    })
    .await?;
    confirm(
        &state,
        "nav_account",
        Confirm {
            title: format!("Révoquer le jeton « {} » ?", token.name),
            message: format!(
                "Le jeton « {} » ({}…) sera révoqué : les programmes qui l'utilisent n'auront plus accès à l'API. Cette action est définitive ; pour reprendre, il faudra créer un nouveau jeton.",
                token.name, token.prefix
            ),
            action: format!("/compte/jetons/{id}/revoquer"),
            confirm_label: "Révoquer le jeton".into(),
            cancel: "/compte#tokens-title".into(),
            ..Default::default()
        },
    )
}

async fn revoke_token(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> PageResult {
    let me = staff(&actor)?.clone();
    let id = path.into_inner();
    state
        .write(move |c| account::revoke_api_token(c, &me.user_id, &id))
        .await?;
    Ok(redirect("/compte", Some("jeton_revoque")))
}

// --- Administration of accounts --------------------------------------------------------

/// The create and edit forms, as typed.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct UserInput {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub dla_id: String,
    #[serde(default)]
    pub consultant_id: String,
    #[serde(default)]
    pub disabled: String,
    #[serde(default)]
    pub version: String,
}

impl From<&User> for UserInput {
    fn from(u: &User) -> Self {
        UserInput {
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            dla_id: u.dla_id.clone().unwrap_or_default(),
            consultant_id: u.consultant_id.clone().unwrap_or_default(),
            disabled: if u.disabled {
                "on".into()
            } else {
                String::new()
            },
            version: u.version.to_string(),
        }
    }
}

/// The DLAs and consultant records, for the form's selects.
async fn references(
    state: &AppState,
) -> Result<(Vec<dla::Dla>, Vec<consultant::Consultant>), AppError> {
    crate::db::run(&state.pool, |c| Ok((dla::list(c)?, consultant::list(c)?))).await
}

/// The selects of the form, with `input`'s choices selected.
async fn form_ctx(state: &AppState, input: &UserInput, mut ctx: Value) -> Result<Value, AppError> {
    let (dlas, consultants) = references(state).await?;
    let mut roles = vec![(String::new(), "Choisissez un rôle".to_string())];
    roles.extend(
        Role::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), r.label().to_string())),
    );
    let mut dla_pairs = vec![(String::new(), "Aucun".to_string())];
    dla_pairs.extend(
        dlas.into_iter()
            .map(|d| (d.id, format!("{} ({})", d.name, d.area))),
    );
    let mut consultant_pairs = vec![(String::new(), "Aucune".to_string())];
    consultant_pairs.extend(consultants.into_iter().map(|k| {
        let text = if k.firm.trim().is_empty() {
            k.name
        } else {
            format!("{} ({})", k.name, k.firm)
        };
        (k.id, text)
    }));
    if let Some(obj) = ctx.as_object_mut() {
        obj.insert("nav_users".into(), json!(true));
        obj.insert(
            "role_options".into(),
            view::owned_options(&roles, input.role.trim()),
        );
        obj.insert(
            "dla_options".into(),
            view::owned_options(&dla_pairs, input.dla_id.trim()),
        );
        obj.insert(
            "consultant_options".into(),
            view::owned_options(&consultant_pairs, input.consultant_id.trim()),
        );
        obj.entry("form").or_insert_with(|| json!(input));
    }
    Ok(ctx)
}

const ACCOUNTS: (&str, &str) = ("compte", "comptes");

/// Every staff account, 50 per page, by role then name; each row names its DLA or
/// consultant record (joined in the page's query, for its rows only).
async fn list(
    state: web::Data<AppState>,
    q: web::Query<NoticeQuery>,
    page: web::Query<PageQuery>,
) -> PageResult {
    let asked = page.into_inner();
    let (users, page, total) = crate::db::run(&state.pool, move |c| {
        let total = account::count(c)?;
        let page = page_number(&asked, total);
        let users = account::page(c, PER_PAGE, (page - 1) * PER_PAGE)?;
        Ok((users, page, total))
    })
    .await?;
    let rows: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "name": u.name,
                "email": u.email,
                "role_label": u.role().label(),
                "dla_name": u.dla_name,
                "consultant_name": u.consultant_name,
                "disabled": u.disabled,
                "has_password": u.has_password,
            })
        })
        .collect();
    let ctx = json!({
        "title": "Comptes", "nav_users": true, "users": rows,
        "pager": pager("/utilisateurs", page, total, ACCOUNTS),
    });
    render(&state, "pages/accounts/list", with_notice(ctx, &q))
}

fn new_ctx() -> Value {
    json!({"title": "Créer un compte", "action": "/utilisateurs"})
}

async fn new_form(state: web::Data<AppState>) -> PageResult {
    let input = UserInput::default();
    let ctx = form_ctx(&state, &input, new_ctx()).await?;
    render(&state, "pages/accounts/new", ctx)
}

/// Emails the link to choose a password; `false` when the email could not leave (the
/// page then says so, and the link it shows is the way).
async fn send_link(state: &AppState, user: &User, link: &str, by: &str, renewed: bool) -> bool {
    let dla_name = match &user.dla_id {
        Some(d) => {
            let d = d.clone();
            crate::db::run(&state.pool, move |c| dla::get(c, &d))
                .await
                .map(|x| x.name)
                .unwrap_or_else(|_| "votre DLA".into())
        }
        None => "votre DLA".into(),
    };
    let data = json!({
        "name": user.name,
        "email": user.email,
        "role_label": user.role().label(),
        "link": link,
        "days": LINK_DAYS,
        "by": by,
        "renewed": renewed,
        "sign_in": format!("{}/connexion", state.config.server.public_url.trim_end_matches('/')),
        "dla_name": dla_name,
    });
    match send_now(state, &user.name, &user.email, "account_created", &data).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, user = %user.id, "account email not sent");
            false
        }
    }
}

fn link_page(state: &AppState, user: &User, link: &str, sent: bool, created: bool) -> PageResult {
    render_status(
        state,
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        "pages/accounts/link",
        &mut json!({
            "title": if created { "Compte créé" } else { "Nouveau lien envoyé" },
            "nav_users": true,
            "created": created,
            "user": {"id": user.id, "name": user.name, "email": user.email,
                     "role_label": user.role().label()},
            "link": link,
            "days": LINK_DAYS,
            "sent": sent,
        }),
    )
}

async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Form(input): Form<UserInput>,
) -> PageResult {
    let by = staff(&actor)?.name.clone();
    let (i, public_url) = (input.clone(), state.config.server.public_url.clone());
    let created = state
        .write(move |c| {
            let user = account::create(
                c,
                account::NewUser {
                    email: &i.email,
                    name: &i.name,
                    role: i.role.trim(),
                    dla_id: Some(&i.dla_id),
                    consultant_id: Some(&i.consultant_id),
                    password: None,
                },
            )?;
            let link = password_link(c, &user.id, &public_url, chrono::Duration::days(LINK_DAYS))?;
            Ok((user, link))
        })
        .await;
    match created {
        Ok((user, link)) => {
            let sent = send_link(&state, &user, &link, &by, false).await;
            link_page(&state, &user, &link, sent, true)
        }
        Err(e) => {
            let ctx = form_ctx(&state, &input, new_ctx()).await?;
            rerender(&state, "pages/accounts/new", ctx, &input, e)
        }
    }
}

fn edit_ctx(user: &User) -> Value {
    json!({
        "title": format!("Modifier le compte de {}", user.name),
        "action": format!("/utilisateurs/{}/modifier", user.id),
        "user": {"id": user.id, "name": user.name, "email": user.email,
                 "has_password": user.password_hash.is_some(), "disabled": user.disabled,
                 "created": view::utc_long(user.created_at)},
    })
}

async fn load_user(state: &AppState, id: &str) -> Result<User, AppError> {
    let id = id.to_string();
    crate::db::run(&state.pool, move |c| account::find(c, &id)).await
}

async fn edit_form(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> PageResult {
    let me = staff(&actor)?.user_id.clone();
    let user = load_user(&state, &path).await?;
    let input = UserInput::from(&user);
    let mut ctx = form_ctx(&state, &input, edit_ctx(&user)).await?;
    if let Some(obj) = ctx.as_object_mut() {
        obj.insert("is_me".into(), json!(user.id == me));
    }
    render(&state, "pages/accounts/edit", ctx)
}

async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    Form(input): Form<UserInput>,
) -> PageResult {
    let me = staff(&actor)?.user_id.clone();
    let id = path.into_inner();
    let (uid, i, by) = (id.clone(), input.clone(), me.clone());
    let saved = state
        .write(move |c| {
            account::update(
                c,
                &uid,
                account::UserChange {
                    name: &i.name,
                    role: &i.role,
                    dla_id: Some(&i.dla_id),
                    consultant_id: Some(&i.consultant_id),
                    disabled: Check::checkbox(&i.disabled),
                    version: Some(&i.version),
                },
                &by,
            )
        })
        .await;
    match saved {
        Ok(_) => Ok(redirect("/utilisateurs", Some("compte_modifie"))),
        Err(e) => {
            let user = load_user(&state, &id).await?;
            // The email is not editable: show the stored one beside what was typed.
            let shown = UserInput {
                email: user.email.clone(),
                ..input
            };
            let mut ctx = form_ctx(&state, &shown, edit_ctx(&user)).await?;
            if let Some(obj) = ctx.as_object_mut() {
                obj.insert("is_me".into(), json!(user.id == me));
            }
            rerender(&state, "pages/accounts/edit", ctx, &shown, e)
        }
    }
}

/// A new link to choose a password (lost email, expired link, forgotten password): shown
/// on the page and emailed. Earlier links stay valid until used or expired.
async fn new_link(state: web::Data<AppState>, actor: Actor, path: web::Path<String>) -> PageResult {
    let by = staff(&actor)?.name.clone();
    let user = load_user(&state, &path).await?;
    if user.disabled {
        let input = UserInput::from(&user);
        let ctx = form_ctx(&state, &input, edit_ctx(&user)).await?;
        return rerender(
            &state,
            "pages/accounts/edit",
            ctx,
            &input,
            AppError::Conflict {
                code: "account_disabled",
                message: "Ce compte est désactivé : réactivez-le avant de lui envoyer un lien."
                    .into(),
            },
        );
    }
    let (uid, public_url) = (user.id.clone(), state.config.server.public_url.clone());
    let link = state
        .write(move |c| password_link(c, &uid, &public_url, chrono::Duration::days(LINK_DAYS)))
        .await?;
    let sent = send_link(&state, &user, &link, &by, true).await;
    link_page(&state, &user, &link, sent, false)
}
