//! Background work, above `models` and `mail`: the dispatcher that sends the outbox's due
//! rows through a transport (`dispatch`), and the application's hooks it runs in each pass
//! (`hooks`: the planner, the compaction of settled bodies, the privacy purge, the
//! personalisation of participants' emails).
//!
//! `mail` renders and sends and knows nothing of the database; `models` queues rows and
//! knows nothing of sending; this module is the one place that joins them.

pub mod dispatch;
pub mod hooks;

pub use dispatch::{Dispatcher, Stats};
pub use hooks::AppHooks;
