//! A cohort's programme as a whole: generating it from the template (through the pure
//! engine in `domain::programme`), and the cohort overview with its warnings.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{intersession_tasks, sessions};
use crate::db::{Conn, Tx};
use crate::domain::programme::{self as engine, AssociationRef, ProgrammeTemplate, SessionKind};
use crate::domain::{Warning, rules};
use crate::error::AppError;
use crate::models::association::Association;
use crate::models::cohort::Cohort;
use crate::models::consultant::Consultant;
use crate::models::input::new_id;
use crate::models::participant::Participant;
use crate::models::session::Session;
use crate::models::task::{IntersessionTask, TaskReturn};
use crate::models::{association, audit, cohort, dla, participant, session, task};

/// The result of generating a programme.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Generated {
    pub sessions: Vec<Session>,
    pub tasks: Vec<IntersessionTask>,
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Warning>,
}

/// Generates the four-session programme and the default intersession tasks. Refused when a
/// programme exists, unless `replace` (which deletes the current sessions and tasks).
pub fn generate(
    tx: &mut Tx,
    cohort_id: &str,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
    replace: bool,
) -> Result<Generated, AppError> {
    // Two generations at once would both find no programme and both create one.
    crate::db::lock_cohort(tx, cohort_id)?;
    let c = cohort::get(tx, cohort_id)?;
    let existing = session::list_for_cohort(tx, cohort_id)?;
    if !existing.is_empty() && !replace {
        return Err(AppError::Conflict {
            code: "programme_exists",
            message: "Le programme de cette cohorte existe déjà. Pour le recréer, confirmez le \
                          remplacement : les séances et travaux actuels seront supprimés."
                .into(),
        });
    }
    if replace && !existing.is_empty() && c.published_at.is_some() {
        return Err(AppError::Conflict {
            code: "programme_published",
            message: "Le programme est publié : les participant·es ont reçu leurs \
                          convocations. Déplacez ou supprimez les séances une à une pour \
                          qu'ils et elles soient prévenu·es de chaque changement."
                .into(),
        });
    }
    let associations = association::list_for_cohort(tx, cohort_id)?;
    let before = if existing.is_empty() {
        None
    } else {
        let tasks = task::list_for_cohort(tx, cohort_id)?;
        Some(audited(&existing, &tasks, &associations))
    };
    if replace {
        diesel::delete(
            intersession_tasks::table.filter(intersession_tasks::cohort_id.eq(cohort_id)),
        )
        .execute(tx.conn())?;
        diesel::delete(sessions::table.filter(sessions::cohort_id.eq(cohort_id)))
            .execute(tx.conn())?;
    }
    let refs: Vec<AssociationRef> = associations
        .iter()
        .map(|a| AssociationRef {
            id: a.id.clone(),
            name: a.name.clone(),
        })
        .collect();
    let template = c.template(default_template);
    let programme =
        engine::generate(c.start_date, &refs, &template, alsace_moselle).map_err(|e| {
            AppError::BadRequest {
                code: "invalid_programme",
                message: e.to_string(),
            }
        })?;
    let t = tx.now_naive();
    let mut session_ids = Vec::new();
    for s in &programme.sessions {
        let id = new_id();
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(&id),
                sessions::cohort_id.eq(cohort_id),
                sessions::kind.eq(s.kind.as_str()),
                sessions::association_id.eq(&s.association_id),
                sessions::starts_at.eq(s.starts_at.naive_utc()),
                sessions::ends_at.eq(s.ends_at.naive_utc()),
                sessions::agenda.eq(&s.agenda),
                sessions::planned_half_days.eq(s.planned_half_days as i32),
                sessions::sequence.eq(0),
                sessions::version.eq(1),
                sessions::created_at.eq(t),
                sessions::updated_at.eq(t),
            ))
            .execute(tx.conn())?;
        session_ids.push(id);
    }
    for task in &programme.tasks {
        diesel::insert_into(intersession_tasks::table)
            .values((
                intersession_tasks::id.eq(new_id()),
                intersession_tasks::cohort_id.eq(cohort_id),
                intersession_tasks::session_id
                    .eq(task.session_index.map(|i| session_ids[i].clone())),
                intersession_tasks::title.eq(&task.title),
                intersession_tasks::instructions.eq(&task.instructions),
                intersession_tasks::due_date.eq(task.due_date),
                intersession_tasks::preparation_half_days.eq(task.preparation_half_days as i32),
                intersession_tasks::version.eq(1),
                intersession_tasks::created_at.eq(t),
                intersession_tasks::updated_at.eq(t),
            ))
            .execute(tx.conn())?;
    }
    crate::models::planner::touch(tx, cohort_id)?;
    let sessions = session::list_for_cohort(tx, cohort_id)?;
    let tasks = task::list_for_cohort(tx, cohort_id)?;
    // One row for the whole programme, not one per session and task.
    let after = audited(&sessions, &tasks, &associations);
    let action = if before.is_some() {
        audit::Action::Update
    } else {
        audit::Action::Create
    };
    audit::record(
        tx,
        "programme",
        cohort_id,
        Some(cohort_id),
        action,
        before.as_ref(),
        Some(&after),
    )?;
    Ok(Generated {
        sessions,
        tasks,
        warnings: programme.warnings,
    })
}

