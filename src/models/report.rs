//! The activity report (issue #17): one query layer for the page, the CSV and the API.
//!
//! [`build`] reads, for a DLA (the cohorts it runs or shares, `scope::cohort_condition`)
//! or for the instance, the cohorts the period involves — started in it, or started before
//! with a session or a time entry dated in it — then everything else by those cohorts' ids,
//! one query per table whatever their number; the arithmetic is `domain::report`, each cohort's contract,
//! cost, funders' parts and planned time as its own budget page computes them
//! (`models::budget`).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::Conn;
use crate::db::in_list;
use crate::db::schema::{cohort_partners, cohorts, dlas, evaluations, sessions, time_entries};
use crate::domain::budget::time_totals;
use crate::domain::evaluation::Answer;
use crate::domain::programme::{ProgrammeTemplate, SessionKind};
use crate::domain::report::{
    self, AssociationFacts, CohortFacts, Count, FunderPart, Known, Period, SessionFacts,
};
use crate::domain::{calendar, fr};
use crate::error::AppError;
use crate::export::csv;
use crate::models::cohort::{Cohort, status_label};
use crate::models::dla::Dla;
use crate::models::evaluation::{Evaluation, SummaryView};
use crate::models::input::Check;
use crate::models::scope::{self, CohortScope};
use crate::models::{budget, profile, session, time_entry};

/// Whose report.
#[derive(Clone, Debug)]
pub enum Subject {
    Dla(Dla),
    Instance,
}

/// A cohort's line: its figures (`domain::report::CohortLine`), and their French text.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReportCohort {
    #[serde(flatten)]
    pub line: report::CohortLine,
    pub status_label: &'static str,
    /// Present / marked half-days of the sessions held, in whole percent.
    pub attendance_percent: Option<u32>,
    pub text: LineText,
}

/// An owner DLA's line on the instance's report (`domain::report::DlaLine`), and its text.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReportDla {
    #[serde(flatten)]
    pub line: report::DlaLine,
    pub attendance_percent: Option<u32>,
    pub text: LineText,
}

/// French text of a line or of the totals.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct LineText {
    /// A cohort's start, JJ/MM/AAAA (empty on the totals).
    pub start: String,
    pub contracted: String,
    pub planned: String,
    pub logged: String,
    pub attendance: String,
    pub cost: String,
    pub share: String,
}

/// A funder's parts summed over the counted cohorts.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FunderOut {
    pub name: String,
    pub dla_id: Option<String>,
    pub cents: i64,
    pub amount: String,
    pub cohorts: usize,
    /// The report's own DLA.
    pub is_subject: bool,
}

