//! Where messages go: an SMTP server, or `.eml` files in a folder when none is configured
//! (so that the app works with zero set-up, and a developer can open what would be sent).
//!
//! SMTP is driven through lettre's blocking [`SmtpConnection`], one command at a time,
//! rather than its `SmtpTransport`, for three reasons (issue #18):
//!
//! - **Timeouts per stage.** `SmtpTransport` has one timeout for every command (it was
//!   30 s); RFC 5321 § 4.5.3.2 asks a client to wait 5 minutes for the greeting, MAIL and
//!   RCPT, 2 for DATA and 10 for the reply after the final dot. A relay answering in 32 s
//!   got the same email 9 times. Each stage here has its own timeout ([`SmtpTimeouts`],
//!   `[mail.timeouts]`), set on the connection just before the stage.
//! - **An unknown outcome is said so.** A timeout or a dropped connection *after* the whole
//!   message was written may hide a delivered email: it is [`Fault::Timeout`] or
//!   [`Fault::Dropped`] at [`Stage::Message`], which the dispatcher sends again at most
//!   once, with the same Message-ID (`domain::outbox`).
//! - **One connection per pass.** A [`Session`] keeps its connection from one email to the
//!   next (RSET after a transaction that did not complete), reconnects after a connection
//!   error, and QUITs when it is closed; `SmtpTransport` without its `pool` feature opened
//!   one connection per email.
//!
//! lettre 0.11.23 writes a message and its final `\r\n.\r\n` in two writes and exposes no
//! way to set `TCP_NODELAY` (its `NetworkStream` is private to `SmtpConnection`, with no
//! accessor to the socket): Nagle's algorithm then holds the final dot until the server
//! acknowledges the message, which the server's delayed ACK puts off by 40 ms — 20 emails a
//! second on loopback. So the message, dot-stuffed as lettre does, and its final dot are
//! written in **one** write through `SmtpConnection::command` ([`data_with_final_dot`]):
//! nothing small follows unacknowledged data, so nothing waits, without patching lettre.
//!
//! Everything blocks: the dispatcher that calls it does blocking diesel work around each
//! message (claim the row, send, record the outcome), so it runs off the async runtime
//! anyway (`web::block`/`spawn_blocking`, or a plain loop in `cohorte dispatch`).
//!
//! A failure is a [`SendError`]: the [`Stage`] it happened at and the [`Fault`], from which
//! follow what the dispatcher does ([`SendError::attempt`]: retry, give up, or unknown
//! outcome) and the French explanation people read ([`SendError::explanation`]); the raw
//! error is kept beside it as a detail.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Quit, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::config::MailConfig;
use crate::domain::outbox::Attempt;

pub use crate::config::SmtpTimeouts;

/// Where in the exchange a send failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Before any exchange: building the message, reading it, writing the `.eml` file.
    Prepare,
    /// Connecting, TLS, greeting, EHLO, STARTTLS, AUTH.
    Connect,
    /// MAIL FROM.
    Sender,
    /// RCPT TO.
    Recipient,
    /// DATA, until the server's 354.
    Data,
    /// The message and its final dot were written: the server's reply was awaited.
    Message,
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing answered: refused connection, unknown host, unreachable network.
    Unreachable,
    /// The stage's timeout ran out.
    Timeout,
    /// The connection was closed or reset before a reply.
    Dropped,
    /// TLS could not be set up.
    Tls,
    /// The server answered this code (4xx or 5xx).
    Reply(u16),
    /// The recipient's (or sender's) address is unusable.
    BadAddress,
    /// The message could not be built (a template, an invitation's method…).
    BadMessage,
    /// The server lacks what the message needs (8BITMIME, SMTPUTF8).
    Unsupported,
    /// Cohorte's side: reading the stored message, writing the `.eml` file.
    Local,
}

/// Why a message was not sent, and the raw error (`detail`, kept for who investigates).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct SendError {
    pub stage: Stage,
    pub fault: Fault,
    pub detail: String,
}

impl SendError {
    pub fn new(stage: Stage, fault: Fault, detail: impl Into<String>) -> SendError {
        SendError {
            stage,
            fault,
            detail: detail.into(),
        }
    }

    /// Cohorte's side failed before anything was sent (worth retrying).
    pub fn local(detail: impl Into<String>) -> SendError {
        SendError::new(Stage::Prepare, Fault::Local, detail)
    }

