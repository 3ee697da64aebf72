//! Applications to a cohort's call (issue #14, table `applications`): what an association
//! typed on the public form (`models::call` receives it), and the staff's side of them —
//! the list with the method's criteria (`domain::rules::criteria`), duplicates within the
//! call and associations already accompanied on the instance; the decisions (reçue,
//! retenue, liste d'attente, non retenue, désistée) with their emails through the outbox
//! (texts per cohort in `decision_letters`); the first of the waiting list proposed when a
//! place is free; and the enrolment of a retained application as the association, its two
//! participants and the human pillar of its état des lieux, without retyping.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::schema::{applications, decision_letters};
use crate::db::{Conn, Tx};
use crate::domain::application::{self as rules, DECIDED, Status};
use crate::domain::profile::{Human, Profile};
use crate::domain::programme::ProgrammeTemplate;
use crate::domain::rules::{self as method, AssociationFacts, Criterion};
use crate::error::AppError;
use crate::models::association::{self, AssociationInput};
use crate::models::input::{Check, lenient};
use crate::models::outbox::{self, MailContext, NewEmail};
use crate::models::participant::{self, ParticipantInput};
use crate::models::scope::CohortScope;
use crate::models::{audit, check_inserted, check_updated, check_version, cohort, dla};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: String,
    pub cohort_id: String,
    /// SHA-256 of the private link's secret; never shown.
    #[serde(skip)]
    pub edit_token_hash: String,
    /// `recue`, `retenue`, `attente`, `non_retenue` or `desistee`.
    pub status: String,
    pub name: String,
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub town: String,
    pub creation_date: Option<NaiveDate>,
    pub creation_year: Option<i32>,
    pub salaried_staff: Option<i32>,
    /// Full-time equivalents in hundredths (2,5 ETP = 250).
    pub fte_hundredths: Option<i32>,
    pub volunteers: Option<i32>,
    pub sector: String,
    pub general_interest: bool,
    pub director_name: String,
    pub director_function: String,
    pub director_email: String,
    pub board_name: String,
    pub board_function: String,
    pub board_email: String,
    pub motivation: String,
    pub available_all: bool,
    pub availability_note: String,
    pub consent_data: bool,
    pub consent_named: bool,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub submitted_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: String,
    /// The enrolled association it became.
    pub association_id: Option<String>,
    pub version: i32,
}

impl Application {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Received)
    }

    /// What the method's rules need to know, from what the association typed.
    pub fn facts(&self) -> AssociationFacts<'_> {
        AssociationFacts {
            name: &self.name,
            salaried_staff: self.salaried_staff,
            creation_year: self.creation_year,
            creation_date: self.creation_date,
            general_interest: self.general_interest,
            has_director: !self.director_name.trim().is_empty(),
            has_governance: !self.board_name.trim().is_empty(),
        }
    }

    /// The method's criteria, met or not (the same rules and words as the enrolment
    /// warnings), availability on every date included.
    pub fn criteria(&self, cohort_start: NaiveDate) -> Vec<Criterion> {
        method::criteria(&self.facts(), Some(self.available_all), cohort_start)
    }

    /// What the audit log keeps of an application: no personal data, which the retention
    /// purge must be able to remove with the row.
    pub(crate) fn audited(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "status": self.status,
            "association_id": self.association_id,
            // An edit from the private link shows as a new version, without its content.
            "revision": self.version,
        })
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Application, AppError> {
    applications::table
        .find(id)
        .select(Application::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Candidature"))
}

// ---------------------------------------------------------------------------------------
// The list, with what the staff needs to decide
// ---------------------------------------------------------------------------------------

/// How many applications the call holds, of `status` when given.
pub fn count(conn: &mut Conn, cohort_id: &str, status: Option<Status>) -> Result<i64, AppError> {
    let mut q = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(applications::status.eq(s.code()));
    }
    Ok(q.count().get_result(conn)?)
}

/// A page of the call's applications, of `status` when given, the first received first.
pub fn page(
    conn: &mut Conn,
    cohort_id: &str,
    status: Option<Status>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Application>, AppError> {
    let mut q = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(applications::status.eq(s.code()));
    }
    Ok(
        q.order((applications::submitted_at.asc(), applications::id.asc()))
            .limit(limit)
            .offset(offset)
            .select(Application::as_select())
            .load(conn)?,
    )
}