/// A sum over associations, and how many gave it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KnownOut {
    pub total: u64,
    /// How many associations gave the figure.
    pub known: usize,
    pub text: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub label: &'static str,
    pub cohorts: usize,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CountOut {
    pub label: String,
    pub associations: usize,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TotalsOut {
    /// Cohorts started in the period.
    pub cohorts: usize,
    pub by_status: Vec<StatusCount>,
    #[serde(flatten)]
    pub sums: report::Sums,
    pub employees: KnownOut,
    /// Full-time equivalents in hundredths (350 = 3,5 ETP).
    pub fte_hundredths: KnownOut,
    pub volunteers: KnownOut,
    pub attendance_percent: Option<u32>,
    pub share_cents: i64,
    pub text: LineText,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodOut {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub label: String,
    /// Set when the period is a calendar year.
    pub year: Option<i32>,
}

/// The activity report of a DLA or of the instance.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityReport {
    /// `dla` or `instance`.
    pub kind: &'static str,
    pub dla_id: Option<String>,
    /// The DLA's name, or « Toute l'instance ».
    pub title: String,
    pub period: PeriodOut,
    /// How figures are attributed to the period (stated on the report).
    pub attribution: &'static str,
    /// Started in the period first, then the cohorts started before with activity in it.
    pub cohorts: Vec<ReportCohort>,
    /// The instance's report: the cohorts' lines summed per owner DLA, by name (empty on a
    /// DLA's report).
    pub dlas: Vec<ReportDla>,
    pub totals: TotalsOut,
    pub funders: Vec<FunderOut>,
    pub sectors: Vec<CountOut>,
    pub towns: Vec<CountOut>,
    pub evaluations: SummaryView,
}

/// The period a request asks for: the year `year`, or `from` to `to` (dates `AAAA-MM-JJ` or
/// `JJ/MM/AAAA`), else the calendar year of `today`. A French message beside the field
/// (`keys`: the names of the year, from and to fields) when one cannot be read.
pub fn period_of(
    year: &str,
    from: &str,
    to: &str,
    today: NaiveDate,
    keys: [&str; 3],
) -> Result<Period, AppError> {
    let mut c = Check::new();
    let (year, from, to) = (year.trim(), from.trim(), to.trim());
    let mut period = None;
    if !from.is_empty() || !to.is_empty() {
        if from.is_empty() {
            c.add(keys[1], "Indiquez le début de la période.");
        }
        if to.is_empty() {
            c.add(keys[2], "Indiquez la fin de la période.");
        }
        let f = (!from.is_empty()).then(|| c.date(keys[1], from)).flatten();
        let t = (!to.is_empty()).then(|| c.date(keys[2], to)).flatten();
        if let (Some(f), Some(t)) = (f, t) {
            match Period::between(f, t) {
                Ok(p) => period = Some(p),
                Err(m) => c.add(keys[2], m),
            }
        }
    } else if !year.is_empty() {
        // A year, not any number: the generic « nombre entier, par exemple 12 » would
        // puzzle.
        match year.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => period = Period::year(y),
            _ => c.add(
                keys[0],
                "Indiquez une année sur quatre chiffres, par exemple 2026.",
            ),
        }
    } else {
        period = Period::year(today.year());
    }
    c.finish()?;
    period.ok_or_else(|| AppError::field(keys[0], "Indiquez une année."))
}

fn days(tenths: i64) -> String {
    fr::days(tenths as f64 / 10.0)
}

fn rate_text(rate: Option<u32>) -> String {
    rate.map(|r| format!("{r}{}%", fr::NBSP))
        .unwrap_or_else(|| "—".to_owned())
}

