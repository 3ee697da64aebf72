//! French working days (public holidays, optionally with the Alsace-Moselle
//! extra days) and conversions between Europe/Paris local time and UTC.
//!
//! Every function is pure: the "current" date or instant is always passed in.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use std::fmt;

use crate::domain::fr;

/// The time zone every session is planned in.
pub const PARIS: chrono_tz::Tz = chrono_tz::Europe::Paris;

/// Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian
/// algorithm, a.k.a. Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("the computus always yields a valid March or April date")
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("fixed holiday dates are valid")
}

/// French public holidays of `year`, sorted by date, with their French names.
///
/// With `alsace_moselle`, adds the two local holidays of Bas-Rhin, Haut-Rhin
/// and Moselle: « Vendredi saint » and « Saint-Étienne » (26 December).
pub fn french_holidays(year: i32, alsace_moselle: bool) -> Vec<(NaiveDate, &'static str)> {
    let easter = easter_sunday(year);
    let mut days = vec![
        (ymd(year, 1, 1), "Jour de l'an"),
        (easter + Duration::days(1), "Lundi de Pâques"),
        (ymd(year, 5, 1), "Fête du Travail"),
        (ymd(year, 5, 8), "Victoire 1945"),
        (easter + Duration::days(39), "Ascension"),
        (easter + Duration::days(50), "Lundi de Pentecôte"),
        (ymd(year, 7, 14), "Fête nationale"),
        (ymd(year, 8, 15), "Assomption"),
        (ymd(year, 11, 1), "Toussaint"),
        (ymd(year, 11, 11), "Armistice 1918"),
        (ymd(year, 12, 25), "Noël"),
    ];
    if alsace_moselle {
        days.push((easter - Duration::days(2), "Vendredi saint"));
        days.push((ymd(year, 12, 26), "Saint-Étienne"));
    }
    days.sort_by_key(|(date, _)| *date);
    days
}

/// The French name of the public holiday falling on `date`, if any: the day of
/// [`french_holidays`] (the first listed when two coincide, as Ascension and 1 May may),
/// without building the year's list — the warnings ask this of every session.
pub fn holiday_name(date: NaiveDate, alsace_moselle: bool) -> Option<&'static str> {
    let fixed = match (date.month(), date.day()) {
        (1, 1) => Some("Jour de l'an"),
        (5, 1) => Some("Fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("Fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice 1918"),
        (12, 25) => Some("Noël"),
        (12, 26) if alsace_moselle => Some("Saint-Étienne"),
        _ => None,
    };
    // Easter's feasts fall from 20 March (Good Friday) to 14 June (Whit Monday).
    if fixed.is_some() || !(3..=6).contains(&date.month()) {
        return fixed;
    }
    match (date - easter_sunday(date.year())).num_days() {
        -2 if alsace_moselle => Some("Vendredi saint"),
        1 => Some("Lundi de Pâques"),
        39 => Some("Ascension"),
        50 => Some("Lundi de Pentecôte"),
        _ => None,
    }
}

/// Why `date` is not a working day, in French: `"samedi"`, `"dimanche"` or
/// `"jour férié (Ascension)"`; `None` for a working day.
pub fn non_working_reason(date: NaiveDate, alsace_moselle: bool) -> Option<String> {
    match date.weekday() {
        Weekday::Sat => return Some("samedi".to_owned()),
        Weekday::Sun => return Some("dimanche".to_owned()),
        _ => {}
    }
    holiday_name(date, alsace_moselle).map(|name| format!("jour férié ({name})"))
}

/// Monday to Friday, and not a public holiday.
pub fn is_working_day(date: NaiveDate, alsace_moselle: bool) -> bool {
    non_working_reason(date, alsace_moselle).is_none()
}

/// The first working day on or after `date`.
pub fn next_working_day(date: NaiveDate, alsace_moselle: bool) -> NaiveDate {
    let mut d = date;
    while !is_working_day(d, alsace_moselle) {
        d = d.succ_opt().expect("date within chrono's range");
    }
    d
}

