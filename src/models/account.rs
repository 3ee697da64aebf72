//! Accounts and credentials: staff users (argon2id passwords), signed-in sessions,
//! single-use links (participant sign-in, password reset, first administrator), sign-in
//! throttling and API tokens.
//!
//! No secret is stored: what the browser or the email holds is a random 256-bit value; the
//! database keeps its SHA-256 (`token_hash`). A stolen database opens no session and no
//! link. Passwords are argon2id PHC strings with OWASP's parameters (m = 19 456 KiB, t = 2,
//! p = 1).

use argon2::password_hash::{
    Decimal, Ident, Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier, Salt,
    SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::schema::{api_tokens, auth_links, auth_sessions, sign_in_failures, users};
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::input::{Check, new_id};

/// Staff roles. Participants are not users: they sign in from their emails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Role {
    Admin,
    Officer,
    Consultant,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Officer, Role::Consultant];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Consultant => "consultant",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrateur·rice",
            Role::Officer => "Chargé·e de mission",
            Role::Consultant => "Consultant·e",
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub dla_id: Option<String>,
    pub consultant_id: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub version: i32,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

impl User {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Consultant)
    }
}

// --- Secrets ---------------------------------------------------------------------------

/// A fresh random secret: 256 bits, URL-safe (hex).
pub fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// What is stored for a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// OWASP's argon2id parameters (m = 19 456 KiB, t = 2, p = 1).
fn owasp_params() -> Params {
    Params::new(19_456, 2, 1, None).expect("OWASP argon2id parameters")
}

/// Argon2 whose working memory (19 MiB with OWASP's parameters) is an anonymous mapping
/// made for one hash and unmapped when it is done. Taken from the allocator, that block
/// stayed in the allocator's arena after the hash (measured: a server's resident memory
/// grew by 22 MB at its first sign-in and kept them); unmapped, it goes back to the system.
/// Verification comes with it: `PasswordVerifier` is implemented for every hasher, and
/// compares the outputs in constant time.
struct MappedArgon2;

impl PasswordHasher for MappedArgon2 {
    type Params = Params;

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        algorithm: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = salt.into();
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let hasher = Argon2::new(algorithm, version, params.clone());
        let output = Output::init_with(output_len, |out| {
            let blocks = hasher.params().block_count();
            let mut memory = memmap2::MmapMut::map_anon(blocks * Block::SIZE).map_err(|e| {
                tracing::error!(error = %e, "argon2: no memory for the hash");
                argon2::password_hash::Error::Crypto
            })?;
            // SAFETY: the mapping is `blocks * Block::SIZE` bytes, page-aligned (a
            // `Block` asks for 64) and zero-filled by the system; a `Block` is 128 `u64`s,
            // for which every bit pattern is valid. The slice borrows `memory`, which
            // outlives it.
            let memory_blocks = unsafe {
                std::slice::from_raw_parts_mut(memory.as_mut_ptr().cast::<Block>(), blocks)
            };
            Ok(hasher.hash_password_into_with_memory(password, salt_bytes, out, memory_blocks)?)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("salt: {e}")))?;
    MappedArgon2
        .hash_password_customized(
            password.as_bytes(),
            Some(Algorithm::Argon2id.ident()),
            Some(Version::V0x13.into()),
            owasp_params(),
            &salt,
        )
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            MappedArgon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spent on unknown accounts so that a wrong email takes as long as a wrong password.
fn burn_verification(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("cohorte-dummy").unwrap_or_default());
    let _ = verify_password(hash, password);
}

pub const MIN_PASSWORD: usize = 12;

/// The password rules, as a French message on the field.
pub fn check_password(check: &mut Check, field: &str, password: &str, confirm: Option<&str>) {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        check.add(
            field,
            format!("Choisissez un mot de passe d'au moins {MIN_PASSWORD} caractères."),
        );
    } else if n > 128 {
        check.add(field, "Le mot de passe ne peut dépasser 128 caractères.");
    } else if let Some(confirm) = confirm
        && confirm != password
    {
        check.add(
            "password_confirm",
            "Les deux mots de passe ne sont pas identiques.",
        );
    }
}

