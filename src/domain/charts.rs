//! Geometry of the dashboard charts, with no I/O and no markup: dates and quantities in,
//! coordinates and French labels out. The templates draw the SVG from these numbers (so no
//! markup is ever built by string concatenation, and every label is escaped by handlebars).
//!
//! Charts use a fixed `viewBox` ([`WIDTH`] × height) and scale with the page.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::domain::fr;

/// Width of every chart's viewBox.
pub const WIDTH: f64 = 960.0;
/// Room left of the plot for the y labels, and right of it.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 24.0;

/// Maps dates in `[start, end]` to x in the plot area.
#[derive(Clone, Copy, Debug)]
struct TimeScale {
    start: NaiveDate,
    days: f64,
}

impl TimeScale {
    fn new(start: NaiveDate, end: NaiveDate) -> TimeScale {
        TimeScale {
            start,
            days: ((end - start).num_days().max(1)) as f64,
        }
    }

    fn x(&self, date: NaiveDate) -> f64 {
        let offset = (date - self.start).num_days() as f64;
        round1(LEFT + (WIDTH - LEFT - RIGHT) * offset.clamp(0.0, self.days) / self.days)
    }

    /// The first of each month in range, labelled « janv. 2027 » style (month name).
    fn month_ticks(&self) -> Vec<Tick> {
        let end = self.start + chrono::Duration::days(self.days as i64);
        let mut ticks = Vec::new();
        let mut d = NaiveDate::from_ymd_opt(self.start.year(), self.start.month(), 1)
            .expect("first of month");
        if d < self.start {
            d = next_month(d);
        }
        while d <= end {
            ticks.push(Tick {
                pos: self.x(d),
                label: if d.month() == 1 || ticks.is_empty() {
                    format!("{} {}", fr::month_name(d.month()), d.year())
                } else {
                    fr::month_name(d.month()).to_string()
                },
            });
            d = next_month(d);
        }
        ticks
    }
}

fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).expect("date")
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).expect("date")
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A labelled position on an axis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// Something on the timeline: a session or a due date.
#[derive(Clone, Debug)]
pub struct TimelineItem {
    pub date: NaiveDate,
    pub label: String,
    /// `session`, `bilan` or `task` (the template's style).
    pub kind: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineMark {
    pub x: f64,
    /// Row (0, 1, 2…) so that labels close in time do not overlap.
    pub y: f64,
    pub label_y: f64,
    pub label: String,
    pub date: String,
    pub kind: &'static str,
    pub past: bool,
    /// `start` (label right of the mark) or `end` (left of it, near the right edge).
    pub anchor: &'static str,
    /// Label offset matching the anchor.
    pub dx: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    pub width: f64,
    pub height: f64,
    pub axis_y: f64,
    pub axis_x1: f64,
    pub axis_x2: f64,
    pub marks: Vec<TimelineMark>,
    pub ticks: Vec<Tick>,
    /// Where today is, when it falls in range.
    pub today_x: Option<f64>,
}

/// The programme on one line: sessions above the axis, due dates below, today's marker.
pub fn timeline(items: &[TimelineItem], today: NaiveDate) -> Option<Timeline> {
    let first = items.iter().map(|i| i.date).min()?;
    let last = items.iter().map(|i| i.date).max()?;
    let start = first - chrono::Duration::days(7);
    let end = last + chrono::Duration::days(7);
    let scale = TimeScale::new(start, end);
    let axis_y = 120.0;
    let mut sorted: Vec<&TimelineItem> = items.iter().collect();
    sorted.sort_by_key(|i| (i.date, i.kind));
    // Alternate label rows by side so neighbours do not collide.
    let (mut above, mut below) = (0usize, 0usize);
    let marks = sorted
        .into_iter()
        .map(|i| {
            let x = scale.x(i.date);
            let is_task = i.kind == "task";
            let row = if is_task {
                below += 1;
                (below - 1) % 3
            } else {
                above += 1;
                (above - 1) % 3
            } as f64;
            let (y, label_y) = if is_task {
                (axis_y + 10.0, axis_y + 34.0 + row * 18.0)
            } else {
                (axis_y - 10.0, axis_y - 26.0 - row * 30.0)
            };
            TimelineMark {
                x,
                y,
                label_y,
                label: i.label.clone(),
                date: fr::date_short(i.date),
                kind: i.kind,
                past: i.date < today,
                anchor: if x > WIDTH * 0.62 { "end" } else { "start" },
                dx: if x > WIDTH * 0.62 { -4.0 } else { 4.0 },
            }
        })
        .collect();
    Some(Timeline {
        width: WIDTH,
        height: 230.0,
        axis_y,
        axis_x1: LEFT,
        axis_x2: WIDTH - RIGHT,
        marks,
        ticks: scale.month_ticks(),
        today_x: (today >= start && today <= end).then(|| scale.x(today)),
    })
}

/// Consultant time planned and logged over time, against the contract.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Burn {
    pub width: f64,
    pub height: f64,
    /// `x,y x,y …` of the cumulative planned time (a step line).
    pub planned: String,
    /// Same for the logged time, up to today.
    pub logged: String,
    pub contract_y: f64,
    pub contract_label: String,
    pub plot_x1: f64,
    pub plot_x2: f64,
    pub plot_top: f64,
    pub plot_bottom: f64,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub today_x: Option<f64>,
}