/// The last working day on or before `date`.
pub fn previous_working_day(date: NaiveDate, alsace_moselle: bool) -> NaiveDate {
    let mut d = date;
    while !is_working_day(d, alsace_moselle) {
        d = d.pred_opt().expect("date within chrono's range");
    }
    d
}

/// A Paris local time that cannot be turned into an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalTimeError {
    /// The local time falls in the spring-forward gap (e.g. 2 h 30 on the
    /// last Sunday of March).
    Nonexistent(NaiveDateTime),
}

impl fmt::Display for LocalTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalTimeError::Nonexistent(local) => write!(
                f,
                "L'heure {} du {} n'existe pas à Paris (passage à l'heure d'été).",
                fr::time(local.time()),
                fr::date_long(local.date())
            ),
        }
    }
}

impl std::error::Error for LocalTimeError {}

/// Converts a Paris wall-clock time to UTC. In the autumn overlap the earliest
/// of the two instants is chosen; in the spring gap this is an error.
pub fn paris_to_utc(local: NaiveDateTime) -> Result<DateTime<Utc>, LocalTimeError> {
    match PARIS.from_local_datetime(&local) {
        LocalResult::Single(dt) => Ok(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b).with_timezone(&Utc)),
        LocalResult::None => Err(LocalTimeError::Nonexistent(local)),
    }
}

