//! The associations' évaluation of the accompaniment: what a valid answer is, when it is
//! reminded and followed up, and how a cohort's answers sum up.
//!
//! Source 003 asks the bilan for « le retour de la structure sur l'accompagnement »; the
//! form follows the « évaluation à chaud / à froid » practice of French training bodies
//! (an answer right after, a follow-up months later on what was implemented) — a product
//! choice beyond the source. Pure: instants come in as arguments.

use chrono::{DateTime, Duration, Months, NaiveTime, Utc};

use crate::domain::calendar;
use crate::domain::schedule;

/// The sessions rated, in the programme's order: (form field / column suffix, label).
pub const SESSIONS: [(&str, &str); 4] = [
    ("introductive", "Session introductive"),
    ("etat_des_lieux", "État des lieux"),
    ("evolution", "Évolution"),
    ("bilan", "Bilan individuel"),
];

/// Whether the association would recommend the accompaniment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recommend {
    Yes,
    No,
    Maybe,
}

impl Recommend {
    pub const ALL: [Recommend; 3] = [Recommend::Yes, Recommend::Maybe, Recommend::No];

    pub fn parse(s: &str) -> Option<Recommend> {
        match s.trim() {
            "oui" => Some(Recommend::Yes),
            "non" => Some(Recommend::No),
            "peut_etre" => Some(Recommend::Maybe),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Recommend::Yes => "oui",
            Recommend::No => "non",
            Recommend::Maybe => "peut_etre",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Recommend::Yes => "Oui",
            Recommend::No => "Non",
            Recommend::Maybe => "Peut-être",
        }
    }
}

/// A satisfaction as typed: empty is « not rated », else a whole number from 1 to 5.
pub fn parse_satisfaction(s: &str) -> Result<Option<i32>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i32>() {
        Ok(n) if (1..=5).contains(&n) => Ok(Some(n)),
        _ => Err("Choisissez une note de 1 (pas satisfait·e) à 5 (très satisfait·e)."),
    }
}

/// When the évaluation's emails leave, after a bilan that ends at `bilan_end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The reminder while unanswered, and the instant after which it is pointless.
    pub reminder: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The follow-up (« suivi »), and the instant after which it is not sent late.
    pub followup: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Reminder `reminder_days` days after the bilan's day, follow-up `followup_months`
/// months after it, both at 9 h Europe/Paris; 0 disables either. A reminder is not sent
/// more than a week late, a follow-up more than a month late.
pub fn plan(bilan_end: DateTime<Utc>, reminder_days: u32, followup_months: u32) -> Plan {
    let day = calendar::utc_to_paris(bilan_end).date();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    let reminder = (reminder_days > 0).then(|| {
        let at = schedule::local(day + Duration::days(i64::from(reminder_days)), nine);
        (at, at + Duration::days(7))
    });
    let followup = (followup_months > 0)
        .then(|| day.checked_add_months(Months::new(followup_months)))
        .flatten()
        .map(|d| {
            let at = schedule::local(d, nine);
            (at, at + Duration::days(31))
        });
    Plan { reminder, followup }
}

/// One association's answer, as the summary needs it.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// In the order of [`SESSIONS`].
    pub satisfaction: [Option<i32>; 4],
    pub recommend: Option<Recommend>,
    pub answered: bool,
    pub followed_up: bool,
}

/// A cohort's answers summed up.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub associations: usize,
    pub answered: usize,
    pub followed_up: usize,
    /// Per session of [`SESSIONS`]: (number of ratings, average).
    pub satisfaction: [(usize, Option<f64>); 4],
    /// Counts in the order of [`Recommend::ALL`].
    pub recommend: [usize; 3],
}

impl Summary {
    /// Share of associations that answered, in whole percent (0 with no association).
    pub fn response_rate(&self) -> u32 {
        if self.associations == 0 {
            return 0;
        }
        ((self.answered * 100 + self.associations / 2) / self.associations) as u32
    }
}

