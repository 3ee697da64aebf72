//! Participant·e: a person of an enrolled association (salaried director, board member…)
//! who receives the convocations and homework.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::participants;
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::{association, audit, refuse_duplicate};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = participants)]
pub struct Participant {
    pub id: String,
    pub association_id: String,
    pub name: String,
    pub email: String,
    /// `direction` (direction salariée), `gouvernance` or `autre`.
    pub role: String,
    /// For governance: président·e, trésorier·ère…
    pub function: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    /// Reminders (J-7, J-1, homework) wanted; convocations and notices always go.
    pub reminders: bool,
    /// Raised to revoke the calendar feed link.
    #[serde(skip)]
    pub feed_generation: i32,
    /// Raised by every change; send it back to update (409 when stale).
    pub version: i32,
    /// When they confirmed their commitment to the four sessions, from the link of the
    /// `commitment_request` email (`/portail/engagement`); null while not confirmed.
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub commitment_confirmed_at: Option<NaiveDateTime>,
}

pub const ROLES: [(&str, &str); 3] = [
    ("direction", "Direction salariée"),
    ("gouvernance", "Gouvernance"),
    ("autre", "Autre"),
];

pub fn role_label(code: &str) -> &'static str {
    ROLES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ParticipantInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub email: String,
    #[serde(default, deserialize_with = "lenient")]
    pub role: String,
    #[serde(default, deserialize_with = "lenient")]
    pub function: String,
    /// Reminders wanted: `oui` (or empty: the default) or `non`. Convocations always go.
    #[serde(default, deserialize_with = "lenient")]
    pub reminders: String,
    /// The version read before editing (required by `PUT`; ignored on creation).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<&Participant> for ParticipantInput {
    fn from(p: &Participant) -> Self {
        ParticipantInput {
            name: p.name.clone(),
            email: p.email.clone(),
            role: p.role.clone(),
            function: p.function.clone(),
            reminders: if p.reminders { "oui" } else { "non" }.into(),
            version: p.version.to_string(),
        }
    }
}

struct Values {
    name: String,
    email: String,
    role: String,
    function: String,
    reminders: bool,
}

impl ParticipantInput {
    /// The form's checks alone, one French message per field (the list import's preview,
    /// `models::import`).
    pub(crate) fn problems(&self) -> crate::error::FieldErrors {
        match self.check() {
            Err(AppError::Validation { fields, .. }) => fields,
            _ => Default::default(),
        }
    }

