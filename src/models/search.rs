//! Finding an association across cohorts (issue #17): by name, RNA or SIRET, over the
//! associations enrolled in a cohort the person sees (`scope::association_condition`, the
//! cohorts list's rule), paged in SQL,
//! each with its history: its cohort, year and DLA, its pistes d'actions, and the other
//! cohorts the same association (same RNA or SIRET) took part in that the person sees
//! ([`accompanied`], which the applications' « déjà accompagnée » reads too).
//! A fixed number of queries per page.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::Conn;
use crate::db::in_list;
use crate::db::schema::{action_leads, associations, cohorts, dlas};
use crate::error::AppError;
use crate::models::association::Association;
use crate::models::scope::{self, CohortScope};

/// A cohort an association took part in.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub association_id: String,
    pub cohort_id: String,
    pub cohort_name: String,
    pub year: i32,
    pub start_date: NaiveDate,
    pub dla_id: String,
    pub dla_name: String,
}

/// A piste d'actions retained for the association.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Piste {
    pub text: String,
    pub owner: String,
    pub due_date: Option<NaiveDate>,
}

/// One association found.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Found {
    pub association: Association,
    pub enrolment: Enrolment,
    pub pistes: Vec<Piste>,
    /// The other cohorts of the same association (same RNA or SIRET) the person sees,
    /// the latest first.
    pub other_enrolments: Vec<Enrolment>,
}

/// An association found by its identifier, in one of its cohorts.
#[derive(Clone, Debug)]
pub struct Accompanied {
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub enrolment: Enrolment,
    /// Whether the person's scope sees the cohort (the cohorts list's rule): a cohort
    /// they do not see is named by its DLA and year only, or not at all.
    pub visible: bool,
}

impl Accompanied {
    /// Same RNA or same SIRET as `rna`/`siret` (a missing identifier matches nothing).
    pub fn same_as(&self, rna: &Option<String>, siret: &Option<String>) -> bool {
        (rna.is_some() && self.rna == *rna) || (siret.is_some() && self.siret == *siret)
    }
}

/// The enrolments of the associations with one of `rnas` or `sirets`, the latest first,
/// each marked with whether `scope` sees its cohort: two queries whatever their number.
/// The applications' « déjà accompagnée » and this search's history read it.
pub fn accompanied(
    conn: &mut Conn,
    rnas: &[&str],
    sirets: &[&str],
    scope: &CohortScope,
) -> Result<Vec<Accompanied>, AppError> {
    if rnas.is_empty() && sirets.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        NaiveDate,
        String,
        String,
    );
    let rows: Vec<Row> = associations::table
        .inner_join(cohorts::table.inner_join(dlas::table))
        .filter(in_list(associations::rna, rnas).or(in_list(associations::siret, sirets)))
        .order((cohorts::start_date.desc(), associations::id.asc()))
        .select((
            associations::id,
            associations::rna,
            associations::siret,
            cohorts::id,
            cohorts::name,
            cohorts::start_date,
            dlas::id,
            dlas::name,
        ))
        .load(conn)?;
    // Which of those cohorts the person sees: the same condition as the cohorts list.
    let visible: std::collections::HashSet<String> = if rows.is_empty() {
        Default::default()
    } else {
        let ids: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        let mut q = cohorts::table
            .filter(in_list(cohorts::id, ids))
            .select(cohorts::id)
            .into_boxed();
        if let Some(cond) = scope::cohort_condition(scope) {
            q = q.filter(cond);
        }
        q.load::<String>(conn)?.into_iter().collect()
    };
    Ok(rows
        .into_iter()
        .map(
            |(association_id, rna, siret, cohort_id, cohort_name, start, dla_id, dla_name)| {
                Accompanied {
                    rna,
                    siret,
                    visible: visible.contains(&cohort_id),
                    enrolment: Enrolment {
                        association_id,
                        cohort_id,
                        cohort_name,
                        year: start.year(),
                        start_date: start,
                        dla_id,
                        dla_name,
                    },
                }
            },
        )
        .collect())
}

/// The shortest query searched (one letter would list everything).
pub const MIN_QUERY: usize = 2;

/// What a typed query matches: `name_key` containing it (lower case), an RNA or SIRET
/// starting with it (spaces ignored, RNA in capitals).
struct Needle {
    name: String,
    identifier: Option<String>,
}

fn needle(q: &str) -> Option<Needle> {
    let key: String = crate::domain::fr::name_key(q)
        .chars()
        .filter(|c| *c != '%' && *c != '_' && *c != '\\')
        .collect();
    if key.chars().count() < MIN_QUERY {
        return None;
    }
    let compact: String = q
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let identifier = (compact.len() >= MIN_QUERY
        && compact.chars().all(|c| c.is_ascii_alphanumeric()))
    .then_some(compact);
    Some(Needle {
        name: format!("%{key}%"),
        identifier,
    })
}

