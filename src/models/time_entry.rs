//! Consultant time entries (`time_entries`): what the consultant spent on a cohort, one
//! entry per date and kind, in half-days (1 or 2) or in minutes when typed in hours, with an
//! optional link to a session and/or an association of the same cohort.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::time_entries;
use crate::db::{Conn, Tx};
use crate::domain::budget::{TimeAmount, TimeKind, parse_hours};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::{association, audit, check_version, cohort, session};

/// `unit` of an input duration counted in half-days ("1" or "2").
pub const UNIT_HALF_DAYS: &str = "demi_journees";
/// `unit` of an input duration typed in hours ("1 h 30", "1,5", "90 min").
pub const UNIT_HOURS: &str = "heures";

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = time_entries)]
pub struct TimeEntry {
    pub id: String,
    pub cohort_id: String,
    pub entry_date: NaiveDate,
    /// `animation_collective`, `preparation`, `appui_individuel`, `bilan_individuel`,
    /// `coordination` or `deplacement`.
    pub kind: String,
    /// Set when the duration was given in half-days (1 or 2); `minutes` is then null.
    pub half_days: Option<i32>,
    /// Set when the duration was typed in hours; `half_days` is then null.
    pub minutes: Option<i32>,
    pub session_id: Option<String>,
    pub association_id: Option<String>,
    pub comment: String,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

impl TimeEntry {
    pub fn time_kind(&self) -> Option<TimeKind> {
        TimeKind::parse(&self.kind)
    }

    /// The duration as entered (`None` only for a row written outside the app).
    pub fn amount(&self) -> Option<TimeAmount> {
        match (self.half_days, self.minutes) {
            (Some(h), _) => Some(TimeAmount::HalfDays(i64::from(h))),
            (None, Some(m)) => Some(TimeAmount::Minutes(i64::from(m))),
            (None, None) => None,
        }
    }
}

/// A time entry as typed in the form or sent by a client.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct TimeEntryInput {
    /// `AAAA-MM-JJ` or `JJ/MM/AAAA`.
    #[serde(default, deserialize_with = "lenient")]
    pub date: String,
    /// One of the time kinds (`animation_collective`, `preparation`…).
    #[serde(default, deserialize_with = "lenient")]
    pub kind: String,
    /// `1` or `2` with unit `demi_journees`; « 1 h 30 », « 1,5 », « 90 min » with unit
    /// `heures` (a value written with `h` or `min` is read as hours whatever the unit).
    #[serde(default, deserialize_with = "lenient")]
    pub duration: String,
    /// `demi_journees` or `heures`.
    #[serde(default, deserialize_with = "lenient")]
    pub unit: String,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub association_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub comment: String,
    /// The version read before editing; a stale one is refused (409).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<&TimeEntry> for TimeEntryInput {
    fn from(e: &TimeEntry) -> Self {
        let (duration, unit) = match e.amount() {
            Some(TimeAmount::HalfDays(n)) => (n.to_string(), UNIT_HALF_DAYS),
            Some(TimeAmount::Minutes(m)) => (hours_text(m), UNIT_HOURS),
            None => (String::new(), UNIT_HALF_DAYS),
        };
        TimeEntryInput {
            date: e.entry_date.format("%Y-%m-%d").to_string(),
            kind: e.kind.clone(),
            duration,
            unit: unit.to_owned(),
            session_id: e.session_id.clone().unwrap_or_default(),
            association_id: e.association_id.clone().unwrap_or_default(),
            comment: e.comment.clone(),
            version: e.version.to_string(),
        }
    }
}

/// Entries logged more than once for one session: the same kind, association and
/// duration (« animation collective, 1 journée » twice for the état des lieux). Often a
/// slip, sometimes a co-animation: a warning, never a refusal. Each group once, as the
/// indices of its entries, in the order of `entries`.
pub fn repeated(entries: &[TimeEntry]) -> Vec<Vec<usize>> {
    let key = |e: &TimeEntry| {
        e.session_id.as_ref().map(|s| {
            (
                s.clone(),
                e.kind.clone(),
                e.association_id.clone(),
                e.half_days,
                e.minutes,
            )
        })
    };
    let mut groups: Vec<(_, Vec<usize>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(k) = key(e) else { continue };
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(i),
            None => groups.push((k, vec![i])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(_, members)| members)
        .collect()
}

/// Minutes as they are typed back in a form: "1 h 30", "2 h", "45 min".
pub fn hours_text(minutes: i64) -> String {
    let nbsp = crate::domain::fr::NBSP;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}{nbsp}min"),
        (h, 0) => format!("{h}{nbsp}h"),
        (h, m) => format!("{h}{nbsp}h{nbsp}{m:02}"),
    }
}

