//! Typed configuration: `config/default.toml` (embedded, every key documented), then an
//! optional file (`COHORTE_CONFIG`, default `cohorte.toml` if present), then environment
//! variables `COHORTE_SECTION__KEY` (double underscore between levels), then
//! `DATABASE_URL` and `COHORTE_SMTP_URL`. Validated at start with clear errors.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::programme::ProgrammeTemplate;

pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub templates: TemplatesConfig,
    pub calendar: CalendarConfig,
    pub demo: DemoConfig,
    pub log: LogConfig,
    pub mail: MailConfig,
    pub auth: AuthConfig,
    pub privacy: PrivacyConfig,
    pub calls: CallsConfig,
    pub evaluation: EvaluationConfig,
    pub programme: ProgrammeTemplate,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ServerConfig {
    pub bind: String,
    pub public_url: String,
    pub workers: usize,
    /// Behind a reverse proxy: take the client's address from `X-Forwarded-For` (for the
    /// sign-in throttle). Never set it when clients reach Cohorte directly.
    pub trust_forwarded_for: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DatabaseConfig {
    pub url: String,
    /// At most this many pooled connections; 0: [`DatabaseConfig::connections`] chooses.
    pub pool_size: u32,
    /// How long a change waits for another one to finish writing before it is answered
    /// 503 « Cohorte est très occupé » (SQLite's busy timeout).
    pub lock_wait_ms: u32,
    /// How long a request waits for a free pooled connection before the same answer.
    pub pool_wait_ms: u32,
    /// Statements taking at least this many milliseconds are logged (0: none).
    #[serde(default)]
    pub slow_statement_ms: u32,
}

impl DatabaseConfig {
    /// The pool's size: `pool_size`, or when it is 0 (the default) twice the processor's
    /// cores on SQLite and 8 on PostgreSQL. SQLite's reads are computation on one file:
    /// more connections than the cores can run only wait for them, and each keeps a page
    /// cache and prepared statements of its own (about 3.5 MB under load, measured); a
    /// PostgreSQL connection's queries also wait on the network.
    pub fn connections(&self) -> u32 {
        if self.pool_size > 0 {
            return self.pool_size;
        }
        match crate::db::Kind::of_url(&self.url) {
            crate::db::Kind::Postgres => 8,
            crate::db::Kind::Sqlite => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                u32::try_from(cores.saturating_mul(2)).unwrap_or(u32::MAX)
            }
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TemplatesConfig {
    pub dir: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CalendarConfig {
    pub alsace_moselle: bool,
    /// The least time a consultant needs between sessions at two different places on one
    /// day (`domain::conflicts`).
    pub travel_gap_minutes: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DemoConfig {
    pub offer_on_empty: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogConfig {
    pub filter: String,
}

/// Outgoing email: SMTP when `smtp_url` is set, otherwise `.eml` files under `file_dir`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MailConfig {
    /// lettre's URL form: `smtp://127.0.0.1:2525`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host`. Empty = file transport.
    pub smtp_url: String,
    pub from_name: String,
    pub from_address: String,
    pub file_dir: String,
    /// Seconds between two passes of the outbox dispatcher that `serve` runs; 0 = `serve`
    /// does not dispatch (run `cohorte dispatch` elsewhere, e.g. on one instance only).
    pub dispatch_interval_secs: u64,
    /// Seconds after which a row still `sending` is taken to belong to a dispatcher that
    /// died mid-send, and is sent again (with the same Message-ID).
    pub sending_lease_secs: u64,
    /// Days after an email was settled (sent, missed, cancelled) when its bodies are
    /// stored compressed by the dispatcher's passes (`models::outbox::compact`); 0 = never.
    pub compress_after_days: u32,
    /// Minutes after which an email still to send counts as late for the staff banner and
    /// `GET /api/v1/outbox/status` (`models::outbox::Watch`); above the dispatch interval.
    pub late_after_minutes: u32,
    /// Hours an email that concerns no session is retried after it was first due, before
    /// it is marked failed (one about a session is retried until the session starts).
    pub give_up_after_hours: u32,
    /// How long each stage of an SMTP exchange may take (`[mail.timeouts]`, RFC 5321).
    pub timeouts: SmtpTimeouts,
    /// When the automatic emails leave; each cohort may override it.
    pub schedule: crate::domain::schedule::Schedule,
}

/// Sign-in, sessions and one-time links.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AuthConfig {
    /// A session ends after this many minutes without a request.
    pub idle_minutes: u64,
    /// …and in any case this many hours after sign-in.
    pub absolute_hours: u64,
    /// Days a participant's sign-in link (in every email) stays valid.
    pub participant_link_days: u64,
    /// Minutes a password-reset link stays valid.
    pub reset_link_minutes: u64,
    /// Failed sign-ins per account, then per address, within `throttle_window_minutes`
    /// after which further attempts are refused until the window has passed.
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub throttle_window_minutes: u64,
}

/// Personal data housekeeping.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PrivacyConfig {
    /// Months after a cohort's last session when email bodies and participants' contact
    /// details are purged (0 = never).
    pub purge_after_months: u32,
    /// Months after a call's closing date when its applications not retained (and never
    /// enrolled) are deleted (0 = never); the others go with the cohort's purge.
    pub applications_purge_after_months: u32,
}

/// The public application form's limits (issue #14).
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
pub struct CallsConfig {
    /// Applications sent from one client address per hour, all calls together.
    pub max_per_address_per_hour: u32,
    /// Acknowledgements sent to one email address per day (an application gives two).
    pub max_acks_per_recipient_per_day: u32,
}

/// The address links use when nothing else is known: neither `server.public_url` nor an
/// address recorded by `serve`.
pub const FALLBACK_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The address links should use for a server listening on `bind` (`127.0.0.1:18081` →
/// `http://127.0.0.1:18081`), and whether `bind` is a wildcard address (`0.0.0.0`, `[::]`):
/// then the loopback address of the same family stands in, which works on this machine
/// only — `server.public_url` must say how others reach it. `None` when `bind` is not a
/// socket address.
pub fn public_url_from_bind(bind: &str) -> Option<(String, bool)> {
    let addr: std::net::SocketAddr = bind.trim().parse().ok()?;
    let wildcard = addr.ip().is_unspecified();
    let host = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    Some((format!("http://{host}:{}", addr.port()), wildcard))
}

/// The associations' évaluation of the accompaniment (after their bilan) and its
/// follow-up.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct EvaluationConfig {
    /// Days after the bilan when an unanswered évaluation is reminded (0 = no reminder).
    pub reminder_days: u32,
    /// Months after the bilan when the follow-up asks which pistes were implemented
    /// (0 = no follow-up).
    pub followup_months: u32,
}

impl ServerConfig {
    /// Served over TLS (directly or behind a proxy): cookies get `Secure`, responses HSTS.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl MailConfig {
    pub fn dispatch_interval(&self) -> Option<std::time::Duration> {
        (self.dispatch_interval_secs > 0)
            .then(|| std::time::Duration::from_secs(self.dispatch_interval_secs))
    }

    pub fn sending_lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.sending_lease_secs.clamp(1, 86_400) as i64)
    }

    /// How long an email may wait past its time before it counts as late.
    pub fn late_after(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.late_after_minutes))
    }

    /// How long an email that concerns no session is retried after it was first due.
    pub fn give_up_after(&self) -> chrono::Duration {
        chrono::Duration::hours(self.give_up_after_hours.clamp(1, 24 * 30) as i64)
    }
}

