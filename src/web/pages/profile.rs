//! The association's socio-economic model pages: état des lieux and target model (staff and
//! participant link), printable profile, CSV exports.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// French sentences of this module's notice codes.
pub fn notice_text(_code: &str) -> Option<&'static str> {
    None
}