/// Reads a duration: half-days (1 or 2) or hours, see [`TimeEntryInput::duration`].
pub fn parse_duration(duration: &str, unit: &str) -> Result<TimeAmount, (&'static str, String)> {
    let s: String = duration
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.is_empty() {
        return Err((
            "duration",
            "Indiquez la durée : une ou deux demi-journées, ou des heures (1 h 30).".to_owned(),
        ));
    }
    let unreadable_hours = || {
        (
            "duration",
            "Durée illisible : écrivez par exemple « 1 h 30 », « 1,5 » (heures) ou « 90 min »."
                .to_owned(),
        )
    };
    let amount = if let Some(m) = s
        .strip_suffix("minutes")
        .or_else(|| s.strip_suffix("min"))
        .or_else(|| s.strip_suffix("mn"))
    {
        if m.is_empty() || m.len() > 5 || !m.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unreadable_hours());
        }
        TimeAmount::Minutes(m.parse().map_err(|_| unreadable_hours())?)
    } else if s.contains('h') || unit.trim() == UNIT_HOURS {
        let s = s.strip_suffix("heures").unwrap_or(&s);
        let s = s.strip_suffix("heure").unwrap_or(s);
        TimeAmount::Minutes(parse_hours(s).ok_or_else(unreadable_hours)?)
    } else if unit.trim() == UNIT_HALF_DAYS {
        match s.as_str() {
            "1" => TimeAmount::HalfDays(1),
            "2" => TimeAmount::HalfDays(2),
            _ => {
                return Err((
                    "duration",
                    "En demi-journées, indiquez 1 (une demi-journée) ou 2 (une journée) ; pour une autre durée, choisissez « heures »."
                        .to_owned(),
                ));
            }
        }
    } else if unit.trim().is_empty() {
        return Err((
            "unit",
            "Précisez l'unité de la durée : « demi_journees » ou « heures ».".to_owned(),
        ));
    } else {
        return Err((
            "unit",
            "Unité inconnue : « demi_journees » ou « heures ».".to_owned(),
        ));
    };
    amount.validate().map_err(|m| ("duration", m))?;
    Ok(amount)
}

struct Values {
    date: NaiveDate,
    kind: TimeKind,
    amount: TimeAmount,
    session_id: Option<String>,
    association_id: Option<String>,
    comment: String,
}

impl TimeEntryInput {
    fn check(&self, conn: &mut Conn, cohort_id: &str) -> Result<Values, AppError> {
        let mut c = Check::new();
        let date = c.date("date", &self.date);
        let kind = TimeKind::parse(self.kind.trim());
        if kind.is_none() {
            c.add(
                "kind",
                "Choisissez la nature du temps : animation collective, préparation, appui individuel, bilan individuel, coordination ou déplacement.",
            );
        }
        let amount = match parse_duration(&self.duration, &self.unit) {
            Ok(a) => Some(a),
            Err((field, message)) => {
                c.add(field, message);
                None
            }
        };
        let session = match self.session_id.trim() {
            "" => None,
            sid => match session::get(conn, sid) {
                Ok(s) if s.cohort_id == cohort_id => Some(s),
                _ => {
                    c.add("session_id", "Cette séance n'appartient pas à la cohorte.");
                    None
                }
            },
        };
        let mut association_id = match self.association_id.trim() {
            "" => None,
            aid => match association::get(conn, aid) {
                Ok(a) if a.cohort_id == cohort_id => Some(a.id),
                _ => {
                    c.add(
                        "association_id",
                        "Cette association n'est pas inscrite dans la cohorte.",
                    );
                    None
                }
            },
        };
        // A bilan concerns one association: take it when none was chosen.
        if association_id.is_none() && self.association_id.trim().is_empty() {
            association_id = session.as_ref().and_then(|s| s.association_id.clone());
        }
        let comment = c.multiline("comment", &self.comment, 2_000);
        c.finish()?;
        Ok(Values {
            date: date.expect("checked"),
            kind: kind.expect("checked"),
            amount: amount.expect("checked"),
            session_id: session.map(|s| s.id),
            association_id,
            comment,
        })
    }
}