    /// What the dispatcher makes of it: a 5xx reply or an unusable message is permanent;
    /// a timeout or a dropped connection once the whole message was written is an unknown
    /// outcome (it may have been delivered); the rest is worth retrying.
    pub fn attempt(&self) -> Attempt {
        match (self.stage, self.fault) {
            (_, Fault::Reply(code)) if code >= 500 => Attempt::Permanent,
            (_, Fault::BadAddress | Fault::BadMessage | Fault::Unsupported) => Attempt::Permanent,
            (Stage::Message, Fault::Timeout | Fault::Dropped) => Attempt::Unconfirmed,
            _ => Attempt::Temporary,
        }
    }

    pub fn is_permanent(&self) -> bool {
        self.attempt() == Attempt::Permanent
    }

    /// The SMTP reply code, when the server gave one.
    pub fn code(&self) -> Option<u16> {
        match self.fault {
            Fault::Reply(code) => Some(code),
            _ => None,
        }
    }

    /// What happened, in French, for a chargé·e de mission: shown on the « Envois » page and
    /// in the API, the raw error beside it.
    pub fn explanation(&self) -> String {
        use Fault::*;
        use Stage::*;
        match (self.stage, self.fault) {
            (_, BadAddress) => {
                "Adresse e-mail invalide : corrigez-la, puis renvoyez l'e-mail.".into()
            }
            (_, BadMessage) => "Le message n'a pas pu être construit : prévenez \
                                l'administrateur·rice de Cohorte."
                .into(),
            (_, Unsupported) => "Le serveur d'envoi n'accepte pas les caractères accentués \
                                 de ce message : prévenez l'administrateur·rice."
                .into(),
            (_, Local) => {
                "Erreur de Cohorte en préparant l'envoi : nouvel essai dans quelques minutes."
                    .into()
            }
            (_, Tls) => "Connexion sécurisée (TLS) impossible avec le serveur d'envoi : \
                         vérifiez son adresse (mail.smtp_url) et son certificat."
                .into(),
            (Message, Timeout) => "Délai dépassé en attendant la confirmation du serveur : \
                                   l'e-mail est peut-être arrivé."
                .into(),
            (Message, Dropped) => "Connexion coupée avant la confirmation du serveur : \
                                   l'e-mail est peut-être arrivé."
                .into(),
            (Prepare | Connect, Unreachable | Timeout | Dropped) => {
                "Le serveur d'envoi ne répond pas.".into()
            }
            (_, Timeout) => "Le serveur d'envoi ne répond plus (délai dépassé).".into(),
            (_, Unreachable | Dropped) => "Le serveur d'envoi a coupé la connexion.".into(),
            (_, Reply(421)) => {
                "Le serveur d'envoi a fermé la connexion (421) : nouvel essai plus tard.".into()
            }
            (Connect, Reply(code @ (530 | 534 | 535 | 538))) => format!(
                "Identifiant ou mot de passe refusé par le serveur d'envoi ({code}) : \
                 vérifiez mail.smtp_url."
            ),
            (Sender, Reply(code)) if code >= 500 => format!(
                "Adresse d'expédition refusée par le serveur d'envoi ({code}) : vérifiez \
                 mail.from_address."
            ),
            (Recipient, Reply(code @ 552)) => {
                format!("Boîte du destinataire pleine ({code}).")
            }
            (Recipient, Reply(code)) if code >= 500 => {
                format!("Adresse refusée par le serveur du destinataire ({code}).")
            }
            (Recipient, Reply(code)) => {
                format!("Le serveur du destinataire demande de réessayer plus tard ({code}).")
            }
            (Data | Message, Reply(code)) if code >= 500 => {
                format!("Message refusé par le serveur d'envoi ({code}).")
            }
            (_, Reply(code)) if code >= 500 => {
                format!("Le serveur d'envoi refuse l'envoi ({code}).")
            }
            (_, Reply(code)) => format!(
                "Le serveur d'envoi est momentanément indisponible ({code}) : nouvel essai \
                 plus tard."
            ),
        }
    }

