//! Each session's log (`session_logs`) and attendance per participant and half-day
//! (`attendances`): who was there, the third party of the effet miroir, the notes. Also
//! what is built from them: the director's mobilisation of an association and the compte
//! rendu sent to an association after a session.
//!
//! A session lasts one half-day when it is 4 h or shorter, else two (morning and
//! afternoon): [`half_days_for`]. The log and the whole attendance grid are saved together
//! with one version check: the version lives on `session_logs`, and a session without a
//! row there is « not yet logged », version 0.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::schema::{attendances, session_logs};
use crate::db::{Conn, Tx};
use crate::domain::budget::{self, DayLength, Mobilisation};
use crate::domain::fr;
use crate::domain::programme::SessionKind;
use crate::error::AppError;
use crate::models::association::Association;
use crate::models::cohort::Cohort;
use crate::models::input::{Check, lenient};
use crate::models::outbox::{self, MailContext, NewEmail};
use crate::models::participant::{self, Participant};
use crate::models::session::{self, Session};
use crate::models::{
    action_lead, association, check_inserted, check_updated, check_version, cohort, dla, task,
};

/// Longest session that counts as a single half-day, in minutes (4 h).
pub const SINGLE_HALF_DAY_MAX_MINUTES: i64 = 4 * 60;

/// How many half-days a session of `minutes` minutes counts on the feuille d'émargement:
/// 1 up to 4 h, else 2 (morning and afternoon).
pub fn half_days_for(minutes: i64) -> i32 {
    if minutes <= SINGLE_HALF_DAY_MAX_MINUTES {
        1
    } else {
        2
    }
}

/// The French name of half-day `n` (1 or 2) of a session of `half_days` half-days.
pub fn half_day_label(half_days: i32, n: i32) -> &'static str {
    match (half_days, n) {
        (1, _) => "Séance",
        (_, 1) => "Matin",
        _ => "Après-midi",
    }
}

/// Attendance statuses: stored value and French label.
pub const STATUSES: [(&str, &str); 3] = [
    ("present", "présent·e"),
    ("excuse", "excusé·e"),
    ("absent", "absent·e"),
];

/// What a cell of the grid holds until someone says otherwise.
pub const DEFAULT_STATUS: &str = "present";

pub fn status_label(code: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("non renseigné")
}

/// Who brought the outside view of the effet miroir: stored value and French label.
pub const THIRD_PARTY_KINDS: [(&str, &str); 5] = [
    ("", "Aucun tiers"),
    ("partenaire", "Partenaire"),
    ("charge_de_mission", "Chargé·e de mission DLA"),
    ("consultant", "Autre consultant·e"),
    ("autre", "Autre"),
];

pub fn third_party_label(code: &str) -> &'static str {
    THIRD_PARTY_KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

/// The field name of one cell of the attendance grid, in the form and in error messages:
/// `attendance.<participant_id>.<half_day>`.
pub fn cell_key(participant_id: &str, half_day: &str) -> String {
    format!("attendance.{participant_id}.{half_day}")
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = session_logs)]
pub struct SessionLog {
    pub session_id: String,
    pub third_party_kind: String,
    pub third_party_name: String,
    pub notes: String,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = attendances)]
pub struct Attendance {
    pub session_id: String,
    pub participant_id: String,
    pub half_day: i32,
    /// `present`, `excuse` or `absent`.
    pub status: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

/// One cell of the grid as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AttendanceInput {
    #[serde(default, deserialize_with = "lenient")]
    pub participant_id: String,
    /// 1 (morning, or the only half-day) or 2 (afternoon).
    #[serde(default, deserialize_with = "lenient")]
    pub half_day: String,
    /// `present`, `excuse` or `absent`.
    #[serde(default, deserialize_with = "lenient")]
    pub status: String,
}

/// A session's log and attendance grid, saved in one go.
///
/// ```json
/// { "third_party_kind": "partenaire", "third_party_name": "France Active",
///   "notes": "…", "version": "0",
///   "attendance": [ { "participant_id": "…", "half_day": 1, "status": "absent" } ] }
/// ```
///
/// `third_party_kind` is one of `""`, `partenaire`, `charge_de_mission`, `consultant`,
/// `autre`. `version` is the log's version when it was read (0 when not yet logged; empty
/// skips the check). The grid replaces the stored one: every participant concerned by the
/// session (the cohort's for a collective session, the association's for a bilan) and
/// every half-day of it gets a row, `present` where the input gives no cell.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LogInput {
    #[serde(default, deserialize_with = "lenient")]
    pub third_party_kind: String,
    #[serde(default, deserialize_with = "lenient")]
    pub third_party_name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub notes: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
    #[serde(default)]
    pub attendance: Vec<AttendanceInput>,
}

