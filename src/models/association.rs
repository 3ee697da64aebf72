//! Association enrolled in a cohort (the enrolment is the row: an association takes part
//! in one cohort at a time). Enrolment respects the cohort's cap, atomically.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::associations;
use crate::db::{Conn, Tx};
use crate::domain::fr::name_key;
use crate::domain::programme::ProgrammeTemplate;
use crate::domain::{identifiers, rules};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::{audit, cohort, refuse_duplicate, stale};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = associations)]
pub struct Association {
    pub id: String,
    pub cohort_id: String,
    pub name: String,
    /// Répertoire national des associations: `W` + 9 digits.
    pub rna: Option<String>,
    /// 14 digits, Luhn-checked.
    pub siret: Option<String>,
    pub creation_year: Option<i32>,
    /// Salaried headcount.
    pub salaried_staff: Option<i32>,
    pub sector: String,
    pub town: String,
    pub general_interest: bool,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    /// In the cohort mirror, peers see it by name (else « Association A », « B »…).
    pub mirror_named: bool,
    /// Known creation date (the year alone is `creation_year`); the method's « at least
    /// 3 years » is then compared by date.
    pub creation_date: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AssociationInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub rna: String,
    #[serde(default, deserialize_with = "lenient")]
    pub siret: String,
    #[serde(default, deserialize_with = "lenient")]
    pub creation_year: String,
    /// « Date de création (si connue) », `AAAA-MM-JJ` or `JJ/MM/AAAA`; fills the year when
    /// that is blank, and must agree with it otherwise.
    #[serde(default, deserialize_with = "lenient")]
    pub creation_date: String,
    #[serde(default, deserialize_with = "lenient")]
    pub salaried_staff: String,
    #[serde(default, deserialize_with = "lenient")]
    pub sector: String,
    #[serde(default, deserialize_with = "lenient")]
    pub town: String,
    /// Checkbox semantics: `true`/`on` is checked, absent or anything else is not.
    #[serde(default, deserialize_with = "lenient")]
    pub general_interest: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<&Association> for AssociationInput {
    fn from(a: &Association) -> Self {
        AssociationInput {
            name: a.name.clone(),
            rna: a.rna.clone().unwrap_or_default(),
            siret: a.siret.clone().unwrap_or_default(),
            creation_year: a.creation_year.map(|y| y.to_string()).unwrap_or_default(),
            creation_date: a
                .creation_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            salaried_staff: a.salaried_staff.map(|y| y.to_string()).unwrap_or_default(),
            sector: a.sector.clone(),
            town: a.town.clone(),
            general_interest: if a.general_interest {
                "on".into()
            } else {
                String::new()
            },
            version: a.version.to_string(),
        }
    }
}

/// The association's fields once checked (also what an application to a call typed:
/// `models::call`).
pub(crate) struct Values {
    pub(crate) name: String,
    pub(crate) rna: Option<String>,
    pub(crate) siret: Option<String>,
    pub(crate) creation_year: Option<i32>,
    pub(crate) creation_date: Option<NaiveDate>,
    pub(crate) salaried_staff: Option<i32>,
    pub(crate) sector: String,
    pub(crate) town: String,
    pub(crate) general_interest: bool,
    version: Option<i32>,
}

impl AssociationInput {
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
        let v = self.check_into(&mut c);
        c.finish()?;
        Ok(v)
    }

