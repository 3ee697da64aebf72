//! The activity report's arithmetic (issue #17): what a DLA, or the whole instance, did over
//! a period, from facts already read (`models::report` reads them). No I/O, no clock.
//!
//! Attribution, stated on the report ([`ATTRIBUTION`]): a cohort is counted in the period it
//! starts in (its associations, contract, cost and évaluations); sessions and attendance
//! count by session date, consultant time by entry date, whatever year the cohort started.
//! Money is in cents and each funder's part comes from `domain::budget`'s exact split (the
//! caller passes the parts the cohort's budget page shows); days are summed in tenths of a
//! day, each cohort's figure rounded as its own budget page rounds it
//! (`DayLength::tenths_of_day`), so that the report's totals are the sum of what the
//! cohorts' pages show.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::domain::budget::DayLength;
use crate::domain::evaluation::{self, Answer, Summary};

/// The attribution rules, as the report states them.
pub const ATTRIBUTION: &str = "Une cohorte est comptée dans la période où elle commence \
     (associations, contrat, coût, financeurs, évaluations). Les séances et les présences \
     sont comptées à la date de la séance, le temps des consultant·es à la date de la saisie, \
     quelle que soit l'année de début de la cohorte. Une cohorte partagée entre plusieurs \
     DLA figure dans le rapport de chacun avec sa part du coût, et une seule fois dans le \
     total de l'instance.";

/// Longest period a report covers.
pub const MAX_PERIOD_DAYS: i64 = 5 * 366;

/// The dates covered, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The calendar year.
    pub fn year(year: i32) -> Option<Period> {
        Some(Period {
            from: NaiveDate::from_ymd_opt(year, 1, 1)?,
            to: NaiveDate::from_ymd_opt(year, 12, 31)?,
        })
    }

    /// From and to, checked: the end not before the start, at most [`MAX_PERIOD_DAYS`].
    pub fn between(from: NaiveDate, to: NaiveDate) -> Result<Period, &'static str> {
        if to < from {
            return Err("La fin de la période doit être après son début.");
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err("Une période couvre au plus cinq ans.");
        }
        Ok(Period { from, to })
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    /// The whole calendar year, if the period is one.
    pub fn whole_year(&self) -> Option<i32> {
        (Period::year(self.from.year()) == Some(*self)).then_some(self.from.year())
    }

    /// « année 2027 » or « du 1 mars 2027 au 30 juin 2027 ».
    pub fn label(&self) -> String {
        match self.whole_year() {
            Some(y) => format!("année {y}"),
            None => format!(
                "du {} au {}",
                crate::domain::fr::date_short(self.from),
                crate::domain::fr::date_short(self.to)
            ),
        }
    }
}

/// One funder's part of a cohort's cost, as the cohort's budget shows it (stored funders,
/// else the proposal: the owning DLA, or the DLAs in equal shares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunderPart {
    pub name: String,
    pub dla_id: Option<String>,
    pub share_bp: u32,
    pub cents: i64,
}

/// What the report reads of an association (its profile's état des lieux, else the
/// enrolment's figures).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssociationFacts {
    pub sector: String,
    pub town: String,
    pub employees: Option<u32>,
    pub fte_hundredths: Option<u32>,
    pub volunteers: Option<u32>,
}

/// A session dated in the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    /// Its Paris date.
    pub date: NaiveDate,
    /// Ended before the report's instant.
    pub held: bool,
    /// Half-days marked present, and half-days marked at all.
    pub present: u32,
    pub marked: u32,
}

/// A cohort the report involves: started in the period (`counted`), or with sessions or
/// time entries dated in it.
#[derive(Clone, Debug)]
pub struct CohortFacts {
    pub id: String,
    pub name: String,
    pub status: String,
    pub start_date: NaiveDate,
    pub owner_dla_id: String,
    pub owner_dla_name: String,
    pub day: DayLength,
    /// False while the cohort has the default contract (nothing saved on its budget page).
    pub contract_recorded: bool,
    pub contracted_half_days: i64,
    pub cost_cents: i64,
    pub funders: Vec<FunderPart>,
    pub associations: Vec<AssociationFacts>,
    /// The programme's planned time (the budget page's « prévu »), in minutes.
    pub planned_minutes: i64,
    /// Time entries dated in the period, in minutes at the cohort's day length.
    pub logged_minutes: i64,
    /// Sessions dated in the period.
    pub sessions: Vec<SessionFacts>,
    pub evaluations: Vec<Answer>,
}