impl LogInput {
    /// From a submitted form's fields: the log's own fields by name, and each grid cell as
    /// `attendance.<participant_id>.<half_day>` = status (see [`cell_key`]).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> LogInput {
        let mut input = LogInput::default();
        for (key, value) in pairs {
            match key.as_str() {
                "third_party_kind" => input.third_party_kind = value,
                "third_party_name" => input.third_party_name = value,
                "notes" => input.notes = value,
                "version" => input.version = value,
                other => {
                    if let Some((pid, half_day)) = other
                        .strip_prefix("attendance.")
                        .and_then(|rest| rest.rsplit_once('.'))
                    {
                        input.attendance.push(AttendanceInput {
                            participant_id: pid.to_string(),
                            half_day: half_day.to_string(),
                            status: value,
                        });
                    }
                }
            }
        }
        input
    }

    /// The status typed for a cell, if any (the last one wins).
    pub fn typed(&self, participant_id: &str, half_day: i32) -> Option<&str> {
        self.attendance
            .iter()
            .rev()
            .find(|a| {
                a.participant_id.trim() == participant_id
                    && a.half_day.trim().parse::<i32>().ok() == Some(half_day)
            })
            .map(|a| a.status.trim())
    }

    /// What was checked: the log's fields and the whole grid, `(participant, half-day,
    /// status)` for every cell of the sheet.
    fn check(&self, sheet: &LogSheet) -> Result<CheckedLog, AppError> {
        let mut c = Check::new();
        let kind = self.third_party_kind.trim().to_string();
        if !THIRD_PARTY_KINDS.iter().any(|(k, _)| *k == kind) {
            c.add(
                "third_party_kind",
                "Tiers inconnu : partenaire, chargé·e de mission DLA, autre consultant·e ou autre.",
            );
        }
        let name = c.text("third_party_name", &self.third_party_name, 200);
        if kind.is_empty() && !name.is_empty() {
            c.add(
                "third_party_kind",
                "Indiquez à quel titre ce tiers était présent.",
            );
        }
        let notes = c.multiline("notes", &self.notes, 20_000);
        for a in &self.attendance {
            let key = cell_key(a.participant_id.trim(), a.half_day.trim());
            if !sheet
                .participants
                .iter()
                .any(|p| p.id == a.participant_id.trim())
            {
                c.add(
                    &key,
                    "Cette personne n'est pas concernée par cette séance : elle n'est pas participante d'une association convoquée.",
                );
                continue;
            }
            match a.half_day.trim().parse::<i32>() {
                Ok(n) if (1..=sheet.half_days).contains(&n) => {}
                _ => c.add(
                    &key,
                    if sheet.half_days == 1 {
                        "Cette séance ne compte qu'une demi-journée (1).".to_string()
                    } else {
                        "Demi-journée inconnue : 1 (matin) ou 2 (après-midi).".to_string()
                    },
                ),
            }
            if !STATUSES.iter().any(|(s, _)| *s == a.status.trim()) {
                c.add(
                    &key,
                    "Statut inconnu : présent·e, excusé·e ou absent·e (present, excuse, absent).",
                );
            }
        }
        c.finish()?;
        let mut cells = Vec::new();
        for p in &sheet.participants {
            for n in 1..=sheet.half_days {
                let status = self.typed(&p.id, n).unwrap_or(DEFAULT_STATUS).to_string();
                cells.push((p.id.clone(), n, status));
            }
        }
        Ok(CheckedLog {
            kind,
            name,
            notes,
            cells,
        })
    }
}

struct CheckedLog {
    kind: String,
    name: String,
    notes: String,
    cells: Vec<(String, i32, String)>,
}

