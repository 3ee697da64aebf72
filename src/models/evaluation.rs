//! The évaluation of the accompaniment (table `evaluations`): one answer per association,
//! filled from the portal by any of its participants (the last one is kept), and the
//! follow-up months later on the pistes implemented. Staff read each answer and the
//! cohort's summary (`domain::evaluation::summarise`), and download them as CSV.
//!
//! Answers follow the association: its anonymisation clears their free texts (the notes
//! stay, like attendance), the cohort's purge too (`models::privacy`). The planner reminds
//! an unanswered évaluation after the bilan and sends the follow-up ([`REMINDER`],
//! [`FOLLOWUP`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::{cohorts, evaluations, participants};
use crate::db::{Conn, Tx};
use crate::domain::evaluation::{self as rules, Answer, Recommend, Summary};
use crate::error::AppError;
use crate::models::association::{self, Association};
use crate::models::input::{Check, lenient};
use crate::models::scope::Member;
use crate::models::{check_updated, check_version, session};

/// The planner's kinds.
pub const REMINDER: &str = "evaluation_reminder";
pub const FOLLOWUP: &str = "evaluation_followup";

/// Longest free text of an answer.
const TEXT_MAX: usize = 5_000;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = evaluations, primary_key(association_id))]
pub struct Evaluation {
    pub association_id: String,
    pub cohort_id: String,
    /// What changed in the association's understanding of its model.
    pub understanding: String,
    /// The pistes d'actions retained.
    pub pistes: String,
    /// 1 to 5, per session; absent when not rated.
    pub satisfaction_introductive: Option<i32>,
    pub satisfaction_etat_des_lieux: Option<i32>,
    pub satisfaction_evolution: Option<i32>,
    pub satisfaction_bilan: Option<i32>,
    /// `oui`, `non`, `peut_etre`, or empty.
    pub recommend: String,
    pub comment: String,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub answered_at: Option<NaiveDateTime>,
    /// The participant who answered last.
    pub answered_by: Option<String>,
    /// The follow-up: which pistes were implemented.
    pub followup: String,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub followup_at: Option<NaiveDateTime>,
    pub followup_by: Option<String>,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

impl Evaluation {
    /// The four notes in the order of `domain::evaluation::SESSIONS`.
    pub fn satisfaction(&self) -> [Option<i32>; 4] {
        [
            self.satisfaction_introductive,
            self.satisfaction_etat_des_lieux,
            self.satisfaction_evolution,
            self.satisfaction_bilan,
        ]
    }

