//! The facts access decisions need: which cohort a resource belongs to, who may reach that
//! cohort, which cohorts a staff member sees, and who a signed-in participant is.

use diesel::prelude::*;

use diesel::sql_types::Bool;

use crate::db::schema::{
    action_leads, applications, associations, cohort_partners, cohorts, intersession_tasks,
    outbox_emails, participants, sessions, time_entries,
};
use crate::db::{Backend, Conn};
use crate::error::AppError;

/// The kind of resource a route's `{id}` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Cohort,
    Association,
    Participant,
    Session,
    Task,
    Email,
    TimeEntry,
    Lead,
    Application,
}

/// The cohort a resource belongs to; `None` when the resource does not exist.
fn cohort_of(conn: &mut Conn, via: Via, id: &str) -> Result<Option<String>, AppError> {
    Ok(match via {
        Via::Cohort => cohorts::table
            .find(id)
            .select(cohorts::id)
            .first(conn)
            .optional()?,
        Via::Association => associations::table
            .find(id)
            .select(associations::cohort_id)
            .first(conn)
            .optional()?,
        Via::Participant => participants::table
            .inner_join(associations::table)
            .filter(participants::id.eq(id))
            .select(associations::cohort_id)
            .first(conn)
            .optional()?,
        Via::Session => sessions::table
            .find(id)
            .select(sessions::cohort_id)
            .first(conn)
            .optional()?,
        Via::Task => intersession_tasks::table
            .find(id)
            .select(intersession_tasks::cohort_id)
            .first(conn)
            .optional()?,
        Via::Email => outbox_emails::table
            .find(id)
            .select(outbox_emails::cohort_id)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten(),
        Via::TimeEntry => time_entries::table
            .find(id)
            .select(time_entries::cohort_id)
            .first(conn)
            .optional()?,
        Via::Application => applications::table
            .find(id)
            .select(applications::cohort_id)
            .first(conn)
            .optional()?,
        Via::Lead => action_leads::table
            .inner_join(associations::table)
            .filter(action_leads::id.eq(id))
            .select(associations::cohort_id)
            .first(conn)
            .optional()?,
    })
}

/// Who may reach a cohort: its DLA, the partner DLAs it is shared with, its consultant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CohortReach {
    pub dla_id: String,
    pub partner_dla_ids: Vec<String>,
    pub consultant_id: Option<String>,
}

impl CohortReach {
    pub fn has_dla(&self, dla_id: &str) -> bool {
        self.dla_id == dla_id || self.partner_dla_ids.iter().any(|d| d == dla_id)
    }
}

/// The reach of the cohort an object `id` reached `via` belongs to; `None` when there is no
/// such object. A cohort's own reach says whether it exists: no query before it.
pub fn reach_via(conn: &mut Conn, via: Via, id: &str) -> Result<Option<CohortReach>, AppError> {
    match via {
        Via::Cohort => cohort_reach(conn, id),
        _ => match cohort_of(conn, via, id)? {
            Some(cohort_id) => cohort_reach(conn, &cohort_id),
            None => Ok(None),
        },
    }
}

pub fn cohort_reach(conn: &mut Conn, cohort_id: &str) -> Result<Option<CohortReach>, AppError> {
    let row: Option<(String, Option<String>)> = cohorts::table
        .find(cohort_id)
        .select((cohorts::dla_id, cohorts::consultant_id))
        .first(conn)
        .optional()?;
    let Some((dla_id, consultant_id)) = row else {
        return Ok(None);
    };
    let partner_dla_ids = cohort_partners::table
        .filter(cohort_partners::cohort_id.eq(cohort_id))
        .select(cohort_partners::dla_id)
        .load(conn)?;
    Ok(Some(CohortReach {
        dla_id,
        partner_dla_ids,
        consultant_id,
    }))
}

/// Which cohorts a staff member sees in lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CohortScope {
    All,
    /// Owned by the DLA or shared with it.
    Dla(String),
    /// Assigned to the consultant.
    Consultant(String),
    Nothing,
}

/// The condition on `cohorts` of a DLA's or a consultant's scope, unboxed: a subquery
/// under `IN` must be one (diesel's multi-backend connection writes `IN` once per backend,
/// which a boxed query cannot follow).
macro_rules! scope_on_cohorts {
    (dla $dla:expr) => {
        cohorts::dla_id.eq($dla.clone()).or(cohorts::id.eq_any(
            cohort_partners::table
                .filter(cohort_partners::dla_id.eq($dla.clone()))
                .select(cohort_partners::cohort_id),
        ))
    };
    (consultant $c:expr) => {
        cohorts::consultant_id.assume_not_null().eq($c.clone())
    };
}

/// `scope` as a condition on `cohorts`, for a list to page in SQL with the person's scope
/// in its `WHERE` (`None`: every cohort). A DLA's scope reads `cohorts_dla_idx` and
/// `cohort_partners_dla`, a consultant's `cohorts_consultant`.
pub fn cohort_condition(
    scope: &CohortScope,
) -> Option<Box<dyn BoxableExpression<cohorts::table, Backend, SqlType = Bool>>> {
    match scope {
        CohortScope::All => None,
        CohortScope::Nothing => Some(Box::new(diesel::dsl::sql::<Bool>("1 = 0"))),
        CohortScope::Dla(dla) => Some(Box::new(scope_on_cohorts!(dla dla))),
        CohortScope::Consultant(c) => Some(Box::new(scope_on_cohorts!(consultant c))),
    }
}