// --- Users -----------------------------------------------------------------------------

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub dla_id: Option<&'a str>,
    pub consultant_id: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// How addresses are stored and compared: `domain::fr::name_key` (Unicode lower case,
/// trimmed), so that matching one is an `=` on the stored value on both backends.
pub fn normalise_email(email: &str) -> String {
    crate::domain::fr::name_key(email)
}

pub fn count(conn: &mut Conn) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn find(conn: &mut Conn, id: &str) -> Result<User, AppError> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Compte"))
}

pub fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<User>, AppError> {
    Ok(users::table
        .filter(users::email.eq(normalise_email(email)))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut Conn) -> Result<Vec<User>, AppError> {
    Ok(users::table
        .order((users::role.asc(), users::name.asc()))
        .select(User::as_select())
        .load(conn)?)
}

/// A row of the accounts page: what it shows of an account, with the names of its DLA and
/// consultant record.
#[derive(Clone, Debug, Queryable)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub has_password: bool,
    pub dla_name: Option<String>,
    pub consultant_name: Option<String>,
}

impl Listed {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Consultant)
    }
}

/// The accounts page's rows, `limit` from `offset`, by role, name and id (unique, so pages
/// neither overlap nor skip anyone). The DLA and record names come from a join: only the
/// page's rows are named, and the password hash stays in the database.
pub fn page(conn: &mut Conn, limit: i64, offset: i64) -> Result<Vec<Listed>, AppError> {
    use crate::db::schema::{consultants, dlas};
    Ok(users::table
        .left_join(dlas::table)
        .left_join(consultants::table)
        .order((users::role.asc(), users::name.asc(), users::id.asc()))
        .limit(limit)
        .offset(offset)
        .select((
            users::id,
            users::name,
            users::email,
            users::role,
            users::disabled,
            users::password_hash.is_not_null(),
            dlas::name.nullable(),
            consultants::name.nullable(),
        ))
        .load(conn)?)
}

/// A checked role with its DLA and consultant record ids.
type RoleLinks<'a> = (Option<Role>, Option<&'a str>, Option<&'a str>);

/// The role and what it is tied to (a chargé·e de mission's DLA, a consultant·e's record),
/// checked with a French message per field; returns the role and the two cleaned ids.
fn check_role<'a>(
    conn: &mut Conn,
    check: &mut Check,
    role: &str,
    dla_id: Option<&'a str>,
    consultant_id: Option<&'a str>,
) -> Result<RoleLinks<'a>, AppError> {
    use crate::db::schema::{consultants, dlas};
    let role = Role::parse(role.trim());
    if role.is_none() {
        check.add("role", "Choisissez un rôle.");
    }
    let dla_id = dla_id.map(str::trim).filter(|s| !s.is_empty());
    let consultant_id = consultant_id.map(str::trim).filter(|s| !s.is_empty());
    match role {
        Some(Role::Officer) => match dla_id {
            None => check.add("dla_id", "Un·e chargé·e de mission appartient à un DLA."),
            Some(id) => {
                let exists: i64 = dlas::table
                    .filter(dlas::id.eq(id))
                    .count()
                    .get_result(conn)?;
                if exists == 0 {
                    check.add("dla_id", "Ce DLA n'existe pas.");
                }
            }
        },
        Some(Role::Consultant) => match consultant_id {
            None => check.add(
                "consultant_id",
                "Un compte consultant·e est lié à une fiche consultant·e.",
            ),
            Some(id) => {
                let exists: i64 = consultants::table
                    .filter(consultants::id.eq(id))
                    .count()
                    .get_result(conn)?;
                if exists == 0 {
                    check.add("consultant_id", "Cette fiche consultant·e n'existe pas.");
                }
            }
        },
        _ => {}
    }
    Ok((role, dla_id, consultant_id))
}

