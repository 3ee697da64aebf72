//! Cohort: one collective accompaniment run by an owning DLA (with partner DLAs), its
//! enrolment cap and its programme template.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{associations, cohort_partners, cohorts, dlas, sessions};
use crate::db::{Conn, write_tx};
use crate::domain::programme::ProgrammeTemplate;
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id, now};
use crate::models::{consultant, dla, stale};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = cohorts)]
pub struct Cohort {
    pub id: String,
    pub dla_id: String,
    pub name: String,
    pub territory: String,
    /// `territoriale`, `reseau` or `sectorielle`.
    pub approach: String,
    pub thematic: Option<String>,
    pub start_date: NaiveDate,
    /// `brouillon`, `en_cours` or `terminee`.
    pub status: String,
    pub association_cap: i32,
    pub consultant_id: Option<String>,
    #[serde(skip)]
    pub programme_template: Option<String>,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

pub const APPROACHES: [(&str, &str); 3] = [
    ("territoriale", "Approche territoriale"),
    ("reseau", "Approche par réseau"),
    ("sectorielle", "Approche sectorielle"),
];

pub const STATUSES: [(&str, &str); 3] = [
    ("brouillon", "Brouillon"),
    ("en_cours", "En cours"),
    ("terminee", "Terminée"),
];

pub fn approach_label(code: &str) -> &'static str {
    APPROACHES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

pub fn status_label(code: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

impl Cohort {
    /// The cohort's own template, or the configured default.
    pub fn template(&self, default: &ProgrammeTemplate) -> ProgrammeTemplate {
        self.programme_template
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_else(|| default.clone())
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CohortInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    /// Owning DLA.
    #[serde(default, deserialize_with = "lenient")]
    pub dla_id: String,
    #[serde(default)]
    pub partner_dla_ids: Vec<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub territory: String,
    #[serde(default, deserialize_with = "lenient")]
    pub approach: String,
    #[serde(default, deserialize_with = "lenient")]
    pub thematic: String,
    /// `AAAA-MM-JJ` or `JJ/MM/AAAA`.
    #[serde(default, deserialize_with = "lenient")]
    pub start_date: String,
    #[serde(default, deserialize_with = "lenient")]
    pub status: String,
    /// Defaults to 8.
    #[serde(default, deserialize_with = "lenient")]
    pub association_cap: String,
    #[serde(default, deserialize_with = "lenient")]
    pub consultant_id: String,
    /// The version read before editing; a stale one is refused.
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<(&Cohort, Vec<String>)> for CohortInput {
    fn from((c, partners): (&Cohort, Vec<String>)) -> Self {
        CohortInput {
            name: c.name.clone(),
            dla_id: c.dla_id.clone(),
            partner_dla_ids: partners,
            territory: c.territory.clone(),
            approach: c.approach.clone(),
            thematic: c.thematic.clone().unwrap_or_default(),
            start_date: c.start_date.format("%Y-%m-%d").to_string(),
            status: c.status.clone(),
            association_cap: c.association_cap.to_string(),
            consultant_id: c.consultant_id.clone().unwrap_or_default(),
            version: c.version.to_string(),
        }
    }
}

struct Values {
    name: String,
    dla_id: String,
    partners: Vec<String>,
    territory: String,
    approach: String,
    thematic: Option<String>,
    start_date: NaiveDate,
    status: String,
    cap: i32,
    consultant_id: Option<String>,
    version: Option<i32>,
}

impl CohortInput {
    fn check(&self, conn: &mut Conn) -> Result<Values, AppError> {
        let mut c = Check::new();
        let name = c.required("name", &self.name, 200);
        let dla_id = self.dla_id.trim().to_string();
        if dla_id.is_empty() {
            c.add("dla_id", "Choisissez le DLA porteur.");
        } else if dla::get(conn, &dla_id).is_err() {
            c.add("dla_id", "Ce DLA n'existe pas.");
        }
        let mut partners: Vec<String> = Vec::new();
        for p in &self.partner_dla_ids {
            let p = p.trim().to_string();
            if p.is_empty() || p == dla_id || partners.contains(&p) {
                continue;
            }
            if dla::get(conn, &p).is_err() {
                c.add("partner_dla_ids", "Un des DLA partenaires n'existe pas.");
            }
            partners.push(p);
        }
        let territory = c.required("territory", &self.territory, 200);
        let approach = self.approach.trim().to_string();
        if !APPROACHES.iter().any(|(code, _)| *code == approach) {
            c.add(
                "approach",
                "Choisissez l'approche : territoriale, par réseau ou sectorielle.",
            );
        }
        let thematic = c.optional("thematic", &self.thematic, 300);
        let start_date = c.date("start_date", &self.start_date);
        let status = if self.status.trim().is_empty() {
            "brouillon".to_string()
        } else {
            self.status.trim().to_string()
        };
        if !STATUSES.iter().any(|(code, _)| *code == status) {
            c.add(
                "status",
                "Statut inconnu : brouillon, en cours ou terminée.",
            );
        }
        let cap = if self.association_cap.trim().is_empty() {
            Some(8)
        } else {
            c.int("association_cap", &self.association_cap, 1, 30)
        };
        let consultant_id = match self.consultant_id.trim() {
            "" => None,
            id => {
                if consultant::get(conn, id).is_err() {
                    c.add("consultant_id", "Ce·tte consultant·e n'existe pas.");
                }
                Some(id.to_string())
            }
        };
        let version = match self.version.trim() {
            "" => None,
            v => v.parse().ok(),
        };
        c.finish()?;
        Ok(Values {
            name,
            dla_id,
            partners,
            territory,
            approach,
            thematic,
            start_date: start_date.expect("checked"),
            status,
            cap: cap.expect("checked"),
            consultant_id,
            version,
        })
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Cohort, AppError> {
    cohorts::table
        .find(id)
        .select(Cohort::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Cohorte"))
}

pub fn partners(conn: &mut Conn, cohort_id: &str) -> Result<Vec<dla::Dla>, AppError> {
    Ok(cohort_partners::table
        .inner_join(dlas::table)
        .filter(cohort_partners::cohort_id.eq(cohort_id))
        .order(dlas::name.asc())
        .select(dla::Dla::as_select())
        .load(conn)?)
}

pub fn partner_ids(conn: &mut Conn, cohort_id: &str) -> Result<Vec<String>, AppError> {
    Ok(partners(conn, cohort_id)?
        .into_iter()
        .map(|d| d.id)
        .collect())
}

fn set_partners(conn: &mut Conn, cohort_id: &str, partners: &[String]) -> Result<(), AppError> {
    diesel::delete(cohort_partners::table.filter(cohort_partners::cohort_id.eq(cohort_id)))
        .execute(conn)?;
    for p in partners {
        diesel::insert_into(cohort_partners::table)
            .values((
                cohort_partners::cohort_id.eq(cohort_id),
                cohort_partners::dla_id.eq(p),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn create(conn: &mut Conn, input: &CohortInput) -> Result<Cohort, AppError> {
    write_tx(conn, |conn| {
        let v = input.check(conn)?;
        let t = now();
        let id = new_id();
        diesel::insert_into(cohorts::table)
            .values((
                cohorts::id.eq(&id),
                cohorts::dla_id.eq(&v.dla_id),
                cohorts::name.eq(&v.name),
                cohorts::territory.eq(&v.territory),
                cohorts::approach.eq(&v.approach),
                cohorts::thematic.eq(&v.thematic),
                cohorts::start_date.eq(v.start_date),
                cohorts::status.eq(&v.status),
                cohorts::association_cap.eq(v.cap),
                cohorts::consultant_id.eq(&v.consultant_id),
                cohorts::version.eq(1),
                cohorts::created_at.eq(t),
                cohorts::updated_at.eq(t),
            ))
            .execute(conn)?;
        set_partners(conn, &id, &v.partners)?;
        get(conn, &id)
    })
}

pub fn update(conn: &mut Conn, id: &str, input: &CohortInput) -> Result<Cohort, AppError> {
    write_tx(conn, |conn| {
        let current = get(conn, id)?;
        let v = input.check(conn)?;
        if v.version.is_some_and(|ver| ver != current.version) {
            return Err(stale("La cohorte a été modifiée"));
        }
        let enrolled = association_count(conn, id)?;
        if (v.cap as i64) < enrolled {
            return Err(AppError::field(
                "association_cap",
                format!(
                    "La cohorte compte déjà {enrolled} associations : la capacité ne peut pas être inférieure."
                ),
            ));
        }
        diesel::update(cohorts::table.find(id))
            .set((
                cohorts::dla_id.eq(&v.dla_id),
                cohorts::name.eq(&v.name),
                cohorts::territory.eq(&v.territory),
                cohorts::approach.eq(&v.approach),
                cohorts::thematic.eq(&v.thematic),
                cohorts::start_date.eq(v.start_date),
                cohorts::status.eq(&v.status),
                cohorts::association_cap.eq(v.cap),
                cohorts::consultant_id.eq(&v.consultant_id),
                cohorts::version.eq(current.version + 1),
                cohorts::updated_at.eq(now()),
            ))
            .execute(conn)?;
        set_partners(conn, id, &v.partners)?;
        get(conn, id)
    })
}

pub fn set_template(
    conn: &mut Conn,
    id: &str,
    template: Option<&ProgrammeTemplate>,
) -> Result<Cohort, AppError> {
    // The one place a cohort's template is checked, whichever way it arrives.
    if let Some(Err(errors)) = template.map(ProgrammeTemplate::validate) {
        return Err(AppError::validation(errors.into_iter().collect()));
    }
    let json = template
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| AppError::Internal(e.into()))?;
    let current = get(conn, id)?;
    diesel::update(cohorts::table.find(id))
        .set((
            cohorts::programme_template.eq(json),
            cohorts::version.eq(current.version + 1),
            cohorts::updated_at.eq(now()),
        ))
        .execute(conn)?;
    get(conn, id)
}

pub fn association_count(conn: &mut Conn, cohort_id: &str) -> Result<i64, AppError> {
    Ok(associations::table
        .filter(associations::cohort_id.eq(cohort_id))
        .count()
        .get_result(conn)?)
}

/// A row of the cohorts list.
#[derive(Clone, Debug, Serialize)]
pub struct CohortSummary {
    pub cohort: Cohort,
    pub dla_name: String,
    pub association_count: i64,
    pub next_session: Option<NaiveDateTime>,
}

pub fn list(conn: &mut Conn) -> Result<Vec<Cohort>, AppError> {
    Ok(cohorts::table
        .order((cohorts::start_date.desc(), cohorts::name.asc()))
        .select(Cohort::as_select())
        .load(conn)?)
}

pub fn list_summaries(conn: &mut Conn, now: NaiveDateTime) -> Result<Vec<CohortSummary>, AppError> {
    let rows: Vec<(Cohort, String)> = cohorts::table
        .inner_join(dlas::table)
        .order((cohorts::start_date.desc(), cohorts::name.asc()))
        .select((Cohort::as_select(), dlas::name))
        .load(conn)?;
    let counts: Vec<(String, i64)> = associations::table
        .group_by(associations::cohort_id)
        .select((associations::cohort_id, diesel::dsl::count_star()))
        .load(conn)?;
    let next: Vec<(String, Option<NaiveDateTime>)> = sessions::table
        .filter(sessions::starts_at.ge(now))
        .group_by(sessions::cohort_id)
        .select((sessions::cohort_id, diesel::dsl::min(sessions::starts_at)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(cohort, dla_name)| {
            let association_count = counts
                .iter()
                .find(|(id, _)| *id == cohort.id)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let next_session = next
                .iter()
                .find(|(id, _)| *id == cohort.id)
                .and_then(|(_, t)| *t);
            CohortSummary {
                cohort,
                dla_name,
                association_count,
                next_session,
            }
        })
        .collect())
}

pub fn is_database_empty(conn: &mut Conn) -> Result<bool, AppError> {
    let n: i64 = cohorts::table.count().get_result(conn)?;
    let d: i64 = dlas::table.count().get_result(conn)?;
    Ok(n == 0 && d == 0)
}
