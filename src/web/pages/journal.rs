//! Session log pages: attendance, third party, notes, pistes d'actions, feuille d'émargement, comptes rendus.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// French sentences of this module's notice codes.
pub fn notice_text(_code: &str) -> Option<&'static str> {
    None
}
