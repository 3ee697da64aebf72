//! One file per table or aggregate: the row struct, its input and checks ("local
//! methods"), and its queries ("database methods"). No HTTP types here.

pub mod account;
pub mod action_lead;
pub mod application;
pub mod association;
pub mod audit;
pub mod budget;
pub mod calendar;
pub mod call;
pub mod cohort;
pub mod consultant;
pub mod dashboard;
pub mod dla;
pub mod evaluation;
pub mod feed;
pub mod guest;
pub mod import;
pub mod input;
pub mod instance;
pub mod invite;
pub mod outbox;
pub mod outbox_status;
pub mod participant;
pub mod place;
pub mod planner;
pub mod portal;
pub mod privacy;
pub mod profile;
pub mod profile_form;
pub mod programme;
pub mod report;
pub mod scope;
pub mod search;
pub mod session;
pub mod session_log;
pub mod task;
pub mod time_entry;

/// Serialises a stored UTC timestamp as RFC 3339 with `Z`, never as a naive local time.
pub mod utc {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(dt: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(
            &dt.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    }
}

/// `utc` for an optional timestamp.
pub mod utc_option {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(dt: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match dt {
            Some(dt) => super::utc::serialize(dt, s),
            None => s.serialize_none(),
        }
    }
}

/// Refuses a write based on an old read: `sent` is the version the form or client read
/// (empty = no check), `current` the stored one.
pub fn check_version(
    sent: &str,
    current: i32,
    changed: &str,
) -> Result<(), crate::error::AppError> {
    let sent = sent.trim();
    if sent.is_empty() {
        return Ok(());
    }
    match sent.parse::<i32>() {
        Ok(v) if v == current => Ok(()),
        // A different version, or something that is not one: refused, not ignored.
        _ => Err(stale(changed)),
    }
}

/// A stale write: the row changed since the form was opened. `changed` is the French
/// sentence start, agreed in gender: « La séance a été modifiée ».
pub fn stale(changed: &str) -> crate::error::AppError {
    crate::error::AppError::Conflict {
        code: "stale_version",
        message: format!(
            "{changed} par quelqu'un d'autre depuis l'ouverture du formulaire. \
             Vos saisies sont conservées ci-dessous : vérifiez puis enregistrez à nouveau."
        ),
    }
}

/// The row count of a version-checked `UPDATE … WHERE id = ? AND version = ?`: none means
/// that another writer changed the row after it was read (on PostgreSQL, a commit between
/// the read and the write), refused as [`stale`] like an old form's version.
pub fn check_updated(rows: usize, changed: &str) -> Result<(), crate::error::AppError> {
    if rows == 0 {
        Err(stale(changed))
    } else {
        Ok(())
    }
}

/// The first save of a row read as absent (version 0): another writer's insert of the same
/// key since the read is a unique violation, refused as [`stale`] too.
pub fn check_inserted(
    result: Result<usize, diesel::result::Error>,
    changed: &str,
) -> Result<(), crate::error::AppError> {
    use diesel::result::{DatabaseErrorKind, Error};
    match result {
        Ok(_) => Ok(()),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(stale(changed)),
        Err(e) => Err(e.into()),
    }
}

/// A write refused by a UNIQUE index — the name or address is another row's, perhaps
/// committed by a concurrent writer a moment before —: the field's French message, as a
/// form check gives it. For a statement whose only unique index a person can reach is that
/// one (the others are generated ids).
pub fn refuse_duplicate<T>(
    result: Result<T, diesel::result::Error>,
    field: &str,
    message: &str,
) -> Result<T, crate::error::AppError> {
    use diesel::result::{DatabaseErrorKind, Error};
    match result {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(crate::error::AppError::field(field, message))
        }
        other => Ok(other?),
    }
}
