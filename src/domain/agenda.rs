//! The periods the DLA's calendar shows (issue #17): a week from Monday, or a month as
//! whole weeks from the Monday on or before its first day to the Sunday on or after its
//! last; the previous and next period; French titles. Pure: « today » is an argument.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use crate::domain::fr;

/// Week or month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Week,
    Month,
}

impl View {
    /// `semaine` / `mois` (the `vue` parameter); anything else is the week.
    pub fn parse(s: &str) -> View {
        match s.trim() {
            "mois" => View::Month,
            _ => View::Week,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            View::Week => "semaine",
            View::Month => "mois",
        }
    }
}

/// What one page of the calendar covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub view: View,
    /// The date the period was asked for (kept when moving from week to month).
    pub anchor: NaiveDate,
    /// First and last day shown (a Monday, a Sunday).
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// An anchor in the previous and next period.
    pub previous: NaiveDate,
    pub next: NaiveDate,
    /// « Semaine du lundi 11 janvier 2027 », « Janvier 2027 ».
    pub title: String,
}

impl Period {
    pub fn of(view: View, anchor: NaiveDate) -> Period {
        match view {
            View::Week => {
                let first = monday_of(anchor);
                Period {
                    view,
                    anchor,
                    first,
                    last: first + Days::new(6),
                    previous: first - Days::new(7),
                    next: first + Days::new(7),
                    title: format!("Semaine du {}", fr::date_long(first)),
                }
            }
            View::Month => {
                let start = anchor.with_day(1).expect("day 1 exists");
                let end = start + Months::new(1) - Days::new(1);
                let first = monday_of(start);
                let last = monday_of(end) + Days::new(6);
                let month = fr::month_name(start.month());
                let mut title: String = month
                    .chars()
                    .next()
                    .map(|c| c.to_uppercase().collect::<String>())
                    .unwrap_or_default();
                title.push_str(&month[month.chars().next().map_or(0, char::len_utf8)..]);
                Period {
                    view,
                    anchor,
                    first,
                    last,
                    previous: start - Months::new(1),
                    next: start + Months::new(1),
                    title: format!("{title} {}", start.year()),
                }
            }
        }
    }

    /// Every day shown, by weeks of seven (Monday first).
    pub fn weeks(&self) -> Vec<Vec<NaiveDate>> {
        let mut weeks = Vec::new();
        let mut day = self.first;
        while day <= self.last {
            weeks.push((0..7).map(|i| day + Days::new(i)).collect());
            day = day + Days::new(7);
        }
        weeks
    }

    /// Whether `day` belongs to the month shown (a month view shows a few days around it).
    pub fn in_month(&self, day: NaiveDate) -> bool {
        self.view == View::Week
            || (day.month() == self.anchor.month() && day.year() == self.anchor.year())
    }
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d.week(Weekday::Mon).first_day()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_week_starts_on_monday() {
        let p = Period::of(View::Week, d("2027-01-14"));
        assert_eq!((p.first, p.last), (d("2027-01-11"), d("2027-01-17")));
        assert_eq!((p.previous, p.next), (d("2027-01-04"), d("2027-01-18")));
        assert_eq!(p.title, "Semaine du lundi 11 janvier 2027");
        // A Sunday belongs to the week before it.
        assert_eq!(
            Period::of(View::Week, d("2027-01-17")).first,
            d("2027-01-11")
        );
        assert_eq!(p.weeks().len(), 1);
    }

    #[test]
    fn a_month_is_whole_weeks_around_it() {
        // February 2027 starts on a Monday and ends on a Sunday: four weeks exactly.
        let p = Period::of(View::Month, d("2027-02-17"));
        assert_eq!((p.first, p.last), (d("2027-02-01"), d("2027-02-28")));
        assert_eq!(p.weeks().len(), 4);
        assert_eq!(p.title, "Février 2027");
        // January 2027: Friday 1st to Sunday 31st.
        let p = Period::of(View::Month, d("2027-01-31"));
        assert_eq!((p.first, p.last), (d("2026-12-28"), d("2027-01-31")));
        assert_eq!((p.previous, p.next), (d("2026-12-01"), d("2027-02-01")));
        assert!(!p.in_month(d("2026-12-28")));
        assert!(p.in_month(d("2027-01-01")));
        assert_eq!(p.weeks().len(), 5);
    }

    #[test]
    fn the_view_parameter_defaults_to_the_week() {
        assert_eq!(View::parse("mois"), View::Month);
        assert_eq!(View::parse(""), View::Week);
        assert_eq!(View::parse("année"), View::Week);
    }
}
