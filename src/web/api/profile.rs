//! `/associations/{id}/profile/{stage}`: the socio-economic model, as JSON.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