/// A session with everything its log needs: the half-days, the associations and
/// participants concerned (in enrolment order), the stored log and attendance.
#[derive(Clone, Debug)]
pub struct LogSheet {
    pub session: Session,
    pub cohort: Cohort,
    pub half_days: i32,
    /// The associations concerned: the whole cohort, or the bilan's association.
    pub associations: Vec<Association>,
    /// Their participants, grouped by association in the order of `associations`.
    pub participants: Vec<Participant>,
    pub log: Option<SessionLog>,
    pub attendance: Vec<Attendance>,
    /// A bilan's guests (`models::guest`): they sign the émargement too.
    pub guests: Vec<crate::models::guest::Guest>,
}

impl LogSheet {
    /// The log's version; 0 while the session is not logged.
    pub fn version(&self) -> i32 {
        self.log.as_ref().map_or(0, |l| l.version)
    }

    /// The stored status of a cell, if any.
    pub fn recorded(&self, participant_id: &str, half_day: i32) -> Option<&str> {
        self.attendance
            .iter()
            .find(|a| a.participant_id == participant_id && a.half_day == half_day)
            .map(|a| a.status.as_str())
    }

    /// What the grid shows for a cell: the stored status, else présent·e.
    pub fn status(&self, participant_id: &str, half_day: i32) -> &str {
        self.recorded(participant_id, half_day)
            .unwrap_or(DEFAULT_STATUS)
    }

    pub fn association_of(&self, p: &Participant) -> Option<&Association> {
        self.associations.iter().find(|a| a.id == p.association_id)
    }

    /// The JSON view of the API.
    pub fn view(&self) -> LogView {
        let mut cells = Vec::new();
        for p in &self.participants {
            let a = self.association_of(p);
            for n in 1..=self.half_days {
                cells.push(AttendanceCell {
                    participant_id: p.id.clone(),
                    participant_name: p.name.clone(),
                    role: p.role.clone(),
                    association_id: p.association_id.clone(),
                    association_name: a.map(|a| a.name.clone()).unwrap_or_default(),
                    half_day: n,
                    status: self.status(&p.id, n).to_string(),
                    recorded: self.recorded(&p.id, n).is_some(),
                });
            }
        }
        LogView {
            session_id: self.session.id.clone(),
            half_days: self.half_days,
            logged: self.log.is_some(),
            third_party_kind: self
                .log
                .as_ref()
                .map(|l| l.third_party_kind.clone())
                .unwrap_or_default(),
            third_party_name: self
                .log
                .as_ref()
                .map(|l| l.third_party_name.clone())
                .unwrap_or_default(),
            notes: self
                .log
                .as_ref()
                .map(|l| l.notes.clone())
                .unwrap_or_default(),
            version: self.version(),
            updated_at: self.log.as_ref().map(|l| l.updated_at),
            attendance: cells,
        }
    }

    /// The form as stored (or blank, with présent·e everywhere, before the first save).
    pub fn input(&self) -> LogInput {
        let v = self.view();
        LogInput {
            third_party_kind: v.third_party_kind,
            third_party_name: v.third_party_name,
            notes: v.notes,
            version: v.version.to_string(),
            attendance: v
                .attendance
                .into_iter()
                .map(|c| AttendanceInput {
                    participant_id: c.participant_id,
                    half_day: c.half_day.to_string(),
                    status: c.status,
                })
                .collect(),
        }
    }
}

/// One cell of the grid in the API.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AttendanceCell {
    pub participant_id: String,
    pub participant_name: String,
    /// `direction`, `gouvernance` or `autre`.
    pub role: String,
    pub association_id: String,
    pub association_name: String,
    pub half_day: i32,
    /// `present`, `excuse` or `absent` (`present` until recorded).
    pub status: String,
    /// Whether the status was saved (false: the default of a session not yet logged).
    pub recorded: bool,
}

/// A session's log with its whole attendance grid.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LogView {
    pub session_id: String,
    /// 1 for a session of 4 h or less, else 2.
    pub half_days: i32,
    /// Whether the log was saved at least once.
    pub logged: bool,
    pub third_party_kind: String,
    pub third_party_name: String,
    pub notes: String,
    /// Send it back with the next PUT; 0 while not logged.
    pub version: i32,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<NaiveDateTime>,
    pub attendance: Vec<AttendanceCell>,
}

pub fn duration_minutes(s: &Session) -> i64 {
    (s.ends_at - s.starts_at).num_minutes().max(0)
}

/// Whether a session concerns an association: a collective session concerns the whole
/// cohort, a bilan only its association.
pub fn concerns(s: &Session, a: &Association) -> bool {
    s.cohort_id == a.cohort_id && s.association_id.as_ref().is_none_or(|x| x == &a.id)
}

