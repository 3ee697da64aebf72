//! Session of a cohort's programme (introductive, état des lieux, évolution, or one bilan
//! individuel per association). Times are stored in UTC and entered in Europe/Paris.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::{intersession_tasks, sessions};
use crate::db::{Conn, Tx};
use crate::domain::calendar;
use crate::domain::programme::{self, MoveOutcome, MoveRequest, ScheduledSession, SessionKind};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::outbox::MailContext;
use crate::models::{association, audit, check_updated, check_version, cohort, invite, task};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub cohort_id: String,
    /// `introductive`, `etat_des_lieux`, `evolution` or `bilan_individuel`.
    pub kind: String,
    /// The association of a bilan individuel.
    pub association_id: Option<String>,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub starts_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub ends_at: NaiveDateTime,
    pub location: String,
    pub video_link: String,
    pub agenda: String,
    /// Planned consultant time, in half-days.
    pub planned_half_days: i32,
    /// Raised on every change of time (calendar invites' SEQUENCE; an invite carries at
    /// least this, and more when its recipient already saw it: `domain::invite`).
    pub sequence: i32,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    /// The DLA place the session picked (`models::place`); `location` then holds its name
    /// and address, as the invites say it.
    pub place_id: Option<String>,
}

impl Session {
    /// What the emails say about this session (`mail::SessionFacts`): its kind, the
    /// association of a bilan (among `associations`), its times, place and agenda.
    pub fn facts(
        &self,
        cohort_name: &str,
        associations: &[association::Association],
    ) -> crate::mail::SessionFacts {
        crate::mail::SessionFacts {
            id: self.id.clone(),
            kind: self.kind(),
            association_name: self
                .association_id
                .as_ref()
                .and_then(|id| associations.iter().find(|a| &a.id == id))
                .map(|a| a.name.clone()),
            cohort_name: cohort_name.to_string(),
            starts_at: self.starts_at.and_utc(),
            ends_at: self.ends_at.and_utc(),
            location: self.location.clone(),
            video_link: self.video_link.clone(),
            agenda: self.agenda.clone(),
            sequence: u32::try_from(self.sequence).unwrap_or(0),
        }
    }

    pub fn kind(&self) -> SessionKind {
        SessionKind::parse(&self.kind).unwrap_or(SessionKind::Introductive)
    }

    /// « État des lieux », « Bilan individuel — Les Jardins partagés ».
    pub fn label(&self, associations: &[association::Association]) -> String {
        label_of(self.kind(), self.association_id.as_deref(), |id| {
            associations
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.name.as_str())
        })
    }

    pub fn scheduled(&self, associations: &[association::Association]) -> ScheduledSession {
        scheduled_of(
            &self.id,
            self.kind(),
            self.association_id.as_deref(),
            (self.starts_at, self.ends_at),
            self.label(associations),
        )
    }

    pub fn local_start(&self) -> NaiveDateTime {
        calendar::utc_to_paris(self.starts_at.and_utc())
    }

    pub fn local_end(&self) -> NaiveDateTime {
        calendar::utc_to_paris(self.ends_at.and_utc())
    }
}

