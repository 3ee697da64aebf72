//! What the participant portal (`web::pages::portal`) reads and changes, always scoped to
//! the signed-in participant (`scope::Member`): their cohort's collective sessions and
//! their own association's bilan, the cohort's homework with their association's return
//! only, their email preferences, and the emailed sign-in links.
//!
//! A participant never reaches another association's return, answer or bilan: tasks
//! preparing another association's bilan are left out, and a task of another cohort is
//! « not found ».

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde_json::json;

use crate::db::schema::{participants, task_returns};
use crate::db::{Conn, Tx};
use crate::error::AppError;
use crate::mail::Email;
use crate::models::association::{self, Association};
use crate::models::cohort::{self, Cohort};
use crate::models::input::Check;
use crate::models::outbox::{self, MailContext, NewEmail};
use crate::models::participant::{self, Participant};
use crate::models::scope::{self, Member};
use crate::models::session::{self, Session};
use crate::models::task::{self, IntersessionTask};
use crate::models::{dla, feed};

/// The outbox kind of the email that carries a sign-in link on request.
pub const SIGN_IN_KIND: &str = "sign_in_link";

/// One sign-in email per person and this many seconds at most, however often the form is
/// sent (the dedup key's revision is the window's number).
const REQUEST_WINDOW_SECS: i64 = 300;

/// Longest answer to a homework.
const ANSWER_MAX: usize = 10_000;

/// The participant's association's return of a task.
#[derive(Clone, Debug, Default)]
pub struct OwnReturn {
    /// `a_faire` or `rendu`.
    pub status: String,
    pub returned_on: Option<NaiveDate>,
    pub answer: String,
}

impl OwnReturn {
    pub fn is_returned(&self) -> bool {
        self.status == "rendu"
    }
}

/// Everything the portal's home shows.
pub struct Overview {
    pub participant: Participant,
    pub association: Association,
    pub cohort: Cohort,
    /// The cohort's collective sessions and the association's own bilan, by start.
    pub sessions: Vec<Session>,
    /// The homework the participant sees, with their association's return (if any).
    pub tasks: Vec<(IntersessionTask, Option<OwnReturn>)>,
    pub calendar_url: String,
}

/// The sessions a member sees: collective ones, and their association's bilan.
fn visible_sessions(conn: &mut Conn, m: &Member) -> Result<Vec<Session>, AppError> {
    Ok(session::list_for_cohort(conn, &m.cohort_id)?
        .into_iter()
        .filter(|s| {
            s.association_id
                .as_deref()
                .is_none_or(|aid| aid == m.association_id)
        })
        .collect())
}

/// What the commitment page shows: the participant (their confirmation, if any), their
/// cohort and the sessions they commit to (the collective ones and their bilan), by start.
pub fn commitment(
    conn: &mut Conn,
    m: &Member,
) -> Result<(Participant, Cohort, Vec<Session>), AppError> {
    let p = participant::get(conn, &m.participant_id)?;
    let c = cohort::get(conn, &m.cohort_id)?;
    let mut sessions = visible_sessions(conn, m)?;
    sessions.sort_by_key(|s| s.starts_at);
    Ok((p, c, sessions))
}

/// The member confirms their commitment to the sessions (`participant::confirm_commitment`:
/// once, audited). An anonymised participant (a purged cohort's) is no member any more.
pub fn confirm_commitment(tx: &mut Tx, m: &Member) -> Result<Participant, AppError> {
    let at = tx.now_naive();
    participant::confirm_commitment(tx, &m.participant_id, at)
}

/// The cohort's tasks a member sees: all but those preparing another association's bilan.
fn visible_tasks(
    conn: &mut Conn,
    m: &Member,
    sessions: &[Session],
) -> Result<Vec<IntersessionTask>, AppError> {
    let all = session::list_for_cohort(conn, &m.cohort_id)?;
    Ok(task::list_for_cohort(conn, &m.cohort_id)?
        .into_iter()
        .filter(|t| match &t.session_id {
            None => true,
            Some(sid) => sessions.iter().any(|s| &s.id == sid) || !all.iter().any(|s| &s.id == sid),
        })
        .collect())
}

fn own_returns(
    conn: &mut Conn,
    association_id: &str,
) -> Result<Vec<(String, OwnReturn)>, AppError> {
    let rows: Vec<(String, String, Option<NaiveDate>, String)> = task_returns::table
        .filter(task_returns::association_id.eq(association_id))
        .select((
            task_returns::task_id,
            task_returns::status,
            task_returns::returned_on,
            task_returns::answer,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(task_id, status, returned_on, answer)| {
            (
                task_id,
                OwnReturn {
                    status,
                    returned_on,
                    answer,
                },
            )
        })
        .collect())
}

pub fn overview(conn: &mut Conn, m: &Member, public_url: &str) -> Result<Overview, AppError> {
    let participant = participant::get(conn, &m.participant_id)?;
    let association = association::get(conn, &m.association_id)?;
    let cohort = cohort::get(conn, &m.cohort_id)?;
    let sessions = visible_sessions(conn, m)?;
    let returns = own_returns(conn, &m.association_id)?;
    let tasks = visible_tasks(conn, m, &sessions)?
        .into_iter()
        .map(|t| {
            let r = returns
                .iter()
                .find(|(tid, _)| *tid == t.id)
                .map(|(_, r)| r.clone());
            (t, r)
        })
        .collect();
    let secret = feed::secret(conn)?;
    Ok(Overview {
        calendar_url: feed::calendar_url(public_url, &secret, &participant),
        participant,
        association,
        cohort,
        sessions,
        tasks,
    })
}