/// `scope` as a condition on the outbox: the emails of the cohorts the person sees
/// (`None`: every row, emails of no cohort too).
pub fn outbox_condition(
    scope: &CohortScope,
) -> Option<Box<dyn BoxableExpression<outbox_emails::table, Backend, SqlType = Bool>>> {
    let column = outbox_emails::cohort_id.assume_not_null();
    match scope {
        CohortScope::All => None,
        CohortScope::Nothing => Some(Box::new(diesel::dsl::sql::<Bool>("1 = 0"))),
        CohortScope::Dla(dla) => Some(Box::new(
            column.eq_any(
                cohorts::table
                    .filter(scope_on_cohorts!(dla dla))
                    .select(cohorts::id),
            ),
        )),
        CohortScope::Consultant(c) => Some(Box::new(
            column.eq_any(
                cohorts::table
                    .filter(scope_on_cohorts!(consultant c))
                    .select(cohorts::id),
            ),
        )),
    }
}

/// `scope` as a condition on a table's `cohort_id`: the rows of the cohorts the person sees
/// (`None`: every row), by the cohorts list's rule (`scope_on_cohorts!`).
macro_rules! on_cohort_id {
    ($scope:expr, $column:expr) => {
        match $scope {
            CohortScope::All => None,
            CohortScope::Nothing => Some(Box::new(diesel::dsl::sql::<Bool>("1 = 0"))),
            CohortScope::Dla(dla) => Some(Box::new(
                $column.eq_any(
                    cohorts::table
                        .filter(scope_on_cohorts!(dla dla))
                        .select(cohorts::id),
                ),
            )),
            CohortScope::Consultant(c) => Some(Box::new(
                $column.eq_any(
                    cohorts::table
                        .filter(scope_on_cohorts!(consultant c))
                        .select(cohorts::id),
                ),
            )),
        }
    };
}

/// `scope` as a condition on sessions: the sessions of the cohorts the person sees
/// (`None`: every session). The DLA's calendar and the staff feed page it in SQL.
pub fn session_condition(
    scope: &CohortScope,
) -> Option<Box<dyn BoxableExpression<sessions::table, Backend, SqlType = Bool>>> {
    on_cohort_id!(scope, sessions::cohort_id)
}

/// `scope` as a condition on `associations`: those enrolled in a cohort the person sees,
/// for the association search (`None`: every association).
pub fn association_condition(
    scope: &CohortScope,
) -> Option<Box<dyn BoxableExpression<associations::table, Backend, SqlType = Bool>>> {
    on_cohort_id!(scope, associations::cohort_id)
}

impl CohortScope {
    /// The scope of a staff member by role: administrators see every cohort, a chargé·e de
    /// mission their DLA's (owned or shared), a consultant·e the cohorts assigned to them.
    pub fn of_staff(
        role: crate::models::account::Role,
        dla_id: Option<&str>,
        consultant_id: Option<&str>,
    ) -> CohortScope {
        use crate::models::account::Role;
        match (role, dla_id, consultant_id) {
            (Role::Admin, _, _) => CohortScope::All,
            (Role::Officer, Some(d), _) => CohortScope::Dla(d.to_string()),
            (Role::Consultant, _, Some(c)) => CohortScope::Consultant(c.to_string()),
            _ => CohortScope::Nothing,
        }
    }

    /// Whether the person sees a cohort of `reach` (the same rule as the lists).
    pub fn sees(&self, reach: &CohortReach) -> bool {
        match self {
            CohortScope::All => true,
            CohortScope::Dla(d) => reach.has_dla(d),
            CohortScope::Consultant(c) => reach.consultant_id.as_deref() == Some(c.as_str()),
            CohortScope::Nothing => false,
        }
    }
}

/// A signed-in participant, with what the portal needs to scope everything to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub participant_id: String,
    pub name: String,
    pub email: String,
    pub association_id: String,
    pub association_name: String,
    pub cohort_id: String,
}

pub fn member(conn: &mut Conn, participant_id: &str) -> Result<Option<Member>, AppError> {
    let row: Option<(
        String,
        String,
        Option<chrono::NaiveDateTime>,
        String,
        String,
        String,
    )> = participants::table
        .inner_join(associations::table)
        .filter(participants::id.eq(participant_id))
        .select((
            participants::name,
            participants::email,
            participants::anonymised_at,
            associations::id,
            associations::name,
            associations::cohort_id,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(
        |(name, email, anonymised, association_id, association_name, cohort_id)| {
            anonymised.is_none().then(|| Member {
                participant_id: participant_id.to_string(),
                name,
                email,
                association_id,
                association_name,
                cohort_id,
            })
        },
    ))
}

/// The DLAs a consultant record belongs to (`consultant_dlas`); `None` when the record does
/// not exist. Which cohorts it works on plays no part: a record on no cohort is not
/// everybody's.
pub fn consultant_dlas(
    conn: &mut Conn,
    consultant_id: &str,
) -> Result<Option<Vec<String>>, AppError> {
    use crate::db::schema::consultants;
    let exists: i64 = consultants::table
        .filter(consultants::id.eq(consultant_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Ok(None);
    }
    Ok(Some(crate::models::consultant::dla_ids(
        conn,
        consultant_id,
    )?))
}