/// Creating a session: every field; editing: the details only (time changes go through
/// `move_session`, so that linked tasks follow).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SessionInput {
    #[serde(default, deserialize_with = "lenient")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient")]
    pub association_id: String,
    /// Local date in Europe/Paris, `AAAA-MM-JJ`.
    #[serde(default, deserialize_with = "lenient")]
    pub date: String,
    /// Local time, `HH:MM`.
    #[serde(default, deserialize_with = "lenient")]
    pub start_time: String,
    #[serde(default, deserialize_with = "lenient")]
    pub end_time: String,
    /// A place of the cohort's DLA (`models::place`), or empty for the free-text
    /// `location`.
    #[serde(default, deserialize_with = "lenient")]
    pub place_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub location: String,
    #[serde(default, deserialize_with = "lenient")]
    pub video_link: String,
    #[serde(default, deserialize_with = "lenient")]
    pub agenda: String,
    /// Planned consultant days, by half-days (`1,5`).
    #[serde(default, deserialize_with = "lenient")]
    pub planned_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub avoid_non_working_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl SessionInput {
    pub fn from_session(s: &Session) -> Self {
        SessionInput {
            kind: s.kind.clone(),
            association_id: s.association_id.clone().unwrap_or_default(),
            date: s.local_start().format("%Y-%m-%d").to_string(),
            start_time: s.local_start().format("%H:%M").to_string(),
            end_time: s.local_end().format("%H:%M").to_string(),
            place_id: s.place_id.clone().unwrap_or_default(),
            // A picked place writes its own location: the free text is for none.
            location: if s.place_id.is_some() {
                String::new()
            } else {
                s.location.clone()
            },
            video_link: s.video_link.clone(),
            agenda: s.agenda.clone(),
            planned_days: crate::domain::fr::half_days_figure(s.planned_half_days as i64),
            avoid_non_working_days: "on".into(),
            version: s.version.to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MoveInput {
    /// New local date (Europe/Paris), `AAAA-MM-JJ`.
    #[serde(default, deserialize_with = "lenient")]
    pub date: String,
    /// New local start time, `HH:MM`.
    #[serde(default, deserialize_with = "lenient")]
    pub start_time: String,
    /// New local end time; empty keeps the duration.
    #[serde(default, deserialize_with = "lenient")]
    pub end_time: String,
    /// Refuse weekends and French public holidays (`true` by default in the form).
    #[serde(default, deserialize_with = "lenient")]
    pub avoid_non_working_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Session, AppError> {
    sessions::table
        .find(id)
        .select(Session::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Séance"))
}

pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<Session>, AppError> {
    Ok(sessions::table
        .filter(sessions::cohort_id.eq(cohort_id))
        .order((sessions::starts_at.asc(), sessions::kind.asc()))
        .select(Session::as_select())
        .load(conn)?)
}

/// « État des lieux », « Bilan individuel — Les Jardins partagés » (`name_of` the
/// association).
fn label_of<'a>(
    kind: SessionKind,
    association_id: Option<&str>,
    name_of: impl Fn(&str) -> Option<&'a str>,
) -> String {
    let base = kind.label().to_string();
    match association_id.and_then(name_of) {
        Some(name) => format!("{base} — {name}"),
        None => base,
    }
}

/// What the DLA overview reads of a session: its kind, times and planned time, not its
/// agenda, place or link (half the columns, and the longest).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Timing {
    pub id: String,
    pub cohort_id: String,
    pub kind: String,
    pub association_id: Option<String>,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub starts_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub ends_at: NaiveDateTime,
    pub planned_half_days: i32,
}

impl Timing {
    pub fn kind(&self) -> SessionKind {
        SessionKind::parse(&self.kind).unwrap_or(SessionKind::Introductive)
    }

    /// As [`Session::scheduled`].
    pub fn scheduled(&self, associations: &[association::Profile]) -> ScheduledSession {
        let label = label_of(self.kind(), self.association_id.as_deref(), |id| {
            associations
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.name.as_str())
        });
        scheduled_of(
            &self.id,
            self.kind(),
            self.association_id.as_deref(),
            (self.starts_at, self.ends_at),
            label,
        )
    }
}

/// A session as the programme's engine sees it (`Session::scheduled`, `Timing::scheduled`).
fn scheduled_of(
    id: &str,
    kind: SessionKind,
    association_id: Option<&str>,
    (starts_at, ends_at): (NaiveDateTime, NaiveDateTime),
    label: String,
) -> ScheduledSession {
    ScheduledSession {
        id: id.to_string(),
        kind,
        association_id: association_id.map(str::to_string),
        label,
        starts_at: starts_at.and_utc(),
        ends_at: ends_at.and_utc(),
    }
}

/// The sessions' [`Timing`]s of `cohort_ids` (one query), cohort by cohort, each cohort's
/// in [`list_for_cohort`]'s order: the order of `sessions_cohort_idx (cohort_id, starts_at,
/// kind)`, which SQLite then need not sort.
pub fn timings_for_cohorts(
    conn: &mut Conn,
    cohort_ids: &[String],
) -> Result<Vec<Timing>, AppError> {
    Ok(sessions::table
        .filter(in_list(sessions::cohort_id, cohort_ids))
        .order((
            sessions::cohort_id.asc(),
            sessions::starts_at.asc(),
            sessions::kind.asc(),
        ))
        .select(Timing::as_select())
        .load(conn)?)
}

/// A session's cohort and instants, and its attendance marks counted: what a report reads
/// of the sessions of a period.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Dated {
    pub cohort_id: String,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub starts_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub ends_at: NaiveDateTime,
    /// Half-days marked « présent·e » (one a participant and half-day).
    #[diesel(select_expression = Present)]
    #[diesel(select_expression_type = Present)]
    pub present: i64,
    /// Half-days marked, whatever the status.
    #[diesel(select_expression = Marked)]
    #[diesel(select_expression_type = Marked)]
    pub marked: i64,
}

crate::db::sql_fragment!(
    /// [`Dated::present`], from the covering index `attendances_session_status
    /// (session_id, status)` for its session: no attendance row leaves SQLite and nothing
    /// is sorted (a join grouped by session and status sorted every mark of the period).
    pub Present: diesel::sql_types::BigInt = "(SELECT COUNT(*) FROM attendances WHERE attendances.session_id = sessions.id AND attendances.status = 'present')"
);
crate::db::sql_fragment!(
    /// [`Dated::marked`], as [`Present`].
    pub Marked: diesel::sql_types::BigInt =
        "(SELECT COUNT(*) FROM attendances WHERE attendances.session_id = sessions.id)"
);

/// The sessions of `cohort_ids` starting in `from`..`to` (UTC), in order, with their
/// attendance marks counted: one query whatever the number of sessions and participants.
pub fn dated_between(
    conn: &mut Conn,
    cohort_ids: &[String],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Dated>, AppError> {
    if cohort_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sessions::table
        .filter(in_list(sessions::cohort_id, cohort_ids))
        .filter(sessions::starts_at.ge(from))
        .filter(sessions::starts_at.lt(to))
        .order((sessions::starts_at.asc(), sessions::kind.asc()))
        .select(Dated::as_select())
        .load(conn)?)
}

/// The sessions of `cohort_ids` counted by cohort, kind and planned half-days — all a
/// programme's plan reads of them (`budget::planned_from`): `(cohort id, kind, planned
/// half-days, sessions)`.
pub fn plan_counts(
    conn: &mut Conn,
    cohort_ids: &[String],
) -> Result<Vec<(String, String, i32, i64)>, AppError> {
    if cohort_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sessions::table
        .filter(in_list(sessions::cohort_id, cohort_ids))
        .group_by((
            sessions::cohort_id,
            sessions::kind,
            sessions::planned_half_days,
        ))
        .select((
            sessions::cohort_id,
            sessions::kind,
            sessions::planned_half_days,
            diesel::dsl::count_star(),
        ))
        .load(conn)?)
}