    /// Classifies lettre's error at `stage`. The command is named in the detail.
    fn smtp(stage: Stage, e: &lettre::transport::smtp::Error) -> SendError {
        use std::io::ErrorKind;
        let fault = if let Some(code) = e.status() {
            Fault::Reply(u16::from(code))
        } else if e.is_tls() {
            Fault::Tls
        } else {
            match io_error_kind(e) {
                // A socket timeout is EAGAIN (WouldBlock) on Linux, TimedOut elsewhere.
                Some(ErrorKind::TimedOut | ErrorKind::WouldBlock) => Fault::Timeout,
                _ if stage == Stage::Connect => Fault::Unreachable,
                _ => Fault::Dropped,
            }
        };
        let what = match stage {
            Stage::Prepare => "préparation",
            Stage::Connect => "connexion",
            Stage::Sender => "MAIL FROM",
            Stage::Recipient => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "fin du message",
        };
        SendError::new(stage, fault, format!("{what} : {e}"))
    }

    /// Whether the connection can carry the next email (after RSET): a reply other than
    /// 421 leaves it usable; anything else closes it.
    fn keeps_connection(&self) -> bool {
        matches!(self.fault, Fault::Reply(code) if code != 421)
            || matches!(self.stage, Stage::Prepare)
    }
}

/// The kind of the I/O error under lettre's, if any (lettre's own `is_timeout` misses the
/// `WouldBlock` that a socket timeout gives on Linux).
fn io_error_kind(e: &lettre::transport::smtp::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
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
            SendError::local(format!("écriture dans {} : {e}", self.dir.display()))
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
            return Err(SendError::local(format!("{} existe déjà", path.display())));
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

/// How to reach the SMTP server: lettre's URL form, read as lettre reads it
/// (`SmtpTransport::from_url`, whose result keeps these private).
#[derive(Clone)]
struct SmtpServer {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    hello: ClientId,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        let tls = match self.tls {
            TlsMode::None => "none",
            TlsMode::Opportunistic(_) => "opportunistic",
            TlsMode::Required(_) => "required",
            TlsMode::Wrapper(_) => "wrapper",
        };
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &tls)
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

#[derive(Clone)]
enum TlsMode {
    None,
    /// STARTTLS when the server offers it (`?tls=opportunistic`).
    Opportunistic(TlsParameters),
    /// STARTTLS or fail (`?tls=required`).
    Required(TlsParameters),
    /// TLS from the first byte (`smtps://`).
    Wrapper(TlsParameters),
}

impl SmtpServer {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required`, `smtps://user:pass@host`
    /// (a path names the EHLO host). Never repeats the URL in its error: it may hold a
    /// password.
    fn parse(url: &str) -> anyhow::Result<SmtpServer> {
        use lettre::transport::smtp::{SMTP_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT};
        let bad = |why: &str| anyhow::anyhow!("invalid SMTP URL: {why}");
        let url = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| bad("no host"))?.to_string();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_string());
        let params = || TlsParameters::new(host.clone()).map_err(|e| bad(&format!("TLS: {e}")));
        let (port, tls) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (SMTP_PORT, TlsMode::None),
            ("smtp", Some("required")) => (SUBMISSION_PORT, TlsMode::Required(params()?)),
            ("smtp", Some("opportunistic")) => (SUBMISSION_PORT, TlsMode::Opportunistic(params()?)),
            ("smtps", _) => (SUBMISSIONS_PORT, TlsMode::Wrapper(params()?)),
            (scheme, tls) => {
                return Err(bad(&format!(
                    "unknown scheme {scheme:?} or tls parameter {tls:?}"
                )));
            }
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("the user or password is not UTF-8"))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        Ok(SmtpServer {
            port: url.port().unwrap_or(port),
            host,
            tls,
            credentials,
            hello,
        })
    }

    /// A new connection, greeted, secured and authenticated as the URL says.
    fn connect(&self, timeouts: &SmtpTimeouts) -> Result<SmtpConnection, SendError> {
        let failed = |e: lettre::transport::smtp::Error| SendError::smtp(Stage::Connect, &e);
        let wrapper = match &self.tls {
            TlsMode::Wrapper(p) => Some(p),
            _ => None,
        };
        // The greeting's timeout covers the TCP connection, TLS, the greeting and EHLO, and
        // stays set for STARTTLS and AUTH.
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            SmtpTimeouts::of(timeouts.greeting_secs),
            &self.hello,
            wrapper,
            None,
        )
        .map_err(failed)?;
        match &self.tls {
            TlsMode::Required(p) => conn.starttls(p, &self.hello).map_err(failed)?,
            TlsMode::Opportunistic(p) if conn.can_starttls() => {
                conn.starttls(p, &self.hello).map_err(failed)?
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).map_err(failed)?;
        }
        Ok(conn)
    }
}

