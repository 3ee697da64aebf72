//! When the automatic emails go: the sending settings (`[mail.schedule]`, overridable per
//! cohort) and the instants they give, always computed in Europe/Paris so that « 9 h » is
//! 9 h on the wall clock on both sides of a daylight-saving change.
//!
//! Pure: dates, times and settings in, UTC instants out.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::calendar;

/// The sending settings of a cohort: the configured defaults with the cohort's overrides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// 0: each convocation leaves when the programme is published. N: N days before its
    /// session, at `reminder_hour` (or at publication if that is later).
    pub convocation_days_before: u32,
    /// Session reminders, in days before the session (J-7, J-1: `[7, 1]`); empty = none.
    pub reminder_days: Vec<u32>,
    /// Local hour (Europe/Paris) at which reminders, convocations sent ahead and homework
    /// notices leave.
    pub reminder_hour: u32,
    /// Homework reminder this many days before the due date; 0 = none.
    pub homework_reminder_days: u32,
    /// Overdue notice this many days after the due date; 0 = none.
    pub overdue_days: u32,
    /// Day of the weekly summary to the consultant and the chargé·e de mission, 1 = Monday …
    /// 7 = Sunday; 0 = no summary.
    pub summary_weekday: u32,
    /// Local hour of the weekly summary.
    pub summary_hour: u32,
    /// « Valider les envois »: automatic emails to participants wait as drafts until the
    /// chargé·e de mission releases them.
    pub review_before_send: bool,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            convocation_days_before: 0,
            reminder_days: vec![7, 1],
            reminder_hour: 9,
            homework_reminder_days: 3,
            overdue_days: 1,
            summary_weekday: 1,
            summary_hour: 8,
            review_before_send: false,
        }
    }
}

/// A cohort's overrides: each `None` keeps the configured default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convocation_days_before: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_days: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homework_reminder_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_weekday: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_before_send: Option<bool>,
}

impl ScheduleOverride {
    pub fn is_empty(&self) -> bool {
        *self == ScheduleOverride::default()
    }

    /// The defaults with these overrides applied.
    pub fn apply(&self, defaults: &Schedule) -> Schedule {
        Schedule {
            convocation_days_before: self
                .convocation_days_before
                .unwrap_or(defaults.convocation_days_before),
            reminder_days: self
                .reminder_days
                .clone()
                .unwrap_or_else(|| defaults.reminder_days.clone()),
            reminder_hour: self.reminder_hour.unwrap_or(defaults.reminder_hour),
            homework_reminder_days: self
                .homework_reminder_days
                .unwrap_or(defaults.homework_reminder_days),
            overdue_days: self.overdue_days.unwrap_or(defaults.overdue_days),
            summary_weekday: self.summary_weekday.unwrap_or(defaults.summary_weekday),
            summary_hour: self.summary_hour.unwrap_or(defaults.summary_hour),
            review_before_send: self
                .review_before_send
                .unwrap_or(defaults.review_before_send),
        }
    }
}

/// The longest lead time accepted for a reminder or a convocation, in days.
pub const MAX_DAYS: u32 = 60;

/// Which setting is wrong, and why, in French.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

impl Schedule {
    /// Every problem at once, each with the field it belongs to.
    pub fn check(&self) -> Vec<ScheduleError> {
        let mut errors = Vec::new();
        let mut add = |field, message: String| errors.push(ScheduleError { field, message });
        for (field, hour) in [
            ("reminder_hour", self.reminder_hour),
            ("summary_hour", self.summary_hour),
        ] {
            if hour > 23 {
                add(field, "Une heure entre 0 et 23.".into());
            }
        }
        for (field, days) in [
            ("convocation_days_before", self.convocation_days_before),
            ("homework_reminder_days", self.homework_reminder_days),
            ("overdue_days", self.overdue_days),
        ] {
            if days > MAX_DAYS {
                add(field, format!("Au plus {MAX_DAYS} jours."));
            }
        }
        if self.reminder_days.iter().any(|d| *d == 0 || *d > MAX_DAYS) {
            add(
                "reminder_days",
                format!("Des nombres de jours entre 1 et {MAX_DAYS}, séparés par des virgules."),
            );
        } else if self.reminder_days.len() > 5 {
            add("reminder_days", "Au plus 5 rappels par séance.".into());
        }
        if self.summary_weekday > 7 {
            add(
                "summary_weekday",
                "Un jour de 1 (lundi) à 7 (dimanche), ou 0 pour aucun récapitulatif.".into(),
            );
        }
        errors
    }