/// The figures that add up, line by line, to a report's totals: a cohort's line, an owner
/// DLA's (the instance's report), the totals themselves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sums {
    /// Counted on the line of a cohort started in the period only.
    pub associations: usize,
    pub sessions_held: usize,
    pub sessions_to_come: usize,
    pub present_half_days: u32,
    pub marked_half_days: u32,
    pub contracted_tenths: i64,
    pub planned_tenths: i64,
    pub logged_tenths: i64,
    pub cost_cents: i64,
}

impl Sums {
    pub fn add(&mut self, o: &Sums) {
        self.associations += o.associations;
        self.sessions_held += o.sessions_held;
        self.sessions_to_come += o.sessions_to_come;
        self.present_half_days += o.present_half_days;
        self.marked_half_days += o.marked_half_days;
        self.contracted_tenths += o.contracted_tenths;
        self.planned_tenths += o.planned_tenths;
        self.logged_tenths += o.logged_tenths;
        self.cost_cents += o.cost_cents;
    }
}

/// A cohort's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CohortLine {
    pub id: String,
    pub name: String,
    pub status: String,
    pub start_date: NaiveDate,
    pub owner_dla_id: String,
    pub owner_dla_name: String,
    /// `porteur`, `partenaire` (a DLA's report) or `None` (the instance's).
    pub role: Option<&'static str>,
    /// Started in the period: its associations, contract and cost are counted.
    pub counted: bool,
    pub contract_recorded: bool,
    #[serde(flatten)]
    pub sums: Sums,
    /// The report's DLA's part of the cost (the whole cost on the instance's report).
    pub share_cents: i64,
    pub share_bp: u32,
}

/// The instance's report, one line per owner DLA (porteur): the sums of its cohorts' lines,
/// so that the lines add up to the totals — a shared cohort counts once, with its owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DlaLine {
    pub dla_id: String,
    pub name: String,
    /// Cohorts started in the period.
    pub cohorts: usize,
    /// Cohorts started before, with sessions or time in the period.
    pub earlier: usize,
    #[serde(flatten)]
    pub sums: Sums,
}

/// The cohorts' lines summed by owner DLA, by name.
pub fn by_owner(lines: &[CohortLine]) -> Vec<DlaLine> {
    let mut by: BTreeMap<&str, DlaLine> = BTreeMap::new();
    for l in lines {
        let d = by
            .entry(l.owner_dla_id.as_str())
            .or_insert_with(|| DlaLine {
                dla_id: l.owner_dla_id.clone(),
                name: l.owner_dla_name.clone(),
                ..DlaLine::default()
            });
        if l.counted {
            d.cohorts += 1;
        } else {
            d.earlier += 1;
        }
        d.sums.add(&l.sums);
    }
    let mut list: Vec<DlaLine> = by.into_values().collect();
    list.sort_by(|a, b| {
        crate::domain::fr::name_key(&a.name)
            .cmp(&crate::domain::fr::name_key(&b.name))
            .then_with(|| a.dla_id.cmp(&b.dla_id))
    });
    list
}

/// A funder's parts summed over the counted cohorts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunderTotal {
    pub name: String,
    pub dla_id: Option<String>,
    pub cents: i64,
    /// How many cohorts it funds.
    pub cohorts: usize,
    /// The report's own DLA.
    pub is_subject: bool,
}

/// A value and how many associations gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    pub label: String,
    pub associations: usize,
}

/// A sum over the associations, with how many gave the figure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Known {
    pub total: u64,
    pub known: usize,
}

