//! The whole app in a real browser: Debian's Chromium driven through chromedriver
//! (WebDriver, with fantoccini), against the real `cohorte` binary serving on loopback
//! with its dispatcher sending to the SMTP sink.
//!
//! `scripts/test` installs Chromium, chromedriver and axe-core when missing, starts
//! chromedriver on loopback and sets `COHORTE_TEST_WEBDRIVER`. Without it, a local
//! `cargo test` starts its own chromedriver when one is installed; under CI (`CI=true`)
//! its absence is a failure, not a skip.
//!
//! - `journeys`: what each role does, step by step, with a screenshot of every page under
//!   `target/browser/<journey>/` and no console error allowed on any page.
//! - `accessibility`: axe-core on every main page of each role (no serious or critical
//!   violation), keyboard reachability, visible focus, phone width for participants.

mod accessibility;
mod calls;
#[path = "../common/db.rs"]
mod db;
mod harness;
mod journeys;
mod report;
#[path = "../common/smtp.rs"]
mod smtp;