/// Sends through one SMTP server with [`SmtpTimeouts`].
pub struct SmtpSender {
    server: SmtpServer,
    timeouts: SmtpTimeouts,
}

/// The message as written after DATA: dot-stuffed exactly as lettre's `ClientCodec` does
/// (a `.` starting a line — at the start, or after CRLF — is doubled), then `\r\n.\r\n`,
/// all in one string so that one write carries it (see the module's documentation).
pub fn data_with_final_dot(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + message.len() / 64 + 8);
    let mut rest = message;
    loop {
        if rest.starts_with('.') {
            out.push('.');
        }
        match rest.find("\r\n") {
            Some(end) => {
                out.push_str(&rest[..end + 2]);
                rest = &rest[end + 2..];
            }
            None => {
                out.push_str(rest);
                break;
            }
        }
    }
    out.push_str("\r\n.\r\n");
    out
}

/// Sends messages one after the other, on one SMTP connection kept open between them,
/// reopened after a connection error; QUIT when the session is closed or dropped. RSET
/// comes before a message when the previous transaction did not complete (a recipient
/// refused…); after a completed one (the reply to the final dot) the server has already
/// reset its state (RFC 5321 § 4.1.1.4), and a RSET would cost one more round trip per
/// email. A kept connection the server closed meanwhile (idle timeout, a limit of emails
/// per connection) is seen at MAIL: the email then goes on a new connection at once. The
/// file transport's sessions just write files.
pub struct Session<'a> {
    transport: &'a Transport,
    conn: Option<SmtpConnection>,
    /// A transaction (MAIL) is open on `conn` without its final reply: RSET first.
    open: bool,
}