/// The report of `subject` over `period`, at the instant `now` (UTC; a session is held once
/// it has ended).
pub fn build(
    conn: &mut Conn,
    subject: &Subject,
    period: Period,
    default_template: &ProgrammeTemplate,
    now: NaiveDateTime,
) -> Result<ActivityReport, AppError> {
    let scope = match subject {
        Subject::Dla(d) => CohortScope::Dla(d.id.clone()),
        Subject::Instance => CohortScope::All,
    };
    let start = paris_midnight(period.from)?;
    let end = paris_midnight(period.to.succ_opt().unwrap_or(period.to))?;

    // 1. The cohorts the period involves, in one statement: the scope's (in the WHERE)
    //    started in it, and those started before it that have a session or a time entry
    //    dated in it, each looked up by cohort (`sessions_cohort_idx`,
    //    `time_entries_cohort_idx`): a DLA's report reads its own cohorts, never the
    //    network's sessions of the year, and the rows read are the involved cohorts', not
    //    every cohort started by the period's end (at a network's size, three times more).
    let dated_session = diesel::dsl::exists(
        sessions::table
            .filter(sessions::cohort_id.eq(cohorts::id))
            .filter(sessions::starts_at.ge(start))
            .filter(sessions::starts_at.lt(end)),
    );
    let dated_entry = diesel::dsl::exists(
        time_entries::table
            .filter(time_entries::cohort_id.eq(cohorts::id))
            .filter(time_entries::entry_date.between(period.from, period.to)),
    );
    let mut q = cohorts::table
        .filter(cohorts::start_date.le(period.to))
        .filter(
            cohorts::start_date
                .ge(period.from)
                .or(dated_session)
                .or(dated_entry),
        )
        .select(Cohort::as_select())
        .into_boxed();
    if let Some(cond) = scope::cohort_condition(&scope) {
        q = q.filter(cond);
    }
    let involved: Vec<Cohort> = q.order(cohorts::id.asc()).load(conn)?;
    let ids: Vec<String> = involved.iter().map(|c| c.id.clone()).collect();
    let counted: Vec<String> = involved
        .iter()
        .filter(|c| period.contains(c.start_date))
        .map(|c| c.id.clone())
        .collect();

    // 2. Sums in SQL, grouped per cohort or per session, so that the rows read follow the
    //    cohorts in the report, not their history: the plan's sessions counted by kind and
    //    planned half-days; the sessions dated in the period (four columns) with their
    //    attendance counted; time entries summed by kind; contracts.
    let plan = session::plan_counts(conn, &ids)?;
    let dated = session::dated_between(conn, &ids, start, end)?;
    let logged = time_entry::amounts_for(conn, &ids, Some((period.from, period.to)))?;
    let contracts = budget::rows_for(conn, &ids)?;

    // 3. What the counted cohorts bring: associations (the four columns the report reads)
    //    with their état des lieux's human figures, funders, the DLAs of the proposals,
    //    évaluations.
    let associations = profile::reported_for_cohorts(conn, &counted)?;
    let funders = budget::funders_for(conn, &counted)?;
    let partners: Vec<(String, Dla)> = cohort_partners::table
        .inner_join(dlas::table)
        .filter(in_list(cohort_partners::cohort_id, &counted))
        .order((cohort_partners::cohort_id, dlas::name.asc()))
        .select((cohort_partners::cohort_id, Dla::as_select()))
        .load(conn)?;
    let owner_ids: Vec<&str> = involved.iter().map(|c| c.dla_id.as_str()).collect();
    let owners: HashMap<String, Dla> = dlas::table
        .filter(in_list(dlas::id, &owner_ids))
        .select(Dla::as_select())
        .load::<Dla>(conn)?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let answers: Vec<Evaluation> = evaluations::table
        .filter(in_list(evaluations::cohort_id, &counted))
        .select(Evaluation::as_select())
        .load(conn)?;

    // Each list grouped by cohort once (no scan of every list per cohort).
    let plan = group(plan.iter(), |p| p.0.as_str());
    let dated_by = group(dated.iter(), |s| s.cohort_id.as_str());
    let associations_by = group(associations.iter(), |a| a.cohort_id.as_str());
    let partners_by = group(partners.iter(), |p| p.0.as_str());
    let answers_by = group(answers.iter(), |e| e.cohort_id.as_str());

    let mut facts = Vec::with_capacity(involved.len());
    for c in &involved {
        let is_counted = period.contains(c.start_date);
        let own = associations_by
            .get(c.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let n = own.len();
        let (contract, version) = budget::contract_of(contracts.get(&c.id), n as i64);
        let cost_cents = contract.cost_cents();
        let owner = owners.get(&c.dla_id);
        let parts = if !is_counted {
            Vec::new()
        } else {
            match funders.get(&c.id) {
                Some(rows) if !rows.is_empty() => budget::stored_shares(cost_cents, rows),
                _ => {
                    let mut dlas: Vec<Dla> = owner.cloned().into_iter().collect();
                    dlas.extend(
                        partners_by
                            .get(c.id.as_str())
                            .into_iter()
                            .flatten()
                            .map(|p| p.1.clone()),
                    );
                    budget::proposed_shares(cost_cents, budget::proposal_of(dlas))
                }
            }
        };
        let kinds: Vec<(SessionKind, i64)> = plan
            .get(c.id.as_str())
            .into_iter()
            .flatten()
            .flat_map(|p| {
                let kind = SessionKind::parse(&p.1).unwrap_or(SessionKind::Introductive);
                (0..p.3).map(move |_| (kind, i64::from(p.2)))
            })
            .collect();
        let planned = budget::planned_from(c, &kinds, n as u32, default_template);
        let logged = logged.get(&c.id).map_or(&[][..], Vec::as_slice);
        let totals = time_totals(&planned, logged, contract.day_length);
        facts.push(CohortFacts {
            id: c.id.clone(),
            name: c.name.clone(),
            status: c.status.clone(),
            start_date: c.start_date,
            owner_dla_id: c.dla_id.clone(),
            owner_dla_name: owner.map(|d| d.name.clone()).unwrap_or_default(),
            day: contract.day_length,
            contract_recorded: version > 0,
            contracted_half_days: contract.contracted_half_days,
            cost_cents,
            funders: parts
                .into_iter()
                .map(|f| FunderPart {
                    name: f.name,
                    dla_id: f.dla_id,
                    share_bp: f.share_bp,
                    cents: f.cost_cents,
                })
                .collect(),
            associations: own
                .iter()
                .map(|a| {
                    let human = a.human.as_ref();
                    AssociationFacts {
                        sector: a.sector.clone(),
                        town: a.town.clone(),
                        employees: human
                            .and_then(|h| h.employees)
                            .or(a.salaried_staff.and_then(|n| u32::try_from(n).ok())),
                        fte_hundredths: human.and_then(|h| h.employees_fte_hundredths),
                        volunteers: human.and_then(|h| h.volunteers),
                    }
                })
                .collect(),
            planned_minutes: totals.planned_minutes,
            logged_minutes: totals.logged_minutes,
            sessions: dated_by
                .get(c.id.as_str())
                .into_iter()
                .flatten()
                .map(|s| SessionFacts {
                    date: calendar::utc_to_paris(s.starts_at.and_utc()).date(),
                    held: s.ends_at <= now,
                    present: u32::try_from(s.present).unwrap_or(0),
                    marked: u32::try_from(s.marked).unwrap_or(0),
                })
                .collect(),
            evaluations: answers_by
                .get(c.id.as_str())
                .into_iter()
                .flatten()
                .map(|e| e.answer())
                .collect::<Vec<Answer>>(),
        });
    }
    let subject_id = match subject {
        Subject::Dla(d) => Some(d.id.as_str()),
        Subject::Instance => None,
    };
    let f = report::compute(&period, subject_id, &facts);
    Ok(view(subject, period, f))
}

/// `items` by the cohort `key` gives, in their order.
fn group<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&'a T) -> &'a str,
) -> HashMap<&'a str, Vec<&'a T>> {
    let mut by: HashMap<&str, Vec<&T>> = HashMap::new();
    for item in items {
        by.entry(key(item)).or_default().push(item);
    }
    by
}