impl Config {
    /// Loads the layered configuration from the process environment.
    pub fn load() -> anyhow::Result<Config> {
        let file = std::env::var("COHORTE_CONFIG").ok().map(PathBuf::from);
        Self::load_from(file, std::env::var("DATABASE_URL").ok())
    }

    pub fn load_from(
        file: Option<PathBuf>,
        database_url: Option<String>,
    ) -> anyhow::Result<Config> {
        let mut figment = Figment::new().merge(Toml::string(DEFAULT_TOML));
        match file {
            Some(path) => {
                if !path.exists() {
                    anyhow::bail!(
                        "Fichier de configuration introuvable : {} (variable COHORTE_CONFIG).",
                        path.display()
                    );
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("cohorte.toml")),
        }
        figment = figment.merge(
            Env::prefixed("COHORTE_")
                // SMTP_URL is mapped to mail.smtp_url below, not to a top-level key.
                .ignore(&["CONFIG", "SMTP_URL"])
                .split("__")
                .lowercase(true),
        );
        if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        // The name the issue and the operations guide give; empty means "write files".
        if let Ok(url) = std::env::var("COHORTE_SMTP_URL") {
            figment = figment.merge(Serialized::default("mail.smtp_url", url));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!(refused(&e)))?;
        config.validate()?;
        Ok(config)
    }

    /// The embedded defaults alone (tests, tools).
    pub fn defaults() -> Config {
        let config: Config = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .extract()
            .expect("config/default.toml is valid");
        config
    }

    /// Checks what the types cannot; each refusal is one French sentence naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            anyhow::bail!(
                "Réglage « server.bind » invalide : « {} » n'est pas une adresse comme 127.0.0.1:8080.",
                self.server.bind
            );
        }
        let public_url = self.server.public_url.trim();
        if !(public_url.is_empty()
            || public_url.starts_with("https://")
            || public_url.starts_with("http://"))
        {
            anyhow::bail!(
                "server.public_url doit commencer par https:// (ou http://), ou rester vide ; reçu {:?}",
                self.server.public_url
            );
        }
        if self.database.url.trim().is_empty() {
            anyhow::bail!(
                "Réglage « database.url » vide : indiquez le fichier SQLite (par défaut data/cohorte.sqlite3)."
            );
        }
        if !(1..=60_000).contains(&self.database.lock_wait_ms)
            || !(1..=60_000).contains(&self.database.pool_wait_ms)
        {
            anyhow::bail!(
                "Réglages « database.lock_wait_ms » et « database.pool_wait_ms » : une attente \
                 entre 1 et 60000 millisecondes (par défaut 2000 et 5000)."
            );
        }
        if self.mail.from_address.parse::<lettre::Address>().is_err() {
            anyhow::bail!(
                "Réglage « mail.from_address » invalide : « {} » n'est pas une adresse e-mail.",
                self.mail.from_address
            );
        }
        if !self.mail.smtp_url.trim().is_empty()
            && lettre::SmtpTransport::from_url(self.mail.smtp_url.trim()).is_err()
        {
            // The sentence never repeats the URL: it may hold a password.
            anyhow::bail!(
                "Réglage « mail.smtp_url » (COHORTE_SMTP_URL) invalide : attendu une adresse comme \
                 smtp://utilisateur:motdepasse@serveur:587 ou smtps://serveur:465."
            );
        }
        if !(1..=24 * 30).contains(&self.mail.give_up_after_hours) {
            anyhow::bail!(
                "Réglage « mail.give_up_after_hours » invalide : entre 1 et 720 heures (par \
                 défaut 48)."
            );
        }
        if let Err(key) = self.mail.timeouts.check() {
            anyhow::bail!(
                "Réglage « mail.timeouts.{key} » invalide : une attente entre 1 et 3600 secondes."
            );
        }
        let longest = self.mail.timeouts.longest_exchange().as_secs();
        if self.mail.sending_lease_secs < longest && self.mail.sending_lease_secs >= 120 {
            // A second dispatcher could take over, and send again, an email whose server is
            // still within its timeouts.
            tracing::warn!(
                lease = self.mail.sending_lease_secs,
                longest_exchange = longest,
                "mail.sending_lease_secs is below the longest SMTP exchange mail.timeouts allow: \
                 a slow server's email may be sent twice"
            );
        }
        if self.mail.sending_lease_secs < 120 {
            // Allowed (tests replay crashes with 1 s) but dangerous: a second dispatcher
            // would take over, and send again, an email still being sent.
            tracing::warn!(
                lease = self.mail.sending_lease_secs,
                "mail.sending_lease_secs is below 120 s: an email still being sent may be sent twice"
            );
        }
        if let Some(e) = self.mail.schedule.check().first() {
            anyhow::bail!(
                "Réglage « mail.schedule.{} » invalide : {}",
                e.field,
                e.message
            );
        }
        // Between two passes an email waits up to the dispatch interval without anything
        // being wrong: a threshold under it would show a delay after every pass.
        if self.mail.late_after_minutes == 0
            || u64::from(self.mail.late_after_minutes) * 60 <= self.mail.dispatch_interval_secs
        {
            anyhow::bail!(
                "Réglage « mail.late_after_minutes » invalide : {} minute(s), il faut plus que \
                 l'intervalle entre deux passages d'envoi (« mail.dispatch_interval_secs », {} s).",
                self.mail.late_after_minutes,
                self.mail.dispatch_interval_secs
            );
        }
        if self.mail.file_dir.trim().is_empty() {
            anyhow::bail!(
                "Réglage « mail.file_dir » vide : indiquez le dossier des e-mails écrits en fichiers."
            );
        }
        if let Err(errors) = self.programme.validate() {
            let list: Vec<String> = errors
                .iter()
                .map(|(f, m)| format!("« programme.{f} » : {m}"))
                .collect();
            anyhow::bail!("Modèle de programme invalide : {}", list.join(" ; "));
        }
        Ok(())
    }
}