/// Gives a newly enrolled association its bilan in a programme that exists, where the
/// template puts the next one (`domain::programme::next_bilan_slot`), in the caller's
/// transaction (`association::enrol`, whoever enrols: a person, an import, an
/// application). When it is the programme's first bilan, the tasks preparing the bilans
/// follow it as generation would have linked and dated them
/// (`domain::programme::first_bilan_tasks`); later bilans come after the first, which
/// keeps its tasks. Audited like a session and tasks created or moved by hand; the
/// planner is touched by the caller. Returns `None` (and logs why) when the engine finds
/// no slot or refuses the cohort's template: the enrolment stands, and the cohort page's
/// `missing_bilan` warning asks for the bilan by hand.
pub(crate) fn add_bilan(
    tx: &mut Tx,
    cohort: &Cohort,
    association_id: &str,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Option<Session>, AppError> {
    let existing = session::list_for_cohort(tx, &cohort.id)?;
    if existing.is_empty()
        || existing
            .iter()
            .any(|s| s.association_id.as_deref() == Some(association_id))
    {
        return Ok(None);
    }
    let associations = association::list_for_cohort(tx, &cohort.id)?;
    let scheduled: Vec<_> = existing
        .iter()
        .map(|s| s.scheduled(&associations))
        .collect();
    let template = cohort.template(default_template);
    let slot = match engine::next_bilan_slot(
        cohort.start_date,
        &scheduled,
        association_id,
        &template,
        alsace_moselle,
        tx.now_naive().and_utc(),
    ) {
        Ok(slot) => slot,
        Err(e) => {
            tracing::warn!(cohort = %cohort.id, error = %e, "no bilan scheduled at enrolment");
            return Ok(None);
        }
    };
    let first = !existing
        .iter()
        .any(|s| s.kind() == SessionKind::BilanIndividuel);
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&id),
            sessions::cohort_id.eq(&cohort.id),
            sessions::kind.eq(slot.kind.as_str()),
            sessions::association_id.eq(&slot.association_id),
            sessions::starts_at.eq(slot.starts_at.naive_utc()),
            sessions::ends_at.eq(slot.ends_at.naive_utc()),
            sessions::agenda.eq(&slot.agenda),
            sessions::planned_half_days.eq(slot.planned_half_days as i32),
            sessions::sequence.eq(0),
            sessions::version.eq(1),
            sessions::created_at.eq(t),
            sessions::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    let created = session::get(tx, &id)?;
    audit::created(tx, "session", &id, Some(&cohort.id), &created)?;
    if first {
        let tasks: Vec<_> = task::list_for_cohort(tx, &cohort.id)?
            .iter()
            .map(|t| t.scheduled())
            .collect();
        for m in engine::first_bilan_tasks(&template, &tasks, slot.starts_at, alsace_moselle) {
            let before = task::get(tx, &m.task_id)?;
            diesel::update(intersession_tasks::table.find(&m.task_id))
                .set((
                    intersession_tasks::session_id.eq(Some(&id)),
                    intersession_tasks::due_date.eq(m.new_due),
                    intersession_tasks::version.eq(intersession_tasks::version + 1),
                    intersession_tasks::updated_at.eq(tx.now_naive()),
                ))
                .execute(tx.conn())?;
            let after = task::get(tx, &m.task_id)?;
            audit::updated(tx, "task", &m.task_id, Some(&cohort.id), &before, &after)?;
        }
    }
    Ok(Some(created))
}