/// The refusal of an address another account has.
const EMAIL_TAKEN: &str = "Un compte existe déjà avec cette adresse.";

/// Creates a staff account after checking every field (French messages per field).
pub fn create(tx: &mut Tx, new: NewUser<'_>) -> Result<User, AppError> {
    let mut check = Check::new();
    let email = check.email("email", new.email);
    let name = check.required("name", new.name, 200);
    let (role, dla_id, consultant_id) =
        check_role(tx, &mut check, new.role, new.dla_id, new.consultant_id)?;
    if let Some(password) = new.password {
        check_password(&mut check, "password", password, None);
    }
    // Read first so that the form shows this message with the others; the UNIQUE
    // constraint below is what holds when two create the same account at once.
    if !email.is_empty() && find_by_email(tx, &email)?.is_some() {
        check.add("email", EMAIL_TAKEN);
    }
    check.finish()?;
    let role = role.expect("checked");
    let password_hash = new.password.map(hash_password).transpose()?;
    let at = tx.now_naive();
    let user = User {
        id: new_id(),
        email: normalise_email(&email),
        name,
        role: role.as_str().to_string(),
        dla_id: (role == Role::Officer).then(|| dla_id.unwrap_or_default().to_string()),
        consultant_id: (role == Role::Consultant)
            .then(|| consultant_id.unwrap_or_default().to_string()),
        password_hash,
        disabled: false,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(&user.id),
            users::email.eq(&user.email),
            users::name.eq(&user.name),
            users::role.eq(&user.role),
            users::dla_id.eq(&user.dla_id),
            users::consultant_id.eq(&user.consultant_id),
            users::password_hash.eq(&user.password_hash),
            users::disabled.eq(false),
            users::version.eq(1),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .execute(tx.conn());
    // One account per address: the `users.email` UNIQUE constraint.
    crate::models::refuse_duplicate(inserted, "email", EMAIL_TAKEN)?;
    Ok(user)
}

/// Sets a new password and ends every session and API token of the account: a new
/// password often answers a leak, and a token made with the old one must not outlive it.
pub fn set_password(tx: &mut Tx, user_id: &str, password: &str) -> Result<(), AppError> {
    let hash = hash_password(password)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(Some(hash)),
            users::updated_at.eq(tx.now_naive()),
            users::version.eq(users::version + 1),
        ))
        .execute(tx.conn())?;
    end_sessions_and_tokens(tx, user_id)?;
    // Any other password link of the account is void.
    diesel::update(
        auth_links::table
            .filter(auth_links::user_id.eq(user_id))
            .filter(auth_links::used_at.is_null()),
    )
    .set(auth_links::used_at.eq(Some(tx.now_naive())))
    .execute(tx.conn())?;
    Ok(())
}

pub fn set_disabled(tx: &mut Tx, user_id: &str, disabled: bool) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::disabled.eq(disabled),
            users::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    if disabled {
        end_sessions_and_tokens(tx, user_id)?;
    }
    Ok(())
}

/// Signs the account out everywhere and revokes its API tokens (tokens revoked earlier keep
/// their date).
fn end_sessions_and_tokens(tx: &mut Tx, user_id: &str) -> Result<(), AppError> {
    diesel::delete(auth_sessions::table.filter(auth_sessions::user_id.eq(user_id)))
        .execute(tx.conn())?;
    diesel::update(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(tx.now_naive())))
    .execute(tx.conn())?;
    Ok(())
}

// --- Sign-in and throttling ------------------------------------------------------------