/// How many applications are retained and not enrolled yet, leaving out `holding` (the
/// one being enrolled). The places they hold count for the cap (`cohort::places_taken`).
pub fn retained_not_enrolled(
    conn: &mut Conn,
    cohort_id: &str,
    holding: Option<&str>,
) -> Result<i64, AppError> {
    let mut q = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .filter(applications::status.eq(Status::Retained.code()))
        .filter(applications::association_id.is_null())
        .into_boxed();
    if let Some(id) = holding {
        q = q.filter(applications::id.ne(id.to_string()));
    }
    Ok(q.count().get_result(conn)?)
}

/// How many applications of the call are in each status (the list's filter).
pub fn status_counts(conn: &mut Conn, cohort_id: &str) -> Result<Vec<(Status, i64)>, AppError> {
    let rows: Vec<(String, i64)> = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .group_by(applications::status)
        .select((applications::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(Status::ALL
        .into_iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(code, _)| code == s.code())
                .map_or(0, |(_, n)| *n);
            (s, n)
        })
        .collect())
}

/// One of the method's criteria as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CriterionView {
    pub code: &'static str,
    pub label: &'static str,
    /// `met`, `not_met` or `unknown`.
    #[schema(value_type = String)]
    pub verdict: method::Verdict,
    /// The enrolment warning's words, when the criterion is not met.
    pub message: Option<String>,
}

/// Another application of the same call for the same association.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DuplicateView {
    pub id: String,
    pub name: String,
    pub status: String,
}

/// An association of the instance with the same RNA or SIRET. Of a cohort the person may
/// see: the cohort, its year and DLA; of another DLA: only the year and that DLA's name.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AccompaniedView {
    pub visible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort_name: Option<String>,
    pub year: i32,
    pub dla_name: String,
    /// The French sentence shown.
    pub text: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Eligibility {
    pub criteria: Vec<CriterionView>,
    /// How many criteria are not met.
    pub unmet: usize,
    pub duplicates: Vec<DuplicateView>,
    pub accompanied: Vec<AccompaniedView>,
}

/// An application with its status in French and its eligibility.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Reviewed {
    pub application: Application,
    pub status_label: &'static str,
    pub eligibility: Eligibility,
}

/// An application of the call as duplicates are found: id, name, RNA, SIRET, status.
type CallRow = (String, String, Option<String>, Option<String>, String);