fn columns(amount: TimeAmount) -> (Option<i32>, Option<i32>) {
    // Validated amounts are small (≤ 2 half-days, ≤ 1 440 minutes).
    match amount {
        TimeAmount::HalfDays(n) => (Some(n as i32), None),
        TimeAmount::Minutes(m) => (None, Some(m as i32)),
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<TimeEntry, AppError> {
    time_entries::table
        .find(id)
        .select(TimeEntry::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Saisie de temps"))
}

/// The cohort's entries, newest first; entries saved in one transaction (an import, the
/// demo) share their instant, and come in the same order on both backends.
pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<TimeEntry>, AppError> {
    Ok(time_entries::table
        .filter(time_entries::cohort_id.eq(cohort_id))
        .order((
            time_entries::entry_date.desc(),
            time_entries::created_at.desc(),
            time_entries::id.desc(),
        ))
        .select(TimeEntry::as_select())
        .load(conn)?)
}

/// The time logged for `cohort_ids`, by cohort: per kind, the half-days and the minutes
/// summed in SQL (`GROUP BY cohort_id, kind`: a few rows per cohort whatever its number of
/// entries), restricted to entries dated `from`..=`to` when given. Totals in minutes are
/// linear in the amounts, so they equal the sum over the entries one by one.
pub fn amounts_for(
    conn: &mut Conn,
    cohort_ids: &[String],
    dated: Option<(NaiveDate, NaiveDate)>,
) -> Result<std::collections::HashMap<String, Vec<(TimeKind, TimeAmount)>>, AppError> {
    use diesel::dsl::{case_when, sum};
    let mut by_cohort: std::collections::HashMap<String, Vec<(TimeKind, TimeAmount)>> =
        Default::default();
    if cohort_ids.is_empty() {
        return Ok(by_cohort);
    }
    let mut q = time_entries::table
        .filter(in_list(time_entries::cohort_id, cohort_ids))
        .group_by((time_entries::cohort_id, time_entries::kind))
        .select((
            time_entries::cohort_id,
            time_entries::kind,
            sum(time_entries::half_days),
            // Minutes count only where no half-days are set, as `TimeEntry::amount` reads.
            sum(case_when(
                time_entries::half_days.is_null(),
                time_entries::minutes,
            )),
        ))
        .into_boxed();
    if let Some((from, to)) = dated {
        q = q.filter(time_entries::entry_date.between(from, to));
    }
    for (cohort_id, kind, half_days, minutes) in
        q.load::<(String, String, Option<i64>, Option<i64>)>(conn)?
    {
        let Some(kind) = TimeKind::parse(&kind) else {
            continue;
        };
        let list = by_cohort.entry(cohort_id).or_default();
        if let Some(h) = half_days {
            list.push((kind, TimeAmount::HalfDays(h)));
        }
        if let Some(m) = minutes {
            list.push((kind, TimeAmount::Minutes(m)));
        }
    }
    Ok(by_cohort)
}

/// (kind, duration) of every entry of the cohort, for the totals.
pub fn amounts(conn: &mut Conn, cohort_id: &str) -> Result<Vec<(TimeKind, TimeAmount)>, AppError> {
    Ok(list_for_cohort(conn, cohort_id)?
        .iter()
        .filter_map(|e| Some((e.time_kind()?, e.amount()?)))
        .collect())
}

pub fn create(tx: &mut Tx, cohort_id: &str, input: &TimeEntryInput) -> Result<TimeEntry, AppError> {
    cohort::get(tx, cohort_id)?;
    let v = input.check(tx, cohort_id)?;
    let (half_days, minutes) = columns(v.amount);
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(time_entries::table)
        .values((
            time_entries::id.eq(&id),
            time_entries::cohort_id.eq(cohort_id),
            time_entries::entry_date.eq(v.date),
            time_entries::kind.eq(v.kind.as_str()),
            time_entries::half_days.eq(half_days),
            time_entries::minutes.eq(minutes),
            time_entries::session_id.eq(&v.session_id),
            time_entries::association_id.eq(&v.association_id),
            time_entries::comment.eq(&v.comment),
            time_entries::version.eq(1),
            time_entries::created_at.eq(t),
            time_entries::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    let created = get(tx, &id)?;
    audit::created(tx, "time_entry", &id, Some(cohort_id), &created)?;
    Ok(created)
}

/// Updates an entry; refused with 409 `stale_version` when `input.version` is not the
/// stored one (someone else saved it in between).
pub fn update(tx: &mut Tx, id: &str, input: &TimeEntryInput) -> Result<TimeEntry, AppError> {
    let current = get(tx, id)?;
    let v = input.check(tx, &current.cohort_id)?;
    check_version(
        &input.version,
        current.version,
        "La saisie de temps a été modifiée",
    )?;
    let (half_days, minutes) = columns(v.amount);
    let n = diesel::update(
        time_entries::table
            .find(id)
            .filter(time_entries::version.eq(current.version)),
    )
    .set((
        time_entries::entry_date.eq(v.date),
        time_entries::kind.eq(v.kind.as_str()),
        time_entries::half_days.eq(half_days),
        time_entries::minutes.eq(minutes),
        time_entries::session_id.eq(&v.session_id),
        time_entries::association_id.eq(&v.association_id),
        time_entries::comment.eq(&v.comment),
        time_entries::version.eq(current.version + 1),
        time_entries::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "La saisie de temps a été modifiée")?;
    let updated = get(tx, id)?;
    audit::updated(
        tx,
        "time_entry",
        id,
        Some(&current.cohort_id),
        &current,
        &updated,
    )?;
    Ok(updated)
}

pub fn delete(tx: &mut Tx, id: &str) -> Result<TimeEntry, AppError> {
    let e = get(tx, id)?;
    diesel::delete(time_entries::table.find(id)).execute(tx.conn())?;
    audit::deleted(tx, "time_entry", id, Some(&e.cohort_id), &e)?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(session: Option<&str>, kind: &str, half_days: Option<i32>) -> TimeEntry {
        let t = NaiveDateTime::default();
        TimeEntry {
            id: uuid::Uuid::new_v4().to_string(),
            cohort_id: "c".into(),
            entry_date: NaiveDate::from_ymd_opt(2027, 2, 15).unwrap(),
            kind: kind.into(),
            half_days,
            minutes: None,
            session_id: session.map(str::to_owned),
            association_id: None,
            comment: String::new(),
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn the_same_time_logged_twice_for_a_session_is_flagged_once() {
        let entries = [
            entry(Some("edl"), "animation_collective", Some(2)),
            entry(Some("edl"), "preparation", Some(1)),
            entry(Some("edl"), "animation_collective", Some(2)),
            entry(Some("evo"), "animation_collective", Some(2)),
            entry(None, "coordination", Some(1)),
            entry(None, "coordination", Some(1)),
        ];
        assert_eq!(repeated(&entries), vec![vec![0, 2]]);
        // Another duration is another entry (half a day more of co-animation).
        let entries = [
            entry(Some("edl"), "animation_collective", Some(2)),
            entry(Some("edl"), "animation_collective", Some(1)),
        ];
        assert!(repeated(&entries).is_empty());
    }

    #[test]
    fn durations_read_half_days_hours_and_minutes() {
        assert_eq!(
            parse_duration("1", UNIT_HALF_DAYS),
            Ok(TimeAmount::HalfDays(1))
        );
        assert_eq!(
            parse_duration("2", UNIT_HALF_DAYS),
            Ok(TimeAmount::HalfDays(2))
        );
        assert_eq!(
            parse_duration("1 h 30", UNIT_HOURS),
            Ok(TimeAmount::Minutes(90))
        );
        assert_eq!(
            parse_duration("1,5", UNIT_HOURS),
            Ok(TimeAmount::Minutes(90))
        );
        assert_eq!(
            parse_duration("90 min", UNIT_HOURS),
            Ok(TimeAmount::Minutes(90))
        );
        // Written with a unit, hours win over the select.
        assert_eq!(
            parse_duration("2h", UNIT_HALF_DAYS),
            Ok(TimeAmount::Minutes(120))
        );
        assert_eq!(parse_duration("45 min", ""), Ok(TimeAmount::Minutes(45)));
        assert_eq!(parse_duration("3 heures", ""), Ok(TimeAmount::Minutes(180)));
    }

    #[test]
    fn durations_refuse_what_they_cannot_read() {
        assert_eq!(parse_duration("", UNIT_HOURS).unwrap_err().0, "duration");
        assert_eq!(
            parse_duration("3", UNIT_HALF_DAYS).unwrap_err().0,
            "duration"
        );
        assert_eq!(
            parse_duration("beaucoup", UNIT_HOURS).unwrap_err().0,
            "duration"
        );
        assert_eq!(
            parse_duration("25 h", UNIT_HOURS).unwrap_err().0,
            "duration"
        );
        assert_eq!(parse_duration("0", UNIT_HOURS).unwrap_err().0, "duration");
        assert_eq!(parse_duration("1", "").unwrap_err().0, "unit");
        assert_eq!(parse_duration("1", "jours").unwrap_err().0, "unit");
    }

    #[test]
    fn minutes_are_typed_back_as_hours() {
        assert_eq!(hours_text(90), "1\u{a0}h\u{a0}30");
        assert_eq!(hours_text(120), "2\u{a0}h");
        assert_eq!(hours_text(45), "45\u{a0}min");
    }
}