/// Limits of the throttle, from `[auth]`.
#[derive(Clone, Copy, Debug)]
pub struct Throttle {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Throttle {
    pub fn from_config(auth: &crate::config::AuthConfig) -> Self {
        Throttle {
            per_account: auth.max_failures_per_account.max(1),
            per_address: auth.max_failures_per_address.max(1),
            window: Duration::minutes(auth.throttle_window_minutes.clamp(1, 24 * 60) as i64),
        }
    }
}

#[derive(Debug)]
pub enum SignIn {
    Ok(Box<User>),
    /// Wrong email or password (never says which).
    Refused,
    /// Too many failures: try again after this many minutes.
    Throttled(i64),
}

/// Checks email and password, counting failures per account and per address.
pub fn sign_in(
    tx: &mut Tx,
    email: &str,
    password: &str,
    address: &str,
    throttle: Throttle,
) -> Result<SignIn, AppError> {
    let at = tx.now_naive();
    let email = normalise_email(email);
    let since = at - throttle.window;
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::at.lt(since)))
        .execute(tx.conn())?;
    let failures =
        |conn: &mut Conn, by_email: bool| -> Result<(i64, Option<NaiveDateTime>), AppError> {
            let q = sign_in_failures::table.filter(sign_in_failures::at.ge(since));
            let (n, first) = if by_email {
                let q = q.filter(sign_in_failures::email.eq(&email));
                (
                    q.count().get_result::<i64>(conn)?,
                    q.select(diesel::dsl::min(sign_in_failures::at))
                        .first::<Option<NaiveDateTime>>(conn)?,
                )
            } else {
                let q = q.filter(sign_in_failures::address.eq(address));
                (
                    q.count().get_result::<i64>(conn)?,
                    q.select(diesel::dsl::min(sign_in_failures::at))
                        .first::<Option<NaiveDateTime>>(conn)?,
                )
            };
            Ok((n, first))
        };
    for (by_email, limit) in [(true, throttle.per_account), (false, throttle.per_address)] {
        let (n, first) = failures(tx, by_email)?;
        if n >= limit as i64 {
            let until = first.unwrap_or(at) + throttle.window;
            let minutes = ((until - at).num_seconds() + 59) / 60;
            return Ok(SignIn::Throttled(minutes.max(1)));
        }
    }
    let user = find_by_email(tx, &email)?;
    let ok = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
        Some(hash) => verify_password(hash, password),
        None => {
            burn_verification(password);
            false
        }
    };
    match user {
        Some(user) if ok && !user.disabled => {
            diesel::delete(sign_in_failures::table.filter(sign_in_failures::email.eq(&email)))
                .execute(tx.conn())?;
            Ok(SignIn::Ok(Box::new(user)))
        }
        _ => {
            diesel::insert_into(sign_in_failures::table)
                .values((
                    sign_in_failures::id.eq(new_id()),
                    sign_in_failures::email.eq(&email),
                    sign_in_failures::address.eq(address),
                    sign_in_failures::at.eq(at),
                ))
                .execute(tx.conn())?;
            Ok(SignIn::Refused)
        }
    }
}

// --- Sessions --------------------------------------------------------------------------

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User(String),
    Participant(String),
}

/// Session lifetimes, from `[auth]`.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Lifetimes {
    pub fn from_config(auth: &crate::config::AuthConfig) -> Self {
        Lifetimes {
            idle: Duration::minutes(auth.idle_minutes.clamp(1, 60 * 24 * 30) as i64),
            absolute: Duration::hours(auth.absolute_hours.clamp(1, 24 * 90) as i64),
        }
    }
}

/// Opens a session; returns the cookie value (never stored).
pub fn start_session(
    tx: &mut Tx,
    who: &Principal,
    lifetimes: Lifetimes,
    at: NaiveDateTime,
) -> Result<String, AppError> {
    let token = new_secret()?;
    let (user_id, participant_id) = match who {
        Principal::User(id) => (Some(id.as_str()), None),
        Principal::Participant(id) => (None, Some(id.as_str())),
    };
    diesel::insert_into(auth_sessions::table)
        .values((
            auth_sessions::token_hash.eq(hash_secret(&token)),
            auth_sessions::user_id.eq(user_id),
            auth_sessions::participant_id.eq(participant_id),
            auth_sessions::created_at.eq(at),
            auth_sessions::last_seen_at.eq(at),
            auth_sessions::expires_at.eq(at + lifetimes.absolute),
        ))
        .execute(tx.conn())?;
    // Housekeeping: sessions past their limits are gone for good.
    diesel::delete(
        auth_sessions::table.filter(
            auth_sessions::expires_at
                .lt(at)
                .or(auth_sessions::last_seen_at.lt(at - lifetimes.idle)),
        ),
    )
    .execute(tx.conn())?;
    Ok(token)
}

