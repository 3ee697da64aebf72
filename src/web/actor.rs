//! Who is making the request, and the one place where what they may do is decided.
//!
//! Every handler takes an `Actor` and calls `actor.authorize(Action::…)` before touching
//! data. Until accounts exist (issue #5) every request is the `Operator` of a single-user
//! instance and every action is allowed; #5 fills in `Actor::from_request` and `authorize`
//! without touching the handlers.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The single-user instance's operator (before accounts exist).
    Operator,
}

/// What a handler is about to do, with the resource it concerns.
#[derive(Clone, Debug)]
pub enum Action<'a> {
    ListCohorts,
    CreateCohort,
    ViewCohort(&'a str),
    EditCohort(&'a str),
    ViewAssociation(&'a str),
    EditAssociation(&'a str),
    EditParticipant(&'a str),
    ViewSession(&'a str),
    EditSession(&'a str),
    EditTask(&'a str),
    /// See, release, hold, cancel or resend one outbox email (by its id).
    ManageOutbox(&'a str),
    ManageDlas,
    ManageConsultants,
    LoadDemo,
    ReadApiDocs,
}

impl Actor {
    pub fn authorize(&self, action: Action<'_>) -> Result<(), AppError> {
        match (self, action) {
            (Actor::Operator, _) => Ok(()),
        }
    }
}

impl FromRequest for Actor {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(Actor::Operator))
    }
}
