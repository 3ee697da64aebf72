//! What the application asks the dispatcher to do in each pass besides sending
//! ([`crate::jobs::dispatch::Hooks`]), in this order: pack the bodies of settled emails
//! (`models::outbox::compact`), run the privacy purge at most once an hour
//! (`models::privacy`), then plan (`models::planner::plan`); and, as each participant's
//! email leaves, personalise it (`models::outbox::personalise`).
//!
//! The purge and the planner's pass each run on one instance at a time, under an advisory
//! lock (`db::exclusive`): an instance that finds it taken skips that job for this pass.
//! A failed compaction or purge is logged and does not stop the sending.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::db::{Conn, Job, Tx, exclusive};
use crate::error::AppError;
use crate::jobs::dispatch::{Hooks, Planner};
use crate::mail::{Email, Headers};
use crate::models::outbox::{self, COMPACT_BATCHES_PER_PASS, MailContext, OutboxEmail};
use crate::models::planner;
use crate::models::privacy;

/// The application's hooks. [`AppHooks::new`] plans and personalises; compaction and the
/// purge are switched on by [`AppHooks::compacting`] and [`AppHooks::purging`] (`cohorte
/// serve` and `cohorte dispatch` switch on both, from the configuration).
pub struct AppHooks {
    mail: MailContext,
    /// `mail.compress_after_days` (0 = never).
    compact_after_days: u32,
    /// `privacy.purge_after_months` (0 = never).
    purge_months: u32,
    /// `privacy.applications_purge_after_months` (0 = never).
    applications_months: u32,
    /// When this process last ran the purge, by the passes' clock.
    last_purge: Mutex<Option<DateTime<Utc>>>,
}

impl AppHooks {
    pub fn new(mail: MailContext) -> AppHooks {
        AppHooks {
            mail,
            compact_after_days: 0,
            purge_months: 0,
            applications_months: 0,
            last_purge: Mutex::new(None),
        }
    }

    /// Each pass also packs the bodies of the emails settled more than `after_days` days
    /// before the pass's clock (0 = never), at most [`COMPACT_BATCHES_PER_PASS`] batches.
    pub fn compacting(mut self, after_days: u32) -> AppHooks {
        self.compact_after_days = after_days;
        self
    }

    /// Each pass also runs the purge, at most once an hour: personal data of cohorts ended
    /// more than `months` ago, applications older than `applications_months` (0 = never).
    pub fn purging(mut self, months: u32, applications_months: u32) -> AppHooks {
        self.purge_months = months;
        self.applications_months = applications_months;
        self
    }

    /// What a [`crate::jobs::Dispatcher`] holds.
    pub fn planner(self) -> Planner {
        std::sync::Arc::new(self)
    }

    fn compact(&self, conn: &mut Conn, now: DateTime<Utc>) {
        if self.compact_after_days == 0 {
            return;
        }
        let before = now.naive_utc() - chrono::Duration::days(self.compact_after_days as i64);
        match outbox::compact(conn, before, COMPACT_BATCHES_PER_PASS, now) {
            Ok(c) if c.packed > 0 => tracing::info!(
                packed = c.packed,
                transactions = c.transactions,
                "bodies of settled emails compressed"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "compression of settled emails failed"),
        }
    }

    /// Whether the purge is due at `now`, noting it as run if so.
    fn purge_due(&self, now: DateTime<Utc>) -> bool {
        if self.purge_months == 0 && self.applications_months == 0 {
            return false;
        }
        let mut last = self.last_purge.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| now < t || now - t >= chrono::Duration::hours(1));
        if due {
            *last = Some(now);
        }
        due
    }

    fn purge(&self, conn: &mut Conn, now: DateTime<Utc>) {
        if !self.purge_due(now) {
            return;
        }
        // One instance at a time purges; the others skip it for this hour.
        let purged = exclusive(conn, Job::Purge, |conn| {
            if let Err(e) = privacy::purge_ended_cohorts(conn, self.purge_months, now) {
                tracing::error!(error = %e, "purge of personal data failed");
            }
            if let Err(e) = privacy::purge_applications(conn, self.applications_months, now) {
                tracing::error!(error = %e, "purge of applications failed");
            }
            Ok(())
        });
        if let Err(e) = purged {
            tracing::error!(error = %e, "purge of personal data failed");
        }
    }
}

impl Hooks for AppHooks {
    fn plan(&self, conn: &mut Conn, now: DateTime<Utc>) -> Result<usize, AppError> {
        self.compact(conn, now);
        self.purge(conn, now);
        // One instance at a time plans; the others skip it for this pass.
        let planned = exclusive(conn, Job::Planner, |conn| {
            planner::plan(conn, &self.mail, now)
        })?;
        Ok(planned.unwrap_or(0))
    }

    fn personalise(
        &self,
        tx: &mut Tx,
        row: &OutboxEmail,
        email: &mut Email,
    ) -> Result<Headers, AppError> {
        outbox::personalise(tx, &self.mail, row, email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn mail() -> MailContext {
        MailContext::new(
            &crate::config::Config::defaults(),
            std::sync::Arc::new(handlebars::Handlebars::new()),
        )
    }

    fn hooks() -> AppHooks {
        AppHooks::new(mail()).purging(24, 6)
    }

    #[test]
    fn the_dispatcher_purges_at_most_once_an_hour() {
        let w = hooks();
        let t0 = Utc.with_ymd_and_hms(2030, 1, 1, 3, 0, 0).unwrap();
        assert!(w.purge_due(t0));
        assert!(!w.purge_due(t0 + chrono::Duration::minutes(30)));
        assert!(!w.purge_due(t0 + chrono::Duration::minutes(59)));
        assert!(w.purge_due(t0 + chrono::Duration::minutes(60)));
        // A clock set back (time replayed) runs it again.
        assert!(w.purge_due(t0 - chrono::Duration::days(1)));
    }

    #[test]
    fn a_purge_switched_off_is_never_due() {
        let w = AppHooks::new(mail());
        assert!(!w.purge_due(Utc.with_ymd_and_hms(2030, 1, 1, 3, 0, 0).unwrap()));
    }
}