/// `apps` (of one cohort) with their criteria, duplicates within the call and the
/// associations already accompanied, as `scope` may see them. A fixed number of queries
/// whatever the number of applications.
pub fn review(
    conn: &mut Conn,
    cohort_id: &str,
    apps: Vec<Application>,
    scope: &CohortScope,
) -> Result<Vec<Reviewed>, AppError> {
    let co = cohort::get(conn, cohort_id)?;
    // The whole call's identities (a few columns), for duplicates beyond this page.
    let call: Vec<CallRow> = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .order((applications::submitted_at.asc(), applications::id.asc()))
        .select((
            applications::id,
            applications::name,
            applications::rna,
            applications::siret,
            applications::status,
        ))
        .load(conn)?;
    let identities: Vec<rules::Identity> = call
        .iter()
        .map(|(id, name, rna, siret, _)| rules::Identity {
            id,
            name,
            rna: rna.as_deref(),
            siret: siret.as_deref(),
        })
        .collect();
    let dups = rules::duplicates(&identities);
    let rnas: Vec<&str> = apps.iter().filter_map(|a| a.rna.as_deref()).collect();
    let sirets: Vec<&str> = apps.iter().filter_map(|a| a.siret.as_deref()).collect();
    let found = crate::models::search::accompanied(conn, &rnas, &sirets, scope)?;
    Ok(apps
        .into_iter()
        .map(|a| {
            let criteria: Vec<CriterionView> = a
                .criteria(co.start_date)
                .into_iter()
                .map(|c| CriterionView {
                    code: c.code,
                    label: c.label,
                    verdict: c.verdict,
                    message: c.warning.map(|w| w.message),
                })
                .collect();
            let unmet = criteria
                .iter()
                .filter(|c| c.verdict == method::Verdict::NotMet)
                .count();
            let duplicates = dups
                .get(a.id.as_str())
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| call.iter().find(|c| c.0 == *id))
                        .map(|(id, name, _, _, status)| DuplicateView {
                            id: id.clone(),
                            name: name.clone(),
                            status: status.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let accompanied = found
                .iter()
                .filter(|f| Some(&f.enrolment.association_id) != a.association_id.as_ref())
                .filter(|f| f.same_as(&a.rna, &a.siret))
                .map(accompanied_view)
                .collect();
            Reviewed {
                status_label: a.status().label(),
                eligibility: Eligibility {
                    criteria,
                    unmet,
                    duplicates,
                    accompanied,
                },
                application: a,
            }
        })
        .collect())
}

fn accompanied_view(f: &crate::models::search::Accompanied) -> AccompaniedView {
    let (visible, f) = (f.visible, &f.enrolment);
    let year = f.year;
    if visible {
        AccompaniedView {
            visible,
            cohort_id: Some(f.cohort_id.clone()),
            cohort_name: Some(f.cohort_name.clone()),
            year,
            dla_name: f.dla_name.clone(),
            text: format!(
                "Déjà accompagnée en {year} dans la cohorte « {} » ({}).",
                f.cohort_name, f.dla_name
            ),
        }
    } else {
        AccompaniedView {
            visible,
            cohort_id: None,
            cohort_name: None,
            year,
            dla_name: f.dla_name.clone(),
            text: format!(
                "Déjà accompagnée en {year} par un autre DLA : {}.",
                f.dla_name
            ),
        }
    }
}

/// One application, reviewed.
pub fn reviewed(conn: &mut Conn, id: &str, scope: &CohortScope) -> Result<Reviewed, AppError> {
    let a = get(conn, id)?;
    let cohort_id = a.cohort_id.clone();
    review(conn, &cohort_id, vec![a], scope)?
        .pop()
        .ok_or_else(|| AppError::not_found("Candidature"))
}

// ---------------------------------------------------------------------------------------
// Places and the waiting list
// ---------------------------------------------------------------------------------------

/// The first of the waiting list (the oldest put on it), proposed while a place of the
/// cap is free. Nothing is decided for the chargé·e de mission.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Proposal {
    pub application: Application,
    pub places_taken: i64,
    pub cap: i32,
}

pub fn proposal(conn: &mut Conn, cohort_id: &str) -> Result<Option<Proposal>, AppError> {
    let co = cohort::get(conn, cohort_id)?;
    let taken = cohort::places_taken(conn, cohort_id, None)?;
    if taken >= i64::from(co.association_cap) {
        return Ok(None);
    }
    let first = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .filter(applications::status.eq(Status::Waiting.code()))
        .order((
            applications::decided_at.asc(),
            applications::submitted_at.asc(),
            applications::id.asc(),
        ))
        .select(Application::as_select())
        .first(conn)
        .optional()?;
    Ok(first.map(|application| Proposal {
        application,
        places_taken: taken,
        cap: co.association_cap,
    }))
}

// ---------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// `recue`, `retenue`, `attente`, `non_retenue` or `desistee`.
    #[serde(default, deserialize_with = "lenient")]
    pub status: String,
    /// The application's version read before deciding (409 when it changed since).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

/// What a decision did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Decided {
    pub application: Application,
    /// Decision emails queued (one per distinct address of the application).
    pub emails: usize,
    /// They wait as drafts for « valider les envois ».
    pub held: bool,
}

/// The outbox kind of a decision email.
pub const DECISION_KIND: &str = "application_decision";

