//! Settings of the instance that live in the database rather than in the configuration,
//! in `instance_secrets(name, value)` beside the link-signing secret (`models::feed`).
//!
//! Today one: the public address `serve` derived from the address it listens on. Commands
//! run later (`dispatch`, `demo`, `user`, `token`) don't know which `--bind` the server
//! was given; reading the address back from the database makes every link they print or
//! send point at the running server, as the first-administrator link `serve` prints does.

use diesel::prelude::*;

use crate::db::schema::instance_secrets;
use crate::db::{Conn, Tx};
use crate::error::AppError;

/// The row holding the address recorded by `serve`.
const PUBLIC_URL: &str = "public_url";

/// Records `url` (without a trailing slash) as the instance's public address.
pub fn record_public_url(tx: &mut Tx, url: &str) -> Result<(), AppError> {
    let url = url.trim().trim_end_matches('/');
    let at_ = tx.now_naive();
    crate::on_backend!(tx.conn(), |c| diesel::insert_into(instance_secrets::table)
        .values((
            instance_secrets::name.eq(PUBLIC_URL),
            instance_secrets::value.eq(url),
            instance_secrets::created_at.eq(at_),
        ))
        .on_conflict(instance_secrets::name)
        .do_update()
        .set((
            instance_secrets::value.eq(url),
            instance_secrets::created_at.eq(at_),
        ))
        .execute(c))?;
    Ok(())
}

/// The address `serve` recorded last, if any.
pub fn recorded_public_url(conn: &mut Conn) -> Result<Option<String>, AppError> {
    Ok(instance_secrets::table
        .find(PUBLIC_URL)
        .select(instance_secrets::value)
        .first::<String>(conn)
        .optional()?
        .filter(|u| !u.trim().is_empty()))
}

/// The address links use, without a trailing slash: `configured` (`server.public_url`)
/// when set, else the one `serve` recorded, else [`crate::config::FALLBACK_PUBLIC_URL`].
pub fn public_url(conn: &mut Conn, configured: &str) -> Result<String, AppError> {
    let configured = configured.trim().trim_end_matches('/');
    if !configured.is_empty() {
        return Ok(configured.to_string());
    }
    Ok(
        recorded_public_url(conn)?
            .unwrap_or_else(|| crate::config::FALLBACK_PUBLIC_URL.to_string()),
    )
}

/// What `serve` does at start: the address links use — `configured` when set, else the
/// one derived from `bind` ([`crate::config::public_url_from_bind`]) — recorded for the
/// commands run later. Also returns whether it stands in for a wildcard `bind` (then only
/// this machine can follow the links: the caller says to set `server.public_url`).
pub fn record_at_start(
    tx: &mut Tx,
    configured: &str,
    bind: &str,
) -> Result<(String, bool), AppError> {
    let configured = configured.trim().trim_end_matches('/');
    let (url, stand_in) = if configured.is_empty() {
        crate::config::public_url_from_bind(bind)
            .unwrap_or_else(|| (crate::config::FALLBACK_PUBLIC_URL.to_string(), false))
    } else {
        (configured.to_string(), false)
    };
    record_public_url(tx, &url)?;
    Ok((url, stand_in))
}

/// Puts the address links use ([`public_url`]) into `config.server.public_url`, so that
/// everything built from the configuration afterwards (the mail context, the pages) uses it.
pub fn resolve_public_url(
    conn: &mut Conn,
    config: &mut crate::config::Config,
) -> Result<(), AppError> {
    config.server.public_url = public_url(conn, &config.server.public_url)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f` in a write transaction of its own, as the command line runs it.
    fn write<T>(c: &mut Conn, f: impl FnOnce(&mut Tx) -> Result<T, AppError>) -> T {
        crate::db::write_with(c, crate::db::Author::system(), chrono::Utc::now(), f).unwrap()
    }

    fn memory() -> Conn {
        use diesel::Connection;
        use diesel_migrations::MigrationHarness;
        let mut conn = Conn::establish(":memory:").expect("in-memory database");
        conn.run_pending_migrations(crate::db::SQLITE_MIGRATIONS)
            .expect("migrations");
        conn
    }

    #[test]
    fn links_use_the_configured_address_then_the_recorded_one_then_the_fallback() {
        let mut c = memory();
        assert_eq!(public_url(&mut c, "").unwrap(), "http://127.0.0.1:8080");
        write(&mut c, |tx| {
            record_public_url(tx, "http://127.0.0.1:18081/")
        });
        assert_eq!(public_url(&mut c, "").unwrap(), "http://127.0.0.1:18081");
        // A later start on another port replaces it.
        write(&mut c, |tx| record_public_url(tx, "http://127.0.0.1:18082"));
        assert_eq!(public_url(&mut c, " ").unwrap(), "http://127.0.0.1:18082");
        assert_eq!(
            public_url(&mut c, "https://cohorte.example.org/").unwrap(),
            "https://cohorte.example.org"
        );
    }

    #[test]
    fn the_address_serve_derives_from_bind_is_the_one_later_commands_and_emails_use() {
        let mut c = memory();
        let (url, stand_in) = write(&mut c, |tx| record_at_start(tx, "", "127.0.0.1:18081"));
        assert_eq!((url.as_str(), stand_in), ("http://127.0.0.1:18081", false));
        // `dispatch` (or `demo`) started afterwards with the same, empty, setting.
        let mut config = crate::config::Config::defaults();
        resolve_public_url(&mut c, &mut config).unwrap();
        assert_eq!(config.server.public_url, "http://127.0.0.1:18081");
        let templates = std::sync::Arc::new(crate::templates::build("").unwrap());
        let mail = crate::models::outbox::MailContext::new(&config, templates);
        assert_eq!(mail.public_url, "http://127.0.0.1:18081");

        // Bound to every interface: the loopback address stands in, and says so.
        let (url, stand_in) = write(&mut c, |tx| record_at_start(tx, "", "0.0.0.0:8090"));
        assert_eq!((url.as_str(), stand_in), ("http://127.0.0.1:8090", true));
        // A configured address wins, and is what later commands read too.
        let (url, stand_in) = write(&mut c, |tx| {
            record_at_start(tx, "https://cohorte.example.org/", "0.0.0.0:8090")
        });
        assert_eq!(
            (url.as_str(), stand_in),
            ("https://cohorte.example.org", false)
        );
        assert_eq!(
            public_url(&mut c, "").unwrap(),
            "https://cohorte.example.org"
        );
    }
}