/// The programme as the audit log keeps it: one line per session and per task.
fn audited(
    sessions: &[Session],
    tasks: &[IntersessionTask],
    associations: &[Association],
) -> serde_json::Value {
    use crate::domain::fr::date_short;
    let sessions: Vec<String> = sessions
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.label(associations),
                date_short(s.local_start().date())
            )
        })
        .collect();
    let tasks: Vec<String> = tasks
        .iter()
        .map(|t| format!("{} ({})", t.title, date_short(t.due_date)))
        .collect();
    serde_json::json!({"sessions": sessions, "tasks": tasks})
}

/// Everything the cohort page shows, loaded in one go.
pub struct Overview {
    pub cohort: Cohort,
    pub dla: dla::Dla,
    pub partners: Vec<dla::Dla>,
    pub consultant: Option<crate::models::consultant::Consultant>,
    pub associations: Vec<Association>,
    pub participants: Vec<Participant>,
    pub sessions: Vec<Session>,
    pub tasks: Vec<IntersessionTask>,
    pub returns: Vec<TaskReturn>,
    pub warnings: Vec<Warning>,
}

/// The cohort `id` with its DLA and its consultant·e, in one statement (a 404 when the
/// cohort does not exist).
fn cohort_dla_consultant(
    conn: &mut Conn,
    id: &str,
) -> Result<(Cohort, dla::Dla, Option<Consultant>), AppError> {
    use crate::db::schema::{cohorts, consultants, dlas};
    cohorts::table
        .inner_join(dlas::table.on(dlas::id.eq(cohorts::dla_id)))
        .left_join(consultants::table.on(consultants::id.nullable().eq(cohorts::consultant_id)))
        .filter(cohorts::id.eq(id))
        .select((
            Cohort::as_select(),
            dla::Dla::as_select(),
            Option::<Consultant>::as_select(),
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Cohorte"))
}

pub fn overview(
    conn: &mut Conn,
    cohort_id: &str,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Overview, AppError> {
    let (cohort, dla, consultant) = cohort_dla_consultant(conn, cohort_id)?;
    let partners = cohort::partners(conn, cohort_id)?;
    let associations = association::list_for_cohort(conn, cohort_id)?;
    let participants = participant::list_for_cohort(conn, cohort_id)?;
    let sessions = session::list_for_cohort(conn, cohort_id)?;
    let tasks = task::list_for_cohort(conn, cohort_id)?;
    let returns = task::returns_for_cohort(conn, cohort_id)?;
    let warnings = warnings(
        &cohort,
        &associations,
        &participants,
        &sessions,
        &tasks,
        default_template,
        alsace_moselle,
    );
    Ok(Overview {
        cohort,
        dla,
        partners,
        consultant,
        associations,
        participants,
        sessions,
        tasks,
        returns,
        warnings,
    })
}

/// The cohort's warnings: the programme's shape and each association's profile.
pub fn warnings(
    cohort: &Cohort,
    associations: &[Association],
    participants: &[Participant],
    sessions: &[Session],
    tasks: &[IntersessionTask],
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Vec<Warning> {
    let scheduled: Vec<_> = sessions.iter().map(|s| s.scheduled(associations)).collect();
    let profiles: Vec<_> = associations
        .iter()
        .map(|a| a.profile(participants))
        .collect();
    let plans: Vec<_> = tasks.iter().map(IntersessionTask::plan).collect();
    warnings_scheduled(
        cohort,
        &profiles,
        &scheduled,
        &plans,
        default_template,
        alsace_moselle,
    )
}

/// [`warnings`] from the associations' profiles (their people's roles included) and the
/// sessions as scheduled (`Session::scheduled`): what the DLA overview reads of its cohorts.
pub fn warnings_scheduled(
    cohort: &Cohort,
    associations: &[association::Profile],
    scheduled: &[engine::ScheduledSession],
    tasks: &[task::Plan],
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Vec<Warning> {
    let template = cohort.template(default_template);
    let scheduled_tasks: Vec<_> = tasks.iter().map(|t| t.scheduled()).collect();
    let mut out = engine::check_programme(
        cohort.start_date,
        scheduled,
        &scheduled_tasks,
        template.min_months,
        template.max_months,
        alsace_moselle,
    );
    let has_programme = !scheduled.is_empty();
    out.extend(rules::cap_warning(cohort.association_cap));
    out.extend(rules::session_length_warnings(
        scheduled,
        &rules::SessionLengths {
            half_day_minutes: i64::from(template.half_day_minutes),
            day_minutes: i64::from(template.day_minutes),
            introductive_min_minutes: i64::from(template.introductive_min_minutes),
        },
    ));
    if has_programme {
        out.extend(director_plan_warning(
            scheduled,
            tasks,
            associations,
            &template,
        ));
    }
    for a in associations {
        out.extend(rules::association_warnings(&a.facts(), cohort.start_date));
        if has_programme
            && !scheduled.iter().any(|s| {
                s.kind == SessionKind::BilanIndividuel && s.association_id.as_deref() == Some(&a.id)
            })
        {
            out.push(Warning {
                code: "missing_bilan",
                message: format!(
                    "{} n'a pas de séance de bilan individuel : ajoutez-la au programme.",
                    a.name
                ),
            });
        }
    }
    out
}

/// The director's planned mobilisation against the method's 4–6 days, for the first
/// association that has a bilan (all follow the same programme): the collective sessions
/// and that bilan, the homework preparing them or no session in particular.
fn director_plan_warning(
    sessions: &[engine::ScheduledSession],
    tasks: &[task::Plan],
    associations: &[association::Profile],
    template: &ProgrammeTemplate,
) -> Option<Warning> {
    let bilan_of = associations.iter().find_map(|a| {
        sessions
            .iter()
            .find(|s| s.association_id.as_deref() == Some(&a.id))
            .map(|s| s.id.as_str())
    });
    let attended: Vec<&engine::ScheduledSession> = sessions
        .iter()
        .filter(|s| s.kind.is_collective() || Some(s.id.as_str()) == bilan_of)
        .collect();
    let minutes: Vec<i64> = attended
        .iter()
        .map(|s| (s.ends_at - s.starts_at).num_minutes())
        .collect();
    let preparation: Vec<i64> = tasks
        .iter()
        .filter(|t| match t.session_id.as_deref() {
            None => true,
            Some(id) => attended.iter().any(|s| s.id == id),
        })
        .map(|t| i64::from(t.preparation_half_days))
        .collect();
    let day = crate::domain::budget::DayLength::from_minutes(i64::from(template.day_minutes))
        .unwrap_or_default();
    rules::mobilisation_warning(&minutes, &preparation, day)
}

/// Returned status of a task for an association, if any.
pub fn return_of<'a>(
    returns: &'a [TaskReturn],
    task_id: &str,
    association_id: &str,
) -> Option<&'a TaskReturn> {
    returns
        .iter()
        .find(|r| r.task_id == task_id && r.association_id == association_id && r.status == "rendu")
}

/// The date in Europe/Paris at `now` (the clock's instant: `AppState::clock`).
pub fn today(now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    crate::domain::calendar::utc_to_paris(now).date()
}