/// The principal of a live session, sliding its inactivity limit; `None` when unknown,
/// idle too long or past its absolute limit.
pub fn session_principal(
    conn: &mut Conn,
    token: &str,
    lifetimes: Lifetimes,
    at: NaiveDateTime,
) -> Result<Option<Principal>, AppError> {
    let hash = hash_secret(token);
    let row: Option<(Option<String>, Option<String>, NaiveDateTime, NaiveDateTime)> =
        auth_sessions::table
            .find(&hash)
            .select((
                auth_sessions::user_id,
                auth_sessions::participant_id,
                auth_sessions::last_seen_at,
                auth_sessions::expires_at,
            ))
            .first(conn)
            .optional()?;
    let Some((user_id, participant_id, last_seen, expires)) = row else {
        return Ok(None);
    };
    if expires <= at || last_seen + lifetimes.idle <= at {
        // Refused either way: the row itself can wait for a calmer moment.
        crate::db::if_not_busy(conn, at.and_utc(), |tx| {
            diesel::delete(auth_sessions::table.find(&hash))
                .execute(tx.conn())
                .map_err(AppError::from)
        })?;
        return Ok(None);
    }
    // Writing on every request would serialise readers: a minute's precision is enough.
    // Skipped while another connection writes (a reader never waits for the write lock):
    // a later request slides it.
    if at - last_seen > Duration::seconds(60) {
        crate::db::if_not_busy(conn, at.and_utc(), |tx| {
            diesel::update(auth_sessions::table.find(&hash))
                .set(auth_sessions::last_seen_at.eq(at))
                .execute(tx.conn())
                .map_err(AppError::from)
        })?;
    }
    Ok(match (user_id, participant_id) {
        (Some(u), _) => Some(Principal::User(u)),
        (None, Some(p)) => Some(Principal::Participant(p)),
        (None, None) => None,
    })
}

pub fn end_session(tx: &mut Tx, token: &str) -> Result<(), AppError> {
    diesel::delete(auth_sessions::table.find(hash_secret(token))).execute(tx.conn())?;
    Ok(())
}

/// Ends a participant's sessions and voids their unused sign-in links: when their links are
/// renewed or their address changes (an email that went astray opens nothing more).
pub fn revoke_participant_access(tx: &mut Tx, participant_id: &str) -> Result<(), AppError> {
    diesel::delete(auth_sessions::table.filter(auth_sessions::participant_id.eq(participant_id)))
        .execute(tx.conn())?;
    diesel::update(
        auth_links::table
            .filter(auth_links::participant_id.eq(participant_id))
            .filter(auth_links::used_at.is_null()),
    )
    .set(auth_links::used_at.eq(Some(tx.now_naive())))
    .execute(tx.conn())?;
    Ok(())
}

// --- Single-use links ------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    ParticipantSignIn,
    PasswordReset,
    FirstAdmin,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::ParticipantSignIn => "participant_sign_in",
            LinkPurpose::PasswordReset => "password_reset",
            LinkPurpose::FirstAdmin => "first_admin",
        }
    }
}

/// Why a link does not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    Unknown,
    Used,
    Expired,
}

impl LinkRefusal {
    pub fn message(self) -> &'static str {
        match self {
            LinkRefusal::Unknown => {
                "Ce lien n'est pas valide : vérifiez qu'il a été copié en entier."
            }
            LinkRefusal::Used => "Ce lien a déjà servi : chaque lien ne fonctionne qu'une fois.",
            LinkRefusal::Expired => "Ce lien a expiré.",
        }
    }
}

