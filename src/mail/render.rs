//! Rendering a message from its templates, and building the MIME message from the result.
//!
//! Each message has a folder `templates/email/<message>/` with `subject.txt.hbs`,
//! `body.txt.hbs` and `body.html.hbs` (embedded, overridable like every template). Text
//! parts are rendered with no escaping at all (a `&` stays `&`); the HTML part is escaped
//! as every page is. Both registries are strict: a variable a template names but the data
//! lacks is an error, not an empty string in someone's inbox.

use handlebars::Handlebars;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use serde::Serialize;

use crate::config::MailConfig;
use crate::mail::SendError;
use crate::mail::ics::Method;

/// A message could not be built; retrying will not help until data or templates change.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("adresse invalide {address:?} : {reason}")]
    Address { address: String, reason: String },
    #[error("modèle {template} : {reason}")]
    Template { template: String, reason: String },
    #[error("message invalide : {0}")]
    Message(String),
}

impl From<BuildError> for SendError {
    fn from(e: BuildError) -> Self {
        use crate::mail::transport::{Fault, Stage};
        let fault = match e {
            BuildError::Address { .. } => Fault::BadAddress,
            BuildError::Template { .. } | BuildError::Message(_) => Fault::BadMessage,
        };
        SendError::new(Stage::Prepare, fault, e.to_string())
    }
}

/// The three rendered parts of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// One line, trimmed.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The two registries (text, HTML) built from the app's templates.
#[derive(Clone)]
pub struct Renderer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
}

impl Renderer {
    /// From the app's registry (`templates::build`), so that overrides apply to emails too.
    ///
    /// Only the email templates (`email/…`, which use no helper of the app's) are taken:
    /// a clone of the whole registry, every page included, cost 6 M instructions, and the
    /// planner built one per session synced. The application builds one, held by
    /// `models::outbox::MailContext`, and shares it.
    pub fn new(templates: &Handlebars<'static>) -> Renderer {
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        html.set_prevent_indent(templates.prevent_indent());
        for (name, template) in templates.get_templates() {
            if name.starts_with("email/") {
                html.register_template(name, template.clone());
            }
        }
        let mut text = html.clone();
        html.register_escape_fn(crate::templates::escape_html);
        text.register_escape_fn(handlebars::no_escape);
        Renderer { html, text }
    }

    /// From the embedded templates and an optional override folder.
    pub fn build(override_dir: &str) -> anyhow::Result<Renderer> {
        Ok(Renderer::new(&crate::templates::build(override_dir)?))
    }

    /// Renders `email/<message>/{subject.txt, body.txt, body.html}`.
    pub fn render(&self, message: &str, data: &impl Serialize) -> Result<Rendered, BuildError> {
        let render = |hb: &Handlebars<'static>, part: &str| {
            let name = format!("email/{message}/{part}");
            hb.render(&name, data).map_err(|e| BuildError::Template {
                template: name,
                reason: e.to_string(),
            })
        };
        let subject = render(&self.text, "subject.txt")?;
        Ok(Rendered {
            subject: one_line(&subject),
            text: render(&self.text, "body.txt")?,
            html: render(&self.html, "body.html")?,
        })
    }
}

/// A header is one line: joins lines, trims each (a newline in data cannot add a header).
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A calendar object sent with the message (RFC 6047, iMIP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarPart {
    pub method: Method,
    pub ics: String,
}

/// One email to one recipient, ready to become a MIME message.
#[derive(Clone, Debug)]
pub struct Email {
    pub to_name: String,
    pub to_address: String,
    pub rendered: Rendered,
    pub calendar: Option<CalendarPart>,
}

/// The headers an email gets as it leaves, beside what was rendered
/// (`models::outbox::personalise` fills them for the outbox's rows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// The one-click unsubscribe address (`List-Unsubscribe`, RFC 8058), if any.
    pub unsubscribe: Option<String>,
    /// Who a reply reaches (`Reply-To`): the person who answers for the cohort, since the
    /// sending address is nobody's mailbox.
    pub reply_to: Option<Mailbox>,
    /// `Auto-Submitted: auto-generated` (RFC 3834): written by Cohorte, not by a person,
    /// so that out-of-office responders leave it alone.
    pub auto_submitted: bool,
}

