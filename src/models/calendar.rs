//! The sessions across cohorts (issue #17): a DLA's calendar, a staff member's private
//! feed, and the conflicts between sessions (`domain::conflicts`) read from the database.
//!
//! Every read is bounded by a date range, with the person's scope in the `WHERE`
//! (`scope::session_condition`): the cost follows the range, not the history. Conflicts
//! take a fixed number of queries whatever the number of sessions: the subjects' cohorts,
//! their participants (unless the page read them already: `Known`), the other sessions of
//! those days that share a consultant, a place or an address (one query), their cohorts
//! and their participants.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    associations, cohort_partners, cohorts, consultants, participants, places, sessions,
};
use crate::db::{Conn, in_list};
use crate::domain::Warning;
use crate::domain::conflicts::{self, Slot};
use crate::domain::programme::SessionKind;
use crate::error::AppError;
use crate::models::scope::{self, CohortReach, CohortScope};
use crate::models::session::Session;

/// At most this many sessions in one range (a month of a large DLA holds far fewer).
pub const MAX_SESSIONS: i64 = 2_000;

/// The calendar's filters (GET parameters); `None`: all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub cohort_id: Option<String>,
    pub consultant_id: Option<String>,
    pub place_id: Option<String>,
}

/// The sessions of `scope` starting in `[from, to)` that pass `filters`, by start.
pub fn sessions_in(
    conn: &mut Conn,
    scope: &CohortScope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filters: &Filters,
) -> Result<Vec<Session>, AppError> {
    let mut q = sessions::table
        .filter(sessions::starts_at.ge(from.naive_utc()))
        .filter(sessions::starts_at.lt(to.naive_utc()))
        .into_boxed();
    if let Some(cond) = scope::session_condition(scope) {
        q = q.filter(cond);
    }
    if let Some(c) = &filters.cohort_id {
        q = q.filter(sessions::cohort_id.eq(c.clone()));
    }
    if let Some(k) = &filters.consultant_id {
        q = q.filter(
            sessions::cohort_id.eq_any(
                cohorts::table
                    .filter(cohorts::consultant_id.eq(k.clone()))
                    .select(cohorts::id),
            ),
        );
    }
    if let Some(p) = &filters.place_id {
        q = q.filter(sessions::place_id.eq(p.clone()));
    }
    Ok(q.order((sessions::starts_at.asc(), sessions::id.asc()))
        .limit(MAX_SESSIONS)
        .select(Session::as_select())
        .load(conn)?)
}

/// What the calendar shows of a cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortInfo {
    pub id: String,
    pub name: String,
    pub reach: CohortReach,
}

/// The cohorts `ids` with who reaches them (two queries).
pub fn cohort_infos(
    conn: &mut Conn,
    ids: &[String],
) -> Result<HashMap<String, CohortInfo>, AppError> {
    let rows: Vec<(String, String, String, Option<String>)> = cohorts::table
        .filter(in_list(cohorts::id, ids))
        .select((
            cohorts::id,
            cohorts::name,
            cohorts::dla_id,
            cohorts::consultant_id,
        ))
        .load(conn)?;
    let partners: Vec<(String, String)> = cohort_partners::table
        .filter(in_list(cohort_partners::cohort_id, ids))
        .select((cohort_partners::cohort_id, cohort_partners::dla_id))
        .load(conn)?;
    let mut out: HashMap<String, CohortInfo> = rows
        .into_iter()
        .map(|(id, name, dla_id, consultant_id)| {
            (
                id.clone(),
                CohortInfo {
                    id,
                    name,
                    reach: CohortReach {
                        dla_id,
                        partner_dla_ids: Vec::new(),
                        consultant_id,
                    },
                },
            )
        })
        .collect();
    for (cid, dla) in partners {
        if let Some(i) = out.get_mut(&cid) {
            i.reach.partner_dla_ids.push(dla);
        }
    }
    Ok(out)
}

/// The cohorts of `scope` with a session starting in `[from, to)`, by name: the cohort
/// filter's choices (one query).
pub fn cohorts_in(
    conn: &mut Conn,
    scope: &CohortScope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, Option<String>)>, AppError> {
    let mut q = sessions::table
        .filter(sessions::starts_at.ge(from.naive_utc()))
        .filter(sessions::starts_at.lt(to.naive_utc()))
        .into_boxed();
    if let Some(cond) = scope::session_condition(scope) {
        q = q.filter(cond);
    }
    let ids: Vec<String> = q
        .select(sessions::cohort_id)
        .distinct()
        .limit(MAX_SESSIONS)
        .load(conn)?;
    Ok(cohorts::table
        .filter(in_list(cohorts::id, &ids))
        .order((cohorts::name.asc(), cohorts::id.asc()))
        .select((cohorts::id, cohorts::name, cohorts::consultant_id))
        .load(conn)?)
}