/// Sets an application's status. Retaining it is refused when the cap's places are all
/// taken (`cohort::places_taken`); an enrolled application's status no longer changes
/// (its association is withdrawn from the cohort instead). Retenue, liste d'attente and
/// non retenue queue the decision email to both addresses in the same transaction (drafts
/// when the cohort's emails are reviewed before sending); a decision email of an earlier
/// decision not sent yet is cancelled. Audited.
pub fn decide(
    tx: &mut Tx,
    id: &str,
    input: &DecisionInput,
    mail: &MailContext,
) -> Result<Decided, AppError> {
    let Some(status) = Status::from_code(input.status.trim()) else {
        return Err(AppError::field(
            "status",
            "Choisissez la décision : reçue, retenue, liste d'attente, non retenue ou désistée.",
        ));
    };

    // The cohort locked before the places are counted (a retained application takes
    // one), and the application read under that lock.
    let cohort_id = get(tx, id)?.cohort_id;
    crate::db::lock_cohort(tx, &cohort_id)?;
    let current = get(tx, id)?;
    check_version(
        &input.version,
        current.version,
        "La candidature a été modifiée",
    )?;
    if current.association_id.is_some() {
        return Err(AppError::Conflict {
                code: "application_enrolled",
                message: "Cette candidature est déjà inscrite dans la cohorte : pour la retirer, retirez l'association depuis sa page.".into(),
            });
    }
    if current.status() == status {
        return Err(AppError::Conflict {
            code: "same_status",
            message: format!(
                "La candidature est déjà « {} » : rien n'a changé.",
                status.label()
            ),
        });
    }
    let co = cohort::get(tx, &current.cohort_id)?;
    if status == Status::Retained {
        let taken = cohort::places_taken(tx, &co.id, None)?;
        method::check_cap(taken.max(0) as usize, co.association_cap.max(0) as usize)
                .map_err(|message| AppError::Conflict {
                    code: "cohort_full",
                    message: format!(
                        "{message} Les places comptent les associations inscrites et les candidatures retenues : mettez plutôt cette candidature sur liste d'attente."
                    ),
                })?;
    }
    let author = tx.author().clone();
    let t = tx.now_naive();
    let n = diesel::update(
        applications::table
            .find(id)
            .filter(applications::version.eq(current.version)),
    )
    .set((
        applications::status.eq(status.code()),
        applications::decided_at.eq(Some(t)),
        applications::decided_by.eq(&author.label),
        applications::updated_at.eq(t),
        applications::version.eq(current.version + 1),
    ))
    .execute(tx.conn())?;
    check_updated(n, "La candidature a été modifiée")?;
    let after = get(tx, id)?;
    audit::updated(
        tx,
        "application",
        id,
        Some(&co.id),
        &current.audited(),
        &after.audited(),
    )?;
    // An earlier decision's email that has not left is cancelled: the association
    // hears the last decision only.
    outbox::cancel_waiting(tx, id, &[DECISION_KIND])?;
    if status == Status::Withdrawn {
        crate::models::call::leave_meeting(tx, mail, &after, t.and_utc())?;
    }
    let (emails, held) = if DECIDED.contains(&status) {
        queue_decision(tx, &co, &after, status, mail)?
    } else {
        (0, false)
    };
    Ok(Decided {
        application: after,
        emails,
        held,
    })
}