    /// Reminder days, largest first, without repeats.
    pub fn reminder_days_sorted(&self) -> Vec<u32> {
        let mut days = self.reminder_days.clone();
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        days
    }

    fn hour(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.reminder_hour.min(23), 0, 0).expect("valid hour")
    }

    /// When a convocation for a session starting at `starts_at` leaves, the programme
    /// having been published at `published_at`.
    pub fn convocation_at(
        &self,
        published_at: DateTime<Utc>,
        starts_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        if self.convocation_days_before == 0 {
            return published_at;
        }
        let day = session_day(starts_at) - Duration::days(self.convocation_days_before as i64);
        local(day, self.hour()).max(published_at)
    }

    /// When the reminder `days` before a session starting at `starts_at` leaves.
    pub fn reminder_at(&self, starts_at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        local(
            session_day(starts_at) - Duration::days(days as i64),
            self.hour(),
        )
    }

    /// When the homework reminder for work due on `due` leaves; `None` when turned off.
    pub fn homework_reminder_at(&self, due: NaiveDate) -> Option<DateTime<Utc>> {
        (self.homework_reminder_days > 0).then(|| {
            local(
                due - Duration::days(self.homework_reminder_days as i64),
                self.hour(),
            )
        })
    }

    /// When the overdue notice for work due on `due` leaves; `None` when turned off.
    pub fn overdue_at(&self, due: NaiveDate) -> Option<DateTime<Utc>> {
        (self.overdue_days > 0)
            .then(|| local(due + Duration::days(self.overdue_days as i64), self.hour()))
    }

    /// The latest weekly-summary instant at or before `now`; `None` when turned off.
    pub fn summary_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let weekday = weekday(self.summary_weekday)?;
        let time = NaiveTime::from_hms_opt(self.summary_hour.min(23), 0, 0).expect("valid hour");
        let today = calendar::utc_to_paris(now).date();
        let back =
            (today.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
        let day = today - Duration::days(back as i64);
        let at = local(day, time);
        Some(if at <= now {
            at
        } else {
            local(day - Duration::days(7), time)
        })
    }
}

/// Whether a weekly summary of the moment `at` goes, for a cohort whose sessions run from
/// `first_start` to `last_end`: from the week before the first session (its day at most
/// seven days after the summary's day, in Paris) until the first summary after the last
/// session ends (the bilans included), which reports on that last week. Nothing when the
/// cohort has no session.
pub fn summary_in_window(
    at: DateTime<Utc>,
    first_start: Option<DateTime<Utc>>,
    last_end: Option<DateTime<Utc>>,
) -> bool {
    let (Some(first), Some(last)) = (first_start, last_end) else {
        return false;
    };
    let day = calendar::utc_to_paris(at).date();
    session_day(first) <= day + Duration::days(7) && at <= last + Duration::days(7)
}

/// How a session reminder leaving on `send_day` names the session's day, in Paris: «
/// aujourd'hui », « demain », « après-demain », the weekday within the week (« mardi »:
/// a reminder planned seven days ahead that leaves one day late says when, not « dans
/// 7 jours »), « dans N jours » beyond. `None` once the session's day is past.
pub fn reminder_lead(send_day: NaiveDate, session_day: NaiveDate) -> Option<String> {
    let days = (session_day - send_day).num_days();
    Some(match days {
        ..0 => return None,
        0 => "aujourd'hui".to_string(),
        1 => "demain".to_string(),
        2 => "après-demain".to_string(),
        3..=6 => crate::domain::fr::weekday_name(session_day.weekday()).to_string(),
        n => format!("dans {n}\u{a0}jours"),
    })
}