/// What a link opens for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTarget {
    pub user_id: Option<String>,
    pub participant_id: Option<String>,
}

/// Whether a link of this purpose was made for this user since `since` (one reset email
/// every few minutes at most).
pub fn has_recent_link(
    conn: &mut Conn,
    purpose: LinkPurpose,
    user_id: &str,
    since: NaiveDateTime,
) -> Result<bool, AppError> {
    let n: i64 = auth_links::table
        .filter(auth_links::purpose.eq(purpose.as_str()))
        .filter(auth_links::user_id.eq(user_id))
        .filter(auth_links::created_at.ge(since))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Uses up every unused link of a purpose (the first-administrator links, once the first
/// administrator exists).
pub fn void_links(tx: &mut Tx, purpose: LinkPurpose, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(
        auth_links::table
            .filter(auth_links::purpose.eq(purpose.as_str()))
            .filter(auth_links::used_at.is_null()),
    )
    .set(auth_links::used_at.eq(Some(at)))
    .execute(tx.conn())?;
    Ok(())
}

/// Creates a link; returns the secret to put in the URL (never stored).
pub fn create_link(
    tx: &mut Tx,
    purpose: LinkPurpose,
    target: &LinkTarget,
    valid_for: Duration,
    at: NaiveDateTime,
) -> Result<String, AppError> {
    let token = new_secret()?;
    diesel::insert_into(auth_links::table)
        .values((
            auth_links::token_hash.eq(hash_secret(&token)),
            auth_links::purpose.eq(purpose.as_str()),
            auth_links::user_id.eq(&target.user_id),
            auth_links::participant_id.eq(&target.participant_id),
            auth_links::created_at.eq(at),
            auth_links::expires_at.eq(at + valid_for),
        ))
        .execute(tx.conn())?;
    Ok(token)
}

/// A link's row: user, participant, expiry, use.
type LinkRow = (
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Reads a link without using it (for the GET that shows the button).
pub fn peek_link(
    conn: &mut Conn,
    purpose: LinkPurpose,
    token: &str,
    at: NaiveDateTime,
) -> Result<Result<LinkTarget, LinkRefusal>, AppError> {
    let row: Option<LinkRow> = auth_links::table
        .find(hash_secret(token))
        .filter(auth_links::purpose.eq(purpose.as_str()))
        .select((
            auth_links::user_id,
            auth_links::participant_id,
            auth_links::expires_at,
            auth_links::used_at,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Err(LinkRefusal::Unknown),
        Some((_, _, _, Some(_))) => Err(LinkRefusal::Used),
        Some((_, _, expires, None)) if expires <= at => Err(LinkRefusal::Expired),
        Some((user_id, participant_id, _, None)) => Ok(LinkTarget {
            user_id,
            participant_id,
        }),
    })
}

/// Uses a link: exactly one caller succeeds, even when two race.
pub fn consume_link(
    tx: &mut Tx,
    purpose: LinkPurpose,
    token: &str,
    at: NaiveDateTime,
) -> Result<Result<LinkTarget, LinkRefusal>, AppError> {
    let target = match peek_link(tx, purpose, token, at)? {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    let n = diesel::update(
        auth_links::table
            .find(hash_secret(token))
            .filter(auth_links::used_at.is_null()),
    )
    .set(auth_links::used_at.eq(Some(at)))
    .execute(tx.conn())?;
    Ok(if n == 1 {
        Ok(target)
    } else {
        Err(LinkRefusal::Used)
    })
}

// --- API tokens ------------------------------------------------------------------------

#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub prefix: String,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub last_used_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub revoked_at: Option<NaiveDateTime>,
}

/// Prefix that makes a Cohorte token recognisable (e.g. by secret scanners).
pub const API_TOKEN_PREFIX: &str = "cht_";

/// Creates a token; returns it with the secret, shown once.
pub fn create_api_token(
    tx: &mut Tx,
    user_id: &str,
    name: &str,
) -> Result<(ApiToken, String), AppError> {
    let mut check = Check::new();
    let name = check.required("name", name, 100);
    check.finish()?;
    let secret = format!("{API_TOKEN_PREFIX}{}", new_secret()?);
    let at = tx.now_naive();
    let token = ApiToken {
        id: new_id(),
        user_id: user_id.to_string(),
        name,
        token_hash: hash_secret(&secret),
        prefix: secret.chars().take(API_TOKEN_PREFIX.len() + 6).collect(),
        created_at: at,
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(&token.id),
            api_tokens::user_id.eq(&token.user_id),
            api_tokens::name.eq(&token.name),
            api_tokens::token_hash.eq(&token.token_hash),
            api_tokens::prefix.eq(&token.prefix),
            api_tokens::created_at.eq(at),
        ))
        .execute(tx.conn())?;
    Ok((token, secret))
}

pub fn api_tokens_of(conn: &mut Conn, user_id: &str) -> Result<Vec<ApiToken>, AppError> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::created_at.desc())
        .select(ApiToken::as_select())
        .load(conn)?)
}

