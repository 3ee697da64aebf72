//! Where messages go: an SMTP server, or `.eml` files in a folder when none is configured
//! (so that the app works with zero set-up, and a developer can open what would be sent).
//!
//! SMTP uses lettre's **blocking** `SmtpTransport`. The dispatcher that calls it does blocking
//! diesel work around each message (claim the row, send, record the Message-ID), so it runs
//! off the async runtime anyway (`web::block`/`spawn_blocking`, or a plain loop in
//! `cohorte dispatch`); a blocking transport keeps "claim → send → mark" one straight line
//! with no runtime inside, and needs no tokio features in lettre. Without lettre's `pool`
//! feature each `send` opens one connection, sends one message and QUITs: one row, one
//! SMTP transaction.
//!
//! A failure is [`SendError::Temporary`] (retry later: connection refused or dropped,
//! timeout, TLS, 4xx replies) or [`SendError::Permanent`] (do not retry as is: 5xx replies,
//! unusable addresses).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use lettre::{Message, SmtpTransport, Transport as _};

use crate::config::MailConfig;

/// How long one SMTP command may take before the attempt counts as a temporary failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a message was not sent; the dispatcher retries `Temporary` and gives up on
/// `Permanent`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying unchanged: server unreachable, connection dropped, 4xx reply.
    #[error("échec temporaire : {message}")]
    Temporary { code: Option<u16>, message: String },
    /// Will fail again unchanged: 5xx reply (unknown mailbox…), invalid address.
    #[error("échec définitif : {message}")]
    Permanent { code: Option<u16>, message: String },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent { .. })
    }

    /// The SMTP reply code, when the server gave one.
    pub fn code(&self) -> Option<u16> {
        match self {
            SendError::Temporary { code, .. } | SendError::Permanent { code, .. } => *code,
        }
    }

    fn temporary(message: impl Into<String>) -> Self {
        SendError::Temporary {
            code: None,
            message: message.into(),
        }
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        let code = e.status().map(u16::from);
        let message = e.to_string();
        if e.is_permanent() {
            SendError::Permanent { code, message }
        } else {
            // 4xx, and everything that is not a reply: refused or dropped connection,
            // timeout, TLS, a reply that could not be parsed.
            SendError::Temporary { code, message }
        }
    }
}

/// Writes each message as `<UTC timestamp>-<Message-ID>.eml` under a folder.
#[derive(Clone, Debug)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTransport { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn send(&self, message: &Message, message_id: &str) -> Result<PathBuf, SendError> {
        let io = |e: std::io::Error| {
            SendError::temporary(format!("écriture dans {} : {e}", self.dir.display()))
        };
        // Owner-only: the messages hold live sign-in and password links.
        crate::private_files::create_dir(&self.dir).map_err(io)?;
        let name = format!(
            "{}-{}.eml",
            Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            safe_file_name(message_id)
        );
        let path = self.dir.join(&name);
        // Written aside then renamed, so that a reader never sees half a message.
        let partial = self.dir.join(format!(".{name}.part"));
        let mut file = crate::private_files::create_new_file(&partial).map_err(io)?;
        file.write_all(&message.formatted()).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        if path.exists() {
            let _ = fs::remove_file(&partial);
            return Err(SendError::temporary(format!(
                "{} existe déjà",
                path.display()
            )));
        }
        fs::rename(&partial, &path).map_err(io)?;
        Ok(path)
    }
}

/// Keeps letters, digits, `.`, `-`, `_`, `@`; anything else becomes `_`.
fn safe_file_name(raw: &str) -> String {
    raw.trim_matches(['<', '>'])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpTransport),
    File(FileTransport),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never the URL: it may hold a password.
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
            Transport::File(t) => write!(f, "Transport::File({})", t.dir.display()),
        }
    }
}

impl Transport {
    /// SMTP when `smtp_url` is set, files otherwise.
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Transport> {
        let url = config.smtp_url.trim();
        if url.is_empty() {
            Ok(Transport::File(FileTransport::new(&config.file_dir)))
        } else {
            Transport::smtp(url)
        }
    }

    /// lettre's URL form: `smtp://host:port`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host`.
    pub fn smtp(url: &str) -> anyhow::Result<Transport> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| anyhow::anyhow!("invalid SMTP URL: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Transport::Smtp(transport))
    }

