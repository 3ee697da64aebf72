//! Guests of a bilan individuel: the third party the method invites to cross perspectives
//! with the association (the DLA's chargé·e de mission, a partner, another consultant).
//!
//! A guest is not a participant of an association: they have no portal, no homework and no
//! reminders. They get the session's invite like the participants — the convocation
//! (`planner`, kind [`CONVOCATION`], one per guest), the notice when the session changes or
//! is cancelled and a cancellation when they are removed (`models::invite`) —,
//! sign the émargement (`session_log`) and are named in the compte rendu.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{session_guests, sessions};
use crate::db::{Conn, Tx};
use crate::domain::programme::SessionKind;
use crate::error::AppError;
use crate::mail::ics::CalendarPerson;
use crate::mail::session::{SessionEmail, SessionFacts};
use crate::models::audit;
use crate::models::input::{Check, lenient, new_id};
use crate::models::outbox::MailContext;
use crate::models::session;

/// The planner's kind for a guest's convocation (item: the guest's id, so that each guest
/// has their own slot).
pub const CONVOCATION: &str = "guest_convocation";
/// The cancellation a guest removed after being convoked got before `invite_withdrawn`
/// replaced it (item: the guest's id); kept for the outbox page's label of old rows.
pub const REMOVED: &str = "guest_removed";

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = session_guests)]
pub struct Guest {
    pub id: String,
    pub session_id: String,
    pub name: String,
    pub email: String,
    /// Role or organisation (« Chargée de mission, DLA de la Gironde »).
    pub organisation: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
}

impl Guest {
    /// « Claire Martin (Chargée de mission, DLA 33) ».
    pub fn display(&self) -> String {
        if self.organisation.trim().is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.organisation)
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct GuestInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub email: String,
    #[serde(default, deserialize_with = "lenient")]
    pub organisation: String,
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Guest, AppError> {
    session_guests::table
        .find(id)
        .select(Guest::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("Cet·te invité·e n'existe pas.".into()))
}

pub fn list_for_session(conn: &mut Conn, session_id: &str) -> Result<Vec<Guest>, AppError> {
    Ok(session_guests::table
        .filter(session_guests::session_id.eq(session_id))
        .order((session_guests::created_at, session_guests::id))
        .select(Guest::as_select())
        .load(conn)?)
}

pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<Guest>, AppError> {
    Ok(session_guests::table
        .inner_join(sessions::table)
        .filter(sessions::cohort_id.eq(cohort_id))
        .order((session_guests::created_at, session_guests::id))
        .select(Guest::as_select())
        .load(conn)?)
}

/// Invites a guest to a bilan individuel (other sessions are the whole cohort's: their
/// outside view is the session log's « tiers » note). The planner convokes them in the
/// same transaction (`AppState::write`).
pub fn add(tx: &mut Tx, session_id: &str, input: &GuestInput) -> Result<Guest, AppError> {
    let s = session::get(tx, session_id)?;
    if s.kind() != SessionKind::BilanIndividuel {
        return Err(AppError::Conflict {
            code: "guest_bilan_only",
            message: "Seule une session de bilan individuel accueille des invité·es : \
                          pour une session collective, notez le tiers dans le journal."
                .into(),
        });
    }
    let mut check = Check::new();
    let name = check.required("name", &input.name, 200);
    let email = check.email("email", &input.email);
    let organisation = check.text("organisation", &input.organisation, 200);
    check.finish()?;
    let guest = Guest {
        id: new_id(),
        session_id: s.id.clone(),
        name,
        email,
        organisation,
        created_at: tx.now_naive(),
    };
    let inserted = diesel::insert_into(session_guests::table)
        .values((
            session_guests::id.eq(&guest.id),
            session_guests::session_id.eq(&guest.session_id),
            session_guests::name.eq(&guest.name),
            session_guests::email.eq(&guest.email),
            session_guests::organisation.eq(&guest.organisation),
            session_guests::created_at.eq(guest.created_at),
        ))
        .execute(tx.conn());
    // One address once per bilan: the `session_guests_email_key` index.
    crate::models::refuse_duplicate(
        inserted,
        "email",
        "Cette personne est déjà invitée à ce bilan.",
    )?;
    crate::models::planner::touch(tx, &s.cohort_id)?;
    audit::created(tx, "guest", &guest.id, Some(&s.cohort_id), &guest)?;
    Ok(guest)
}

/// Removes a guest. One who already received the convocation gets the cancellation
/// (METHOD:CANCEL, `invite_withdrawn`) at once (`models::invite`); a convocation still
/// waiting is cancelled by the planner.
pub fn remove(
    tx: &mut Tx,
    session_id: &str,
    guest_id: &str,
    mail: &MailContext,
) -> Result<Guest, AppError> {
    let guest = get(tx, guest_id)?;
    if guest.session_id != session_id {
        return Err(AppError::NotFound("Cet·te invité·e n'existe pas.".into()));
    }
    let s = session::get(tx, session_id)?;
    diesel::delete(session_guests::table.find(&guest.id)).execute(tx.conn())?;
    session::notify(tx, mail, &s, false)?;
    crate::models::planner::touch(tx, &s.cohort_id)?;
    audit::deleted(tx, "guest", &guest.id, Some(&s.cohort_id), &guest)?;
    Ok(guest)
}

/// The session email to a guest: the invite with the guest as ATTENDEE, no portal, no
/// homework (an empty `participant_url` makes the templates speak to a guest).
pub fn for_guest(
    facts: SessionFacts,
    guest: &Guest,
    organizer: CalendarPerson,
    dla_name: String,
) -> SessionEmail {
    SessionEmail {
        association_name: facts.association_name.clone().unwrap_or_default(),
        session: facts,
        recipient: CalendarPerson {
            name: guest.name.clone(),
            email: guest.email.clone(),
        },
        organizer,
        dla_name,
        tasks: Vec::new(),
        participant_url: String::new(),
        calendar_url: None,
    }
}