fn matching(
    scope: &CohortScope,
    n: &Needle,
) -> associations::BoxedQuery<'static, crate::db::Backend> {
    let mut q = associations::table.into_boxed();
    q = match &n.identifier {
        Some(id) => q.filter(
            associations::name_key
                .like(n.name.clone())
                .or(associations::rna.like(format!("{id}%")))
                .or(associations::siret.like(format!("{id}%"))),
        ),
        None => q.filter(associations::name_key.like(n.name.clone())),
    };
    if let Some(cond) = scope::association_condition(scope) {
        q = q.filter(cond);
    }
    q
}

/// How many associations `q` finds for `scope` (0 for a query too short).
pub fn count(conn: &mut Conn, scope: &CohortScope, q: &str) -> Result<i64, AppError> {
    let Some(n) = needle(q) else { return Ok(0) };
    Ok(matching(scope, &n).count().get_result(conn)?)
}

/// One page of what `q` finds for `scope`, by name.
pub fn page(
    conn: &mut Conn,
    scope: &CohortScope,
    q: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Found>, AppError> {
    let Some(n) = needle(q) else {
        return Ok(Vec::new());
    };
    let rows: Vec<Association> = matching(scope, &n)
        .order((associations::name_key.asc(), associations::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(Association::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The same associations elsewhere: same RNA or SIRET, in a cohort the person sees.
    let rnas: Vec<&str> = rows.iter().filter_map(|a| a.rna.as_deref()).collect();
    let sirets: Vec<&str> = rows.iter().filter_map(|a| a.siret.as_deref()).collect();
    let others: Vec<Accompanied> = accompanied(conn, &rnas, &sirets, scope)?
        .into_iter()
        .filter(|o| o.visible)
        .collect();
    let cohort_ids: Vec<&str> = rows.iter().map(|a| a.cohort_id.as_str()).collect();
    let cohort_rows: HashMap<String, (String, NaiveDate, String, String)> = cohorts::table
        .inner_join(dlas::table)
        .filter(in_list(cohorts::id, &cohort_ids))
        .select((
            cohorts::id,
            cohorts::name,
            cohorts::start_date,
            dlas::id,
            dlas::name,
        ))
        .load::<(String, String, NaiveDate, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, start, dla, dla_name)| (id, (name, start, dla, dla_name)))
        .collect();
    let enrolment = |association_id: &str, cohort_id: &str| -> Option<Enrolment> {
        let (name, start, dla, dla_name) = cohort_rows.get(cohort_id)?;
        Some(Enrolment {
            association_id: association_id.to_owned(),
            cohort_id: cohort_id.to_owned(),
            cohort_name: name.clone(),
            year: start.year(),
            start_date: *start,
            dla_id: dla.clone(),
            dla_name: dla_name.clone(),
        })
    };
    let ids: Vec<&str> = rows.iter().map(|a| a.id.as_str()).collect();
    let mut pistes: HashMap<String, Vec<Piste>> = HashMap::new();
    for (aid, text, owner, due_date) in action_leads::table
        .filter(in_list(action_leads::association_id, &ids))
        .order((action_leads::created_at.asc(), action_leads::id.asc()))
        .select((
            action_leads::association_id,
            action_leads::text,
            action_leads::owner,
            action_leads::due_date,
        ))
        .load::<(String, String, String, Option<NaiveDate>)>(conn)?
    {
        pistes.entry(aid).or_default().push(Piste {
            text,
            owner,
            due_date,
        });
    }
    Ok(rows
        .into_iter()
        .filter_map(|a| {
            let e = enrolment(&a.id, &a.cohort_id)?;
            // Latest first already.
            let other_enrolments: Vec<Enrolment> = others
                .iter()
                .filter(|o| o.enrolment.association_id != a.id && o.same_as(&a.rna, &a.siret))
                .map(|o| o.enrolment.clone())
                .collect();
            Some(Found {
                pistes: pistes.remove(&a.id).unwrap_or_default(),
                association: a,
                enrolment: e,
                other_enrolments,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_reads_as_a_name_and_possibly_an_identifier() {
        assert!(needle(" a ").is_none(), "one letter lists everything");
        let n = needle("Radio 100%").unwrap();
        assert_eq!(n.name, "%radio 100%");
        assert_eq!(n.identifier, None);
        let n = needle("w 332 000 001").unwrap();
        assert_eq!(n.identifier.as_deref(), Some("W332000001"));
        let n = needle("123 456 789").unwrap();
        assert_eq!(n.identifier.as_deref(), Some("123456789"));
    }
}