    /// At start: makes an existing `.eml` folder, and the messages in it, readable by
    /// Cohorte's user only (they were created 0644 before). Nothing to do for SMTP.
    pub fn tighten_existing_files(&self) -> std::io::Result<()> {
        let Transport::File(file) = self else {
            return Ok(());
        };
        if !file.dir.is_dir() {
            return Ok(());
        }
        crate::private_files::tighten_dir(&file.dir)?;
        for entry in fs::read_dir(&file.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "eml" || e == "part") {
                crate::private_files::tighten_file(&path)?;
            }
        }
        Ok(())
    }

    pub fn file(dir: impl Into<PathBuf>) -> Transport {
        Transport::File(FileTransport::new(dir))
    }

    /// Sends one message; returns its Message-ID (with angle brackets, as in the header).
    pub fn send(&self, message: &Message) -> Result<String, SendError> {
        let message_id = message
            .headers()
            .get_raw("Message-ID")
            .map(str::to_owned)
            .ok_or_else(|| SendError::Permanent {
                code: None,
                message: "message sans Message-ID".into(),
            })?;
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message)?;
            }
            Transport::File(file) => {
                let path = file.send(message, &message_id)?;
                tracing::info!(path = %path.display(), %message_id, "email written to a file");
            }
        }
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> Message {
        Message::builder()
            .from("Cohorte <cohorte@localhost>".parse().unwrap())
            .to("Nadia Benali <nadia@jardins.fr>".parse().unwrap())
            .subject("Convocation : 1re session collective — État des lieux")
            .message_id(Some(id.to_string()))
            .body("Bonjour Nadia,\n".to_string())
            .unwrap()
    }

    #[test]
    fn file_transport_writes_a_parsable_eml_in_a_created_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data").join("mail");
        let transport = Transport::file(&dir);
        let id = transport.send(&message("<a1b2@cohorte.test>")).unwrap();
        assert_eq!(id, "<a1b2@cohorte.test>");

        let files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(files.len(), 1, "one file, no leftover partial file");
        let name = files[0].file_name().into_string().unwrap();
        assert!(name.ends_with("-a1b2@cohorte.test.eml"), "{name}");
        let raw = fs::read(files[0].path()).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Convocation : 1re session collective — État des lieux")
        );
        assert_eq!(parsed.message_id(), Some("a1b2@cohorte.test"));
        assert_eq!(parsed.body_text(0).unwrap().trim(), "Bonjour Nadia,");
    }

    #[cfg(unix)]
    #[test]
    fn emails_on_file_are_readable_by_their_owner_only_and_older_ones_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mail");
        // Left by an older version: a folder and a message open to every local user.
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let old = dir.join("old.eml");
        fs::write(&old, "Subject: lien de connexion\r\n").unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o644)).unwrap();

        let transport = Transport::file(&dir);
        transport.tighten_existing_files().unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&old), 0o600);

        let fresh = tmp.path().join("data").join("mail");
        Transport::file(&fresh)
            .send(&message("<e@cohorte.test>"))
            .unwrap();
        assert_eq!(mode(&fresh), 0o700);
        for entry in fs::read_dir(&fresh).unwrap() {
            assert_eq!(mode(&entry.unwrap().path()), 0o600);
        }
    }

    #[test]
    fn file_names_are_unique_and_safe_whatever_the_message_id() {
        let tmp = tempfile::tempdir().unwrap();
        let transport = Transport::file(tmp.path());
        transport.send(&message("<x/../../etc@h>")).unwrap();
        transport.send(&message("<x/../../etc@h>")).unwrap();
        let names: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        for name in names {
            assert!(
                !name.contains('/') && name.ends_with("-x_.._.._etc@h.eml"),
                "{name}"
            );
        }
    }

    #[test]
    fn a_closed_port_is_a_temporary_failure() {
        // Bind then drop: the port is free and nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let err = transport.send(&message("<c@cohorte.test>")).unwrap_err();
        assert!(
            matches!(err, SendError::Temporary { code: None, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn an_unwritable_folder_is_a_temporary_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-folder");
        fs::write(&file, "").unwrap();
        let err = Transport::file(&file)
            .send(&message("<d@cohorte.test>"))
            .unwrap_err();
        assert!(!err.is_permanent(), "{err:?}");
    }

    #[test]
    fn the_transport_follows_the_configuration() {
        let mut config = crate::config::Config::defaults().mail;
        assert!(matches!(
            Transport::from_config(&config).unwrap(),
            Transport::File(_)
        ));
        config.smtp_url = "smtp://user:pass@127.0.0.1:2525".into();
        let t = Transport::from_config(&config).unwrap();
        assert!(matches!(t, Transport::Smtp(_)));
        assert!(!format!("{t:?}").contains("pass"));
        config.smtp_url = "ftp://host".into();
        assert!(Transport::from_config(&config).is_err());
    }
}