pub fn find(conn: &mut Conn, session_id: &str) -> Result<Option<SessionLog>, AppError> {
    Ok(session_logs::table
        .find(session_id)
        .select(SessionLog::as_select())
        .first(conn)
        .optional()?)
}

/// Loads a session's log sheet.
pub fn load(conn: &mut Conn, session_id: &str) -> Result<LogSheet, AppError> {
    let session = session::get(conn, session_id)?;
    let cohort = cohort::get(conn, &session.cohort_id)?;
    let associations: Vec<Association> = association::list_for_cohort(conn, &session.cohort_id)?
        .into_iter()
        .filter(|a| concerns(&session, a))
        .collect();
    let ids: Vec<String> = associations.iter().map(|a| a.id.clone()).collect();
    let mut participants = participant::list_for_associations(conn, &ids)?;
    participants.sort_by_key(|p| {
        associations
            .iter()
            .position(|a| a.id == p.association_id)
            .unwrap_or(usize::MAX)
    });
    let log = find(conn, session_id)?;
    let attendance = attendances::table
        .filter(attendances::session_id.eq(session_id))
        .select(Attendance::as_select())
        .load(conn)?;
    let guests = crate::models::guest::list_for_session(conn, session_id)?;
    Ok(LogSheet {
        guests,
        half_days: half_days_for(duration_minutes(&session)),
        session,
        cohort,
        associations,
        participants,
        log,
        attendance,
    })
}