/// `id → name` of the rows of `$table` among `ids`, in one query.
macro_rules! names_by_id {
    ($conn:expr, $table:ident, $ids:expr) => {
        Ok($table::table
            .filter(in_list($table::id, $ids))
            .select(($table::id, $table::name))
            .load::<(String, String)>($conn)?
            .into_iter()
            .collect())
    };
}

/// Names by id (consultants, places, associations) for a page, one query each.
pub fn consultant_names(
    conn: &mut Conn,
    ids: &[String],
) -> Result<HashMap<String, String>, AppError> {
    names_by_id!(conn, consultants, ids)
}

pub fn place_names(conn: &mut Conn, ids: &[String]) -> Result<HashMap<String, String>, AppError> {
    names_by_id!(conn, places, ids)
}

pub fn association_names(
    conn: &mut Conn,
    ids: &[String],
) -> Result<HashMap<String, String>, AppError> {
    names_by_id!(conn, associations, ids)
}

/// One conflict of a session, as said to a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flag {
    pub session_id: String,
    /// The other session, when the person may see its cohort (else `null`).
    pub other_session_id: Option<String>,
    #[schema(value_type = String)]
    pub code: &'static str,
    pub message: String,
}

impl Flag {
    pub fn warning(&self) -> Warning {
        Warning::new(self.code, self.message.clone())
    }
}

/// (cohort, association, email) of the participants of `cohort_ids`, only those with an
/// address in `emails` when given.
fn people(
    conn: &mut Conn,
    cohort_ids: &[String],
    emails: Option<&[String]>,
) -> Result<Vec<(String, String, String)>, AppError> {
    let mut q = participants::table
        .inner_join(associations::table)
        .filter(participants::anonymised_at.is_null())
        .filter(in_list(associations::cohort_id, cohort_ids))
        .into_boxed();
    if let Some(e) = emails {
        q = q.filter(in_list(participants::email, e));
    }
    Ok(q.select((
        associations::cohort_id,
        associations::id,
        participants::email,
    ))
    .load(conn)?)
}

fn slot(s: &Session, consultant_id: Option<String>, people: &[(String, String, String)]) -> Slot {
    let bilan = s.kind() == SessionKind::BilanIndividuel;
    let emails: BTreeSet<String> = people
        .iter()
        .filter(|(cid, aid, _)| {
            *cid == s.cohort_id && (!bilan || s.association_id.as_deref() == Some(aid.as_str()))
        })
        .map(|(_, _, e)| e.clone())
        .collect();
    Slot {
        id: s.id.clone(),
        cohort_id: s.cohort_id.clone(),
        starts_at: s.starts_at.and_utc(),
        ends_at: s.ends_at.and_utc(),
        consultant_id,
        place_id: s.place_id.clone(),
        location_key: conflicts::location_key(s.place_id.as_deref(), &s.location),
        emails,
    }
}

/// What [`conflicts`] reads of its subjects' cohorts before the other sessions: who
/// reaches them, and their participants as `people` gives them. A page that has read
/// its cohort already gives them ([`Known::of_cohort`]) instead of reading them again.
pub struct Known {
    pub infos: HashMap<String, CohortInfo>,
    pub people: Vec<(String, String, String)>,
}

impl Known {
    /// One cohort's, from what a page read of it: the cohort, its partner DLAs and its
    /// participants (their addresses; an anonymised one's is unique to them, so it meets
    /// no one, as `people` leaving it out).
    pub fn of_cohort(
        cohort: &crate::models::cohort::Cohort,
        partners: &[crate::models::dla::Dla],
        participants: &[crate::models::participant::Participant],
    ) -> Known {
        let info = CohortInfo {
            id: cohort.id.clone(),
            name: cohort.name.clone(),
            reach: CohortReach {
                dla_id: cohort.dla_id.clone(),
                partner_dla_ids: partners.iter().map(|d| d.id.clone()).collect(),
                consultant_id: cohort.consultant_id.clone(),
            },
        };
        Known {
            infos: HashMap::from([(cohort.id.clone(), info)]),
            people: participants
                .iter()
                .map(|p| (cohort.id.clone(), p.association_id.clone(), p.email.clone()))
                .collect(),
        }
    }
}