impl Headers {
    /// An email Cohorte wrote, with nothing else to add.
    pub fn automatic() -> Headers {
        Headers {
            auto_submitted: true,
            ..Headers::default()
        }
    }
}

/// The configured sender: `Cohorte <cohorte@…>`.
pub fn sender(config: &MailConfig) -> Result<Mailbox, BuildError> {
    mailbox(&config.from_name, &config.from_address)
}

/// `name <address>`, the name on one line; an unusable address is an error.
pub fn mailbox(name: &str, address: &str) -> Result<Mailbox, BuildError> {
    let parsed = address
        .trim()
        .parse::<lettre::Address>()
        .map_err(|e| BuildError::Address {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    let name = one_line(name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), parsed))
}

/// A new Message-ID on the sender's domain: `<uuid@domain>`.
pub fn new_message_id(from: &Mailbox) -> String {
    format!("<{}@{}>", uuid::Uuid::new_v4(), from.email.domain())
}

impl Email {
    /// The MIME message. Without a calendar part: multipart/alternative (text, HTML).
    ///
    /// With one, the layout Google Calendar gives its own invitations, which Outlook, Gmail
    /// and Apple Mail all show as an invitation with accept/decline buttons:
    ///
    /// ```text
    /// multipart/mixed
    /// ├─ multipart/alternative
    /// │  ├─ text/plain; charset=utf-8
    /// │  ├─ text/html; charset=utf-8
    /// │  └─ text/calendar; charset=UTF-8; method=REQUEST   (Outlook reads this one)
    /// └─ application/ics; name="invitation.ics"            (attachment, for the others)
    /// ```
    ///
    /// The `method` parameter repeats the calendar's METHOD, as RFC 6047 §2.4 requires.
    /// An automatic message (`Auto-Submitted: auto-generated`, see [`Headers`]).
    pub fn to_message(&self, from: &Mailbox, message_id: &str) -> Result<Message, BuildError> {
        self.to_message_with(from, message_id, &Headers::automatic())
    }