/// A value the configuration layers could not read, in one French sentence naming the key
/// and where to change it (the file, or its `COHORTE_…` variable).
fn refused(e: &figment::Error) -> String {
    use figment::error::Kind;
    let key = e.path.join(".");
    let variable = format!("COHORTE_{}", e.path.join("__").to_uppercase());
    use figment::error::Actual;
    let value = |a: &Actual| match a {
        Actual::Str(s) => format!("« {s} »"),
        Actual::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Actual::Unsigned(n) => n.to_string(),
        Actual::Signed(n) => n.to_string(),
        Actual::Float(n) => n.to_string(),
        Actual::Seq => "une liste".to_string(),
        Actual::Map => "une table".to_string(),
        _ => "cette valeur".to_string(),
    };
    let what = match &e.kind {
        Kind::InvalidType(actual, _) => {
            format!("{} n'a pas le type attendu", value(actual))
        }
        Kind::InvalidValue(actual, _) => format!("{} n'est pas acceptée", value(actual)),
        Kind::UnknownVariant(actual, expected) => format!(
            "« {actual} » n'est pas un choix possible ({})",
            expected.join(", ")
        ),
        Kind::UnknownField(actual, _) => {
            return format!(
                "Réglage inconnu « {}{actual} » : vérifiez son orthographe dans cohorte.toml \
                 ou les variables COHORTE_….",
                if key.is_empty() {
                    String::new()
                } else {
                    format!("{key}.")
                }
            );
        }
        Kind::MissingField(name) => {
            return format!("Réglage manquant « {key}.{name} ».");
        }
        _ => "la valeur n'est pas lisible".to_string(),
    };
    format!(
        "Réglage « {key} » invalide : {what} ; corrigez-le dans cohorte.toml ou dans la \
         variable {variable}."
    )
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;

    #[test]
    fn the_public_address_follows_the_bind_address_with_loopback_for_wildcards() {
        assert_eq!(
            public_url_from_bind("127.0.0.1:18081"),
            Some(("http://127.0.0.1:18081".into(), false))
        );
        assert_eq!(
            public_url_from_bind("192.168.1.20:8080"),
            Some(("http://192.168.1.20:8080".into(), false))
        );
        assert_eq!(
            public_url_from_bind("0.0.0.0:8080"),
            Some(("http://127.0.0.1:8080".into(), true))
        );
        assert_eq!(
            public_url_from_bind("[::]:9000"),
            Some(("http://[::1]:9000".into(), true))
        );
        assert_eq!(
            public_url_from_bind("[::1]:9000"),
            Some(("http://[::1]:9000".into(), false))
        );
        assert_eq!(public_url_from_bind("localhost:8080"), None);
    }

    #[test]
    fn the_public_address_is_empty_by_default_and_must_be_http_when_set() {
        let mut config = Config::defaults();
        assert_eq!(config.server.public_url, "");
        assert!(config.validate().is_ok());
        config.server.public_url = "cohorte.example.org".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("server.public_url"), "{err}");
        config.server.public_url = "https://cohorte.example.org".into();
        assert!(config.validate().is_ok());
    }

    #[test]
    fn default_toml_programme_matches_domain_defaults() {
        // The documented defaults and the engine's built-in ones must not drift apart.
        assert_eq!(Config::defaults().programme, ProgrammeTemplate::default());
        assert_eq!(
            Config::defaults().mail.schedule,
            crate::domain::schedule::Schedule::default()
        );
    }

    #[test]
    fn environment_and_file_override_the_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "[calendar]\nalsace_moselle = true\n")?;
            jail.set_env("COHORTE_SERVER__BIND", "127.0.0.1:9999");
            jail.set_env("COHORTE_PROGRAMME__MAX_MONTHS", "6");
            let c = Config::load_from(Some("custom.toml".into()), Some("other.sqlite3".into()))
                .expect("valid configuration");
            assert_eq!(c.server.bind, "127.0.0.1:9999");
            assert_eq!(c.programme.max_months, 6);
            assert!(c.calendar.alsace_moselle);
            assert_eq!(c.database.url, "other.sqlite3");
            Ok(())
        });
    }

    #[test]
    fn an_invalid_bind_address_is_refused_at_start() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COHORTE_SERVER__BIND", "not an address");
            let err = Config::load_from(None, None).unwrap_err().to_string();
            assert!(err.contains("server.bind"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_refused_setting_is_one_french_sentence_naming_the_key_and_its_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COHORTE_SERVER__WORKERS", "beaucoup");
            let err = format!("{:#}", Config::load_from(None, None).unwrap_err());
            assert!(
                err.starts_with("Réglage « server.workers » invalide"),
                "{err}"
            );
            assert!(err.contains("« beaucoup »"), "{err}");
            assert!(err.contains("COHORTE_SERVER__WORKERS"), "{err}");
            assert!(!err.contains('\n'), "one sentence: {err}");
            Ok(())
        });
    }

    #[test]
    fn cohorte_smtp_url_sets_the_mail_smtp_url() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load_from(None, None).expect("valid configuration");
            assert_eq!(c.mail.smtp_url, "", "no SMTP by default: files");
            assert_eq!(c.mail.file_dir, "data/mail");
            jail.set_env("COHORTE_SMTP_URL", "smtp://user:pass@127.0.0.1:2525");
            let c = Config::load_from(None, None).expect("valid configuration");
            assert_eq!(c.mail.smtp_url, "smtp://user:pass@127.0.0.1:2525");
            Ok(())
        });
    }

    #[test]
    fn cohorte_smtp_url_wins_over_the_file_and_the_section_variable() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "[mail]\nsmtp_url = \"smtp://file:25\"\n")?;
            jail.set_env("COHORTE_MAIL__SMTP_URL", "smtp://section:25");
            jail.set_env("COHORTE_SMTP_URL", "smtps://mail.example.org");
            let c = Config::load_from(Some("custom.toml".into()), None).expect("valid");
            assert_eq!(c.mail.smtp_url, "smtps://mail.example.org");
            Ok(())
        });
    }

    #[test]
    fn an_invalid_smtp_url_or_sender_is_refused_at_start_without_echoing_the_password() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COHORTE_SMTP_URL", "http://user:s3cret@host");
            let err = Config::load_from(None, None).unwrap_err().to_string();
            assert!(err.contains("mail.smtp_url"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
            jail.set_env("COHORTE_SMTP_URL", "");
            jail.set_env("COHORTE_MAIL__FROM_ADDRESS", "not an address");
            let err = Config::load_from(None, None).unwrap_err().to_string();
            assert!(err.contains("mail.from_address"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn smtp_timeouts_default_to_rfc_5321_and_the_lease_outlasts_them() {
        let mail = Config::defaults().mail;
        assert_eq!(mail.timeouts, SmtpTimeouts::default());
        let t = mail.timeouts;
        assert_eq!(
            (
                t.greeting_secs,
                t.mail_secs,
                t.rcpt_secs,
                t.data_secs,
                t.data_end_secs
            ),
            (300, 300, 300, 120, 600)
        );
        assert!(mail.sending_lease_secs >= t.longest_exchange().as_secs());
        assert_eq!(mail.give_up_after(), crate::domain::outbox::GIVE_UP_AFTER);
    }

    #[test]
    fn a_zero_smtp_timeout_or_give_up_delay_is_refused_at_start() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COHORTE_MAIL__TIMEOUTS__DATA_END_SECS", "0");
            let err = Config::load_from(None, None).unwrap_err().to_string();
            assert!(err.contains("mail.timeouts.data_end_secs"), "{err}");
            jail.set_env("COHORTE_MAIL__TIMEOUTS__DATA_END_SECS", "5");
            let c = Config::load_from(None, None).expect("valid");
            assert_eq!(c.mail.timeouts.data_end_secs, 5);
            jail.set_env("COHORTE_MAIL__GIVE_UP_AFTER_HOURS", "0");
            let err = Config::load_from(None, None).unwrap_err().to_string();
            assert!(err.contains("mail.give_up_after_hours"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn defaults_are_valid() {
        Config::defaults().validate().unwrap();
    }

    #[test]
    fn the_pool_size_follows_the_backend_unless_set() {
        let mut db = Config::defaults().database;
        assert_eq!(db.pool_size, 0);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(
            db.connections() as usize,
            2 * cores,
            "SQLite: twice the cores"
        );
        db.url = "postgres://cohorte@127.0.0.1/cohorte".into();
        assert_eq!(db.connections(), 8);
        db.pool_size = 3;
        assert_eq!(db.connections(), 3);
    }

    #[test]
    fn the_late_threshold_must_exceed_the_dispatch_interval() {
        let mut config = Config::defaults();
        assert_eq!(config.mail.late_after(), chrono::Duration::minutes(10));
        for (minutes, interval) in [(0, 30), (1, 60), (2, 600)] {
            config.mail.late_after_minutes = minutes;
            config.mail.dispatch_interval_secs = interval;
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("mail.late_after_minutes"), "{err}");
        }
        config.mail.late_after_minutes = 11;
        config.mail.dispatch_interval_secs = 600;
        config.validate().unwrap();
        // No dispatcher in `serve` (it runs elsewhere): any threshold of a minute or more.
        config.mail.late_after_minutes = 1;
        config.mail.dispatch_interval_secs = 0;
        config.validate().unwrap();
    }
}

/// How long each stage of an SMTP exchange may take, in seconds (`[mail.timeouts]`). The
/// defaults are RFC 5321 § 4.5.3.2's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct SmtpTimeouts {
    /// Connecting (TCP, TLS), the greeting, EHLO, STARTTLS, AUTH: 5 minutes.
    pub greeting_secs: u64,
    /// MAIL FROM (and RSET after a transaction that did not complete): 5 minutes.
    pub mail_secs: u64,
    /// Each RCPT TO: 5 minutes.
    pub rcpt_secs: u64,
    /// DATA, until 354: 2 minutes.
    pub data_secs: u64,
    /// The message and the reply after its final dot: 10 minutes (the RFC's 3 minutes per
    /// data block fall under it: lettre sets read and write timeouts together).
    pub data_end_secs: u64,
}

impl Default for SmtpTimeouts {
    fn default() -> Self {
        SmtpTimeouts {
            greeting_secs: 300,
            mail_secs: 300,
            rcpt_secs: 300,
            data_secs: 120,
            data_end_secs: 600,
        }
    }
}

impl SmtpTimeouts {
    /// For an email someone waits for on the page that sends it (an account created, a
    /// password reset): 30 seconds a stage, as before the RFC's; the dispatcher, which
    /// nobody waits for, takes the RFC's.
    pub const INTERACTIVE: SmtpTimeouts = SmtpTimeouts {
        greeting_secs: 30,
        mail_secs: 30,
        rcpt_secs: 30,
        data_secs: 30,
        data_end_secs: 30,
    };

    /// Each stage's shorter limit of the two.
    pub fn min(self, other: SmtpTimeouts) -> SmtpTimeouts {
        SmtpTimeouts {
            greeting_secs: self.greeting_secs.min(other.greeting_secs),
            mail_secs: self.mail_secs.min(other.mail_secs),
            rcpt_secs: self.rcpt_secs.min(other.rcpt_secs),
            data_secs: self.data_secs.min(other.data_secs),
            data_end_secs: self.data_end_secs.min(other.data_end_secs),
        }
    }

    /// The key of the first value out of 1..=3600 seconds.
    pub fn check(&self) -> Result<(), &'static str> {
        for (key, secs) in [
            ("greeting_secs", self.greeting_secs),
            ("mail_secs", self.mail_secs),
            ("rcpt_secs", self.rcpt_secs),
            ("data_secs", self.data_secs),
            ("data_end_secs", self.data_end_secs),
        ] {
            if !(1..=3600).contains(&secs) {
                return Err(key);
            }
        }
        Ok(())
    }

    /// The longest one email may keep its row `sending` with one recipient: RSET on the
    /// pass's connection (after a refused recipient), then a new connection, MAIL, RCPT,
    /// DATA and the final reply. The
    /// sending lease must be longer (`mail.sending_lease_secs`).
    pub fn longest_exchange(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.mail_secs * 2
                + self.greeting_secs
                + self.rcpt_secs
                + self.data_secs
                + self.data_end_secs,
        )
    }

    pub(crate) fn of(secs: u64) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(secs.max(1)))
    }
}