/// The distinct cohorts of `sessions`, sorted.
fn cohort_ids(sessions: &[Session]) -> Vec<String> {
    sessions
        .iter()
        .map(|s| s.cohort_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The conflicts of `subjects` with every session of the instance on their days, said to
/// a person of `viewer`'s scope: a session of a cohort they may not see is never
/// described (`conflicts::message` with `None`). One flag per session and sentence.
/// What is `known` of the subjects' cohorts is not read again (three statements fewer).
pub fn conflicts(
    conn: &mut Conn,
    subjects: &[Session],
    known: Option<Known>,
    viewer: &CohortScope,
    travel_gap: Duration,
) -> Result<Vec<Flag>, AppError> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let subject_cohorts = cohort_ids(subjects);
    let Known {
        mut infos,
        people: mut people_rows,
    } = match known {
        Some(known) => known,
        None => Known {
            infos: cohort_infos(conn, &subject_cohorts)?,
            people: people(conn, &subject_cohorts, None)?,
        },
    };
    debug_assert!(
        subjects.iter().all(|s| infos.contains_key(&s.cohort_id)),
        "what is known covers every subject's cohort"
    );
    let consultant_ids: Vec<String> = infos
        .values()
        .filter_map(|i| i.reach.consultant_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let place_ids: Vec<String> = subjects
        .iter()
        .filter_map(|s| s.place_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let emails: Vec<String> = people_rows
        .iter()
        .map(|(_, _, e)| e.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The subjects' Paris days, with a margin: the rules compare Paris days themselves.
    let lo: NaiveDateTime =
        subjects.iter().map(|s| s.starts_at).min().expect("some") - Duration::days(1);
    let hi: NaiveDateTime =
        subjects.iter().map(|s| s.ends_at).max().expect("some") + Duration::days(1);
    // Every list as one bound value: the same statement, kept prepared, whatever the page.
    let others: Vec<Session> = sessions::table
        .filter(sessions::starts_at.ge(lo))
        .filter(sessions::starts_at.lt(hi))
        .filter(
            in_list(sessions::cohort_id, &subject_cohorts)
                .or(sessions::cohort_id.eq_any(
                    cohorts::table
                        .filter(in_list(cohorts::consultant_id, &consultant_ids))
                        .select(cohorts::id),
                ))
                .or(in_list(sessions::place_id, &place_ids))
                .or(sessions::cohort_id.eq_any(
                    associations::table
                        .filter(
                            associations::id.eq_any(
                                participants::table
                                    .filter(in_list(participants::email, &emails))
                                    .select(participants::association_id),
                            ),
                        )
                        .select(associations::cohort_id),
                )),
        )
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .limit(MAX_SESSIONS)
        .select(Session::as_select())
        .load(conn)?;
    let other_cohorts: Vec<String> = others
        .iter()
        .map(|s| s.cohort_id.clone())
        .filter(|c| !infos.contains_key(c))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Run even when empty: a page's statements do not depend on what its sessions meet.
    infos.extend(cohort_infos(conn, &other_cohorts)?);
    people_rows.extend(people(conn, &other_cohorts, Some(&emails))?);
    let consultant_of = |s: &Session| {
        infos
            .get(&s.cohort_id)
            .and_then(|i| i.reach.consultant_id.clone())
    };
    let subject_slots: Vec<Slot> = subjects
        .iter()
        .map(|s| slot(s, consultant_of(s), &people_rows))
        .collect();
    let mut all_slots: Vec<Slot> = others
        .iter()
        .map(|s| slot(s, consultant_of(s), &people_rows))
        .collect();
    for s in &subject_slots {
        if !all_slots.iter().any(|o| o.id == s.id) {
            all_slots.push(s.clone());
        }
    }
    let by_id: HashMap<&str, &Session> = others
        .iter()
        .chain(subjects.iter())
        .map(|s| (s.id.as_str(), s))
        .collect();
    let mut flags: Vec<Flag> = Vec::new();
    for c in conflicts::find(&subject_slots, &all_slots, travel_gap) {
        let other = by_id.get(c.other_id.as_str()).copied();
        let info = other.and_then(|o| infos.get(&o.cohort_id));
        let visible = info.is_some_and(|i| viewer.sees(&i.reach));
        let description = match (visible, other, info) {
            (true, Some(o), Some(i)) => Some(format!(
                "« {} » ({}), {}",
                o.kind().label(),
                i.name,
                crate::domain::fr::time_range(o.starts_at.and_utc(), o.ends_at.and_utc())
            )),
            _ => None,
        };
        let flag = Flag {
            session_id: c.session_id.clone(),
            other_session_id: visible.then(|| c.other_id.clone()),
            code: c.rule.code(),
            message: conflicts::message(&c.rule, description.as_deref()),
        };
        if !flags
            .iter()
            .any(|f| f.session_id == flag.session_id && f.message == flag.message)
        {
            flags.push(flag);
        }
    }
    Ok(flags)
}

/// The conflicts of the sessions `ids` (a decision point: a session added or moved, a
/// programme generated, a cohort's consultant changed), as warnings.
pub fn warnings_for(
    conn: &mut Conn,
    ids: &[String],
    viewer: &CohortScope,
    travel_gap: Duration,
) -> Result<Vec<Warning>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let subjects: Vec<Session> = sessions::table
        .filter(in_list(sessions::id, ids))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select(Session::as_select())
        .load(conn)?;
    Ok(conflicts(conn, &subjects, None, viewer, travel_gap)?
        .iter()
        .map(Flag::warning)
        .collect())
}

/// The conflicts of a cohort's sessions still to come (from `now`).
pub fn warnings_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    now: DateTime<Utc>,
    viewer: &CohortScope,
    travel_gap: Duration,
) -> Result<Vec<Warning>, AppError> {
    let sessions = crate::models::session::list_for_cohort(conn, cohort_id)?;
    warnings_for_sessions(conn, &sessions, None, now, viewer, travel_gap)
}

/// [`warnings_for_cohort`] from the cohort's sessions read already (the cohort page has
/// them, and what [`Known`] holds of the cohort): those still to come from `now`, by
/// start.
pub fn warnings_for_sessions(
    conn: &mut Conn,
    sessions: &[Session],
    known: Option<Known>,
    now: DateTime<Utc>,
    viewer: &CohortScope,
    travel_gap: Duration,
) -> Result<Vec<Warning>, AppError> {
    let now = now.naive_utc();
    let mut subjects: Vec<Session> = sessions
        .iter()
        .filter(|s| s.ends_at > now)
        .cloned()
        .collect();
    subjects.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
    let flags = conflicts(conn, &subjects, known, viewer, travel_gap)?;
    // Each conflict named by its session.
    let label = |id: &str| {
        subjects
            .iter()
            .find(|s| s.id == id)
            .map(|s| {
                format!(
                    "{} ({})",
                    s.kind().label(),
                    crate::domain::fr::datetime_long(s.starts_at.and_utc())
                )
            })
            .unwrap_or_default()
    };
    Ok(flags
        .into_iter()
        .map(|f| Warning::new(f.code, format!("{} : {}", label(&f.session_id), f.message)))
        .collect())
}

/// What a staff member's private feed holds: the sessions of their scope starting in
/// `[from, to)`, with the cohorts, their DLAs' addresses and the bilans' associations
/// the events name (four queries).
pub struct Feed {
    pub sessions: Vec<Session>,
    pub cohorts: HashMap<String, crate::models::cohort::Cohort>,
    pub dla_emails: HashMap<String, String>,
    pub associations: Vec<crate::models::association::Association>,
}

pub fn feed(
    conn: &mut Conn,
    scope: &CohortScope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Feed, AppError> {
    use crate::db::schema::dlas;
    use crate::models::cohort::Cohort;
    let sessions = sessions_in(conn, scope, from, to, &Filters::default())?;
    let ids: Vec<String> = sessions
        .iter()
        .map(|s| s.cohort_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let cohorts: HashMap<String, Cohort> = cohorts::table
        .filter(in_list(cohorts::id, &ids))
        .select(Cohort::as_select())
        .load::<Cohort>(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let dla_ids: Vec<String> = cohorts.values().map(|c| c.dla_id.clone()).collect();
    let dla_emails = dlas::table
        .filter(in_list(dlas::id, &dla_ids))
        .select((dlas::id, dlas::email))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let bilan_ids: Vec<String> = sessions
        .iter()
        .filter_map(|s| s.association_id.clone())
        .collect();
    let associations = associations::table
        .filter(in_list(associations::id, &bilan_ids))
        .select(crate::models::association::Association::as_select())
        .load(conn)?;
    Ok(Feed {
        sessions,
        cohorts,
        dla_emails,
        associations,
    })
}