    fn check(&self) -> Result<Values, AppError> {
        let mut c = Check::new();
        let name = c.required("name", &self.name, 150);
        let email = c.email("email", &self.email);
        let role = self.role.trim().to_string();
        if !ROLES.iter().any(|(r, _)| *r == role) {
            c.add(
                "role",
                "Choisissez le rôle : direction salariée, gouvernance ou autre.",
            );
        }
        let function = c.text("function", &self.function, 100);
        if role == "gouvernance" && function.is_empty() {
            c.add(
                "function",
                "Précisez la fonction dans la gouvernance (président·e, trésorier·ère…).",
            );
        }
        let reminders = match self.reminders.trim().to_lowercase().as_str() {
            "" => true,
            v if Check::checkbox(v) => true,
            "non" | "no" | "false" | "0" | "off" => false,
            _ => {
                c.add("reminders", "Répondez « oui » ou « non ».");
                true
            }
        };
        c.finish()?;
        Ok(Values {
            name,
            email,
            role,
            function,
            reminders,
        })
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Participant, AppError> {
    participants::table
        .find(id)
        .select(Participant::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Participant·e"))
}

pub fn list_for_association(
    conn: &mut Conn,
    association_id: &str,
) -> Result<Vec<Participant>, AppError> {
    Ok(participants::table
        .filter(participants::association_id.eq(association_id))
        .order((participants::created_at.asc(), participants::name.asc()))
        .select(Participant::as_select())
        .load(conn)?)
}

/// The people of a cohort's associations, in the order of [`list_for_associations`].
pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<Participant>, AppError> {
    use crate::db::schema::associations;
    Ok(participants::table
        .inner_join(associations::table)
        .filter(associations::cohort_id.eq(cohort_id))
        .order((participants::created_at.asc(), participants::name.asc()))
        .select(Participant::as_select())
        .load(conn)?)
}

pub fn list_for_associations(
    conn: &mut Conn,
    ids: &[String],
) -> Result<Vec<Participant>, AppError> {
    Ok(participants::table
        .filter(in_list(participants::association_id, ids))
        .order((participants::created_at.asc(), participants::name.asc()))
        .select(Participant::as_select())
        .load(conn)?)
}

/// The participants emails may still go to: everyone but the anonymised.
pub fn list_reachable(conn: &mut Conn, ids: &[String]) -> Result<Vec<Participant>, AppError> {
    Ok(participants::table
        .filter(in_list(participants::association_id, ids))
        .filter(participants::anonymised_at.is_null())
        .order((participants::created_at.asc(), participants::name.asc()))
        .select(Participant::as_select())
        .load(conn)?)
}

/// The refusal of an address another participant of the association has: the
/// `participants_email_key` index refuses it ([`refuse_duplicate`]), addresses being stored
/// normalised (`Check::email`).
pub(crate) const DUPLICATE_EMAIL: &str =
    "Cette adresse est déjà celle d'un·e participant·e de l'association.";

pub fn create(
    tx: &mut Tx,
    association_id: &str,
    input: &ParticipantInput,
) -> Result<Participant, AppError> {
    association::get(tx, association_id)?;
    let v = input.check()?;
    let t = tx.now_naive();
    let id = new_id();
    let inserted = diesel::insert_into(participants::table)
        .values((
            participants::id.eq(&id),
            participants::association_id.eq(association_id),
            participants::name.eq(&v.name),
            participants::email.eq(&v.email),
            participants::role.eq(&v.role),
            participants::function.eq(&v.function),
            participants::reminders.eq(v.reminders),
            participants::created_at.eq(t),
            participants::updated_at.eq(t),
        ))
        .execute(tx.conn());
    refuse_duplicate(inserted, "email", DUPLICATE_EMAIL)?;
    let cohort_id = people_changed(tx, association_id)?;
    let p = get(tx, &id)?;
    audit::created(tx, "participant", &id, Some(&cohort_id), &p)?;
    Ok(p)
}

pub fn update(tx: &mut Tx, id: &str, input: &ParticipantInput) -> Result<Participant, AppError> {
    let current = get(tx, id)?;
    let v = input.check()?;
    let changed = "La fiche de la ou du participant·e a été modifiée";
    crate::models::check_version(&input.version, current.version, changed)?;
    // Conditional on the version read: never overwrites a change made since.
    let updated = diesel::update(
        participants::table
            .find(id)
            .filter(participants::version.eq(current.version)),
    )
    .set((
        participants::name.eq(&v.name),
        participants::email.eq(&v.email),
        participants::role.eq(&v.role),
        participants::function.eq(&v.function),
        participants::reminders.eq(v.reminders),
        participants::version.eq(current.version + 1),
        participants::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn());
    let n = refuse_duplicate(updated, "email", DUPLICATE_EMAIL)?;
    if n == 0 {
        return Err(crate::models::stale(changed));
    }
    if !current.email.eq_ignore_ascii_case(v.email.trim()) {
        crate::models::account::revoke_participant_access(tx, id)?;
    }
    let cohort_id = people_changed(tx, &current.association_id)?;
    let p = get(tx, id)?;
    audit::updated(tx, "participant", id, Some(&cohort_id), &current, &p)?;
    Ok(p)
}

pub fn delete(tx: &mut Tx, id: &str) -> Result<Participant, AppError> {
    let p = get(tx, id)?;
    diesel::delete(participants::table.find(id)).execute(tx.conn())?;
    let cohort_id = people_changed(tx, &p.association_id)?;
    audit::deleted(tx, "participant", id, Some(&cohort_id), &p)?;
    Ok(p)
}

/// Records that the participant confirms their commitment to the four sessions (the
/// portal's « Je confirme ma participation »). Confirming again keeps the first date and
/// writes nothing. The planner then cancels their pending `commitment_request` (its only
/// effect on the emails: nothing else is cancelled). Audited.
pub fn confirm_commitment(
    tx: &mut Tx,
    id: &str,
    at: NaiveDateTime,
) -> Result<Participant, AppError> {
    let current = get(tx, id)?;
    if current.commitment_confirmed_at.is_some() {
        return Ok(current);
    }
    diesel::update(
        participants::table
            .find(id)
            .filter(participants::commitment_confirmed_at.is_null()),
    )
    .set((
        participants::commitment_confirmed_at.eq(Some(at)),
        participants::version.eq(participants::version + 1),
        participants::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    let cohort_id = touch_cohort_of(tx, &current.association_id)?;
    let p = get(tx, id)?;
    audit::updated(tx, "participant", id, Some(&cohort_id), &current, &p)?;
    Ok(p)
}

/// After a participant's creation, change or deletion: the association's two facts about
/// its people kept true (`association::note_roles`, what the DLA overview reads) and its
/// cohort's planned emails rebuilt. Returns that cohort's id.
fn people_changed(tx: &mut Tx, association_id: &str) -> Result<String, AppError> {
    association::note_roles(tx, association_id)?;
    touch_cohort_of(tx, association_id)
}

/// The participant's emails depend on them: their cohort's planned emails are rebuilt.
/// Returns that cohort's id.
fn touch_cohort_of(tx: &mut Tx, association_id: &str) -> Result<String, AppError> {
    let a = association::get(tx, association_id)?;
    crate::models::planner::touch(tx, &a.cohort_id)?;
    Ok(a.cohort_id)
}