fn queue_decision(
    tx: &mut Tx,
    co: &cohort::Cohort,
    a: &Application,
    status: Status,
    mail: &MailContext,
) -> Result<(usize, bool), AppError> {
    let d = dla::get(tx, &co.dla_id)?;
    let letter = letter(tx, &co.id, status)?;
    let signer = cohort::answerer(co, &d.email, None, cohort::Topic::Cohort, mail);
    let values = rules::LetterValues {
        cohort: co.name.clone(),
        dla: d.name.clone(),
        start: crate::domain::fr::date_long(co.start_date),
        signature: signer.name,
    };
    let subject = rules::fill(&letter.subject, &values);
    let body = rules::fill(&letter.body, &values);
    let paragraphs: Vec<Vec<&str>> = body
        .split("\n\n")
        .map(|p| p.lines().collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
        .collect();
    let rendered = mail
        .renderer
        .render(
            DECISION_KIND,
            &json!({
                "subject": subject,
                "body": body,
                "paragraphs": paragraphs,
                "dla_name": d.name,
            }),
        )
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{DECISION_KIND} e-mail: {e}")))?;
    let held = co.schedule(&mail.schedule).review_before_send;
    let mut queued = 0;
    for (_, address) in crate::models::call::recipients_of(&a.director_email, &a.board_email) {
        // No name: the names were typed by the applicant, and nothing they typed is repeated.
        let email = crate::mail::Email {
            to_name: String::new(),
            to_address: address.to_string(),
            rendered: rendered.clone(),
            calendar: None,
        };
        let mut row = NewEmail::from_email(DECISION_KIND, &a.id, a.version, &email, tx.now());
        row.cohort_id = Some(co.id.clone());
        row.draft = held;
        if outbox::enqueue(tx, row)?.is_some() {
            queued += 1;
        }
    }
    Ok((queued, held))
}

/// The association an application became was withdrawn from the cohort: the application
/// is désistée (its place is free; the waiting list's first is proposed). Called by
/// `association::delete` in its transaction.
pub fn association_withdrawn(tx: &mut Tx, association_id: &str) -> Result<(), AppError> {
    let Some(current) = applications::table
        .filter(applications::association_id.eq(association_id))
        .select(Application::as_select())
        .first(tx.conn())
        .optional()?
    else {
        return Ok(());
    };
    let t = tx.now_naive();
    diesel::update(applications::table.find(&current.id))
        .set((
            applications::status.eq(Status::Withdrawn.code()),
            applications::decided_at.eq(Some(t)),
            applications::decided_by.eq(tx.author().label.clone()),
            applications::updated_at.eq(t),
            applications::version.eq(applications::version + 1),
        ))
        .execute(tx.conn())?;
    let after = get(tx, &current.id)?;
    audit::updated(
        tx,
        "application",
        &current.id,
        Some(&current.cohort_id),
        &current.audited(),
        &after.audited(),
    )
}

// ---------------------------------------------------------------------------------------
// Enrolment without retyping
// ---------------------------------------------------------------------------------------

/// What an enrolment made.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolled {
    pub application: Application,
    pub association: association::Association,
    pub participants: Vec<participant::Participant>,
}

/// The board member's function when the application left it blank.
const DEFAULT_BOARD_FUNCTION: &str = "Membre du conseil d'administration";

/// A refusal of the association's or a participant's checks, said as a conflict of the
/// application (the staff cannot correct what the association typed on this screen).
fn refused(what: &str, e: AppError) -> AppError {
    match e {
        AppError::Validation { fields, .. } => AppError::Conflict {
            code: "application_incomplete",
            message: format!(
                "Inscription impossible ({what}) : {}",
                fields.values().cloned().collect::<Vec<_>>().join(" ")
            ),
        },
        other => other,
    }
}