/// Midnight in Paris, as the UTC instant sessions are stored with.
fn paris_midnight(d: NaiveDate) -> Result<NaiveDateTime, AppError> {
    calendar::paris_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"))
        .map(|t| t.naive_utc())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

fn known(k: Known, text: String) -> KnownOut {
    KnownOut {
        total: k.total,
        known: k.known,
        text,
    }
}

fn counts(list: Vec<Count>) -> Vec<CountOut> {
    list.into_iter()
        .map(|c| CountOut {
            label: c.label,
            associations: c.associations,
        })
        .collect()
}

fn attendance(s: &report::Sums) -> Option<u32> {
    report::rate_percent(s.present_half_days, s.marked_half_days)
}

/// The French text of a line's figures; contract, plan and cost only for a cohort started
/// in the period (`counted`). No start, no share: the caller's.
fn sums_text(s: &report::Sums, counted: bool) -> LineText {
    let only_counted = |text: String| if counted { text } else { String::new() };
    LineText {
        start: String::new(),
        contracted: only_counted(days(s.contracted_tenths)),
        planned: only_counted(days(s.planned_tenths)),
        logged: days(s.logged_tenths),
        attendance: rate_text(attendance(s)),
        cost: only_counted(fr::euros_cents(s.cost_cents)),
        share: String::new(),
    }
}

/// The CSV's columns of a line's [`report::Sums`], and their cells.
const SUMS_HEADER: [&str; 10] = [
    "Associations",
    "Séances tenues",
    "Séances à venir",
    "Demi-journées présentes",
    "Demi-journées saisies",
    "Présence (%)",
    "Jours contractés",
    "Jours prévus",
    "Jours réalisés dans la période",
    "Coût (€)",
];

fn sums_cells(s: &report::Sums) -> Vec<String> {
    vec![
        s.associations.to_string(),
        s.sessions_held.to_string(),
        s.sessions_to_come.to_string(),
        s.present_half_days.to_string(),
        s.marked_half_days.to_string(),
        attendance(s).map(|p| p.to_string()).unwrap_or_default(),
        csv::fixed(s.contracted_tenths, 1),
        csv::fixed(s.planned_tenths, 1),
        csv::fixed(s.logged_tenths, 1),
        csv::fixed(s.cost_cents, 2),
    ]
}

fn view(subject: &Subject, period: Period, f: report::Figures) -> ActivityReport {
    let dlas = match subject {
        Subject::Dla(_) => Vec::new(),
        Subject::Instance => report::by_owner(&f.cohorts)
            .into_iter()
            .map(|line| ReportDla {
                attendance_percent: attendance(&line.sums),
                text: sums_text(&line.sums, true),
                line,
            })
            .collect(),
    };
    let cohorts = f
        .cohorts
        .into_iter()
        .map(|c| ReportCohort {
            status_label: status_label(&c.status),
            attendance_percent: attendance(&c.sums),
            text: LineText {
                start: fr::date_short(c.start_date),
                share: if c.counted {
                    format!(
                        "{} ({})",
                        fr::euros_cents(c.share_cents),
                        crate::domain::budget::percent(c.share_bp)
                    )
                } else {
                    String::new()
                },
                ..sums_text(&c.sums, c.counted)
            },
            line: c,
        })
        .collect();
    let t = f.totals;
    let totals = TotalsOut {
        cohorts: t.cohorts,
        by_status: crate::models::cohort::STATUSES
            .iter()
            .map(|(code, label)| StatusCount {
                status: code.to_string(),
                label,
                cohorts: t.by_status.get(*code).copied().unwrap_or(0),
            })
            .collect(),
        sums: t.sums,
        employees: known(t.employees, t.employees.total.to_string()),
        fte_hundredths: known(
            t.fte_hundredths,
            crate::domain::profile_charts::fte(
                u32::try_from(t.fte_hundredths.total).unwrap_or(u32::MAX),
            ),
        ),
        volunteers: known(t.volunteers, t.volunteers.total.to_string()),
        attendance_percent: attendance(&t.sums),
        share_cents: t.share_cents,
        text: LineText {
            share: fr::euros_cents(t.share_cents),
            ..sums_text(&t.sums, true)
        },
    };
    let (kind, dla_id, title) = match subject {
        Subject::Dla(d) => ("dla", Some(d.id.clone()), d.name.clone()),
        Subject::Instance => ("instance", None, "Toute l'instance".to_owned()),
    };
    ActivityReport {
        kind,
        dla_id,
        title,
        period: PeriodOut {
            from: period.from,
            to: period.to,
            label: period.label(),
            year: period.whole_year(),
        },
        attribution: report::ATTRIBUTION,
        cohorts,
        dlas,
        totals,
        funders: f
            .funders
            .into_iter()
            .map(|x| FunderOut {
                amount: fr::euros_cents(x.cents),
                name: x.name,
                dla_id: x.dla_id,
                cents: x.cents,
                cohorts: x.cohorts,
                is_subject: x.is_subject,
            })
            .collect(),
        sectors: counts(f.sectors),
        towns: counts(f.towns),
        evaluations: SummaryView::from_summary(&f.evaluations),
    }
}

/// The report as a CSV for French Excel (`export::csv`): the cohorts with a total line,
/// the instance's lines per owner DLA, then the funders, the associations' figures, sectors, towns and the évaluations, each
/// block under its own header line.
pub fn csv(r: &ActivityReport) -> Vec<u8> {
    let cents = |c: i64| csv::fixed(c, 2);
    let header: Vec<&str> = [
        "Cohorte",
        "Statut",
        "Début",
        "DLA porteur",
        "Rôle du DLA",
        "Comptée dans la période",
    ]
    .into_iter()
    .chain(SUMS_HEADER)
    .chain(["Part du DLA (€)", "Contrat"])
    .collect();
    let mut rows: Vec<Vec<String>> = r
        .cohorts
        .iter()
        .map(|c| {
            let mut row = vec![
                csv::text(&c.line.name),
                c.status_label.to_string(),
                csv::date(c.line.start_date),
                csv::text(&c.line.owner_dla_name),
                c.line.role.unwrap_or("").to_string(),
                if c.line.counted { "oui" } else { "non" }.to_string(),
            ];
            row.extend(sums_cells(&c.line.sums));
            row.push(cents(c.line.share_cents));
            row.push(
                match (c.line.counted, c.line.contract_recorded) {
                    (false, _) => "",
                    (true, true) => "enregistré",
                    (true, false) => "par défaut",
                }
                .to_string(),
            );
            row
        })
        .collect();
    let t = &r.totals;
    let mut total = vec![
        "Total".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        t.cohorts.to_string(),
    ];
    total.extend(sums_cells(&t.sums));
    total.push(cents(t.share_cents));
    rows.push(total);
    if !r.dlas.is_empty() {
        rows.push(vec![]);
        rows.push(
            [
                "DLA porteur",
                "Cohortes commencées",
                "Cohortes commencées avant, actives",
            ]
            .into_iter()
            .chain(SUMS_HEADER)
            .map(String::from)
            .collect(),
        );
        for d in &r.dlas {
            let mut row = vec![
                csv::text(&d.line.name),
                d.line.cohorts.to_string(),
                d.line.earlier.to_string(),
            ];
            row.extend(sums_cells(&d.line.sums));
            rows.push(row);
        }
    }
    rows.push(vec![]);
    rows.push(vec![
        "Financeur".into(),
        "Montant (€)".into(),
        "Cohortes".into(),
    ]);
    for f in &r.funders {
        rows.push(vec![
            csv::text(&f.name),
            cents(f.cents),
            f.cohorts.to_string(),
        ]);
    }
    rows.push(vec![]);
    rows.push(vec![
        "Associations".into(),
        "Total".into(),
        "Associations renseignées".into(),
    ]);
    rows.push(vec![
        "Associations accompagnées".into(),
        t.sums.associations.to_string(),
        t.sums.associations.to_string(),
    ]);
    rows.push(vec![
        "Salarié·es".into(),
        t.employees.total.to_string(),
        t.employees.known.to_string(),
    ]);
    rows.push(vec![
        "ETP salariés".into(),
        cents(t.fte_hundredths.total as i64),
        t.fte_hundredths.known.to_string(),
    ]);
    rows.push(vec![
        "Bénévoles".into(),
        t.volunteers.total.to_string(),
        t.volunteers.known.to_string(),
    ]);
    rows.push(vec![]);
    rows.push(vec!["Secteur".into(), "Associations".into()]);
    for s in &r.sectors {
        rows.push(vec![csv::text(&s.label), s.associations.to_string()]);
    }
    rows.push(vec![]);
    rows.push(vec!["Commune".into(), "Associations".into()]);
    for s in &r.towns {
        rows.push(vec![csv::text(&s.label), s.associations.to_string()]);
    }
    rows.push(vec![]);
    let e = &r.evaluations;
    rows.push(vec!["Évaluations".into(), "Valeur".into()]);
    rows.push(vec![
        "Associations ayant répondu".into(),
        e.answered.to_string(),
    ]);
    rows.push(vec![
        "Taux de réponse (%)".into(),
        e.response_rate.to_string(),
    ]);
    for s in &e.satisfaction {
        rows.push(vec![
            format!("Satisfaction — {}", s.label),
            s.average
                .map(|a| csv::decimal_comma(a, 1))
                .unwrap_or_default(),
        ]);
    }
    rows.push(vec![
        "Recommanderaient : oui".into(),
        e.recommend_yes.to_string(),
    ]);
    rows.push(vec![
        "Recommanderaient : peut-être".into(),
        e.recommend_maybe.to_string(),
    ]);
    rows.push(vec![
        "Recommanderaient : non".into(),
        e.recommend_no.to_string(),
    ]);
    rows.push(vec!["Suivis reçus".into(), e.followed_up.to_string()]);
    csv::csv(&header, &rows)
}