/// Whether a session reminder planned `nominal` days ahead still makes sense when it leaves
/// on `send_day`, given every reminder day of the schedule: on its own day, always; late,
/// only when no closer reminder's day has come too (then that one speaks, alone), and the
/// session's day is not past. Two late reminders leaving together would repeat each other.
pub fn late_reminder_still_useful(
    nominal: u32,
    send_day: NaiveDate,
    session_day: NaiveDate,
    reminder_days: &[u32],
) -> bool {
    let left = (session_day - send_day).num_days();
    if left < 0 {
        return false;
    }
    if left >= i64::from(nominal) {
        return true;
    }
    !reminder_days
        .iter()
        .any(|&m| m < nominal && i64::from(m) >= left)
}

/// The local (Europe/Paris) day a session starts on.
pub fn session_day(starts_at: DateTime<Utc>) -> NaiveDate {
    calendar::utc_to_paris(starts_at).date()
}

/// Local midnight at the start of `day`, in UTC (end of the previous day).
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    local(day, NaiveTime::MIN)
}

/// A local wall-clock time in UTC. Whole hours never fall in the spring gap except 2 h on
/// the change day (then 3 h, the first hour that exists); in the autumn fold the first 2 h
/// (summer time) is taken.
pub fn local(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut t = day.and_time(time);
    for _ in 0..3 {
        match calendar::paris_to_utc(t) {
            Ok(u) => return u,
            Err(calendar::LocalTimeError::Nonexistent(_)) => t += Duration::hours(1),
        }
    }
    // Unreachable with Europe/Paris: a gap is one hour long.
    t.and_utc()
}

fn weekday(n: u32) -> Option<Weekday> {
    Some(match n {
        1 => Weekday::Mon,
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        7 => Weekday::Sun,
        _ => return None,
    })
}

/// French name of a summary weekday setting (« lundi »), or « aucun ».
pub fn weekday_label(n: u32) -> &'static str {
    match n {
        1 => "lundi",
        2 => "mardi",
        3 => "mercredi",
        4 => "jeudi",
        5 => "vendredi",
        6 => "samedi",
        7 => "dimanche",
        _ => "aucun",
    }
}

