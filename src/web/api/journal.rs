//! Session logs, attendance and pistes d'actions.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