/// Saves a session's log and its whole attendance grid (see [`LogInput`]) in one
/// transaction, refused with a 409 when the log changed since `input.version` was read.
pub fn save(tx: &mut Tx, session_id: &str, input: &LogInput) -> Result<LogSheet, AppError> {
    let sheet = load(tx, session_id)?;
    let v = input.check(&sheet)?;
    check_version(
        &input.version,
        sheet.version(),
        "Le journal de séance a été modifié",
    )?;
    let t = tx.now_naive();
    let version = sheet.version() + 1;
    let changed = "Le journal de séance a été modifié";
    if sheet.log.is_some() {
        // Conditional on the version read: the grid below is only replaced by the
        // writer whose log update went through.
        let n = diesel::update(
            session_logs::table
                .find(session_id)
                .filter(session_logs::version.eq(sheet.version())),
        )
        .set((
            session_logs::third_party_kind.eq(&v.kind),
            session_logs::third_party_name.eq(&v.name),
            session_logs::notes.eq(&v.notes),
            session_logs::version.eq(version),
            session_logs::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
        check_updated(n, changed)?;
    } else {
        let inserted = diesel::insert_into(session_logs::table)
            .values((
                session_logs::session_id.eq(session_id),
                session_logs::third_party_kind.eq(&v.kind),
                session_logs::third_party_name.eq(&v.name),
                session_logs::notes.eq(&v.notes),
                session_logs::version.eq(version),
                session_logs::updated_at.eq(t),
            ))
            .execute(tx.conn());
        check_inserted(inserted, changed)?;
    }
    diesel::delete(attendances::table.filter(attendances::session_id.eq(session_id)))
        .execute(tx.conn())?;
    for (pid, half_day, status) in &v.cells {
        diesel::insert_into(attendances::table)
            .values((
                attendances::session_id.eq(session_id),
                attendances::participant_id.eq(pid),
                attendances::half_day.eq(half_day),
                attendances::status.eq(status),
                attendances::updated_at.eq(t),
            ))
            .execute(tx.conn())?;
    }
    load(tx, session_id)
}

/// Every attendance row of a cohort's sessions.
pub fn attendance_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
) -> Result<Vec<Attendance>, AppError> {
    use crate::db::schema::sessions;
    Ok(attendances::table
        .inner_join(sessions::table)
        .filter(sessions::cohort_id.eq(cohort_id))
        .select(Attendance::as_select())
        .load(conn)?)
}

/// The session ids of a cohort that have a log.
pub fn logged_sessions(conn: &mut Conn, cohort_id: &str) -> Result<Vec<String>, AppError> {
    use crate::db::schema::sessions;
    Ok(session_logs::table
        .inner_join(sessions::table)
        .filter(sessions::cohort_id.eq(cohort_id))
        .select(session_logs::session_id)
        .load(conn)?)
}

// ---- director mobilisation ------------------------------------------------------------

/// The mobilisation of an association's salaried director: so far (sessions logged, the
/// time of the half-days they were present) and forecast (every session concerning the
/// association, in full), both plus every task's preparation estimate.
#[derive(Clone, Debug, Serialize)]
pub struct DirectorMobilisation {
    pub director_name: String,
    pub actual: Mobilisation,
    pub forecast: Mobilisation,
    /// How many of the association's sessions are logged, and how many there are.
    pub logged_sessions: usize,
    pub sessions: usize,
}

/// Pure: the director's minutes in each session, from the sessions (duration, half-days)
/// and the half-days they were present in each.
pub fn attended_minutes(duration_minutes: i64, half_days: i32, present_half_days: i32) -> i64 {
    if half_days <= 0 {
        return 0;
    }
    duration_minutes * i64::from(present_half_days.clamp(0, half_days)) / i64::from(half_days)
}

/// `None` when the association has no salaried director (role `direction`); with
/// several, the first enrolled.
pub fn director_mobilisation(
    conn: &mut Conn,
    association_id: &str,
) -> Result<Option<DirectorMobilisation>, AppError> {
    let a = association::get(conn, association_id)?;
    let Some(director) = participant::list_for_association(conn, association_id)?
        .into_iter()
        .find(|p| p.role == "direction")
    else {
        return Ok(None);
    };
    let sessions: Vec<Session> = session::list_for_cohort(conn, &a.cohort_id)?
        .into_iter()
        .filter(|s| concerns(s, &a))
        .collect();
    let logged = logged_sessions(conn, &a.cohort_id)?;
    let rows: Vec<Attendance> = attendances::table
        .filter(attendances::participant_id.eq(&director.id))
        .select(Attendance::as_select())
        .load(conn)?;
    let preparation: Vec<i64> = task::list_for_cohort(conn, &a.cohort_id)?
        .iter()
        .map(|t| i64::from(t.preparation_half_days))
        .collect();
    let mut actual = Vec::new();
    let mut forecast = Vec::new();
    let mut logged_count = 0;
    for s in &sessions {
        let minutes = duration_minutes(s);
        let half_days = half_days_for(minutes);
        forecast.push(minutes);
        if logged.contains(&s.id) {
            logged_count += 1;
            let present = rows
                .iter()
                .filter(|r| r.session_id == s.id && r.half_day <= half_days)
                .filter(|r| r.status == "present")
                .count() as i32;
            actual.push(attended_minutes(minutes, half_days, present));
        }
    }
    let day = DayLength::STANDARD;
    Ok(Some(DirectorMobilisation {
        director_name: director.name,
        actual: budget::mobilisation(&actual, &preparation, day),
        forecast: budget::mobilisation(&forecast, &preparation, day),
        logged_sessions: logged_count,
        sessions: sessions.len(),
    }))
}

// ---- compte rendu ---------------------------------------------------------------------

/// One person of the association in a compte rendu: their attendance in words.
#[derive(Clone, Debug, Serialize)]
pub struct ReportPerson {
    pub name: String,
    pub role_label: String,
    pub function: String,
    /// « présent·e », or « matin : présent·e, après-midi : excusé·e ».
    pub attendance: String,
    pub present: bool,
}

/// A compte rendu for one association after one session: the session, who attended, the
/// notes, its pistes d'actions (those of the session; at a bilan, all the association's).
#[derive(Clone, Debug)]
pub struct Report {
    pub session: Session,
    pub session_label: String,
    pub session_when: String,
    pub cohort: Cohort,
    pub association: Association,
    pub dla_name: String,
    pub consultant: Option<String>,
    pub log: Option<SessionLog>,
    pub people: Vec<ReportPerson>,
    pub participants: Vec<Participant>,
    pub leads: Vec<action_lead::ActionLead>,
    /// A bilan's guests.
    pub guests: Vec<crate::models::guest::Guest>,
}

impl Report {
    /// The third party, in words: « Partenaire — France Active ». At a bilan, its guests
    /// (« Claire Martin (chargée de mission, DLA 33) »), who are the third party the
    /// method describes; a third party also noted in the log and not among them follows.
    pub fn third_party(&self) -> Option<String> {
        let mut parts: Vec<String> = self.guests.iter().map(|g| g.display()).collect();
        if let Some(log) = self.log.as_ref().filter(|l| !l.third_party_kind.is_empty()) {
            let label = third_party_label(&log.third_party_kind);
            let noted = log.third_party_name.trim();
            if noted.is_empty() || !self.guests.iter().any(|g| g.name.trim() == noted) {
                parts.push(if noted.is_empty() {
                    label.to_string()
                } else {
                    format!("{label} — {noted}")
                });
            }
        }
        (!parts.is_empty()).then(|| parts.join(" ; "))
    }

    pub fn notes_lines(&self) -> Vec<String> {
        self.log
            .as_ref()
            .map(|l| {
                l.notes
                    .lines()
                    .map(str::trim_end)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn lead_values(&self) -> Vec<serde_json::Value> {
        self.leads
            .iter()
            .map(|l| {
                json!({
                    "id": l.id,
                    "text": l.text,
                    "owner": l.owner,
                    "due": l.due_date.map(fr::date_long),
                    "due_short": l.due_date.map(fr::date_short),
                })
            })
            .collect()
    }
}

/// Builds the compte rendu of `session_id` for `association_id`; a session that does not
/// concern the association (another cohort, another association's bilan) is not found.
pub fn report(conn: &mut Conn, session_id: &str, association_id: &str) -> Result<Report, AppError> {
    let sheet = load(conn, session_id)?;
    let a = association::get(conn, association_id)?;
    if !concerns(&sheet.session, &a) {
        return Err(AppError::NotFound(
            "Cette séance ne concerne pas cette association : pas de compte rendu.".into(),
        ));
    }
    let all = association::list_for_cohort(conn, &a.cohort_id)?;
    let dla_name = dla::get(conn, &sheet.cohort.dla_id)?.name;
    let consultant = match &sheet.cohort.consultant_id {
        Some(cid) => crate::models::consultant::get(conn, cid).ok().map(|c| {
            if c.firm.trim().is_empty() {
                c.name
            } else {
                format!("{} ({})", c.name, c.firm)
            }
        }),
        None => None,
    };
    let participants: Vec<Participant> = sheet
        .participants
        .iter()
        .filter(|p| p.association_id == a.id)
        .cloned()
        .collect();
    let people = participants
        .iter()
        .map(|p| {
            let statuses: Vec<Option<&str>> = (1..=sheet.half_days)
                .map(|n| sheet.recorded(&p.id, n))
                .collect();
            let attendance = if statuses.iter().all(|s| s.is_none()) {
                "non renseigné".to_string()
            } else if statuses.windows(2).all(|w| w[0] == w[1]) {
                status_label(statuses[0].unwrap_or("")).to_string()
            } else {
                statuses
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        format!(
                            "{} : {}",
                            half_day_label(sheet.half_days, i as i32 + 1).to_lowercase(),
                            status_label(s.unwrap_or(""))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            ReportPerson {
                name: p.name.clone(),
                role_label: participant::role_label(&p.role).to_string(),
                function: p.function.clone(),
                attendance,
                present: statuses.contains(&Some("present")),
            }
        })
        .collect();
    let leads = if sheet.session.kind() == SessionKind::BilanIndividuel {
        action_lead::list_for_association(conn, &a.id)?
    } else {
        action_lead::list_for_association(conn, &a.id)?
            .into_iter()
            .filter(|l| l.session_id.as_deref() == Some(sheet.session.id.as_str()))
            .collect()
    };
    Ok(Report {
        session_label: sheet.session.label(&all),
        session_when: fr::time_range(
            sheet.session.starts_at.and_utc(),
            sheet.session.ends_at.and_utc(),
        ),
        dla_name,
        consultant,
        log: sheet.log.clone(),
        people,
        participants,
        leads,
        guests: sheet.guests,
        cohort: sheet.cohort,
        association: a,
        session: sheet.session,
    })
}

/// The outbox kind of a compte rendu.
pub const REPORT_KIND: &str = "compte_rendu";

/// What sending a compte rendu did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReportSending {
    /// Emails queued now.
    pub queued: usize,
    /// Recipients who already had this version queued or sent (nothing queued again).
    pub already: usize,
    /// The log's version the emails speak of.
    pub version: i32,
}

/// Queues the compte rendu of `session_id` to every participant of `association_id`,
/// once per version of the session's log (the outbox dedup revision): sending the same
/// version again queues nothing. Refused (409) before the log is saved or when the
/// association has nobody to send it to.
pub fn send_report(
    tx: &mut Tx,
    session_id: &str,
    association_id: &str,
    mail: &MailContext,
) -> Result<ReportSending, AppError> {
    let r = report(tx, session_id, association_id)?;
    let Some(log) = &r.log else {
        return Err(AppError::Conflict {
                code: "log_missing",
                message: "Le journal de cette séance n'est pas encore enregistré : remplissez-le avant d'envoyer le compte rendu.".into(),
            });
    };
    if r.participants.is_empty() {
        return Err(AppError::Conflict {
            code: "no_recipient",
            message: "L'association n'a aucun·e participant·e à qui envoyer le compte rendu."
                .into(),
        });
    }
    let renderer = &*mail.renderer;
    // Signed by the chargé·e de mission, as every email of the cohort (by name: the
    // address, where the DLA's would count, is not needed).
    let organizer = crate::models::cohort::answerer(
        &r.cohort,
        "",
        None,
        crate::models::cohort::Topic::Cohort,
        mail,
    )
    .name;
    let stamp = tx.now();
    let mut sending = ReportSending {
        queued: 0,
        already: 0,
        version: log.version,
    };
    for p in &r.participants {
        let ctx = json!({
            "recipient_name": p.name,
            "association_name": r.association.name,
            "cohort_name": r.cohort.name,
            "session_title": r.session_label,
            "session_when": r.session_when,
            "people": r.people,
            "third_party": r.third_party(),
            "notes": r.notes_lines(),
            "has_notes": r.notes_lines().iter().any(|l| !l.trim().is_empty()),
            "leads": r.lead_values(),
            "consultant": r.consultant,
            "participant_url": crate::models::outbox::SIGN_IN_LINK,
            "organizer_name": organizer,
            "dla_name": r.dla_name,
        });
        let rendered = renderer.render(REPORT_KIND, &ctx).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("{REPORT_KIND} e-mail for {}: {e}", p.email))
        })?;
        let email = crate::mail::Email {
            to_name: p.name.clone(),
            to_address: p.email.clone(),
            rendered,
            calendar: None,
        };
        let mut row = NewEmail::from_email(REPORT_KIND, session_id, log.version, &email, stamp);
        row.cohort_id = Some(r.cohort.id.clone());
        row.participant_id = Some(p.id.clone());
        match outbox::enqueue(tx, row)? {
            Some(_) => sending.queued += 1,
            None => sending.already += 1,
        }
    }
    Ok(sending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_of_four_hours_or_less_is_one_half_day_longer_is_two() {
        assert_eq!(half_days_for(90), 1);
        assert_eq!(half_days_for(180), 1);
        assert_eq!(half_days_for(240), 1);
        assert_eq!(half_days_for(241), 2);
        assert_eq!(half_days_for(390), 2);
        assert_eq!(half_days_for(0), 1);
    }

    #[test]
    fn half_days_are_named_morning_and_afternoon_or_session() {
        assert_eq!(half_day_label(1, 1), "Séance");
        assert_eq!(half_day_label(2, 1), "Matin");
        assert_eq!(half_day_label(2, 2), "Après-midi");
    }

    #[test]
    fn attended_minutes_are_the_share_of_the_half_days_present() {
        assert_eq!(attended_minutes(390, 2, 2), 390);
        assert_eq!(attended_minutes(390, 2, 1), 195);
        assert_eq!(attended_minutes(90, 1, 1), 90);
        assert_eq!(attended_minutes(90, 1, 0), 0);
        assert_eq!(attended_minutes(90, 1, 3), 90);
        assert_eq!(attended_minutes(90, 0, 1), 0);
    }

    #[test]
    fn form_fields_become_the_log_and_its_grid() {
        let input = LogInput::from_pairs(vec![
            ("third_party_kind".into(), "partenaire".into()),
            ("notes".into(), "Bonne séance".into()),
            ("version".into(), "0".into()),
            ("attendance.abc-1.1".into(), "present".into()),
            ("attendance.abc-1.2".into(), "excuse".into()),
            ("ignored".into(), "x".into()),
        ]);
        assert_eq!(input.third_party_kind, "partenaire");
        assert_eq!(input.attendance.len(), 2);
        assert_eq!(input.typed("abc-1", 2), Some("excuse"));
        assert_eq!(input.typed("abc-1", 3), None);
        assert_eq!(cell_key("abc-1", "2"), "attendance.abc-1.2");
    }
}
