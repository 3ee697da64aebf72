//! What the dashboards show, read in one go: a cohort's figures (consultant days
//! contracted / planned / used, next session, warnings), its timeline and budget burn,
//! the attendance and homework matrices; and, per DLA, every cohort it runs or shares.
//!
//! Read-only; the arithmetic is `domain::budget`, the geometry `domain::charts`.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use diesel::sql_types::Integer;

use crate::db::in_list;
use crate::db::schema::{attendances, cohort_partners, cohorts};
use crate::db::{Backend, Conn};
use crate::domain::budget::{self, Contract, TimeAmount, TimeTotals};
use crate::domain::charts::{self, Burn, Timeline, TimelineItem};
use crate::domain::programme::{ProgrammeTemplate, ScheduledSession, SessionKind};
use crate::domain::{Warning, fr};
use crate::error::AppError;
use crate::models::cohort::{Cohort, CohortRow};
use crate::models::programme::{self, Overview};
use crate::models::session::Session;

/// A cohort's consultant contract as stored (true), or the default one (false).
pub fn contract(conn: &mut Conn, cohort_id: &str) -> Result<(Contract, bool), AppError> {
    let (contract, version) = crate::models::budget::contract(conn, cohort_id)?;
    Ok((contract, version > 0))
}

/// The figures shared by the cohort dashboard and the DLA overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub contracted: String,
    pub planned: String,
    pub logged: String,
    pub remaining: String,
    /// Logged / contracted, in whole percent (for a bar).
    pub used_percent: i64,
    pub contract_recorded: bool,
    pub warnings: Vec<Warning>,
    /// The planned time in days, for the burn chart (the figure is `planned`).
    #[serde(skip)]
    pub planned_days: f64,
}

/// The figures of the budget overview (`models::budget`), in French.
fn figures(
    conn: &mut Conn,
    cohort_id: &str,
    template: &ProgrammeTemplate,
) -> Result<(Contract, Figures), AppError> {
    let (contract, recorded) = contract(conn, cohort_id)?;
    let overview = crate::models::budget::overview(conn, cohort_id, template)?;
    let figures = figures_of(&contract, recorded, &overview.totals, overview.warnings);
    Ok((contract, figures))
}

/// [`Figures`] from a budget's contract, totals and warnings.
fn figures_of(
    contract: &Contract,
    recorded: bool,
    totals: &TimeTotals,
    warnings: Vec<Warning>,
) -> Figures {
    let day = contract.day_length;
    let contracted = contract.contracted_minutes();
    Figures {
        contracted: fr::half_days(contract.contracted_half_days),
        planned: day.format_days(totals.planned_minutes),
        logged: day.format_days(totals.logged_minutes),
        remaining: budget::remaining_label(contracted - totals.logged_minutes, day),
        used_percent: if contracted > 0 {
            (totals.logged_minutes * 100 / contracted).clamp(0, 999)
        } else {
            0
        },
        contract_recorded: recorded,
        warnings,
        planned_days: totals.planned_minutes as f64 / day.minutes() as f64,
    }
}