/// Enrols a retained application, in one transaction: the association
/// (`association::enrol_holding`: its own place is not counted twice), its director and
/// board member (`participant::create`), its choice to be named in the mirror
/// (`consent_named`) and the human pillar of its état des lieux (employees, FTE,
/// volunteers); the application then points at the association. Audited.
pub fn enrol(
    tx: &mut Tx,
    id: &str,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Enrolled, AppError> {
    // The cohort locked before the places are counted (`association::enrol_holding`),
    // and the application read under that lock.
    let cohort_id = get(tx, id)?.cohort_id;
    crate::db::lock_cohort(tx, &cohort_id)?;
    let current = get(tx, id)?;
    if current.association_id.is_some() {
        return Err(AppError::Conflict {
            code: "application_enrolled",
            message: format!("{} est déjà inscrite dans la cohorte.", current.name),
        });
    }
    if current.status() != Status::Retained {
        return Err(AppError::Conflict {
            code: "application_not_retained",
            message: format!(
                "La candidature de {} est « {} » : seule une candidature retenue s'inscrit dans la cohorte.",
                current.name,
                current.status().label()
            ),
        });
    }
    let input = AssociationInput {
        name: current.name.clone(),
        rna: current.rna.clone().unwrap_or_default(),
        siret: current.siret.clone().unwrap_or_default(),
        creation_year: current
            .creation_year
            .map(|y| y.to_string())
            .unwrap_or_default(),
        creation_date: current
            .creation_date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        salaried_staff: current
            .salaried_staff
            .map(|n| n.to_string())
            .unwrap_or_default(),
        sector: current.sector.clone(),
        town: current.town.clone(),
        general_interest: if current.general_interest { "on" } else { "" }.into(),
        version: String::new(),
    };
    let a = association::enrol_holding(
        tx,
        &current.cohort_id,
        &input,
        Some(id),
        default_template,
        alsace_moselle,
    )
    .map_err(|e| refused(&current.name, e))?;
    crate::models::profile::set_mirror_named(tx, &a.id, current.consent_named)?;
    let mut people = Vec::new();
    for (name, email, role, function, who) in [
        (
            &current.director_name,
            &current.director_email,
            "direction",
            current.director_function.clone(),
            "direction",
        ),
        (
            &current.board_name,
            &current.board_email,
            "gouvernance",
            match current.board_function.trim() {
                "" => DEFAULT_BOARD_FUNCTION.to_string(),
                f => f.to_string(),
            },
            "gouvernance",
        ),
    ] {
        if name.trim().is_empty() && email.trim().is_empty() {
            continue;
        }
        let p = participant::create(
            tx,
            &a.id,
            &ParticipantInput {
                name: name.clone(),
                email: email.clone(),
                role: role.into(),
                function,
                reminders: String::new(),
                version: String::new(),
            },
        )
        .map_err(|e| refused(&format!("{}, {who}", current.name), e))?;
        people.push(p);
    }
    let human = human_pillar(&current);
    if human != Human::default() {
        let by = tx.author().label.clone();
        crate::models::profile::save(
            tx,
            &a.id,
            "etat_des_lieux",
            &Profile {
                human,
                ..Profile::default()
            },
            "0",
            &by,
        )?;
    }
    let t = tx.now_naive();
    let n = diesel::update(
        applications::table
            .find(id)
            .filter(applications::version.eq(current.version)),
    )
    .set((
        applications::association_id.eq(Some(&a.id)),
        applications::updated_at.eq(t),
        applications::version.eq(current.version + 1),
    ))
    .execute(tx.conn())?;
    check_updated(n, "La candidature a été modifiée")?;
    let after = get(tx, id)?;
    audit::updated(
        tx,
        "application",
        id,
        Some(&current.cohort_id),
        &current.audited(),
        &after.audited(),
    )?;
    Ok(Enrolled {
        application: after,
        association: association::get(tx, &a.id)?,
        participants: people,
    })
}

/// The état des lieux' human pillar from the application's figures; an FTE the profile's
/// checks would refuse (more than the headcount) is left for the association to give.
fn human_pillar(a: &Application) -> Human {
    let count = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok());
    let mut human = Human {
        employees: count(a.salaried_staff),
        employees_fte_hundredths: count(a.fte_hundredths),
        volunteers: count(a.volunteers),
        ..Human::default()
    };
    let probe = Profile {
        human: human.clone(),
        ..Profile::default()
    };
    if !probe.check().is_empty() {
        human.employees_fte_hundredths = None;
    }
    human
}

