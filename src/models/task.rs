//! Intersession task (travaux préparatoires) of a cohort, usually preparing one session,
//! and its status per association (à faire / rendu, with the date).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::{intersession_tasks, task_returns};
use crate::db::{Conn, Tx};
use crate::domain::programme::ScheduledTask;
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::{association, audit, cohort, session, stale};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = intersession_tasks)]
pub struct IntersessionTask {
    pub id: String,
    pub cohort_id: String,
    /// The session this work prepares; moving it moves the due date.
    pub session_id: Option<String>,
    pub title: String,
    pub instructions: String,
    pub due_date: NaiveDate,
    /// Estimated preparation time for the association, in half-days.
    pub preparation_half_days: i32,
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

impl IntersessionTask {
    pub fn scheduled(&self) -> ScheduledTask {
        self.plan().scheduled()
    }

    pub fn plan(&self) -> Plan {
        Plan {
            id: self.id.clone(),
            cohort_id: self.cohort_id.clone(),
            session_id: self.session_id.clone(),
            title: self.title.clone(),
            due_date: self.due_date,
            preparation_half_days: self.preparation_half_days,
        }
    }
}

/// What the programme's warnings read of a task: not its instructions or stamps (the DLA
/// overview reads its cohorts' tasks so).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = intersession_tasks)]
pub struct Plan {
    pub id: String,
    pub cohort_id: String,
    pub session_id: Option<String>,
    pub title: String,
    pub due_date: NaiveDate,
    pub preparation_half_days: i32,
}

impl Plan {
    pub fn scheduled(&self) -> ScheduledTask {
        ScheduledTask {
            id: self.id.clone(),
            title: self.title.clone(),
            session_id: self.session_id.clone(),
            due_date: self.due_date,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = task_returns)]
pub struct TaskReturn {
    pub task_id: String,
    pub association_id: String,
    /// `a_faire` or `rendu`.
    pub status: String,
    pub returned_on: Option<NaiveDate>,
    /// What the participant handed in from their portal (a text or a link); empty when
    /// the return was only marked by the team.
    pub answer: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct TaskInput {
    #[serde(default, deserialize_with = "lenient")]
    pub title: String,
    #[serde(default, deserialize_with = "lenient")]
    pub instructions: String,
    #[serde(default, deserialize_with = "lenient")]
    pub due_date: String,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: String,
    /// Estimated preparation time in days, by half-days.
    #[serde(default, deserialize_with = "lenient")]
    pub preparation_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<&IntersessionTask> for TaskInput {
    fn from(t: &IntersessionTask) -> Self {
        TaskInput {
            title: t.title.clone(),
            instructions: t.instructions.clone(),
            due_date: t.due_date.format("%Y-%m-%d").to_string(),
            session_id: t.session_id.clone().unwrap_or_default(),
            preparation_days: crate::domain::fr::half_days_figure(t.preparation_half_days as i64),
            version: t.version.to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ReturnInput {
    /// `rendu` or `a_faire`.
    #[serde(default, deserialize_with = "lenient")]
    pub status: String,
    /// Date returned (`AAAA-MM-JJ`); defaults to today.
    #[serde(default, deserialize_with = "lenient")]
    pub returned_on: String,
}

struct Values {
    title: String,
    instructions: String,
    due_date: NaiveDate,
    session_id: Option<String>,
    preparation: i32,
    version: Option<i32>,
}

impl TaskInput {
    fn check(&self, conn: &mut Conn, cohort_id: &str) -> Result<Values, AppError> {
        let mut c = Check::new();
        let title = c.required("title", &self.title, 200);
        let instructions = c.multiline("instructions", &self.instructions, 10_000);
        let due_date = c.date("due_date", &self.due_date);
        let session_id = match self.session_id.trim() {
            "" => None,
            sid => match session::get(conn, sid) {
                Ok(s) if s.cohort_id == cohort_id => Some(s.id),
                _ => {
                    c.add("session_id", "Cette séance n'appartient pas à la cohorte.");
                    None
                }
            },
        };
        let preparation = c.half_days("preparation_days", &self.preparation_days);
        c.finish()?;
        Ok(Values {
            title,
            instructions,
            due_date: due_date.expect("checked"),
            session_id,
            preparation: preparation.unwrap_or(0),
            version: self.version.trim().parse().ok(),
        })
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<IntersessionTask, AppError> {
    intersession_tasks::table
        .find(id)
        .select(IntersessionTask::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Travail préparatoire"))
}

pub fn list_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
) -> Result<Vec<IntersessionTask>, AppError> {
    Ok(intersession_tasks::table
        .filter(intersession_tasks::cohort_id.eq(cohort_id))
        .order((
            intersession_tasks::due_date.asc(),
            intersession_tasks::title.asc(),
        ))
        .select(IntersessionTask::as_select())
        .load(conn)?)
}

/// The tasks of `cohort_ids` (one query), unsorted: the DLA overview counts the warnings
/// they raise, which no order changes (`list_for_cohort` gives a cohort's in order).
pub fn plans_for_cohorts(conn: &mut Conn, cohort_ids: &[String]) -> Result<Vec<Plan>, AppError> {
    Ok(intersession_tasks::table
        .filter(in_list(intersession_tasks::cohort_id, cohort_ids))
        .select(Plan::as_select())
        .load(conn)?)
}

pub fn returns_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<TaskReturn>, AppError> {
    Ok(task_returns::table
        .inner_join(intersession_tasks::table)
        .filter(intersession_tasks::cohort_id.eq(cohort_id))
        .select(TaskReturn::as_select())
        .load(conn)?)
}

pub fn create(
    tx: &mut Tx,
    cohort_id: &str,
    input: &TaskInput,
) -> Result<IntersessionTask, AppError> {
    cohort::get(tx, cohort_id)?;
    let v = input.check(tx, cohort_id)?;
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(intersession_tasks::table)
        .values((
            intersession_tasks::id.eq(&id),
            intersession_tasks::cohort_id.eq(cohort_id),
            intersession_tasks::session_id.eq(&v.session_id),
            intersession_tasks::title.eq(&v.title),
            intersession_tasks::instructions.eq(&v.instructions),
            intersession_tasks::due_date.eq(v.due_date),
            intersession_tasks::preparation_half_days.eq(v.preparation),
            intersession_tasks::version.eq(1),
            intersession_tasks::created_at.eq(t),
            intersession_tasks::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    crate::models::planner::touch(tx, cohort_id)?;
    let created = get(tx, &id)?;
    audit::created(tx, "task", &id, Some(cohort_id), &created)?;
    Ok(created)
}

pub fn update(tx: &mut Tx, id: &str, input: &TaskInput) -> Result<IntersessionTask, AppError> {
    let current = get(tx, id)?;
    let v = input.check(tx, &current.cohort_id)?;
    if v.version.is_some_and(|ver| ver != current.version) {
        return Err(stale("Le travail préparatoire a été modifié"));
    }
    // Conditional on the version read: never overwrites a change made since.
    let n = diesel::update(
        intersession_tasks::table
            .find(id)
            .filter(intersession_tasks::version.eq(current.version)),
    )
    .set((
        intersession_tasks::session_id.eq(&v.session_id),
        intersession_tasks::title.eq(&v.title),
        intersession_tasks::instructions.eq(&v.instructions),
        intersession_tasks::due_date.eq(v.due_date),
        intersession_tasks::preparation_half_days.eq(v.preparation),
        intersession_tasks::version.eq(current.version + 1),
        intersession_tasks::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "Le travail préparatoire a été modifié")?;
    crate::models::planner::touch(tx, &current.cohort_id)?;
    let updated = get(tx, id)?;
    audit::updated(tx, "task", id, Some(&current.cohort_id), &current, &updated)?;
    Ok(updated)
}

pub fn delete(tx: &mut Tx, id: &str) -> Result<IntersessionTask, AppError> {
    let t = get(tx, id)?;
    diesel::delete(intersession_tasks::table.find(id)).execute(tx.conn())?;
    crate::models::planner::touch(tx, &t.cohort_id)?;
    audit::deleted(tx, "task", id, Some(&t.cohort_id), &t)?;
    Ok(t)
}

/// Marks the task returned (or back to do) for one association of its cohort.
pub fn set_return(
    tx: &mut Tx,
    task_id: &str,
    association_id: &str,
    input: &ReturnInput,
    today: NaiveDate,
) -> Result<TaskReturn, AppError> {
    let task = get(tx, task_id)?;
    let a = association::get(tx, association_id)?;
    if a.cohort_id != task.cohort_id {
        return Err(AppError::field(
            "association_id",
            "Cette association n'est pas inscrite dans la cohorte de ce travail.",
        ));
    }
    let mut c = Check::new();
    let status = input.status.trim().to_string();
    if status != "rendu" && status != "a_faire" {
        c.add("status", "Statut inconnu : « rendu » ou « a_faire ».");
    }
    let returned_on = if status == "rendu" {
        if input.returned_on.trim().is_empty() {
            Some(today)
        } else {
            c.date("returned_on", &input.returned_on)
        }
    } else {
        None
    };
    c.finish()?;
    let previous: Option<TaskReturn> = task_returns::table
        .filter(task_returns::task_id.eq(task_id))
        .filter(task_returns::association_id.eq(association_id))
        .select(TaskReturn::as_select())
        .first(tx.conn())
        .optional()?;
    // Updated in place: the participant's answer (from the portal) stays.
    if previous.is_some() {
        diesel::update(
            task_returns::table
                .filter(task_returns::task_id.eq(task_id))
                .filter(task_returns::association_id.eq(association_id)),
        )
        .set((
            task_returns::status.eq(&status),
            task_returns::returned_on.eq(returned_on),
            task_returns::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    } else {
        diesel::insert_into(task_returns::table)
            .values((
                task_returns::task_id.eq(task_id),
                task_returns::association_id.eq(association_id),
                task_returns::status.eq(&status),
                task_returns::returned_on.eq(returned_on),
                task_returns::updated_at.eq(tx.now_naive()),
            ))
            .execute(tx.conn())?;
    }
    crate::models::planner::touch(tx, &task.cohort_id)?;
    let stored: TaskReturn = task_returns::table
        .filter(task_returns::task_id.eq(task_id))
        .filter(task_returns::association_id.eq(association_id))
        .select(TaskReturn::as_select())
        .first(tx.conn())?;
    // Kept with the task's title and the association's name, readable after either goes.
    let snapshot = |r: &TaskReturn| {
        serde_json::json!({
            "task_title": task.title,
            "association_name": a.name,
            "status": r.status,
            "returned_on": r.returned_on,
        })
    };
    let entity_id = format!("{task_id}/{association_id}");
    let after = snapshot(&stored);
    match &previous {
        Some(p) => audit::updated(
            tx,
            "task_return",
            &entity_id,
            Some(&task.cohort_id),
            &snapshot(p),
            &after,
        )?,
        None => audit::created(tx, "task_return", &entity_id, Some(&task.cohort_id), &after)?,
    }
    Ok(stored)
}