/// Parses a local date and times into UTC instants, refusing a time that does not exist
/// (spring DST gap) and an end not after the start.
fn local_span(
    c: &mut Check,
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let (date, start, end) = (date?, start?, end?);
    let s = match calendar::paris_to_utc(date.and_time(start)) {
        Ok(s) => s,
        Err(e) => {
            c.add("start_time", e.to_string());
            return None;
        }
    };
    let e = match calendar::paris_to_utc(date.and_time(end)) {
        Ok(e) => e,
        Err(e) => {
            c.add("end_time", e.to_string());
            return None;
        }
    };
    if e <= s {
        c.add("end_time", "La fin doit être après le début.");
        return None;
    }
    Some((s.naive_utc(), e.naive_utc()))
}

pub fn create(
    tx: &mut Tx,
    cohort_id: &str,
    input: &SessionInput,
    alsace_moselle: bool,
) -> Result<Session, AppError> {
    let co = cohort::get(tx, cohort_id)?;
    let mut c = Check::new();
    let place = crate::models::place::check_choice(tx, &mut c, &co.dla_id, &input.place_id, None)?;
    let kind = SessionKind::parse(input.kind.trim());
    if kind.is_none() {
        c.add("kind", "Choisissez le type de séance.");
    }
    let association_id = match (kind, input.association_id.trim()) {
        (Some(SessionKind::BilanIndividuel), "") => {
            c.add(
                "association_id",
                "Un bilan individuel concerne une association : choisissez-la.",
            );
            None
        }
        (Some(SessionKind::BilanIndividuel), aid) => match association::get(tx, aid) {
            Ok(a) if a.cohort_id == cohort_id => Some(a.id),
            _ => {
                c.add(
                    "association_id",
                    "Cette association n'est pas inscrite dans la cohorte.",
                );
                None
            }
        },
        _ => None,
    };
    let date = c.date("date", &input.date);
    if let Some(d) = date
        && Check::checkbox(&input.avoid_non_working_days)
        && let Some(reason) = calendar::non_working_reason(d, alsace_moselle)
    {
        // Same refusal, same sentence as when moving a session.
        let refusal = programme::MoveError::NonWorkingDay { date: d, reason };
        c.add("date", refusal.to_string());
    }
    let start = c.time("start_time", &input.start_time);
    let end = c.time("end_time", &input.end_time);
    let span = local_span(&mut c, date, start, end);
    let location = c.text("location", &input.location, 300);
    let location = place.as_ref().map(|p| p.location()).unwrap_or(location);
    let video_link = c.url("video_link", &input.video_link);
    let agenda = c.multiline("agenda", &input.agenda, 10_000);
    let planned = c.half_days("planned_days", &input.planned_days);
    c.finish()?;
    let (starts_at, ends_at) = span.expect("checked");
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&id),
            sessions::cohort_id.eq(cohort_id),
            sessions::kind.eq(kind.expect("checked").as_str()),
            sessions::association_id.eq(&association_id),
            sessions::starts_at.eq(starts_at),
            sessions::ends_at.eq(ends_at),
            sessions::location.eq(location),
            sessions::place_id.eq(place.map(|p| p.id)),
            sessions::video_link.eq(video_link),
            sessions::agenda.eq(agenda),
            sessions::planned_half_days.eq(planned.unwrap_or(0)),
            sessions::sequence.eq(0),
            sessions::version.eq(1),
            sessions::created_at.eq(t),
            sessions::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    crate::models::planner::touch(tx, cohort_id)?;
    let created = get(tx, &id)?;
    audit::created(tx, "session", &id, Some(cohort_id), &created)?;
    Ok(created)
}

