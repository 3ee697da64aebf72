//! Outgoing email: rendering messages from templates (`render`), calendar invites (`ics`),
//! the emails about a session (`session`), and the transports that deliver them
//! (`transport`: SMTP, or `.eml` files when no SMTP server is configured).
//!
//! Nothing here touches the database nor imports `models`. The outbox that queues emails
//! durably is `models::outbox`; `jobs::dispatch` sends its due rows through a transport.

pub mod ics;
pub mod notices;
pub mod render;
pub mod session;
pub mod transport;

pub use ics::{CalendarPerson, Invite, Method};
pub use render::{
    BuildError, CalendarPart, Email, Headers, Rendered, Renderer, new_message_id, sender,
};
pub use session::{SessionEmail, SessionFacts, TaskDue};
pub use transport::{FileTransport, SendError, Transport};