/// Sums up the answers of a cohort of `associations` associations (unanswered forms count
/// in nothing but the total).
pub fn summarise(associations: usize, answers: &[Answer]) -> Summary {
    let answered: Vec<&Answer> = answers.iter().filter(|a| a.answered).collect();
    let mut satisfaction = [(0, None); 4];
    for (i, slot) in satisfaction.iter_mut().enumerate() {
        let notes: Vec<i32> = answered.iter().filter_map(|a| a.satisfaction[i]).collect();
        let sum: i32 = notes.iter().sum();
        *slot = (
            notes.len(),
            (!notes.is_empty()).then(|| f64::from(sum) / notes.len() as f64),
        );
    }
    let mut recommend = [0; 3];
    for a in &answered {
        if let Some(r) = a.recommend
            && let Some(i) = Recommend::ALL.iter().position(|x| *x == r)
        {
            recommend[i] += 1;
        }
    }
    Summary {
        associations,
        answered: answered.len(),
        followed_up: answers.iter().filter(|a| a.followed_up).count(),
        satisfaction,
        recommend,
    }
}

/// Whether the follow-up form is open: from its planned day (or at once when the follow-up
/// is disabled) — asking which pistes were implemented the day after the bilan makes no
/// sense.
pub fn followup_open(plan: &Plan, now: DateTime<Utc>) -> bool {
    plan.followup.is_none_or(|(at, _)| {
        calendar::utc_to_paris(now).date() >= calendar::utc_to_paris(at).date()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn satisfaction_is_a_whole_note_from_one_to_five_or_nothing() {
        assert_eq!(parse_satisfaction(""), Ok(None));
        assert_eq!(parse_satisfaction(" 4 "), Ok(Some(4)));
        assert!(parse_satisfaction("7").is_err());
        assert!(parse_satisfaction("0").is_err());
        assert!(parse_satisfaction("4,5").is_err());
    }

    #[test]
    fn recommendation_reads_its_three_codes_only() {
        for r in Recommend::ALL {
            assert_eq!(Recommend::parse(r.code()), Some(r));
        }
        assert_eq!(Recommend::parse("maybe"), None);
    }

    #[test]
    fn reminder_and_follow_up_leave_at_nine_in_paris_after_the_bilan() {
        // Bilan on Tuesday 15 June 2027, 16 h Paris (14 h UTC, summer time).
        let p = plan(utc(2027, 6, 15, 14), 3, 6);
        let (reminder, until) = p.reminder.unwrap();
        assert_eq!(reminder, utc(2027, 6, 18, 7));
        assert_eq!(until - reminder, Duration::days(7));
        // 15 December: winter time, 9 h Paris = 8 h UTC.
        assert_eq!(p.followup.unwrap().0, utc(2027, 12, 15, 8));
    }

    #[test]
    fn zero_disables_the_reminder_or_the_follow_up() {
        let p = plan(utc(2027, 6, 15, 14), 0, 0);
        assert_eq!(p.reminder, None);
        assert_eq!(p.followup, None);
        assert!(followup_open(&p, utc(2027, 6, 15, 15)));
    }

    #[test]
    fn the_follow_up_form_opens_on_its_day() {
        let p = plan(utc(2027, 6, 15, 14), 3, 6);
        assert!(!followup_open(&p, utc(2027, 12, 14, 20)));
        assert!(followup_open(&p, utc(2027, 12, 15, 0)));
    }

    #[test]
    fn summary_averages_each_session_over_those_who_rated_it() {
        let answers = [
            Answer {
                satisfaction: [Some(4), Some(5), None, Some(3)],
                recommend: Some(Recommend::Yes),
                answered: true,
                followed_up: true,
            },
            Answer {
                satisfaction: [Some(5), Some(4), Some(2), None],
                recommend: Some(Recommend::Maybe),
                answered: true,
                followed_up: false,
            },
            // Not answered yet: counts only in the total.
            Answer::default(),
        ];
        let s = summarise(4, &answers);
        assert_eq!(s.answered, 2);
        assert_eq!(s.followed_up, 1);
        assert_eq!(s.satisfaction[0], (2, Some(4.5)));
        assert_eq!(s.satisfaction[2], (1, Some(2.0)));
        assert_eq!(s.satisfaction[3], (1, Some(3.0)));
        assert_eq!(s.recommend, [1, 1, 0]);
        assert_eq!(s.response_rate(), 50);
    }

    #[test]
    fn response_rate_of_an_empty_cohort_is_zero() {
        assert_eq!(summarise(0, &[]).response_rate(), 0);
        assert_eq!(summarise(3, &[]).satisfaction[0], (0, None));
    }
}