    /// The checks, their messages added to `c` (a form with more fields than these).
    pub(crate) fn check_into(&self, c: &mut Check) -> Values {
        let name = c.required("name", &self.name, 200);
        let rna = match self.rna.trim() {
            "" => None,
            v => identifiers::normalize_rna(v)
                .map_err(|m| c.add("rna", m))
                .ok(),
        };
        let siret = match self.siret.trim() {
            "" => None,
            v => identifiers::normalize_siret(v)
                .map_err(|m| c.add("siret", m))
                .ok(),
        };
        let this_year = chrono::Datelike::year(&chrono::Utc::now());
        let mut creation_year = c.int("creation_year", &self.creation_year, 1800, this_year + 1);
        let creation_date = match self.creation_date.trim() {
            "" => None,
            // Not `Check::date`: that one is for programme dates (2000–2100).
            v => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
                .map_err(|_| {
                    c.add(
                        "creation_date",
                        "Date invalide : utilisez le format JJ/MM/AAAA (par exemple 15/09/2012).",
                    )
                })
                .ok(),
        };
        if let Some(date) = creation_date {
            if !(1800..=this_year + 1).contains(&date.year()) {
                c.add(
                    "creation_date",
                    format!(
                        "La date de création doit se situer entre 1800 et {}.",
                        this_year + 1
                    ),
                );
            } else if self.creation_year.trim().is_empty() {
                creation_year = Some(date.year());
            } else if creation_year.is_some_and(|y| y != date.year()) {
                c.add(
                    "creation_date",
                    "La date de création ne tombe pas l'année de création indiquée : corrigez l'une ou l'autre.",
                );
            }
        }
        let salaried_staff = c.int("salaried_staff", &self.salaried_staff, 0, 100_000);
        Values {
            name,
            rna,
            siret,
            creation_year,
            creation_date,
            salaried_staff,
            sector: c.text("sector", &self.sector, 150),
            town: c.text("town", &self.town, 150),
            general_interest: Check::checkbox(&self.general_interest),
            version: self.version.trim().parse().ok(),
        }
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Association, AppError> {
    associations::table
        .find(id)
        .select(Association::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Association"))
}

/// Enrolment order (first enrolled first), which is also the order of the bilans.
pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<Association>, AppError> {
    Ok(associations::table
        .filter(associations::cohort_id.eq(cohort_id))
        .order((associations::created_at.asc(), associations::name.asc()))
        .select(Association::as_select())
        .load(conn)?)
}

/// What the DLA overview reads of an association: what its warnings and its bilan's label
/// need, not its identifiers, sector, town or stamps. Its people come down to two facts
/// kept on its row ([`note_roles`]) rather than read as a row per participant.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = associations)]
pub struct Profile {
    pub id: String,
    pub cohort_id: String,
    pub name: String,
    pub creation_year: Option<i32>,
    pub salaried_staff: Option<i32>,
    pub general_interest: bool,
    pub creation_date: Option<NaiveDate>,
    /// One of its participants is its director (« direction »).
    pub has_director: bool,
    /// One of its participants sits on its board (« gouvernance »).
    pub has_governance: bool,
}

/// Keeps the association's [`Profile::has_director`] and [`Profile::has_governance`] true
/// to its participants, by the same rule as [`Association::profile`] (any participant of
/// that role): every creation, change or deletion of a participant calls it in its
/// transaction. Kept on the row because the DLA overview reads them for a page of cohorts'
/// associations at once: two index probes into `participants` for each association were a
/// fifth of that page (issue #19).
pub(crate) fn note_roles(tx: &mut Tx, association_id: &str) -> Result<(), AppError> {
    use crate::db::schema::participants;
    // On PostgreSQL, two writes of the association's people at once: the second waits here
    // for the first's commit, so that its look at the participants below sees them (READ
    // COMMITTED takes each statement's snapshot when it starts, and an UPDATE that waited
    // for the row would still judge the participants as they were before).
    crate::db::lock_association(tx.conn(), association_id)?;
    let holds = |role: &'static str| {
        diesel::dsl::exists(
            participants::table
                .filter(participants::association_id.eq(association_id))
                .filter(participants::role.eq(role)),
        )
    };
    diesel::update(associations::table.find(association_id))
        .set((
            associations::has_director.eq(holds("direction")),
            associations::has_governance.eq(holds("gouvernance")),
        ))
        .execute(tx.conn())?;
    Ok(())
}

impl Profile {
    /// What the rules judge of it (`rules::association_warnings`).
    pub fn facts(&self) -> rules::AssociationFacts<'_> {
        rules::AssociationFacts {
            name: &self.name,
            salaried_staff: self.salaried_staff,
            creation_year: self.creation_year,
            creation_date: self.creation_date,
            general_interest: self.general_interest,
            has_director: self.has_director,
            has_governance: self.has_governance,
        }
    }
}

impl Association {
    /// Its [`Profile`], its people's two facts from `participants` (any of the cohort's:
    /// those of other associations are ignored).
    pub fn profile(&self, participants: &[crate::models::participant::Participant]) -> Profile {
        let holds = |role: &str| {
            participants
                .iter()
                .any(|p| p.association_id == self.id && p.role == role)
        };
        Profile {
            id: self.id.clone(),
            cohort_id: self.cohort_id.clone(),
            name: self.name.clone(),
            creation_year: self.creation_year,
            salaried_staff: self.salaried_staff,
            general_interest: self.general_interest,
            creation_date: self.creation_date,
            has_director: holds("direction"),
            has_governance: holds("gouvernance"),
        }
    }
}

/// The [`Profile`]s of `cohort_ids`' associations (one query), cohort by cohort, each
/// cohort's in [`list_for_cohort`]'s order: the order of `associations_cohort_idx
/// (cohort_id, created_at, name)`, which SQLite then need not sort.
pub fn profiles_for_cohorts(
    conn: &mut Conn,
    cohort_ids: &[String],
) -> Result<Vec<Profile>, AppError> {
    Ok(associations::table
        .filter(in_list(associations::cohort_id, cohort_ids))
        .order((
            associations::cohort_id.asc(),
            associations::created_at.asc(),
            associations::name.asc(),
        ))
        .select(Profile::as_select())
        .load(conn)?)
}

/// The refusal of a name another association of the cohort has (`name_key`).
const DUPLICATE_NAME: &str = "Une association de ce nom est déjà inscrite dans la cohorte.";

/// Refused (on `name`) when another association of the cohort has this name: for the
/// import's preview, which saves nothing. Saving relies on the `associations_name_key`
/// index instead ([`refuse_duplicate`]), which holds under concurrent writers too.
pub(crate) fn check_unique_name(
    conn: &mut Conn,
    cohort_id: &str,
    name: &str,
) -> Result<(), AppError> {
    let holders: i64 = associations::table
        .filter(associations::cohort_id.eq(cohort_id))
        .filter(associations::name_key.eq(name_key(name)))
        .count()
        .get_result(conn)?;
    if holders > 0 {
        return Err(AppError::field("name", DUPLICATE_NAME));
    }
    Ok(())
}

/// Enrols a new association. Refused, changing nothing, when the cohort is full. The one
/// entry point of every enrolment (by hand, API, import, application): when the cohort's
/// programme exists, the association's bilan is scheduled by the template in the same
/// transaction (`programme::add_bilan`, with `default_template` and `alsace_moselle` as for
/// generating it), and the planner, touched, queues its people's convocations and
/// commitment request once the programme is published.
pub fn enrol(
    tx: &mut Tx,
    cohort_id: &str,
    input: &AssociationInput,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Association, AppError> {
    enrol_holding(tx, cohort_id, input, None, default_template, alsace_moselle)
}

/// [`enrol`] for the retained application `holding`, whose place the cap already counts
/// (`cohort::places_taken`).
pub fn enrol_holding(
    tx: &mut Tx,
    cohort_id: &str,
    input: &AssociationInput,
    holding: Option<&str>,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Association, AppError> {
    crate::db::lock_cohort(tx.conn(), cohort_id)?;
    let cohort = cohort::get(tx, cohort_id)?;
    let enrolled = cohort::places_taken(tx, cohort_id, holding)?;
    rules::check_cap(enrolled as usize, cohort.association_cap.max(0) as usize).map_err(
        |message| AppError::Conflict {
            code: "cohort_full",
            message,
        },
    )?;
    let v = input.check()?;
    let t = tx.now_naive();
    let id = new_id();
    let inserted = diesel::insert_into(associations::table)
        .values((
            associations::id.eq(&id),
            associations::cohort_id.eq(cohort_id),
            associations::name.eq(&v.name),
            associations::name_key.eq(Some(name_key(&v.name))),
            associations::rna.eq(&v.rna),
            associations::siret.eq(&v.siret),
            associations::creation_year.eq(v.creation_year),
            associations::creation_date.eq(v.creation_date),
            associations::salaried_staff.eq(v.salaried_staff),
            associations::sector.eq(&v.sector),
            associations::town.eq(&v.town),
            associations::general_interest.eq(v.general_interest),
            associations::version.eq(1),
            associations::created_at.eq(t),
            associations::updated_at.eq(t),
        ))
        .execute(tx.conn());
    refuse_duplicate(inserted, "name", DUPLICATE_NAME)?;
    crate::models::planner::touch(tx, cohort_id)?;
    let a = get(tx, &id)?;
    audit::created(tx, "association", &id, Some(cohort_id), &a)?;
    crate::models::programme::add_bilan(tx, &cohort, &id, default_template, alsace_moselle)?;
    Ok(a)
}

pub fn update(tx: &mut Tx, id: &str, input: &AssociationInput) -> Result<Association, AppError> {
    let current = get(tx, id)?;
    let v = input.check()?;
    if v.version.is_some_and(|ver| ver != current.version) {
        return Err(stale("L'association a été modifiée"));
    }
    // Conditional on the version read: never overwrites a change made since.
    let updated = diesel::update(
        associations::table
            .find(id)
            .filter(associations::version.eq(current.version)),
    )
    .set((
        associations::name.eq(&v.name),
        associations::name_key.eq(Some(name_key(&v.name))),
        associations::rna.eq(&v.rna),
        associations::siret.eq(&v.siret),
        associations::creation_year.eq(v.creation_year),
        associations::creation_date.eq(v.creation_date),
        associations::salaried_staff.eq(v.salaried_staff),
        associations::sector.eq(&v.sector),
        associations::town.eq(&v.town),
        associations::general_interest.eq(v.general_interest),
        associations::version.eq(current.version + 1),
        associations::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn());
    let n = refuse_duplicate(updated, "name", DUPLICATE_NAME)?;
    crate::models::check_updated(n, "L'association a été modifiée")?;
    crate::models::planner::touch(tx, &current.cohort_id)?;
    let a = get(tx, id)?;
    audit::updated(
        tx,
        "association",
        id,
        Some(&current.cohort_id),
        &current,
        &a,
    )?;
    Ok(a)
}

/// Withdraws an association: its participants, its bilan and its follow-up go with it
/// (`ON DELETE CASCADE`). Those whose calendar holds its bilan get the cancellation now,
/// before the session row disappears — its people first removed, so that it speaks to
/// them as to people without a portal any more; the collective sessions' invites are
/// cancelled by the planner's sync (`models::invite`), their people being no longer
/// expected.
pub fn delete(
    tx: &mut Tx,
    id: &str,
    mail: &crate::models::outbox::MailContext,
) -> Result<Association, AppError> {
    use crate::db::schema::participants;

    let a = get(tx, id)?;
    // Its application, if it came from one, is désistée: its place is free again.
    crate::models::application::association_withdrawn(tx, id)?;
    diesel::delete(participants::table.filter(participants::association_id.eq(id)))
        .execute(tx.conn())?;
    for bilan in crate::models::session::list_for_cohort(tx, &a.cohort_id)?
        .iter()
        .filter(|s| s.association_id.as_deref() == Some(id))
    {
        crate::models::session::notify(tx, mail, bilan, true)?;
    }
    diesel::delete(associations::table.find(id)).execute(tx.conn())?;
    crate::models::planner::touch(tx, &a.cohort_id)?;
    audit::deleted(tx, "association", id, Some(&a.cohort_id), &a)?;
    Ok(a)
}