/// Edits the details of a session (place, link, agenda, planned time).
pub fn update_details(tx: &mut Tx, id: &str, input: &SessionInput) -> Result<Session, AppError> {
    let current = get(tx, id)?;
    let dla_id = cohort::get(tx, &current.cohort_id)?.dla_id;
    let mut c = Check::new();
    let place = crate::models::place::check_choice(
        tx,
        &mut c,
        &dla_id,
        &input.place_id,
        current.place_id.as_deref(),
    )?;
    let location = c.text("location", &input.location, 300);
    let location = place.as_ref().map(|p| p.location()).unwrap_or(location);
    let video_link = c.url("video_link", &input.video_link);
    let agenda = c.multiline("agenda", &input.agenda, 10_000);
    let planned = c.half_days("planned_days", &input.planned_days);
    c.finish()?;
    check_version(&input.version, current.version, "La séance a été modifiée")?;
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::version.eq(current.version)),
    )
    .set((
        sessions::location.eq(location),
        sessions::place_id.eq(place.map(|p| p.id)),
        sessions::video_link.eq(video_link),
        sessions::agenda.eq(agenda),
        sessions::planned_half_days.eq(planned.unwrap_or(0)),
        sessions::version.eq(current.version + 1),
        sessions::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    check_updated(n, "La séance a été modifiée")?;
    crate::models::planner::touch(tx, &current.cohort_id)?;
    let updated = get(tx, id)?;
    audit::updated(
        tx,
        "session",
        id,
        Some(&current.cohort_id),
        &current,
        &updated,
    )?;
    Ok(updated)
}

/// What a move did, for the page and the API.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MoveResult {
    pub session: Session,
    /// French sentences: the session's old and new time, then each task that followed.
    pub summary: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub task_moves: Vec<programme::TaskMove>,
}