impl Known {
    fn add(&mut self, v: Option<u32>) {
        if let Some(v) = v {
            self.total += u64::from(v);
            self.known += 1;
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Cohorts started in the period, in all and per status (`brouillon`, `en_cours`,
    /// `terminee`).
    pub cohorts: usize,
    pub by_status: BTreeMap<String, usize>,
    pub employees: Known,
    pub fte_hundredths: Known,
    pub volunteers: Known,
    #[serde(flatten)]
    pub sums: Sums,
    pub share_cents: i64,
}

/// The report's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Started in the period first (by start date, then name), then the cohorts started
    /// before with activity in the period.
    pub cohorts: Vec<CohortLine>,
    pub totals: Totals,
    pub funders: Vec<FunderTotal>,
    pub sectors: Vec<Count>,
    pub towns: Vec<Count>,
    pub evaluations: Summary,
}

/// Present over marked half-days, in whole percent (half up); `None` when nothing is marked.
pub fn rate_percent(present: u32, marked: u32) -> Option<u32> {
    (marked > 0).then(|| (present * 100 + marked / 2) / marked)
}

/// The label of a sector or town as counted: trimmed, « Non renseigné » when empty. Values
/// that differ only by case or surrounding spaces count as one.
fn label_of(s: &str) -> String {
    match s.trim() {
        "" => "Non renseigné".to_owned(),
        s => s.to_owned(),
    }
}

fn counts(values: impl Iterator<Item = String>) -> Vec<Count> {
    let mut by: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for v in values {
        let label = label_of(&v);
        let entry = by
            .entry(crate::domain::fr::name_key(&label))
            .or_insert((label.clone(), 0));
        entry.1 += 1;
        // One spelling whatever the order read: capitals sort first (« Culture »).
        if label < entry.0 {
            entry.0 = label;
        }
    }
    let mut out: Vec<Count> = by
        .into_values()
        .map(|(label, associations)| Count {
            label,
            associations,
        })
        .collect();
    out.sort_by(|a, b| {
        b.associations
            .cmp(&a.associations)
            .then_with(|| a.label.cmp(&b.label))
    });
    out
}

/// The figures of `cohorts` over `period`, for the DLA `subject` (its role and share on
/// each line) or the instance (`None`: each cohort's whole cost).
pub fn compute(period: &Period, subject: Option<&str>, cohorts: &[CohortFacts]) -> Figures {
    let mut lines = Vec::new();
    let mut totals = Totals::default();
    let mut funders: Vec<FunderTotal> = Vec::new();
    let mut associations: Vec<&AssociationFacts> = Vec::new();
    let mut answers: Vec<Answer> = Vec::new();
    for c in cohorts {
        let counted = period.contains(c.start_date);
        let held = c.sessions.iter().filter(|s| s.held).count();
        let present: u32 = c
            .sessions
            .iter()
            .filter(|s| s.held)
            .map(|s| s.present)
            .sum();
        let marked: u32 = c.sessions.iter().filter(|s| s.held).map(|s| s.marked).sum();
        let (share_cents, share_bp) = match subject {
            None => (c.cost_cents, crate::domain::budget::FULL_SHARE_BP),
            Some(dla) => c
                .funders
                .iter()
                .filter(|f| f.dla_id.as_deref() == Some(dla))
                .fold((0, 0), |(cents, bp), f| (cents + f.cents, bp + f.share_bp)),
        };
        let mut line = CohortLine {
            id: c.id.clone(),
            name: c.name.clone(),
            status: c.status.clone(),
            start_date: c.start_date,
            owner_dla_id: c.owner_dla_id.clone(),
            owner_dla_name: c.owner_dla_name.clone(),
            role: subject.map(|d| {
                if d == c.owner_dla_id {
                    "porteur"
                } else {
                    "partenaire"
                }
            }),
            counted,
            contract_recorded: c.contract_recorded,
            sums: Sums {
                sessions_held: held,
                sessions_to_come: c.sessions.len() - held,
                present_half_days: present,
                marked_half_days: marked,
                logged_tenths: c.day.tenths_of_day(c.logged_minutes),
                ..Sums::default()
            },
            share_cents: 0,
            share_bp: 0,
        };
        if counted {
            line.sums.associations = c.associations.len();
            line.sums.contracted_tenths = c.contracted_half_days * 5;
            line.sums.planned_tenths = c.day.tenths_of_day(c.planned_minutes);
            line.sums.cost_cents = c.cost_cents;
            line.share_cents = share_cents;
            line.share_bp = share_bp;
            totals.cohorts += 1;
            *totals.by_status.entry(c.status.clone()).or_default() += 1;
            associations.extend(c.associations.iter());
            answers.extend(c.evaluations.iter().cloned());
            for f in &c.funders {
                let same = |t: &FunderTotal| match (&t.dla_id, &f.dla_id) {
                    (Some(a), Some(b)) => a == b,
                    (None, None) => {
                        crate::domain::fr::name_key(&t.name) == crate::domain::fr::name_key(&f.name)
                    }
                    _ => false,
                };
                match funders.iter_mut().find(|t| same(t)) {
                    Some(t) => {
                        t.cents += f.cents;
                        t.cohorts += 1;
                    }
                    None => funders.push(FunderTotal {
                        name: f.name.clone(),
                        dla_id: f.dla_id.clone(),
                        cents: f.cents,
                        cohorts: 1,
                        is_subject: subject.is_some() && f.dla_id.as_deref() == subject,
                    }),
                }
            }
        }
        totals.sums.add(&line.sums);
        totals.share_cents += line.share_cents;
        lines.push(line);
    }
    for a in &associations {
        totals.employees.add(a.employees);
        totals.fte_hundredths.add(a.fte_hundredths);
        totals.volunteers.add(a.volunteers);
    }
    lines.sort_by(|a, b| {
        b.counted
            .cmp(&a.counted)
            .then(a.start_date.cmp(&b.start_date))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    funders.sort_by(|a, b| b.cents.cmp(&a.cents).then_with(|| a.name.cmp(&b.name)));
    Figures {
        cohorts: lines,
        sectors: counts(associations.iter().map(|a| a.sector.clone())),
        towns: counts(associations.iter().map(|a| a.town.clone())),
        evaluations: evaluation::summarise(totals.sums.associations, &answers),
        totals,
        funders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluation::Recommend;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cohort(id: &str, start: NaiveDate, owner: &str) -> CohortFacts {
        CohortFacts {
            id: id.into(),
            name: format!("Cohorte {id}"),
            status: "en_cours".into(),
            start_date: start,
            owner_dla_id: owner.into(),
            owner_dla_name: format!("DLA {owner}"),
            day: DayLength::STANDARD,
            contract_recorded: true,
            contracted_half_days: 24,
            cost_cents: 780_000,
            funders: vec![FunderPart {
                name: format!("DLA {owner}"),
                dla_id: Some(owner.into()),
                share_bp: 10_000,
                cents: 780_000,
            }],
            associations: vec![],
            planned_minutes: 0,
            logged_minutes: 0,
            sessions: vec![],
            evaluations: vec![],
        }
    }

    #[test]
    fn periods_are_years_by_default_and_checked_otherwise() {
        let y = Period::year(2027).unwrap();
        assert_eq!(y.label(), "année 2027");
        assert!(y.contains(d(2027, 12, 31)) && !y.contains(d(2028, 1, 1)));
        let p = Period::between(d(2027, 3, 1), d(2027, 6, 30)).unwrap();
        assert_eq!(p.whole_year(), None);
        assert_eq!(p.label(), "du 01/03/2027 au 30/06/2027");
        assert!(Period::between(d(2027, 3, 1), d(2027, 2, 1)).is_err());
        assert!(Period::between(d(2020, 1, 1), d(2027, 1, 1)).is_err());
    }

    #[test]
    fn a_cohort_counts_in_the_year_it_starts_and_its_activity_by_date() {
        let year = Period::year(2027).unwrap();
        let mut old = cohort("old", d(2026, 11, 2), "a");
        old.associations = vec![AssociationFacts::default()];
        old.logged_minutes = 420; // entries of 2027 only, as the caller filters them
        old.sessions = vec![SessionFacts {
            date: d(2027, 1, 12),
            held: true,
            present: 3,
            marked: 4,
        }];
        let mut new = cohort("new", d(2027, 1, 11), "a");
        new.associations = vec![
            AssociationFacts {
                sector: "Culture".into(),
                town: "Bordeaux".into(),
                employees: Some(5),
                fte_hundredths: Some(350),
                volunteers: Some(20),
            },
            AssociationFacts {
                sector: " culture ".into(),
                town: String::new(),
                employees: None,
                fte_hundredths: None,
                volunteers: Some(3),
            },
        ];
        new.planned_minutes = 12 * 420 + 105; // 12,25 days → 12,3 as the budget page shows
        new.sessions = vec![
            SessionFacts {
                date: d(2027, 1, 11),
                held: true,
                present: 1,
                marked: 2,
            },
            SessionFacts {
                date: d(2027, 12, 1),
                held: false,
                present: 0,
                marked: 0,
            },
        ];
        new.evaluations = vec![Answer {
            satisfaction: [Some(4), None, None, None],
            recommend: Some(Recommend::Yes),
            answered: true,
            followed_up: false,
        }];
        let f = compute(&year, Some("a"), &[old, new]);
        assert_eq!(f.cohorts[0].id, "new", "counted cohorts first");
        assert!(!f.cohorts[1].counted);
        assert_eq!(
            f.cohorts[1].sums.cost_cents, 0,
            "the old cohort's cost is 2026's"
        );
        assert_eq!(f.cohorts[1].sums.associations, 0);
        assert_eq!(f.cohorts[1].sums.logged_tenths, 10);
        assert_eq!(f.totals.cohorts, 1);
        assert_eq!(f.totals.sums.associations, 2);
        assert_eq!(f.totals.employees, Known { total: 5, known: 1 });
        assert_eq!(
            f.totals.volunteers,
            Known {
                total: 23,
                known: 2
            }
        );
        assert_eq!(f.totals.sums.sessions_held, 2);
        assert_eq!(f.totals.sums.sessions_to_come, 1);
        assert_eq!(
            rate_percent(
                f.totals.sums.present_half_days,
                f.totals.sums.marked_half_days
            ),
            Some(67)
        );
        assert_eq!(f.totals.sums.planned_tenths, 123);
        assert_eq!(f.totals.sums.contracted_tenths, 120);
        assert_eq!(f.totals.sums.cost_cents, 780_000);
        assert_eq!(
            f.sectors.len(),
            1,
            "sectors compared without case nor spaces"
        );
        assert_eq!(f.sectors[0].associations, 2);
        assert_eq!(f.towns[1].label, "Non renseigné");
        assert_eq!(f.evaluations.answered, 1);
        assert_eq!(f.evaluations.associations, 2);
    }

    #[test]
    fn a_shared_cohort_gives_each_dla_its_part_and_the_instance_the_whole() {
        let year = Period::year(2027).unwrap();
        let mut shared = cohort("s", d(2027, 3, 1), "a");
        shared.cost_cents = 1_000_001;
        shared.funders = vec![
            FunderPart {
                name: "DLA a".into(),
                dla_id: Some("a".into()),
                share_bp: 3333,
                cents: 333_334,
            },
            FunderPart {
                name: "DLA b".into(),
                dla_id: Some("b".into()),
                share_bp: 3334,
                cents: 333_434,
            },
            FunderPart {
                name: "Région".into(),
                dla_id: None,
                share_bp: 3333,
                cents: 333_233,
            },
        ];
        let own = cohort("o", d(2027, 5, 1), "b");
        let a = compute(&year, Some("a"), std::slice::from_ref(&shared));
        assert_eq!(a.cohorts[0].role, Some("porteur"));
        assert_eq!(a.totals.share_cents, 333_334);
        assert_eq!(a.totals.sums.cost_cents, 1_000_001);
        assert!(a.funders.iter().any(|f| f.is_subject && f.cents == 333_334));
        let b = compute(&year, Some("b"), &[shared.clone(), own.clone()]);
        assert_eq!(b.cohorts[0].role, Some("partenaire"));
        assert_eq!(b.totals.share_cents, 333_434 + 780_000);
        let dla_b = b.funders.iter().find(|f| f.is_subject).unwrap();
        assert_eq!((dla_b.cents, dla_b.cohorts), (333_434 + 780_000, 2));
        let all = compute(&year, None, &[shared, own]);
        assert_eq!(all.totals.sums.cost_cents, 1_780_001);
        assert_eq!(all.totals.share_cents, all.totals.sums.cost_cents);
        assert_eq!(
            all.funders.iter().map(|f| f.cents).sum::<i64>(),
            all.totals.sums.cost_cents,
            "the funders' parts add up to the cost, to the cent"
        );
        assert!(all.cohorts.iter().all(|c| c.role.is_none()));
    }

    #[test]
    fn the_instance_lines_per_owner_dla_add_up_to_the_totals() {
        let year = Period::year(2027).unwrap();
        let mut earlier = cohort("e", d(2026, 10, 1), "b");
        earlier.sessions = vec![SessionFacts {
            date: d(2027, 1, 12),
            held: true,
            present: 14,
            marked: 16,
        }];
        earlier.logged_minutes = 840;
        let mut first = cohort("1", d(2027, 3, 1), "a");
        first.owner_dla_name = "DLA Zéphyr".into();
        let mut second = cohort("2", d(2027, 4, 1), "b");
        second.owner_dla_name = "dla Aube".into();
        earlier.owner_dla_name = "dla Aube".into();
        let all = compute(&year, None, &[first, second, earlier]);
        let lines = by_owner(&all.cohorts);
        // By name, case aside: « dla Aube » before « DLA Zéphyr ».
        let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["dla Aube", "DLA Zéphyr"]);
        let b = &lines[0];
        assert_eq!((b.dla_id.as_str(), b.cohorts, b.earlier), ("b", 1, 1));
        assert_eq!(
            (b.sums.present_half_days, b.sums.marked_half_days),
            (14, 16)
        );
        assert_eq!(
            b.sums.cost_cents, 780_000,
            "only the cohort started in the year costs"
        );
        let mut sum = Sums::default();
        for l in &lines {
            sum.add(&l.sums);
        }
        assert_eq!(sum, all.totals.sums);
        assert_eq!(
            lines.iter().map(|l| l.cohorts).sum::<usize>(),
            all.totals.cohorts
        );
    }
}