pub fn revoke_api_token(tx: &mut Tx, user_id: &str, id: &str) -> Result<(), AppError> {
    let n = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(tx.now_naive())))
    .execute(tx.conn())?;
    if n == 0 {
        return Err(AppError::not_found("Jeton"));
    }
    Ok(())
}

/// The user a bearer token belongs to, if it is live and the account enabled.
pub fn api_token_user(
    conn: &mut Conn,
    secret: &str,
    at: NaiveDateTime,
) -> Result<Option<User>, AppError> {
    let hash = hash_secret(secret);
    let row: Option<(String, Option<NaiveDateTime>)> = api_tokens::table
        .filter(api_tokens::token_hash.eq(&hash))
        .filter(api_tokens::revoked_at.is_null())
        .select((api_tokens::id, api_tokens::last_used_at))
        .first(conn)
        .optional()?;
    let Some((id, last_used)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| at - t > Duration::seconds(60)) {
        // As a session's « last seen »: skipped rather than waited for while busy.
        crate::db::if_not_busy(conn, at.and_utc(), |tx| {
            diesel::update(api_tokens::table.find(&id))
                .set(api_tokens::last_used_at.eq(Some(at)))
                .execute(tx.conn())
                .map_err(AppError::from)
        })?;
    }
    let user: User = users::table
        .inner_join(api_tokens::table)
        .filter(api_tokens::id.eq(&id))
        .select(User::as_select())
        .first(conn)?;
    Ok((!user.disabled).then_some(user))
}

// --- Editing an account (accounts page, `web::pages::accounts`) -------------------------
// Added with the administrators' accounts page; keeps the rules of `create` for the role's
// DLA or consultant record, and protects the acting administrator from locking themselves
// out.

/// What the administrator may change on an account (text as typed).
pub struct UserChange<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub dla_id: Option<&'a str>,
    pub consultant_id: Option<&'a str>,
    pub disabled: bool,
    /// The version the form was opened with; `None` or empty skips the check.
    pub version: Option<&'a str>,
}