/// The Paris wall-clock time of an instant.
pub fn utc_to_paris(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&PARIS).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn local(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
        d(y, m, day).and_time(NaiveTime::from_hms_opt(h, min, 0).unwrap())
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(&local(y, m, day, h, min))
    }

    #[test]
    fn easter_sunday_matches_known_dates() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2028), d(2028, 4, 16));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
    }

    #[test]
    fn holiday_name_is_the_first_of_the_years_list_on_every_day() {
        for alsace_moselle in [false, true] {
            let mut day = ymd(1990, 1, 1);
            while day < ymd(2101, 1, 1) {
                let listed = french_holidays(day.year(), alsace_moselle)
                    .into_iter()
                    .find(|(d, _)| *d == day)
                    .map(|(_, name)| name);
                assert_eq!(holiday_name(day, alsace_moselle), listed, "{day}");
                day = day.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn holidays_2027_are_exact_and_sorted() {
        let expected = vec![
            (d(2027, 1, 1), "Jour de l'an"),
            (d(2027, 3, 29), "Lundi de Pâques"),
            (d(2027, 5, 1), "Fête du Travail"),
            (d(2027, 5, 6), "Ascension"),
            (d(2027, 5, 8), "Victoire 1945"),
            (d(2027, 5, 17), "Lundi de Pentecôte"),
            (d(2027, 7, 14), "Fête nationale"),
            (d(2027, 8, 15), "Assomption"),
            (d(2027, 11, 1), "Toussaint"),
            (d(2027, 11, 11), "Armistice 1918"),
            (d(2027, 12, 25), "Noël"),
        ];
        assert_eq!(french_holidays(2027, false), expected);
    }

    #[test]
    fn holidays_2028_are_exact_and_sorted() {
        let expected = vec![
            (d(2028, 1, 1), "Jour de l'an"),
            (d(2028, 4, 17), "Lundi de Pâques"),
            (d(2028, 5, 1), "Fête du Travail"),
            (d(2028, 5, 8), "Victoire 1945"),
            (d(2028, 5, 25), "Ascension"),
            (d(2028, 6, 5), "Lundi de Pentecôte"),
            (d(2028, 7, 14), "Fête nationale"),
            (d(2028, 8, 15), "Assomption"),
            (d(2028, 11, 1), "Toussaint"),
            (d(2028, 11, 11), "Armistice 1918"),
            (d(2028, 12, 25), "Noël"),
        ];
        assert_eq!(french_holidays(2028, false), expected);
    }

    #[test]
    fn alsace_moselle_adds_good_friday_and_saint_stephen() {
        let days = french_holidays(2027, true);
        assert_eq!(days.len(), 13);
        assert!(days.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(holiday_name(d(2027, 3, 26), true), Some("Vendredi saint"));
        assert_eq!(holiday_name(d(2027, 12, 26), true), Some("Saint-Étienne"));
        assert_eq!(holiday_name(d(2027, 3, 26), false), None);
        assert!(is_working_day(d(2027, 3, 26), false));
        assert!(!is_working_day(d(2027, 3, 26), true));
    }

    #[test]
    fn non_working_reason_names_weekends_and_holidays() {
        assert_eq!(
            non_working_reason(d(2027, 2, 13), false).as_deref(),
            Some("samedi")
        );
        assert_eq!(
            non_working_reason(d(2027, 2, 14), false).as_deref(),
            Some("dimanche")
        );
        assert_eq!(
            non_working_reason(d(2027, 5, 6), false).as_deref(),
            Some("jour férié (Ascension)")
        );
        assert_eq!(non_working_reason(d(2027, 5, 7), false), None);
    }

    #[test]
    fn working_day_navigation_skips_the_easter_weekend() {
        // Friday 26 March 2027, Easter weekend, Easter Monday 29 March.
        assert_eq!(next_working_day(d(2027, 3, 27), false), d(2027, 3, 30));
        assert_eq!(next_working_day(d(2027, 3, 29), false), d(2027, 3, 30));
        assert_eq!(previous_working_day(d(2027, 3, 29), false), d(2027, 3, 26));
        // In Alsace-Moselle, Good Friday is off too.
        assert_eq!(previous_working_day(d(2027, 3, 29), true), d(2027, 3, 25));
        // On a working day, both return the day itself.
        assert_eq!(next_working_day(d(2027, 3, 30), false), d(2027, 3, 30));
        assert_eq!(previous_working_day(d(2027, 3, 30), false), d(2027, 3, 30));
    }

    #[test]
    fn working_day_navigation_skips_whit_monday_weekend_and_christmas() {
        assert_eq!(next_working_day(d(2027, 5, 15), false), d(2027, 5, 18));
        assert_eq!(previous_working_day(d(2027, 5, 17), false), d(2027, 5, 14));
        // Christmas 2027 is a Saturday; Saint-Étienne is a Sunday.
        assert_eq!(next_working_day(d(2027, 12, 25), true), d(2027, 12, 27));
        // New Year 2027 is a Friday: previous working day is Thursday 31 Dec 2026.
        assert_eq!(previous_working_day(d(2027, 1, 3), false), d(2026, 12, 31));
    }

    #[test]
    fn spring_forward_gap_is_an_error_with_a_french_message() {
        let err = paris_to_utc(local(2027, 3, 28, 2, 30)).unwrap_err();
        assert_eq!(err, LocalTimeError::Nonexistent(local(2027, 3, 28, 2, 30)));
        assert_eq!(
            err.to_string(),
            "L'heure 2\u{a0}h\u{a0}30 du dimanche 28 mars 2027 n'existe pas à Paris (passage à l'heure d'été)."
        );
    }

    #[test]
    fn autumn_overlap_takes_the_earliest_instant() {
        let instant = paris_to_utc(local(2027, 10, 31, 2, 30)).unwrap();
        assert_eq!(instant, utc(2027, 10, 31, 0, 30));
    }

    #[test]
    fn morning_session_offset_follows_summer_and_winter_time() {
        assert_eq!(
            paris_to_utc(local(2027, 3, 29, 9, 30)).unwrap(),
            utc(2027, 3, 29, 7, 30)
        );
        assert_eq!(
            paris_to_utc(local(2027, 3, 26, 9, 30)).unwrap(),
            utc(2027, 3, 26, 8, 30)
        );
    }

    #[test]
    fn utc_to_paris_round_trips() {
        let l = local(2027, 7, 14, 18, 45);
        assert_eq!(utc_to_paris(paris_to_utc(l).unwrap()), l);
        assert_eq!(
            utc_to_paris(utc(2027, 1, 11, 8, 30)),
            local(2027, 1, 11, 9, 30)
        );
    }
}