/// Enrols every retained application not enrolled yet, the first received first, in one
/// transaction: all of them or none (the refusal names the application).
pub fn enrol_all(
    tx: &mut Tx,
    cohort_id: &str,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Vec<Enrolled>, AppError> {
    cohort::get(tx, cohort_id)?;
    let ids: Vec<String> = applications::table
        .filter(applications::cohort_id.eq(cohort_id))
        .filter(applications::status.eq(Status::Retained.code()))
        .filter(applications::association_id.is_null())
        .order((applications::submitted_at.asc(), applications::id.asc()))
        .select(applications::id)
        .load(tx.conn())?;
    if ids.is_empty() {
        return Err(AppError::Conflict {
            code: "nothing_to_enrol",
            message: "Aucune candidature retenue n'attend d'être inscrite.".into(),
        });
    }
    ids.iter()
        .map(|id| enrol(tx, id, default_template, alsace_moselle))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Decision emails' texts
// ---------------------------------------------------------------------------------------

/// A decision email's text for a cohort: its own, or the default (version 0).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Letter {
    pub status: String,
    pub status_label: &'static str,
    pub subject: String,
    pub body: String,
    /// 0 while the default is used.
    pub version: i32,
}

pub fn letter(conn: &mut Conn, cohort_id: &str, status: Status) -> Result<Letter, AppError> {
    let row: Option<(String, String, i32)> = decision_letters::table
        .find((cohort_id, status.code()))
        .select((
            decision_letters::subject,
            decision_letters::body,
            decision_letters::version,
        ))
        .first(conn)
        .optional()?;
    let (subject, body, version) = row.unwrap_or_else(|| {
        let (s, b) = rules::default_letter(status);
        (s.to_string(), b.to_string(), 0)
    });
    Ok(Letter {
        status: status.code().to_string(),
        status_label: status.label(),
        subject,
        body,
        version,
    })
}

pub fn letters(conn: &mut Conn, cohort_id: &str) -> Result<Vec<Letter>, AppError> {
    DECIDED
        .iter()
        .map(|s| letter(conn, cohort_id, *s))
        .collect()
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LetterInput {
    #[serde(default, deserialize_with = "lenient")]
    pub subject: String,
    #[serde(default, deserialize_with = "lenient")]
    pub body: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

/// The decided statuses by code (`retenue`, `attente`, `non_retenue`); 404 otherwise.
pub fn decided_status(code: &str) -> Result<Status, AppError> {
    Status::from_code(code)
        .filter(|s| DECIDED.contains(s))
        .ok_or_else(|| AppError::not_found("Courrier de décision"))
}

/// Saves a decision email's text for the cohort: a subject and a body, only the known
/// placeholders (422 naming an unknown one), version checked (409).
pub fn save_letter(
    tx: &mut Tx,
    cohort_id: &str,
    status: Status,
    input: &LetterInput,
) -> Result<Letter, AppError> {
    let mut c = Check::new();
    let subject = c.required("subject", &input.subject, 200);
    let body = c.multiline("body", &input.body, 10_000);
    if body.trim().is_empty() {
        c.add("body", "Écrivez le texte du courriel.");
    }
    for (field, text) in [("subject", &subject), ("body", &body)] {
        if let Some(p) = rules::unknown_placeholder(text) {
            c.add(
                field,
                format!(
                    "{p} n'est pas un champ connu : utilisez {}.",
                    rules::PLACEHOLDERS
                        .iter()
                        .map(|(p, what)| format!("{p} ({what})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    c.finish()?;

    cohort::get(tx, cohort_id)?;
    let current = letter(tx, cohort_id, status)?;
    check_version(
        &input.version,
        current.version,
        "Ce courriel de décision a été modifié",
    )?;
    let t = tx.now_naive();
    let changed = "Ce courriel de décision a été modifié";
    if current.version == 0 {
        let inserted = diesel::insert_into(decision_letters::table)
            .values((
                decision_letters::cohort_id.eq(cohort_id),
                decision_letters::status.eq(status.code()),
                decision_letters::subject.eq(&subject),
                decision_letters::body.eq(&body),
                decision_letters::version.eq(1),
                decision_letters::updated_at.eq(t),
            ))
            .execute(tx.conn());
        check_inserted(inserted, changed)?;
    } else {
        let n = diesel::update(
            decision_letters::table
                .find((cohort_id, status.code()))
                .filter(decision_letters::version.eq(current.version)),
        )
        .set((
            decision_letters::subject.eq(&subject),
            decision_letters::body.eq(&body),
            decision_letters::version.eq(current.version + 1),
            decision_letters::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
        check_updated(n, changed)?;
    }
    let saved = letter(tx, cohort_id, status)?;
    audit::updated(
        tx,
        "decision_letter",
        &format!("{cohort_id}/{}", status.code()),
        Some(cohort_id),
        &current,
        &saved,
    )?;
    Ok(saved)
}

/// Every status with how many applications of `counts` have it, for a filter.
pub fn filter_options(counts: &[(Status, i64)], chosen: Option<Status>) -> Vec<serde_json::Value> {
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let mut out = vec![json!({
        "code": "", "label": "Toutes", "count": total, "selected": chosen.is_none(),
    })];
    out.extend(counts.iter().map(|(s, n)| {
        json!({"code": s.code(), "label": s.label(), "count": n, "selected": chosen == Some(*s)})
    }));
    out
}