/// Changes an account's name, role, attachment and state, checked field by field in
/// French. `by_user_id` is the administrator making the change: they may neither disable
/// their own account nor give up their own administrator role. Disabling ends the
/// account's sessions and revokes its API tokens (`set_disabled`).
pub fn update(
    tx: &mut Tx,
    id: &str,
    change: UserChange<'_>,
    by_user_id: &str,
) -> Result<User, AppError> {
    let current = find(tx, id)?;
    let mut check = Check::new();
    let name = check.required("name", change.name, 200);
    let (role, dla_id, consultant_id) = check_role(
        tx,
        &mut check,
        change.role,
        change.dla_id,
        change.consultant_id,
    )?;
    if current.id == by_user_id {
        if change.disabled {
            check.add(
                "disabled",
                "Vous ne pouvez pas désactiver votre propre compte.",
            );
        }
        if role.is_some_and(|r| r != Role::Admin) && current.role() == Role::Admin {
            check.add(
                "role",
                "Vous ne pouvez pas retirer votre propre rôle d'administrateur·rice : demandez-le à un·e autre administrateur·rice.",
            );
        }
    }
    check.finish()?;
    if let Some(v) = change.version.map(str::trim).filter(|v| !v.is_empty())
        && v.parse::<i32>().ok() != Some(current.version)
    {
        return Err(crate::models::stale("Ce compte a été modifié"));
    }
    let role = role.expect("checked");
    let dla_id = (role == Role::Officer).then(|| dla_id.unwrap_or_default().to_string());
    let consultant_id =
        (role == Role::Consultant).then(|| consultant_id.unwrap_or_default().to_string());
    // Conditional on the version read: never overwrites a change made since.
    let n = diesel::update(
        users::table
            .find(id)
            .filter(users::version.eq(current.version)),
    )
    .set((
        users::name.eq(&name),
        users::role.eq(role.as_str()),
        users::dla_id.eq(&dla_id),
        users::consultant_id.eq(&consultant_id),
        users::updated_at.eq(tx.now_naive()),
        users::version.eq(current.version + 1),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "Ce compte a été modifié")?;
    if change.disabled != current.disabled {
        set_disabled(tx, id, change.disabled)?;
    }
    find(tx, id)
}

// --- End of the accounts page's block ----------------------------------------------------

// --- Links printed or shown to staff ----------------------------------------------------

/// The first administrator's link, when the instance has no account yet (printed by
/// `cohorte serve`).
pub fn first_admin_link(tx: &mut Tx, public_url: &str) -> Result<Option<String>, AppError> {
    if count(tx)? > 0 {
        return Ok(None);
    }
    let token = create_link(
        tx,
        LinkPurpose::FirstAdmin,
        &LinkTarget {
            user_id: None,
            participant_id: None,
        },
        chrono::Duration::days(7),
        tx.now_naive(),
    )?;
    Ok(Some(format!(
        "{}/premier-administrateur/{token}",
        public_url.trim_end_matches('/')
    )))
}

/// A link for an account created without a password (`cohorte user add`, the accounts
/// page) to choose one.
pub fn password_link(
    tx: &mut Tx,
    user_id: &str,
    public_url: &str,
    valid_for: chrono::Duration,
) -> Result<String, AppError> {
    let token = create_link(
        tx,
        LinkPurpose::PasswordReset,
        &LinkTarget {
            user_id: Some(user_id.to_string()),
            participant_id: None,
        },
        valid_for,
        tx.now_naive(),
    )?;
    Ok(format!(
        "{}/mot-de-passe/{token}",
        public_url.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_with_owasp_parameters() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterie"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn mapped_argon2_agrees_with_the_crates_own_hashing() {
        // Hashes stored before the working memory was mapped (the crate allocating it), with
        // OWASP's parameters or others, still verify; ours verify with the crate's verifier.
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        for params in [owasp_params(), Params::new(8_192, 1, 1, Some(24)).unwrap()] {
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
                .hash_password(b"mot de passe solide", &salt)
                .unwrap()
                .to_string();
            assert!(verify_password(&theirs, "mot de passe solide"), "{theirs}");
            assert!(!verify_password(&theirs, "mot de passe faux"));
            let ours = MappedArgon2
                .hash_password_customized(
                    b"mot de passe solide",
                    Some(Algorithm::Argon2id.ident()),
                    Some(Version::V0x13.into()),
                    params,
                    &salt,
                )
                .unwrap()
                .to_string();
            assert_eq!(ours, theirs);
        }
        let ours = hash_password("mot de passe solide").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"mot de passe solide", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn secrets_are_256_bits_and_stored_as_their_hash() {
        let s = new_secret().unwrap();
        assert_eq!(s.len(), 64);
        assert_ne!(s, new_secret().unwrap());
        assert_eq!(hash_secret(&s).len(), 64);
        assert_ne!(hash_secret(&s), s);
    }
}