/// « J-7, J-1 » (« aucun » when empty).
pub fn reminder_days_label(days: &[u32]) -> String {
    if days.is_empty() {
        return "aucun".into();
    }
    days.iter()
        .map(|d| format!("J-{d}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses « 7, 1 » (or « J-7 J-1 ») into days; `None` when something else is there.
pub fn parse_reminder_days(s: &str) -> Option<Vec<u32>> {
    s.split([',', ';', ' '])
        .map(|p| {
            p.trim()
                .trim_start_matches(['J', 'j'])
                .trim_start_matches('-')
        })
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn reminders_leave_at_nine_local_time_on_both_sides_of_the_spring_change() {
        let s = Schedule::default();
        // Monday 29 March 2027, 9 h 30 CEST = 07:30 UTC; summer time began on the 28th.
        let start = utc(2027, 3, 29, 7, 30);
        // J-7: Monday 22 March, still winter time: 9 h = 08:00 UTC.
        assert_eq!(s.reminder_at(start, 7), utc(2027, 3, 22, 8, 0));
        // J-1: Sunday 28 March, the change day, after 3 h: 9 h = 07:00 UTC.
        assert_eq!(s.reminder_at(start, 1), utc(2027, 3, 28, 7, 0));
    }

    #[test]
    fn reminders_leave_at_nine_local_time_on_both_sides_of_the_autumn_change() {
        let s = Schedule::default();
        // Tuesday 2 November 2027, 9 h 30 CET = 08:30 UTC; winter time began on 31 October.
        let start = utc(2027, 11, 2, 8, 30);
        // J-7: Tuesday 26 October, summer time: 9 h = 07:00 UTC.
        assert_eq!(s.reminder_at(start, 7), utc(2027, 10, 26, 7, 0));
        // J-1: Monday 1 November: 9 h = 08:00 UTC.
        assert_eq!(s.reminder_at(start, 1), utc(2027, 11, 1, 8, 0));
    }

    #[test]
    fn the_reminder_day_is_the_local_day_of_the_session_not_the_utc_one() {
        let s = Schedule::default();
        // 00 h 30 local on 15 March 2027 is 23:30 UTC on the 14th.
        let start = utc(2027, 3, 14, 23, 30);
        assert_eq!(s.reminder_at(start, 1), utc(2027, 3, 14, 8, 0));
    }

    #[test]
    fn a_two_oclock_setting_on_the_spring_change_day_becomes_three() {
        let s = Schedule {
            reminder_hour: 2,
            ..Schedule::default()
        };
        // J-1 of Monday 29 March 2027 is the change day: 2 h does not exist, 3 h CEST.
        assert_eq!(
            s.reminder_at(utc(2027, 3, 29, 7, 30), 1),
            utc(2027, 3, 28, 1, 0)
        );
    }

    #[test]
    fn convocations_leave_at_publication_or_n_days_before() {
        let published = utc(2027, 1, 4, 14, 12);
        let start = utc(2027, 3, 29, 7, 30);
        let at_publication = Schedule::default();
        assert_eq!(at_publication.convocation_at(published, start), published);
        let ahead = Schedule {
            convocation_days_before: 21,
            ..Schedule::default()
        };
        // 8 March 2027, 9 h CET.
        assert_eq!(
            ahead.convocation_at(published, start),
            utc(2027, 3, 8, 8, 0)
        );
        // Published too late for that: at publication.
        let late = utc(2027, 3, 20, 10, 0);
        assert_eq!(ahead.convocation_at(late, start), late);
    }

    #[test]
    fn homework_notices_before_and_after_the_due_date() {
        let s = Schedule::default();
        let due = date(2027, 3, 31);
        assert_eq!(s.homework_reminder_at(due), Some(utc(2027, 3, 28, 7, 0)));
        assert_eq!(s.overdue_at(due), Some(utc(2027, 4, 1, 7, 0)));
        let off = Schedule {
            homework_reminder_days: 0,
            overdue_days: 0,
            ..Schedule::default()
        };
        assert_eq!(off.homework_reminder_at(due), None);
        assert_eq!(off.overdue_at(due), None);
    }

    #[test]
    fn the_weekly_summary_is_the_last_monday_at_eight() {
        let s = Schedule::default();
        // Wednesday 31 March 2027 → Monday 29 March, 8 h CEST = 06:00 UTC.
        assert_eq!(
            s.summary_at_or_before(utc(2027, 3, 31, 12, 0)),
            Some(utc(2027, 3, 29, 6, 0))
        );
        // Monday 29 March at 7 h local: not yet → the Monday before, 8 h CET.
        assert_eq!(
            s.summary_at_or_before(utc(2027, 3, 29, 5, 0)),
            Some(utc(2027, 3, 22, 7, 0))
        );
        // Exactly at the instant: that one.
        assert_eq!(
            s.summary_at_or_before(utc(2027, 3, 29, 6, 0)),
            Some(utc(2027, 3, 29, 6, 0))
        );
        let off = Schedule {
            summary_weekday: 0,
            ..Schedule::default()
        };
        assert_eq!(off.summary_at_or_before(utc(2027, 3, 31, 12, 0)), None);
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let o = ScheduleOverride {
            reminder_hour: Some(18),
            review_before_send: Some(true),
            ..ScheduleOverride::default()
        };
        let s = o.apply(&Schedule::default());
        assert_eq!(s.reminder_hour, 18);
        assert!(s.review_before_send);
        assert_eq!(s.reminder_days, vec![7, 1]);
        assert!(ScheduleOverride::default().is_empty());
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(json, r#"{"reminder_hour":18,"review_before_send":true}"#);
    }

    #[test]
    fn bad_settings_are_named_field_by_field() {
        let s = Schedule {
            reminder_hour: 24,
            reminder_days: vec![7, 0],
            summary_weekday: 8,
            overdue_days: 90,
            ..Schedule::default()
        };
        let fields: Vec<_> = s.check().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "reminder_hour",
                "overdue_days",
                "reminder_days",
                "summary_weekday"
            ]
        );
        assert!(Schedule::default().check().is_empty());
    }

    #[test]
    fn reminder_days_are_read_as_people_type_them() {
        assert_eq!(parse_reminder_days("7, 1"), Some(vec![7, 1]));
        assert_eq!(parse_reminder_days("J-7 J-1"), Some(vec![7, 1]));
        assert_eq!(parse_reminder_days(""), Some(vec![]));
        assert_eq!(parse_reminder_days("sept"), None);
        assert_eq!(reminder_days_label(&[7, 1]), "J-7, J-1");
        assert_eq!(reminder_days_label(&[]), "aucun");
    }

    #[test]
    fn the_weekly_summary_runs_from_the_week_before_the_first_session_to_the_week_after_the_last() {
        // First session Monday 11 January 2027, 9 h 30; last bilan ends Friday 21 May, 17 h.
        let first = Some(Utc.with_ymd_and_hms(2027, 1, 11, 8, 30, 0).unwrap());
        let last = Some(Utc.with_ymd_and_hms(2027, 5, 21, 15, 0, 0).unwrap());
        // Summaries on Mondays at 8 h Paris (7 h UTC in winter, 6 h in summer).
        let monday = |m, d, h| Utc.with_ymd_and_hms(2027, m, d, h, 0, 0).unwrap();
        let december = Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap();
        assert!(
            !summary_in_window(december, first, last),
            "published a month ahead: nothing to say yet"
        );
        assert!(!summary_in_window(
            monday(1, 4, 7) - Duration::days(7),
            first,
            last
        ));
        assert!(
            summary_in_window(monday(1, 4, 7), first, last),
            "the week before the first session"
        );
        assert!(summary_in_window(monday(3, 1, 7), first, last));
        assert!(
            summary_in_window(monday(5, 24, 6), first, last),
            "the week after the last bilan: its report"
        );
        assert!(
            !summary_in_window(monday(5, 31, 6), first, last),
            "then nothing"
        );
        assert!(!summary_in_window(monday(3, 1, 7), None, None));
    }

    #[test]
    fn a_reminder_names_the_day_as_it_is_when_it_leaves() {
        let session = NaiveDate::from_ymd_opt(2027, 1, 19).unwrap(); // a Tuesday
        let lead = |back: i64| reminder_lead(session - Duration::days(back), session);
        assert_eq!(lead(7).as_deref(), Some("dans 7\u{a0}jours"));
        assert_eq!(
            lead(6).as_deref(),
            Some("mardi"),
            "one day late: not « dans 7 jours »"
        );
        assert_eq!(lead(3).as_deref(), Some("mardi"));
        assert_eq!(lead(2).as_deref(), Some("après-demain"));
        assert_eq!(lead(1).as_deref(), Some("demain"));
        assert_eq!(lead(0).as_deref(), Some("aujourd'hui"));
        assert_eq!(lead(-1), None);
    }

    #[test]
    fn a_late_reminder_is_dropped_when_a_closer_one_speaks_the_same_day() {
        let session = NaiveDate::from_ymd_opt(2027, 1, 19).unwrap();
        let on = |back: i64| session - Duration::days(back);
        let days = [7, 1];
        assert!(
            late_reminder_still_useful(7, on(7), session, &days),
            "on time"
        );
        assert!(
            late_reminder_still_useful(7, on(6), session, &days),
            "a day late"
        );
        assert!(
            !late_reminder_still_useful(7, on(1), session, &days),
            "the day of the J-1 reminder: that one alone"
        );
        assert!(!late_reminder_still_useful(7, on(0), session, &days));
        assert!(
            late_reminder_still_useful(1, on(0), session, &days),
            "J-1 late on the day: « aujourd'hui »"
        );
        assert!(
            !late_reminder_still_useful(1, on(-1), session, &days),
            "the day is past"
        );
    }
}