impl Session<'_> {
    /// Sends one message; returns its Message-ID (with angle brackets, as in the header).
    pub fn send(&mut self, message: &Message) -> Result<String, SendError> {
        let message_id = message
            .headers()
            .get_raw("Message-ID")
            .map(str::to_owned)
            .ok_or_else(|| {
                SendError::new(Stage::Prepare, Fault::BadMessage, "message sans Message-ID")
            })?;
        match self.transport {
            Transport::Smtp(smtp) => {
                let envelope = message.envelope();
                let body = message.formatted();
                let kept = self.conn.is_some();
                let mut result = self.transaction(smtp, envelope, &body);
                if kept
                    && let Err(e) = &result
                    && e.stage == Stage::Sender
                    && matches!(e.fault, Fault::Dropped | Fault::Reply(421))
                {
                    // Closed by the server since the last email: once more, on a new one.
                    self.conn = None;
                    result = self.transaction(smtp, envelope, &body);
                }
                result?;
            }
            Transport::File(file) => {
                let path = file.send(message, &message_id)?;
                tracing::info!(path = %path.display(), %message_id, "email written to a file");
            }
        }
        Ok(message_id)
    }

    /// One SMTP transaction on the session's connection (opened if need be). A failure
    /// that leaves the connection unusable (dropped, timed out, 421) closes it.
    fn transaction(
        &mut self,
        smtp: &SmtpSender,
        envelope: &lettre::address::Envelope,
        body: &[u8],
    ) -> Result<(), SendError> {
        let result = self.exchange(smtp, envelope, body);
        if let Err(e) = &result
            && !e.keeps_connection()
        {
            self.conn = None;
        }
        result
    }

    fn exchange(
        &mut self,
        smtp: &SmtpSender,
        envelope: &lettre::address::Envelope,
        body: &[u8],
    ) -> Result<(), SendError> {
        let t = &smtp.timeouts;
        self.ready(smtp)?;
        let conn = self.conn.as_mut().expect("connected by ready");
        let at = |stage: Stage| move |e: lettre::transport::smtp::Error| SendError::smtp(stage, &e);
        let timeout = |conn: &mut SmtpConnection, stage: Stage, secs: u64| {
            conn.set_timeout(SmtpTimeouts::of(secs))
                .map_err(|e| SendError::new(stage, Fault::Dropped, format!("délai : {e}")))
        };

        let mut parameters = Vec::new();
        let ascii_addresses = envelope
            .from()
            .is_none_or(|a| AsRef::<str>::as_ref(a).is_ascii())
            && envelope
                .to()
                .iter()
                .all(|a| AsRef::<str>::as_ref(a).is_ascii());
        if !ascii_addresses {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::new(
                    Stage::Sender,
                    Fault::Unsupported,
                    "SMTPUTF8 absent",
                ));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(SendError::new(
                    Stage::Sender,
                    Fault::Unsupported,
                    "8BITMIME absent",
                ));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }

        timeout(conn, Stage::Sender, t.mail_secs)?;
        self.open = true;
        conn.command(Mail::new(envelope.from().cloned(), parameters))
            .map_err(at(Stage::Sender))?;
        timeout(conn, Stage::Recipient, t.rcpt_secs)?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .map_err(at(Stage::Recipient))?;
        }
        timeout(conn, Stage::Data, t.data_secs)?;
        conn.command(Data).map_err(at(Stage::Data))?;
        // Set before anything of the message is written: a failure here sent nothing.
        timeout(conn, Stage::Data, t.data_end_secs)?;
        let replied = match std::str::from_utf8(body) {
            Ok(text) => conn.command(data_with_final_dot(text)),
            // Never for the messages Cohorte builds; lettre's two writes then.
            Err(_) => conn.message(body),
        }
        .map_err(at(Stage::Message));
        // Any reply to the final dot ends the transaction.
        if replied.is_ok() || replied.as_ref().is_err_and(|e| e.code().is_some()) {
            self.open = false;
        }
        replied.map(|_| ())
    }

    /// Makes sure the session has a connection ready for a new transaction: the kept one,
    /// reset (RSET) if a transaction is open on it, or a new one.
    fn ready(&mut self, smtp: &SmtpSender) -> Result<(), SendError> {
        if let Some(conn) = &mut self.conn {
            let usable = !conn.has_broken()
                && (!self.open
                    || (conn
                        .set_timeout(SmtpTimeouts::of(smtp.timeouts.mail_secs))
                        .is_ok()
                        && conn.command(Rset).is_ok()));
            if !usable {
                self.conn = None;
            }
        }
        if self.conn.is_none() {
            self.conn = Some(smtp.server.connect(&smtp.timeouts)?);
        }
        self.open = false;
        Ok(())
    }

    /// QUITs the connection, if one is open. Waits 10 s at most for the server's answer,
    /// which changes nothing.
    pub fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.set_timeout(Some(Duration::from_secs(10)));
            let _ = conn.command(Quit);
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(Arc<SmtpSender>),
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
    /// SMTP when `smtp_url` is set (with `[mail.timeouts]`), files otherwise.
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Transport> {
        let url = config.smtp_url.trim();
        if url.is_empty() {
            Ok(Transport::File(FileTransport::new(&config.file_dir)))
        } else {
            Transport::smtp_with(url, config.timeouts)
        }
    }

    /// As [`Transport::from_config`], for an email someone waits for on a page
    /// ([`SmtpTimeouts::INTERACTIVE`], each no longer than the configured one).
    pub fn interactive(config: &MailConfig) -> anyhow::Result<Transport> {
        let url = config.smtp_url.trim();
        if url.is_empty() {
            return Transport::from_config(config);
        }
        Transport::smtp_with(url, config.timeouts.min(SmtpTimeouts::INTERACTIVE))
    }

    /// lettre's URL form: `smtp://host:port`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host`; RFC 5321's timeouts.
    pub fn smtp(url: &str) -> anyhow::Result<Transport> {
        Transport::smtp_with(url, SmtpTimeouts::default())
    }

    pub fn smtp_with(url: &str, timeouts: SmtpTimeouts) -> anyhow::Result<Transport> {
        Ok(Transport::Smtp(Arc::new(SmtpSender {
            server: SmtpServer::parse(url)?,
            timeouts,
        })))
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

    /// A session that sends several messages over one connection (a dispatcher pass).
    pub fn session(&self) -> Session<'_> {
        Session {
            transport: self,
            conn: None,
            open: false,
        }
    }

    /// Sends one message on a connection of its own; returns its Message-ID (with angle
    /// brackets, as in the header).
    pub fn send(&self, message: &Message) -> Result<String, SendError> {
        let mut session = self.session();
        let sent = session.send(message);
        session.close();
        sent
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
        assert_eq!(
            (err.stage, err.fault),
            (Stage::Connect, Fault::Unreachable),
            "{err:?}"
        );
        assert_eq!(err.attempt(), Attempt::Temporary);
        assert_eq!(err.code(), None);
        assert_eq!(err.explanation(), "Le serveur d'envoi ne répond pas.");
        assert!(err.detail.starts_with("connexion : "), "{}", err.detail);
    }

    #[test]
    fn a_server_that_never_greets_times_out_at_the_configured_greeting_timeout() {
        // Accepts the connection (the kernel does) and says nothing.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let timeouts = SmtpTimeouts {
            greeting_secs: 1,
            ..SmtpTimeouts::default()
        };
        let transport =
            Transport::smtp_with(&format!("smtp://127.0.0.1:{port}"), timeouts).unwrap();
        let started = std::time::Instant::now();
        let err = transport.send(&message("<g@cohorte.test>")).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_eq!(
            (err.stage, err.fault),
            (Stage::Connect, Fault::Timeout),
            "{err:?}"
        );
        assert_eq!(err.attempt(), Attempt::Temporary);
        drop(silent);
    }

    #[test]
    fn what_happened_is_explained_in_french_and_decides_retry_or_not() {
        let e = |stage, fault| SendError::new(stage, fault, "raw");
        let cases = [
            (
                e(Stage::Recipient, Fault::Reply(550)),
                Attempt::Permanent,
                "Adresse refusée par le serveur du destinataire (550).",
            ),
            (
                e(Stage::Recipient, Fault::Reply(451)),
                Attempt::Temporary,
                "Le serveur du destinataire demande de réessayer plus tard (451).",
            ),
            (
                e(Stage::Recipient, Fault::Reply(421)),
                Attempt::Temporary,
                "Le serveur d'envoi a fermé la connexion (421) : nouvel essai plus tard.",
            ),
            (
                e(Stage::Connect, Fault::Reply(535)),
                Attempt::Permanent,
                "Identifiant ou mot de passe refusé par le serveur d'envoi (535) : vérifiez \
                 mail.smtp_url.",
            ),
            (
                e(Stage::Sender, Fault::Reply(553)),
                Attempt::Permanent,
                "Adresse d'expédition refusée par le serveur d'envoi (553) : vérifiez \
                 mail.from_address.",
            ),
            (
                e(Stage::Message, Fault::Timeout),
                Attempt::Unconfirmed,
                "Délai dépassé en attendant la confirmation du serveur : l'e-mail est \
                 peut-être arrivé.",
            ),
            (
                e(Stage::Message, Fault::Dropped),
                Attempt::Unconfirmed,
                "Connexion coupée avant la confirmation du serveur : l'e-mail est peut-être \
                 arrivé.",
            ),
            (
                e(Stage::Message, Fault::Reply(554)),
                Attempt::Permanent,
                "Message refusé par le serveur d'envoi (554).",
            ),
            (
                e(Stage::Data, Fault::Timeout),
                Attempt::Temporary,
                "Le serveur d'envoi ne répond plus (délai dépassé).",
            ),
            (
                e(Stage::Recipient, Fault::Dropped),
                Attempt::Temporary,
                "Le serveur d'envoi a coupé la connexion.",
            ),
            (
                e(Stage::Connect, Fault::Timeout),
                Attempt::Temporary,
                "Le serveur d'envoi ne répond pas.",
            ),
            (
                e(Stage::Prepare, Fault::BadAddress),
                Attempt::Permanent,
                "Adresse e-mail invalide : corrigez-la, puis renvoyez l'e-mail.",
            ),
            (
                e(Stage::Prepare, Fault::Local),
                Attempt::Temporary,
                "Erreur de Cohorte en préparant l'envoi : nouvel essai dans quelques minutes.",
            ),
        ];
        for (err, attempt, french) in cases {
            assert_eq!(err.attempt(), attempt, "{err:?}");
            assert_eq!(err.explanation(), french, "{err:?}");
            assert_eq!(err.to_string(), "raw", "the raw error is the detail");
        }
        // Every combination has an explanation, never empty, always a sentence.
        let stages = [
            Stage::Prepare,
            Stage::Connect,
            Stage::Sender,
            Stage::Recipient,
            Stage::Data,
            Stage::Message,
        ];
        let faults = [
            Fault::Unreachable,
            Fault::Timeout,
            Fault::Dropped,
            Fault::Tls,
            Fault::Reply(421),
            Fault::Reply(450),
            Fault::Reply(552),
            Fault::Reply(554),
            Fault::BadAddress,
            Fault::BadMessage,
            Fault::Unsupported,
            Fault::Local,
        ];
        for stage in stages {
            for fault in faults {
                let text = e(stage, fault).explanation();
                assert!(text.ends_with('.'), "{stage:?} {fault:?}: {text}");
            }
        }
    }

    #[test]
    fn the_data_is_dot_stuffed_as_lettre_does_with_the_final_dot_in_the_same_string() {
        assert_eq!(data_with_final_dot("Bonjour,\r\n"), "Bonjour,\r\n\r\n.\r\n");
        assert_eq!(data_with_final_dot(".\r\n"), "..\r\n\r\n.\r\n");
        assert_eq!(
            data_with_final_dot("a\r\n.b\r\n..c\r\nd.\r\n"),
            "a\r\n..b\r\n...c\r\nd.\r\n\r\n.\r\n"
        );
        // lettre stuffs only after CRLF, not after a bare LF.
        assert_eq!(data_with_final_dot("a\n.b"), "a\n.b\r\n.\r\n");
        assert_eq!(data_with_final_dot("é\r\n.é"), "é\r\n..é\r\n.\r\n");
    }

    #[test]
    fn smtp_urls_are_read_as_lettre_reads_them() {
        let s = SmtpServer::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 2525));
        assert!(matches!(s.tls, TlsMode::None) && s.credentials.is_none());
        let s = SmtpServer::parse("smtp://user:pa%24s@mail.example.org?tls=required").unwrap();
        assert_eq!(s.port, 587);
        assert!(matches!(s.tls, TlsMode::Required(_)));
        assert_eq!(
            s.credentials,
            Some(Credentials::new("user".into(), "pa$s".into()))
        );
        let s = SmtpServer::parse("smtp://mail.example.org?tls=opportunistic").unwrap();
        assert!(matches!(s.tls, TlsMode::Opportunistic(_)));
        let s =
            SmtpServer::parse("smtps://u%40x.fr:p@mail.example.org/cohorte.example.org").unwrap();
        assert_eq!(s.port, 465);
        assert!(matches!(s.tls, TlsMode::Wrapper(_)));
        assert_eq!(
            s.credentials,
            Some(Credentials::new("u@x.fr".into(), "p".into()))
        );
        assert_eq!(s.hello, ClientId::Domain("cohorte.example.org".into()));
        let err = SmtpServer::parse("smtp://x:s3cret@host?tls=maybe").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        for bad in ["ftp://host", "smtp://host?tls=maybe", "not a url"] {
            assert!(SmtpServer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc_timeouts_bound_one_email_under_the_default_lease() {
        let t = SmtpTimeouts::default();
        assert_eq!(t.longest_exchange(), Duration::from_secs(32 * 60));
        assert_eq!(t.check(), Ok(()));
        assert_eq!(SmtpTimeouts { rcpt_secs: 0, ..t }.check(), Err("rcpt_secs"));
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

    #[test]
    fn a_page_waits_thirty_seconds_a_stage_at_most_the_dispatcher_the_rfc_s() {
        let mut config = crate::config::Config::defaults().mail;
        config.smtp_url = "smtp://127.0.0.1:2525".into();
        config.timeouts.rcpt_secs = 10;
        let timeouts = |t: Transport| match t {
            Transport::Smtp(s) => s.timeouts,
            Transport::File(_) => panic!("SMTP expected"),
        };
        let page = timeouts(Transport::interactive(&config).unwrap());
        assert_eq!(page.data_end_secs, 30);
        assert_eq!(page.greeting_secs, 30);
        assert_eq!(page.rcpt_secs, 10, "never longer than configured");
        let dispatcher = timeouts(Transport::from_config(&config).unwrap());
        assert_eq!(dispatcher.data_end_secs, 600);
        config.smtp_url.clear();
        assert!(matches!(
            Transport::interactive(&config).unwrap(),
            Transport::File(_)
        ));
    }
}