/// One cell of the attendance matrix.
#[derive(Clone, Debug, Serialize)]
pub struct AttendanceCell {
    /// « 2/2 », « 1/2 », « — » (not logged yet), « » (not concerned).
    pub text: String,
    /// `full`, `partial`, `excused`, `absent`, `unknown`, `none`.
    pub class: &'static str,
    pub title: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AttendanceRow {
    pub association: String,
    pub person: String,
    pub role: String,
    pub cells: Vec<AttendanceCell>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HomeworkCell {
    pub text: String,
    /// `done`, `late`, `todo`.
    pub class: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct HomeworkRow {
    pub association: String,
    pub cells: Vec<HomeworkCell>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Column {
    pub label: String,
    pub date: String,
}

/// The cohort dashboard.
#[derive(Clone, Debug, Serialize)]
pub struct CohortDashboard {
    pub figures: Figures,
    pub next_session: Option<(String, String)>,
    pub programme_warnings: Vec<Warning>,
    pub timeline: Option<Timeline>,
    pub burn: Option<Burn>,
    /// One sentence saying what the burn chart shows, for screen readers.
    pub burn_summary: String,
    pub attendance_columns: Vec<Column>,
    pub attendance: Vec<AttendanceRow>,
    pub homework_columns: Vec<Column>,
    pub homework: Vec<HomeworkRow>,
}

pub fn cohort(
    conn: &mut Conn,
    cohort_id: &str,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    now: NaiveDateTime,
) -> Result<(Overview, CohortDashboard), AppError> {
    let o = programme::overview(conn, cohort_id, template, alsace_moselle)?;
    let (contract, figures) = figures(conn, cohort_id, template)?;
    // (date, amount) of every time entry.
    let logged: Vec<(NaiveDate, TimeAmount)> =
        crate::models::time_entry::list_for_cohort(conn, cohort_id)?
            .iter()
            .filter_map(|e| Some((e.entry_date, e.amount()?)))
            .collect();
    let today = crate::domain::calendar::utc_to_paris(now.and_utc()).date();
    let session_ids: Vec<String> = o.sessions.iter().map(|s| s.id.clone()).collect();
    let marks: Vec<(String, String, i32, String)> = attendances::table
        .filter(in_list(attendances::session_id, &session_ids))
        .select((
            attendances::session_id,
            attendances::participant_id,
            attendances::half_day,
            attendances::status,
        ))
        .load(conn)?;

    let next_session = o.sessions.iter().find(|s| s.starts_at >= now).map(|s| {
        (
            s.label(&o.associations),
            fr::time_range(s.starts_at.and_utc(), s.ends_at.and_utc()),
        )
    });

    // Timeline: sessions above, due dates below.
    let mut items: Vec<TimelineItem> = o
        .sessions
        .iter()
        .filter(|s| s.kind() != SessionKind::BilanIndividuel)
        .map(|s| TimelineItem {
            date: s.local_start().date(),
            label: s.kind().label().to_string(),
            kind: "session",
        })
        .collect();
    let bilans: Vec<&Session> = o
        .sessions
        .iter()
        .filter(|s| s.kind() == SessionKind::BilanIndividuel)
        .collect();
    if let (Some(first), Some(last)) = (
        bilans.iter().map(|s| s.local_start().date()).min(),
        bilans.iter().map(|s| s.local_start().date()).max(),
    ) {
        items.push(TimelineItem {
            date: first,
            label: if first == last {
                format!("Bilans individuels ({})", bilans.len())
            } else {
                format!(
                    "Bilans individuels ({}, jusqu'au {})",
                    bilans.len(),
                    fr::date_short(last)
                )
            },
            kind: "bilan",
        });
    }
    items.extend(o.tasks.iter().map(|t| TimelineItem {
        date: t.due_date,
        label: t.title.clone(),
        kind: "task",
    }));
    let timeline = charts::timeline(&items, today);

    // Burn: planned time at each session's date, logged time at each entry's date.
    let day = contract.day_length;
    let to_days = |a: TimeAmount| a.to_minutes(day) as f64 / day.minutes() as f64;
    let mut planned_points: Vec<(NaiveDate, f64)> = o
        .sessions
        .iter()
        .filter(|s| s.planned_half_days > 0)
        .map(|s| {
            (
                s.local_start().date(),
                to_days(TimeAmount::HalfDays(s.planned_half_days as i64)),
            )
        })
        .collect();
    // The method's time around the sessions (preparation, support, bilans' write-up,
    // coordination, travel) is due by the last session, so the curve ends on the plan.
    let around: f64 = figures.planned_days - planned_points.iter().map(|(_, d)| d).sum::<f64>();
    if let Some(last) = o.sessions.iter().map(|s| s.local_start().date()).max()
        && around > 0.0
    {
        planned_points.push((last, around));
    }
    let logged_points: Vec<(NaiveDate, f64)> =
        logged.iter().map(|(d, a)| (*d, to_days(*a))).collect();
    let contract_days = contract.contracted_half_days as f64 / 2.0;
    let burn = charts::burn(&planned_points, &logged_points, contract_days, today);
    let burn_summary = format!(
        "Temps consultant — prévu au programme : {} ; réalisé à ce jour : {} ; contrat : {}.",
        figures.planned, figures.logged, figures.contracted
    );

    // Attendance: participants × sessions (the bilans share one column).
    let collective: Vec<&Session> = o
        .sessions
        .iter()
        .filter(|s| s.kind() != SessionKind::BilanIndividuel)
        .collect();
    let mut attendance_columns: Vec<Column> = collective
        .iter()
        .map(|s| Column {
            label: s.kind().label().to_string(),
            date: fr::date_short(s.local_start().date()),
        })
        .collect();
    if !bilans.is_empty() {
        attendance_columns.push(Column {
            label: "Bilan individuel".into(),
            date: String::new(),
        });
    }
    let mut by_cell: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (sid, pid, _, status) in &marks {
        by_cell
            .entry((sid.as_str(), pid.as_str()))
            .or_default()
            .push(status.as_str());
    }
    let cell = |s: &Session, pid: &str| -> AttendanceCell {
        let past = s.ends_at < now;
        match by_cell.get(&(s.id.as_str(), pid)) {
            None => AttendanceCell {
                text: if past { "—".into() } else { String::new() },
                class: if past { "unknown" } else { "none" },
                title: if past {
                    "Présence pas encore saisie".into()
                } else {
                    "Séance à venir".into()
                },
            },
            Some(statuses) => {
                let present = statuses.iter().filter(|s| **s == "present").count();
                let excused = statuses.iter().filter(|s| **s == "excuse").count();
                let total = statuses.len();
                let class = if present == total {
                    "full"
                } else if present > 0 {
                    "partial"
                } else if excused > 0 {
                    "excused"
                } else {
                    "absent"
                };
                AttendanceCell {
                    text: format!("{present}/{total}"),
                    class,
                    title: format!(
                        "{present} demi-journée{} présente{} sur {total}",
                        if present > 1 { "s" } else { "" },
                        if present > 1 { "s" } else { "" }
                    ),
                }
            }
        }
    };
    let mut attendance = Vec::new();
    for a in &o.associations {
        for p in o.participants.iter().filter(|p| p.association_id == a.id) {
            let mut cells: Vec<AttendanceCell> =
                collective.iter().map(|s| cell(s, &p.id)).collect();
            if !bilans.is_empty() {
                cells.push(
                    match bilans
                        .iter()
                        .find(|s| s.association_id.as_deref() == Some(a.id.as_str()))
                    {
                        Some(s) => cell(s, &p.id),
                        None => AttendanceCell {
                            text: String::new(),
                            class: "none",
                            title: "Pas de bilan programmé".into(),
                        },
                    },
                );
            }
            attendance.push(AttendanceRow {
                association: a.name.clone(),
                person: p.name.clone(),
                role: crate::models::participant::role_label(&p.role).to_string(),
                cells,
            });
        }
    }

    // Homework: associations × tasks.
    let homework_columns = o
        .tasks
        .iter()
        .map(|t| Column {
            label: t.title.clone(),
            date: fr::date_short(t.due_date),
        })
        .collect();
    let homework = o
        .associations
        .iter()
        .map(|a| HomeworkRow {
            association: a.name.clone(),
            cells: o
                .tasks
                .iter()
                .map(|t| match programme::return_of(&o.returns, &t.id, &a.id) {
                    Some(r) if r.status == "rendu" => HomeworkCell {
                        text: match r.returned_on {
                            Some(d) => format!("rendu le {}", fr::date_short(d)),
                            None => "rendu".into(),
                        },
                        class: "done",
                    },
                    _ if t.due_date < today => HomeworkCell {
                        text: "en retard".into(),
                        class: "late",
                    },
                    _ => HomeworkCell {
                        text: "à faire".into(),
                        class: "todo",
                    },
                })
                .collect(),
        })
        .collect();

    let dashboard = CohortDashboard {
        figures,
        next_session,
        programme_warnings: o.warnings.clone(),
        timeline,
        burn,
        burn_summary,
        attendance_columns,
        attendance,
        homework_columns,
        homework,
    };
    Ok((o, dashboard))
}

/// A line of the DLA overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DlaCohort {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_label: &'static str,
    /// « porteur » or « partenaire ».
    pub role: &'static str,
    pub associations: usize,
    pub figures: Figures,
    pub next_session: Option<String>,
    pub warning_count: usize,
}

/// The cohorts the DLA runs or shares (`cohorts_dla_idx`, `cohort_partners_dla`).
fn dla_cohorts(dla_id: &str) -> cohorts::BoxedQuery<'static, Backend> {
    cohorts::table
        .filter(
            cohorts::dla_id
                .eq(dla_id.to_string())
                .or(cohorts::id.eq_any(
                    cohort_partners::table
                        .filter(cohort_partners::dla_id.eq(dla_id.to_string()))
                        .select(cohort_partners::cohort_id),
                )),
        )
        .into_boxed()
}

/// How many cohorts the DLA overview pages through.
pub fn dla_count(conn: &mut Conn, dla_id: &str) -> Result<i64, AppError> {
    Ok(dla_cohorts(dla_id).count().get_result(conn)?)
}

/// One page of the DLA overview's cohorts: the current ones first, then the drafts, then
/// the ended ones, each by name (public for tests/query_plans.rs).
pub fn dla_page_query(
    dla_id: &str,
    limit: i64,
    offset: i64,
) -> cohorts::BoxedQuery<'static, Backend, CohortRow> {
    crate::db::sql_fragment!(
        /// Current cohorts first, then the drafts, then the ended ones.
        StatusRank: Integer = "CASE cohorts.status WHEN 'en_cours' THEN 0 WHEN 'brouillon' THEN 1 ELSE 2 END"
    );
    dla_cohorts(dla_id)
        .order((StatusRank, cohorts::name.asc(), cohorts::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(Cohort::as_select())
}

/// One page of the DLA overview: each cohort's line from a fixed number of queries keyed
/// by the page's ids (associations, participants, sessions, tasks, contracts, funders, time
/// entries), whatever the number of cohorts; the figures are computed as the cohort's own
/// pages compute them ([`dla_line`], the per-cohort reference the tests compare with).
pub fn dla(
    conn: &mut Conn,
    dla_id: &str,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    now: NaiveDateTime,
    limit: i64,
    offset: i64,
) -> Result<Vec<DlaCohort>, AppError> {
    use crate::models::{association, budget as budgets, session, task, time_entry};
    let page: Vec<Cohort> = dla_page_query(dla_id, limit, offset).load(conn)?;
    let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
    let associations = association::profiles_for_cohorts(conn, &ids)?;
    let sessions = session::timings_for_cohorts(conn, &ids)?;
    let tasks = task::plans_for_cohorts(conn, &ids)?;
    let contracts = budgets::rows_for(conn, &ids)?;
    let funders = budgets::funders_for(conn, &ids)?;
    let logged = time_entry::amounts_for(conn, &ids, None)?;

    // Each row moves into its cohort's facts (the page's index), without a copy.
    let index: HashMap<&str, usize> = page
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut facts: Vec<Facts> = page.iter().map(|_| Facts::default()).collect();
    for a in associations {
        if let Some(&i) = index.get(a.cohort_id.as_str()) {
            facts[i].associations.push(a);
        }
    }
    for s in sessions {
        if let Some(&i) = index.get(s.cohort_id.as_str()) {
            facts[i].sessions.push(s);
        }
    }
    for t in tasks {
        if let Some(&i) = index.get(t.cohort_id.as_str()) {
            facts[i].tasks.push(t);
        }
    }
    Ok(page
        .iter()
        .zip(&facts)
        .map(|(c, f)| {
            let scheduled: Vec<ScheduledSession> = f
                .sessions
                .iter()
                .map(|s| s.scheduled(&f.associations))
                .collect();
            let warnings = programme::warnings_scheduled(
                c,
                &f.associations,
                &scheduled,
                &f.tasks,
                template,
                alsace_moselle,
            );
            let n = f.associations.len();
            let (contract, version) = budgets::contract_of(contracts.get(&c.id), n as i64);
            let list: Vec<_> = funders
                .get(&c.id)
                .map(|rows| rows.iter().map(|r| r.funder()).collect())
                .unwrap_or_default();
            let kinds: Vec<(SessionKind, i64)> = f
                .sessions
                .iter()
                .map(|s| (s.kind(), i64::from(s.planned_half_days)))
                .collect();
            let planned = budgets::planned_from(c, &kinds, n as u32, template);
            let (totals, budget_warnings) = budgets::assess(
                &contract,
                version > 0,
                n as u32,
                &list,
                &planned,
                logged.get(&c.id).map(Vec::as_slice).unwrap_or(&[]),
            );
            let figures = figures_of(&contract, version > 0, &totals, budget_warnings);
            line(dla_id, c, n, &scheduled, warnings.len(), figures, now)
        })
        .collect())
}

/// What the DLA overview reads of one cohort.
#[derive(Default)]
struct Facts {
    associations: Vec<crate::models::association::Profile>,
    sessions: Vec<crate::models::session::Timing>,
    tasks: Vec<crate::models::task::Plan>,
}

/// A line of the overview from the cohort's sessions as scheduled (in order) and its
/// programme warnings' count.
fn line(
    dla_id: &str,
    c: &Cohort,
    associations: usize,
    sessions: &[ScheduledSession],
    programme_warnings: usize,
    figures: Figures,
    now: NaiveDateTime,
) -> DlaCohort {
    DlaCohort {
        id: c.id.clone(),
        name: c.name.clone(),
        status: c.status.clone(),
        status_label: crate::models::cohort::status_label(&c.status),
        role: if c.dla_id == dla_id {
            "porteur"
        } else {
            "partenaire"
        },
        associations,
        next_session: sessions
            .iter()
            .find(|s| s.starts_at.naive_utc() >= now)
            .map(|s| format!("{} — {}", s.label, fr::datetime_long(s.starts_at))),
        warning_count: figures.warnings.len() + programme_warnings,
        figures,
    }
}

/// One cohort's line of the DLA overview computed alone, through the cohort page's own
/// overview and budget (a dozen queries): the reference [`dla`] is tested against.
pub fn dla_line(
    conn: &mut Conn,
    dla_id: &str,
    cohort_id: &str,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    now: NaiveDateTime,
) -> Result<DlaCohort, AppError> {
    let o = programme::overview(conn, cohort_id, template, alsace_moselle)?;
    let (_, figures) = figures(conn, cohort_id, template)?;
    let scheduled: Vec<ScheduledSession> = o
        .sessions
        .iter()
        .map(|s| s.scheduled(&o.associations))
        .collect();
    Ok(line(
        dla_id,
        &o.cohort,
        o.associations.len(),
        &scheduled,
        o.warnings.len(),
        figures,
        now,
    ))
}