    pub fn answer(&self) -> Answer {
        Answer {
            satisfaction: self.satisfaction(),
            recommend: Recommend::parse(&self.recommend),
            answered: self.answered_at.is_some(),
            followed_up: self.followup_at.is_some(),
        }
    }
}

/// The évaluation as typed in the portal.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EvaluationInput {
    #[serde(default, deserialize_with = "lenient")]
    pub understanding: String,
    #[serde(default, deserialize_with = "lenient")]
    pub pistes: String,
    #[serde(default, deserialize_with = "lenient")]
    pub satisfaction_introductive: String,
    #[serde(default, deserialize_with = "lenient")]
    pub satisfaction_etat_des_lieux: String,
    #[serde(default, deserialize_with = "lenient")]
    pub satisfaction_evolution: String,
    #[serde(default, deserialize_with = "lenient")]
    pub satisfaction_bilan: String,
    #[serde(default, deserialize_with = "lenient")]
    pub recommend: String,
    #[serde(default, deserialize_with = "lenient")]
    pub comment: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl EvaluationInput {
    pub fn from_row(e: &Evaluation) -> Self {
        let note = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        EvaluationInput {
            understanding: e.understanding.clone(),
            pistes: e.pistes.clone(),
            satisfaction_introductive: note(e.satisfaction_introductive),
            satisfaction_etat_des_lieux: note(e.satisfaction_etat_des_lieux),
            satisfaction_evolution: note(e.satisfaction_evolution),
            satisfaction_bilan: note(e.satisfaction_bilan),
            recommend: e.recommend.clone(),
            comment: e.comment.clone(),
            version: e.version.to_string(),
        }
    }

    /// The satisfaction typed for the session `key` of `domain::evaluation::SESSIONS`.
    pub fn satisfaction(&self, key: &str) -> &str {
        match key {
            "introductive" => &self.satisfaction_introductive,
            "etat_des_lieux" => &self.satisfaction_etat_des_lieux,
            "evolution" => &self.satisfaction_evolution,
            _ => &self.satisfaction_bilan,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct FollowupInput {
    #[serde(default, deserialize_with = "lenient")]
    pub followup: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

pub fn get(conn: &mut Conn, association_id: &str) -> Result<Option<Evaluation>, AppError> {
    Ok(evaluations::table
        .find(association_id)
        .select(Evaluation::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<Vec<Evaluation>, AppError> {
    Ok(evaluations::table
        .filter(evaluations::cohort_id.eq(cohort_id))
        .select(Evaluation::as_select())
        .load(conn)?)
}

/// Refused once the cohort's personal data are purged: the answers are history.
fn check_open(conn: &mut Conn, cohort_id: &str) -> Result<(), AppError> {
    let purged: Option<NaiveDateTime> = cohorts::table
        .find(cohort_id)
        .select(cohorts::purged_at)
        .first(conn)?;
    if purged.is_some() {
        return Err(AppError::Conflict {
            code: "cohort_purged",
            message: "L'accompagnement est terminé et ses données ont été purgées : \
                      l'évaluation ne peut plus être modifiée."
                .into(),
        });
    }
    Ok(())
}

/// Saves the member's association's évaluation (creating it on the first answer).
pub fn save(tx: &mut Tx, m: &Member, input: &EvaluationInput) -> Result<Evaluation, AppError> {
    check_open(tx, &m.cohort_id)?;
    let current = get(tx, &m.association_id)?;
    let mut check = Check::new();
    let understanding = check.multiline("understanding", &input.understanding, TEXT_MAX);
    let pistes = check.multiline("pistes", &input.pistes, TEXT_MAX);
    let mut notes = [None; 4];
    for (i, (key, _)) in rules::SESSIONS.iter().enumerate() {
        let field = format!("satisfaction_{key}");
        match rules::parse_satisfaction(input.satisfaction(key)) {
            Ok(n) => notes[i] = n,
            Err(message) => check.add(&field, message),
        }
    }
    let recommend = match input.recommend.trim() {
        "" => String::new(),
        other => match Recommend::parse(other) {
            Some(r) => r.code().to_string(),
            None => {
                check.add("recommend", "Choisissez « oui », « non » ou « peut-être ».");
                String::new()
            }
        },
    };
    let comment = check.multiline("comment", &input.comment, TEXT_MAX);
    if understanding.is_empty()
        && pistes.is_empty()
        && notes.iter().all(Option::is_none)
        && recommend.is_empty()
        && comment.is_empty()
    {
        check.add(
            "understanding",
            "Répondez au moins à une question avant d'enregistrer.",
        );
    }
    check.finish()?;
    if let Some(c) = &current {
        check_version(&input.version, c.version, "L'évaluation a été modifiée")?;
    }
    let at = tx.now_naive();
    let values = (
        evaluations::understanding.eq(&understanding),
        evaluations::pistes.eq(&pistes),
        evaluations::satisfaction_introductive.eq(notes[0]),
        evaluations::satisfaction_etat_des_lieux.eq(notes[1]),
        evaluations::satisfaction_evolution.eq(notes[2]),
        evaluations::satisfaction_bilan.eq(notes[3]),
        evaluations::recommend.eq(&recommend),
        evaluations::comment.eq(&comment),
        evaluations::answered_at.eq(Some(at)),
        evaluations::answered_by.eq(Some(&m.participant_id)),
        evaluations::updated_at.eq(at),
    );
    // One statement whether the association answered before or not; a row that
    // appeared since the read (version 0) is someone else's answer.
    let read = current.as_ref().map_or(0, |c| c.version);
    let n = crate::on_backend!(tx.conn(), |c| {
        let upsert = diesel::insert_into(evaluations::table)
            .values((
                evaluations::association_id.eq(&m.association_id),
                evaluations::cohort_id.eq(&m.cohort_id),
                values,
            ))
            .on_conflict(evaluations::association_id)
            .do_update()
            .set((values, evaluations::version.eq(evaluations::version + 1)));
        // `ON CONFLICT … DO UPDATE … WHERE version = ?`: conditional on the version
        // read, never overwrites an answer saved since.
        diesel::query_dsl::methods::FilterDsl::filter(upsert, evaluations::version.eq(read))
            .execute(c)
    })?;
    check_updated(n, "L'évaluation a été modifiée")?;
    // The reminder is no longer wanted.
    crate::models::planner::touch(tx, &m.cohort_id)?;
    get(tx, &m.association_id)?
        .ok_or_else(|| AppError::NotFound("Cette évaluation n'existe pas.".into()))
}

/// Saves the follow-up: which pistes were implemented. Refused before it opens (its
/// planned day, `domain::evaluation::followup_open`).
pub fn save_followup(
    tx: &mut Tx,
    m: &Member,
    input: &FollowupInput,
    config: crate::config::EvaluationConfig,
) -> Result<Evaluation, AppError> {
    let at_now = tx.now();
    check_open(tx, &m.cohort_id)?;
    let plan = followup_plan(tx, &m.cohort_id, &m.association_id, config)?;
    if !followup_open(plan.as_ref(), at_now) {
        return Err(AppError::Conflict {
            code: "followup_not_open",
            message: "Le suivi s'ouvre quelques mois après votre bilan : \
                          revenez à la date indiquée."
                .into(),
        });
    }
    let current = get(tx, &m.association_id)?;
    let mut check = Check::new();
    let followup = check.multiline("followup", &input.followup, TEXT_MAX);
    if followup.is_empty() {
        check.add("followup", "Ce champ est obligatoire.");
    }
    check.finish()?;
    if let Some(c) = &current {
        check_version(&input.version, c.version, "L'évaluation a été modifiée")?;
    }
    let at = tx.now_naive();
    let values = (
        evaluations::followup.eq(&followup),
        evaluations::followup_at.eq(Some(at)),
        evaluations::followup_by.eq(Some(&m.participant_id)),
        evaluations::updated_at.eq(at),
    );
    // One statement whether the association answered before or not; a row that
    // appeared since the read (version 0) is someone else's answer.
    let read = current.as_ref().map_or(0, |c| c.version);
    let n = crate::on_backend!(tx.conn(), |c| {
        let upsert = diesel::insert_into(evaluations::table)
            .values((
                evaluations::association_id.eq(&m.association_id),
                evaluations::cohort_id.eq(&m.cohort_id),
                values,
            ))
            .on_conflict(evaluations::association_id)
            .do_update()
            .set((values, evaluations::version.eq(evaluations::version + 1)));
        // `ON CONFLICT … DO UPDATE … WHERE version = ?`: conditional on the version
        // read, never overwrites an answer saved since.
        diesel::query_dsl::methods::FilterDsl::filter(upsert, evaluations::version.eq(read))
            .execute(c)
    })?;
    check_updated(n, "L'évaluation a été modifiée")?;
    crate::models::planner::touch(tx, &m.cohort_id)?;
    get(tx, &m.association_id)?
        .ok_or_else(|| AppError::NotFound("Cette évaluation n'existe pas.".into()))
}

/// When the follow-up opens for `association_id` (its bilan's end plus the configured
/// months), or `None` without a bilan.
pub fn followup_plan(
    conn: &mut Conn,
    cohort_id: &str,
    association_id: &str,
    config: crate::config::EvaluationConfig,
) -> Result<Option<rules::Plan>, AppError> {
    Ok(session::list_for_cohort(conn, cohort_id)?
        .into_iter()
        .find(|s| s.association_id.as_deref() == Some(association_id))
        .map(|s| {
            rules::plan(
                s.ends_at.and_utc(),
                config.reminder_days,
                config.followup_months,
            )
        }))
}

/// One association's line of the cohort's évaluations.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AssociationAnswer {
    pub association_id: String,
    pub association_name: String,
    /// Who answered last (the participant's name), if anybody.
    pub answered_by_name: Option<String>,
    pub followup_by_name: Option<String>,
    pub evaluation: Option<Evaluation>,
}

/// The cohort's évaluations: one line per association, and the summary.
pub struct CohortEvaluations {
    pub answers: Vec<AssociationAnswer>,
    pub summary: Summary,
}

pub fn for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<CohortEvaluations, AppError> {
    let associations = association::list_for_cohort(conn, cohort_id)?;
    let rows = list_for_cohort(conn, cohort_id)?;
    let people: Vec<(String, String)> = participants::table
        .filter(in_list(
            participants::association_id,
            associations.iter().map(|a| a.id.as_str()),
        ))
        .select((participants::id, participants::name))
        .load(conn)?;
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| people.iter().find(|(pid, _)| pid == id))
            .map(|(_, n)| n.clone())
    };
    let answers: Vec<AssociationAnswer> = associations
        .iter()
        .map(|a: &Association| {
            let e = rows.iter().find(|e| e.association_id == a.id).cloned();
            AssociationAnswer {
                association_id: a.id.clone(),
                association_name: a.name.clone(),
                answered_by_name: e.as_ref().and_then(|e| name_of(&e.answered_by)),
                followup_by_name: e.as_ref().and_then(|e| name_of(&e.followup_by)),
                evaluation: e,
            }
        })
        .collect();
    let summary = rules::summarise(
        associations.len(),
        &rows.iter().map(Evaluation::answer).collect::<Vec<_>>(),
    );
    Ok(CohortEvaluations { answers, summary })
}

/// The CSV of a cohort's évaluations (French Excel, `export::csv`).
pub fn csv(e: &CohortEvaluations) -> Vec<u8> {
    use crate::export::csv as x;
    let mut header = vec![
        "Association",
        "Répondu le",
        "Par",
        "Ce qui a changé dans la compréhension du modèle",
        "Pistes retenues",
    ];
    header.extend(rules::SESSIONS.iter().map(|(_, label)| *label));
    header.extend([
        "Recommanderait",
        "Commentaire",
        "Suivi le",
        "Pistes mises en œuvre",
    ]);
    let date = |t: Option<NaiveDateTime>| {
        t.map(|t| x::date(crate::domain::calendar::utc_to_paris(t.and_utc()).date()))
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = e
        .answers
        .iter()
        .map(|a| {
            let ev = a.evaluation.as_ref();
            let mut row = vec![
                x::text(&a.association_name),
                date(ev.and_then(|e| e.answered_at)),
                x::text(a.answered_by_name.as_deref().unwrap_or("")),
                x::text(ev.map(|e| e.understanding.as_str()).unwrap_or("")),
                x::text(ev.map(|e| e.pistes.as_str()).unwrap_or("")),
            ];
            let notes = ev.map(Evaluation::satisfaction).unwrap_or_default();
            row.extend(
                notes
                    .iter()
                    .map(|n| n.map(|n| n.to_string()).unwrap_or_default()),
            );
            row.extend([
                ev.and_then(|e| Recommend::parse(&e.recommend))
                    .map(|r| r.label().to_string())
                    .unwrap_or_default(),
                x::text(ev.map(|e| e.comment.as_str()).unwrap_or("")),
                date(ev.and_then(|e| e.followup_at)),
                x::text(ev.map(|e| e.followup.as_str()).unwrap_or("")),
            ]);
            row
        })
        .collect();
    x::csv(&header, &rows)
}

/// Whether the instant is past the follow-up's opening for this plan.
pub fn followup_open(plan: Option<&rules::Plan>, now: DateTime<Utc>) -> bool {
    plan.is_some_and(|p| rules::followup_open(p, now))
}

/// One session's satisfaction in the summary.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SessionSatisfaction {
    /// `introductive`, `etat_des_lieux`, `evolution`, `bilan`.
    pub session: String,
    pub label: String,
    /// How many associations rated it.
    pub ratings: usize,
    /// Average note, 1 to 5; absent without ratings.
    pub average: Option<f64>,
}

/// The cohort's évaluations summed up (API and pages).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryView {
    pub associations: usize,
    pub answered: usize,
    pub followed_up: usize,
    /// Share of associations that answered, in whole percent.
    pub response_rate: u32,
    pub satisfaction: Vec<SessionSatisfaction>,
    pub recommend_yes: usize,
    pub recommend_maybe: usize,
    pub recommend_no: usize,
}

impl SummaryView {
    pub fn from_summary(s: &Summary) -> Self {
        SummaryView {
            associations: s.associations,
            answered: s.answered,
            followed_up: s.followed_up,
            response_rate: s.response_rate(),
            satisfaction: rules::SESSIONS
                .iter()
                .zip(s.satisfaction.iter())
                .map(|((key, label), (ratings, average))| SessionSatisfaction {
                    session: key.to_string(),
                    label: label.to_string(),
                    ratings: *ratings,
                    average: *average,
                })
                .collect(),
            recommend_yes: s.recommend[0],
            recommend_maybe: s.recommend[1],
            recommend_no: s.recommend[2],
        }
    }
}

/// The API's answer: the summary and one line per association.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EvaluationsReport {
    pub summary: SummaryView,
    pub answers: Vec<AssociationAnswer>,
}