    /// The MIME message with `headers`: `Reply-To`, `Auto-Submitted`, and, when an
    /// unsubscribe address is given, the one-click unsubscribe headers of RFC 8058:
    /// `List-Unsubscribe: <https://…>` and `List-Unsubscribe-Post:
    /// List-Unsubscribe=One-Click` (the mail client POSTs to the address, no page opens).
    pub fn to_message_with(
        &self,
        from: &Mailbox,
        message_id: &str,
        headers: &Headers,
    ) -> Result<Message, BuildError> {
        let to = mailbox(&self.to_name, &self.to_address)?;
        let alternative = MultiPart::alternative()
            .singlepart(SinglePart::plain(self.rendered.text.clone()))
            .singlepart(SinglePart::html(self.rendered.html.clone()));
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.rendered.subject.clone())
            .message_id(Some(message_id.to_string()));
        if let Some(reply_to) = &headers.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        if headers.auto_submitted {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_string(),
            ));
        }
        if let Some(url) = &headers.unsubscribe {
            let url = one_line(url);
            if !url.starts_with("http") || url.contains(['<', '>', ' ']) {
                return Err(BuildError::Message(format!(
                    "adresse de désabonnement invalide : {url:?}"
                )));
            }
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        let built = match &self.calendar {
            None => builder.multipart(alternative),
            Some(calendar) => {
                let inline = ContentType::parse(&format!(
                    "text/calendar; charset=UTF-8; method={}",
                    calendar.method.as_str()
                ))
                .map_err(|e| BuildError::Message(e.to_string()))?;
                let attached = ContentType::parse("application/ics")
                    .map_err(|e| BuildError::Message(e.to_string()))?;
                builder.multipart(
                    MultiPart::mixed()
                        .multipart(
                            alternative.singlepart(
                                SinglePart::builder()
                                    .header(inline)
                                    .body(calendar.ics.clone()),
                            ),
                        )
                        .singlepart(
                            Attachment::new("invitation.ics".to_string())
                                .body(calendar.ics.clone(), attached),
                        ),
                )
            }
        };
        built.map_err(|e| BuildError::Message(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_become_mailboxes_and_bad_addresses_are_permanent() {
        let m = mailbox("Nadia\nBenali", " nadia@jardins.fr ").unwrap();
        assert_eq!(m.to_string(), "Nadia Benali <nadia@jardins.fr>");
        let err = mailbox("X", "pas une adresse").unwrap_err();
        assert!(SendError::from(err).is_permanent());
    }

    #[test]
    fn the_one_click_unsubscribe_headers_are_added_when_asked() {
        let from = mailbox("Cohorte", "cohorte@dla33.fr").unwrap();
        let email = Email {
            to_name: "Nadia".into(),
            to_address: "nadia@jardins.fr".into(),
            rendered: Rendered {
                subject: "Rappel".into(),
                text: "Bonjour".into(),
                html: "<p>Bonjour</p>".into(),
            },
            calendar: None,
        };
        let url = "https://cohorte.example.org/desabonnement/p-1/abcd";
        let with = |url: &str| Headers {
            unsubscribe: Some(url.to_string()),
            ..Headers::default()
        };
        let raw = String::from_utf8(
            email
                .to_message_with(&from, "<x@dla33.fr>", &with(url))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(
            raw.contains(&format!("List-Unsubscribe: <{url}>\r\n")),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        let plain = String::from_utf8(email.to_message(&from, "<x@dla33.fr>").unwrap().formatted())
            .unwrap();
        assert!(!plain.contains("List-Unsubscribe"));
        assert!(
            email
                .to_message_with(&from, "<x@dla33.fr>", &with("javascript:x"))
                .is_err()
        );
    }

    #[test]
    fn replies_reach_the_person_named_and_automatic_emails_say_so() {
        let from = mailbox("Cohorte", "cohorte@dla33.fr").unwrap();
        let email = Email {
            to_name: "Nadia".into(),
            to_address: "nadia@jardins.fr".into(),
            rendered: Rendered {
                subject: "Rappel".into(),
                text: "Bonjour".into(),
                html: "<p>Bonjour</p>".into(),
            },
            calendar: None,
        };
        let raw = |h: &Headers| {
            let message = email.to_message_with(&from, "<x@dla33.fr>", h).unwrap();
            let bytes = message.formatted();
            let parsed = mail_parser::MessageParser::default()
                .parse(&bytes)
                .unwrap()
                .into_owned();
            (String::from_utf8(bytes).unwrap(), parsed)
        };
        let headers = Headers {
            reply_to: Some(mailbox("Claire Martin", "claire.martin@dla33.fr").unwrap()),
            ..Headers::automatic()
        };
        let (text, parsed) = raw(&headers);
        assert!(
            text.contains("Auto-Submitted: auto-generated\r\n"),
            "{text}"
        );
        let reply_to = parsed.reply_to().unwrap().first().unwrap();
        assert_eq!(reply_to.address(), Some("claire.martin@dla33.fr"));
        assert_eq!(reply_to.name(), Some("Claire Martin"));
        // A message a person wrote (the compte rendu) is not marked automatic.
        let (text, parsed) = raw(&Headers::default());
        assert!(!text.contains("Auto-Submitted"), "{text}");
        assert!(parsed.reply_to().is_none());
        // The one-line builder (sign-in links, password resets) is automatic.
        let plain = String::from_utf8(email.to_message(&from, "<y@dla33.fr>").unwrap().formatted())
            .unwrap();
        assert!(plain.contains("Auto-Submitted: auto-generated\r\n"));
    }

    #[test]
    fn message_ids_are_on_the_sender_domain_and_unique() {
        let from = mailbox("Cohorte", "cohorte@dla33.fr").unwrap();
        let (a, b) = (new_message_id(&from), new_message_id(&from));
        assert!(a.starts_with('<') && a.ends_with("@dla33.fr>"), "{a}");
        assert_ne!(a, b);
    }
}
