//! `/cohorts/{id}/budget`, funders and time entries.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
