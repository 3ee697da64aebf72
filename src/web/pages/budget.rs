//! Budget and consultant time pages: the contract and its funders, time entries, CSV export.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// French sentences of this module's notice codes.
pub fn notice_text(_code: &str) -> Option<&'static str> {
    None
}