/// The move form's field an engine refusal belongs beside.
fn move_error_field(e: &programme::MoveError, request: &MoveRequest) -> &'static str {
    use programme::MoveError;
    match e {
        MoveError::EndBeforeStart => "end_time",
        // The end may be the time that does not exist (01:30–02:30 on the spring change).
        MoveError::LocalTime(calendar::LocalTimeError::Nonexistent(t))
            if *t != request.new_start =>
        {
            "end_time"
        }
        MoveError::LocalTime(_) => "start_time",
        MoveError::NonWorkingDay { .. } | MoveError::Unchanged => "date",
    }
}

/// Moves a session in time; the tasks that prepare it follow.
pub fn move_session(
    tx: &mut Tx,
    id: &str,
    input: &MoveInput,
    alsace_moselle: bool,
    mail: &MailContext,
) -> Result<MoveResult, AppError> {
    // The move reads the cohort's other sessions and tasks (the bilans' order, the
    // tasks that follow): the cohort locked, and the session read under that lock.
    let cohort_id = get(tx, id)?.cohort_id;
    crate::db::lock_cohort(tx, &cohort_id)?;
    let current = get(tx, id)?;
    let mut c = Check::new();
    let date = c.date("date", &input.date);
    let start = c.time("start_time", &input.start_time);
    let end = if input.end_time.trim().is_empty() {
        None
    } else {
        c.time("end_time", &input.end_time)
    };
    c.finish()?;
    check_version(&input.version, current.version, "La séance a été modifiée")?;
    let date = date.expect("checked");
    let associations = association::list_for_cohort(tx, &current.cohort_id)?;
    let tasks = task::list_for_cohort(tx, &current.cohort_id)?;
    let is_bilan = current.kind() == SessionKind::BilanIndividuel;
    let bilans: Vec<ScheduledSession> = if is_bilan {
        list_for_cohort(tx, &current.cohort_id)?
            .iter()
            .filter(|s| s.kind() == SessionKind::BilanIndividuel)
            .map(|s| s.scheduled(&associations))
            .collect()
    } else {
        Vec::new()
    };
    // Tasks before the bilans follow the earliest bilan (below), not the one they
    // happen to be linked to.
    let scheduled_tasks: Vec<_> = tasks
        .iter()
        .map(|t| {
            let mut st = t.scheduled();
            if st
                .session_id
                .as_ref()
                .is_some_and(|sid| bilans.iter().any(|b| &b.id == sid))
            {
                st.session_id = None;
            }
            st
        })
        .collect();
    let request = MoveRequest {
        new_start: date.and_time(start.expect("checked")),
        new_end: end.map(|e| date.and_time(e)),
        avoid_non_working_days: Check::checkbox(&input.avoid_non_working_days),
    };
    let outcome: MoveOutcome = programme::move_session(
        &current.scheduled(&associations),
        &scheduled_tasks,
        &request,
        alsace_moselle,
    )
    .map_err(|e| AppError::field(move_error_field(&e, &request), e.to_string()))?;
    let mut outcome = outcome;
    if is_bilan {
        let originals: Vec<_> = tasks.iter().map(|t| t.scheduled()).collect();
        let (moves, lines, first) = programme::realign_bilan_tasks(
            &bilans,
            &current.id,
            outcome.starts_at,
            &originals,
            alsace_moselle,
        );
        outcome.summary.extend(lines);
        outcome.task_moves.extend(moves);
        if let Some(first) = first {
            let bilan_ids: Vec<&str> = bilans.iter().map(|b| b.id.as_str()).collect();
            diesel::update(
                intersession_tasks::table
                    .filter(in_list(intersession_tasks::session_id, bilan_ids)),
            )
            .set(intersession_tasks::session_id.eq(first))
            .execute(tx.conn())?;
        }
    }
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::version.eq(current.version)),
    )
    .set((
        sessions::starts_at.eq(outcome.starts_at.naive_utc()),
        sessions::ends_at.eq(outcome.ends_at.naive_utc()),
        sessions::sequence.eq(current.sequence + 1),
        sessions::version.eq(current.version + 1),
        sessions::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    check_updated(n, "La séance a été modifiée")?;
    for m in &outcome.task_moves {
        let before = task::get(tx, &m.task_id)?;
        diesel::update(intersession_tasks::table.find(&m.task_id))
            .set((
                intersession_tasks::due_date.eq(m.new_due),
                intersession_tasks::version.eq(intersession_tasks::version + 1),
                intersession_tasks::updated_at.eq(tx.now_naive()),
            ))
            .execute(tx.conn())?;
        let after = task::get(tx, &m.task_id)?;
        audit::updated(
            tx,
            "task",
            &m.task_id,
            Some(&current.cohort_id),
            &before,
            &after,
        )?;
    }
    crate::models::planner::touch(tx, &current.cohort_id)?;
    let moved = get(tx, id)?;
    audit::updated(
        tx,
        "session",
        id,
        Some(&current.cohort_id),
        &current,
        &moved,
    )?;
    let queued = notify(tx, mail, &moved, false)?;
    let mut summary = outcome.summary;
    let published = cohort::get(tx, &current.cohort_id)?.published_at.is_some();
    if queued > 0 {
        summary.push(format!(
                "L'avis de déplacement, avec l'invitation d'agenda mise à jour, part vers {queued} personne{} (page « Envois » de la cohorte).",
                if queued > 1 { "s" } else { "" }
            ));
    } else if published {
        summary.push(
                "Personne n'avait encore reçu la convocation de cette séance : les convocations et rappels qui attendent portent désormais la nouvelle date."
                    .to_string(),
            );
    } else {
        summary.push(
            "Le programme n'est pas encore publié : aucun e-mail ne part pour ce déplacement."
                .to_string(),
        );
    }
    Ok(MoveResult {
        session: moved,
        summary,
        task_moves: outcome.task_moves,
    })
}

/// Deletes a session and queues, in the same transaction, the cancellation
/// (METHOD:CANCEL, SEQUENCE above what each received) to everyone whose calendar holds it.
pub fn delete(tx: &mut Tx, id: &str, mail: &MailContext) -> Result<Session, AppError> {
    let s = get(tx, id)?;
    notify(tx, mail, &s, true)?;
    diesel::delete(sessions::table.find(id)).execute(tx.conn())?;
    crate::models::planner::touch(tx, &s.cohort_id)?;
    audit::deleted(tx, "session", id, Some(&s.cohort_id), &s)?;
    Ok(s)
}

/// Brings the calendars holding `session` in step with it, or with its deletion, now
/// rather than at the planner's next sync (which would find nothing left to do): see
/// `models::invite`. Nothing before publication. Returns how many notices were queued.
pub(crate) fn notify(
    tx: &mut Tx,
    mail: &MailContext,
    session: &Session,
    deleted: bool,
) -> Result<usize, AppError> {
    let Some(ctx) = invite::Context::load(tx, mail, &session.cohort_id)? else {
        return Ok(0);
    };
    let copies = invite::for_sessions(tx, std::slice::from_ref(&session.id))?;
    let now = tx.now();
    Ok(invite::sync_session(tx, mail, &ctx, session, deleted, &copies, now)?.queued)
}