/// `planned` and `logged` are (date, days) amounts, in any order; `contract_days` the
/// contracted total.
pub fn burn(
    planned: &[(NaiveDate, f64)],
    logged: &[(NaiveDate, f64)],
    contract_days: f64,
    today: NaiveDate,
) -> Option<Burn> {
    let dates = planned.iter().chain(logged).map(|(d, _)| *d);
    let first = dates.clone().min()?;
    let last = dates
        .max()?
        .max(today.min(first + chrono::Duration::days(400)));
    let start = first - chrono::Duration::days(7);
    let end = last + chrono::Duration::days(7);
    let scale = TimeScale::new(start, end);
    let (top, bottom) = (16.0, 250.0);
    let total = |items: &[(NaiveDate, f64)]| items.iter().map(|(_, v)| v).sum::<f64>();
    let max = contract_days
        .max(total(planned))
        .max(total(logged))
        .max(1.0);
    let max = nice_ceiling(max);
    let y = |v: f64| round1(bottom - (bottom - top) * v / max);
    let steps = |items: &[(NaiveDate, f64)], until: Option<NaiveDate>| -> String {
        let mut items: Vec<(NaiveDate, f64)> = items.to_vec();
        items.sort_by_key(|(d, _)| *d);
        let mut points = vec![format!("{},{}", scale.x(start), y(0.0))];
        let mut sum = 0.0;
        for (d, v) in items {
            let x = scale.x(d);
            points.push(format!("{x},{}", y(sum)));
            sum += v;
            points.push(format!("{x},{}", y(sum)));
        }
        let stop = until.unwrap_or(end).min(end);
        points.push(format!("{},{}", scale.x(stop), y(sum)));
        points.join(" ")
    };
    let step = if max <= 6.0 {
        1.0
    } else if max <= 15.0 {
        2.0
    } else if max <= 30.0 {
        5.0
    } else {
        10.0
    };
    let mut y_ticks = Vec::new();
    let mut v = 0.0;
    while v <= max + 1e-9 {
        y_ticks.push(Tick {
            pos: y(v),
            label: fr::decimal(v, 0),
        });
        v += step;
    }
    Some(Burn {
        width: WIDTH,
        height: 290.0,
        planned: steps(planned, None),
        logged: steps(logged, Some(today)),
        contract_y: y(contract_days),
        contract_label: format!("Contrat : {}", fr::days(contract_days)),
        plot_x1: LEFT,
        plot_x2: WIDTH - RIGHT,
        plot_top: top,
        plot_bottom: bottom,
        y_ticks,
        x_ticks: scale.month_ticks(),
        today_x: (today >= start && today <= end).then(|| scale.x(today)),
    })
}

/// The smallest of 1, 2, 5 × 10ⁿ… at or above `v` (axis maximum).
fn nice_ceiling(v: f64) -> f64 {
    let mut base = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * base >= v {
                return m * base;
            }
        }
        base *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn timeline_puts_items_in_date_order_left_to_right_with_today() {
        let items = vec![
            TimelineItem {
                date: d(2027, 3, 15),
                label: "État des lieux".into(),
                kind: "session",
            },
            TimelineItem {
                date: d(2027, 1, 11),
                label: "Session introductive".into(),
                kind: "session",
            },
            TimelineItem {
                date: d(2027, 3, 8),
                label: "État des lieux à rendre".into(),
                kind: "task",
            },
        ];
        let t = timeline(&items, d(2027, 2, 1)).unwrap();
        let xs: Vec<f64> = t.marks.iter().map(|m| m.x).collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{xs:?}");
        assert_eq!(t.marks[0].label, "Session introductive");
        assert!(t.marks[0].past && !t.marks[2].past);
        assert!(t.marks[1].label_y > t.axis_y, "due dates below the axis");
        let today = t.today_x.unwrap();
        assert!(xs[0] < today && today < xs[1]);
        let labels: Vec<&str> = t.ticks.iter().map(|tick| tick.label.as_str()).collect();
        assert_eq!(labels, ["février 2027", "mars"]);
        assert!(t.marks.iter().all(|m| m.x >= t.axis_x1 && m.x <= t.axis_x2));
        assert_eq!(timeline(&[], d(2027, 1, 1)), None);
    }

    #[test]
    fn burn_steps_up_to_the_totals_and_draws_the_contract() {
        let planned = vec![(d(2027, 1, 11), 1.0), (d(2027, 3, 15), 2.0)];
        let logged = vec![(d(2027, 1, 11), 1.5)];
        let b = burn(&planned, &logged, 10.0, d(2027, 2, 1)).unwrap();
        // y axis up to 10 days, ticks every 2.
        assert_eq!(b.y_ticks.len(), 6);
        assert_eq!(b.y_ticks.last().unwrap().label, "10");
        assert_eq!(b.contract_y, b.plot_top);
        // The planned line ends at 3 days: 30 % of the height above the bottom.
        let last_y: f64 = b
            .planned
            .split(' ')
            .next_back()
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let expected = b.plot_bottom - (b.plot_bottom - b.plot_top) * 0.3;
        assert!((last_y - expected).abs() < 0.2, "{last_y} vs {expected}");
        // The logged line stops at today.
        let last_x: f64 = b
            .logged
            .split(' ')
            .next_back()
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(Some(last_x), b.today_x);
        assert_eq!(b.contract_label, "Contrat : 10\u{a0}jours");
        assert_eq!(burn(&[], &[], 10.0, d(2027, 1, 1)), None);
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(0.5), 1.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(10.5), 20.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(51.0), 100.0);
    }
}