/// Marks a task « rendu » for the member's association, with their answer (a text or a
/// link). A task the member does not see (another cohort's, another association's bilan)
/// is « not found ».
pub fn return_task(
    tx: &mut Tx,
    m: &Member,
    task_id: &str,
    answer: &str,
    today: NaiveDate,
) -> Result<(), AppError> {
    let not_found = || AppError::NotFound("Ce travail préparatoire n'existe pas.".into());
    let t = task::get(tx, task_id).map_err(|_| not_found())?;
    if t.cohort_id != m.cohort_id {
        return Err(not_found());
    }
    let sessions = visible_sessions(tx, m)?;
    if !visible_tasks(tx, m, &sessions)?
        .iter()
        .any(|v| v.id == t.id)
    {
        return Err(not_found());
    }
    let mut check = Check::new();
    let answer = check.multiline("answer", answer, ANSWER_MAX);
    check.finish()?;
    let at = tx.now_naive();
    crate::on_backend!(tx.conn(), |c| diesel::insert_into(task_returns::table)
        .values((
            task_returns::task_id.eq(&t.id),
            task_returns::association_id.eq(&m.association_id),
            task_returns::status.eq("rendu"),
            task_returns::returned_on.eq(Some(today)),
            task_returns::updated_at.eq(at),
            task_returns::answer.eq(&answer),
        ))
        .on_conflict((task_returns::task_id, task_returns::association_id))
        .do_update()
        .set((
            task_returns::status.eq("rendu"),
            task_returns::returned_on.eq(Some(today)),
            task_returns::updated_at.eq(at),
            task_returns::answer.eq(&answer),
        ))
        .execute(c))?;
    // Its reminders and overdue notices are no longer wanted.
    crate::models::planner::touch(tx, &t.cohort_id)
}

/// Turns the participant's reminders on or off. Their cohort's planned emails are rebuilt
/// in the same transaction (`AppState::write`), which cancels the pending reminders when
/// they are turned off; convocations and notices still go.
pub fn set_reminders(tx: &mut Tx, participant_id: &str, on: bool) -> Result<Participant, AppError> {
    let p = participant::get(tx, participant_id)?;
    diesel::update(participants::table.find(participant_id))
        .set((
            participants::reminders.eq(on),
            participants::version.eq(participants::version + 1),
            participants::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    let a = association::get(tx, &p.association_id)?;
    crate::models::planner::touch(tx, &a.cohort_id)?;
    participant::get(tx, participant_id)
}

/// The participants (not anonymised) whose address is `email`, ignoring case: addresses
/// are stored normalised (`Check::email`), so the typed one normalised the same way is
/// compared with `=` — never `LIKE`, which ignores case on SQLite (ASCII only) and not on
/// PostgreSQL.
fn participants_by_email(conn: &mut Conn, email: &str) -> Result<Vec<Participant>, AppError> {
    let wanted = crate::models::account::normalise_email(email);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = participants::table
        .filter(participants::email.eq(&wanted))
        .select(participants::id)
        .load(conn)?;
    let mut out = Vec::new();
    for id in ids {
        if scope::member(conn, &id)?.is_some() {
            out.push(participant::get(conn, &id)?);
        }
    }
    Ok(out)
}

/// Queues, to be sent at once, an email with a fresh sign-in link to each participant
/// whose address is `email` (the link itself is made when the email leaves). Returns how
/// many were queued: the page never tells (no one learns who is registered).
pub fn request_link(tx: &mut Tx, mail: &MailContext, email: &str) -> Result<usize, AppError> {
    let now = tx.now();
    let renderer = &*mail.renderer;
    let mut queued = 0;
    for p in participants_by_email(tx, email)? {
        let a = association::get(tx, &p.association_id)?;
        let co = cohort::get(tx, &a.cohort_id)?;
        let dla_name = dla::get(tx, &co.dla_id).map(|d| d.name).unwrap_or_default();
        let rendered = renderer
            .render(
                SIGN_IN_KIND,
                &json!({
                    "recipient_name": p.name,
                    "cohort_name": co.name,
                    "link": outbox::SIGN_IN_LINK,
                    "days": mail.sign_in_valid_for.num_days(),
                    "dla_name": dla_name,
                }),
            )
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{SIGN_IN_KIND}: {e}")))?;
        let email = Email {
            to_name: p.name.clone(),
            to_address: p.email.clone(),
            rendered,
            calendar: None,
        };
        let window = (now.timestamp() / REQUEST_WINDOW_SECS) as i32;
        let mut row = NewEmail::from_email(SIGN_IN_KIND, &p.id, window, &email, now);
        row.cohort_id = Some(co.id.clone());
        row.participant_id = Some(p.id.clone());
        // A link asked for and received a day later is of no use.
        row.not_after = Some(now + Duration::days(1));
        if outbox::enqueue(tx, row)?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

/// The first name to greet someone with (« Nadia » for « Nadia Benali »).
pub fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_by_the_first_name() {
        assert_eq!(first_name("Nadia Benali"), "Nadia");
        assert_eq!(first_name("  Pierre "), "Pierre");
        assert_eq!(first_name(""), "");
    }
}
