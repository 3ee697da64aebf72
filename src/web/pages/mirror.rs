//! Indicators of a profile (three pillars, SVG), the cohort mirror (named or anonymised,
//! projectable) and the bilan page comparing the état des lieux with the target model.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// French sentences of this module's notice codes.
pub fn notice_text(_code: &str) -> Option<&'static str> {
    None
}
