//! Cohort: one collective accompaniment run by an owning DLA (with partner DLAs), its
//! enrolment cap and its programme template.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::in_list;
use crate::db::schema::{associations, cohort_partners, cohorts, dlas, sessions};
use crate::db::{Conn, Tx};
use crate::domain::programme::ProgrammeTemplate;
use crate::domain::schedule::{Schedule, ScheduleOverride, parse_reminder_days};
use crate::error::AppError;
use crate::models::input::{Check, lenient, new_id};
use crate::models::scope::CohortScope;
use crate::models::{audit, consultant, dla, stale};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = cohorts)]
pub struct Cohort {
    pub id: String,
    pub dla_id: String,
    pub name: String,
    pub territory: String,
    /// `territoriale`, `reseau` or `sectorielle`.
    pub approach: String,
    pub thematic: Option<String>,
    pub start_date: NaiveDate,
    /// `brouillon`, `en_cours` or `terminee`.
    pub status: String,
    pub association_cap: i32,
    pub consultant_id: Option<String>,
    #[serde(skip)]
    pub programme_template: Option<String>,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
    /// When the programme was published (convocations and reminders exist from then on).
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::db::MaybeStamp)]
    pub published_at: Option<NaiveDateTime>,
    /// JSON overrides of `[mail.schedule]`.
    #[serde(skip)]
    pub mail_settings: Option<String>,
    /// The DLA's chargé·e de mission for this cohort (weekly summary).
    pub officer_name: String,
    pub officer_email: String,
}

pub const APPROACHES: [(&str, &str); 3] = [
    ("territoriale", "Approche territoriale"),
    ("reseau", "Approche par réseau"),
    ("sectorielle", "Approche sectorielle"),
];

pub const STATUSES: [(&str, &str); 3] = [
    ("brouillon", "Brouillon"),
    ("en_cours", "En cours"),
    ("terminee", "Terminée"),
];

pub fn approach_label(code: &str) -> &'static str {
    APPROACHES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

pub fn status_label(code: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

impl Cohort {
    /// The cohort's own sending-settings overrides (none when unreadable).
    pub fn schedule_override(&self) -> ScheduleOverride {
        override_of(self.mail_settings.as_deref())
    }

    /// The sending settings in force: the configured ones with the cohort's overrides.
    pub fn schedule(&self, defaults: &Schedule) -> Schedule {
        schedule_of(self.mail_settings.as_deref(), defaults)
    }

    pub fn published_at_utc(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.published_at.map(|t| t.and_utc())
    }

    /// The cohort's own template, or the configured default. Fields a stored template
    /// lacks (it was saved before they existed) take the configured default's value, not
    /// the code's.
    pub fn template(&self, default: &ProgrammeTemplate) -> ProgrammeTemplate {
        self.programme_template
            .as_deref()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .and_then(|mut stored| {
                let defaults = serde_json::to_value(default).ok()?;
                fill_missing(&mut stored, &defaults);
                serde_json::from_value(stored).ok()
            })
            .unwrap_or_else(|| default.clone())
    }
}

/// The overrides stored in a cohort's `mail_settings` (none when unreadable).
fn override_of(mail_settings: Option<&str>) -> ScheduleOverride {
    mail_settings
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// [`Cohort::schedule`] from the column alone, for a query that reads only that.
pub fn schedule_of(mail_settings: Option<&str>, defaults: &Schedule) -> Schedule {
    override_of(mail_settings).apply(defaults)
}

/// What an email of the cohort is about, for [`answerer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// Sessions, homework, évaluations: the cohort's organisation.
    Cohort,
    /// The compte rendu of a session, which the consultant·e wrote.
    Report,
}

/// Who answers for the cohort: the person a reply to its emails and « Accepter » in an
/// invite (the ORGANIZER) should reach. The cohort's chargé·e de mission
/// (`officer_name`, `officer_email`); for the compte rendu, the consultant·e assigned
/// (`consultant`, when one is given and has an address); when no officer is set, the
/// DLA's contact address (`dla_email`, its `dlas.email`), and without one the sending
/// address (`mail.from_address`), under the sending name (`mail.from_name`: the emails
/// are then signed « Cohorte », DLA de …).
///
/// The one place that decides it: the invites' ORGANIZER (`models::invite`, the planner,
/// the calendar feed), the emails' signature and their `Reply-To`
/// (`models::outbox::personalise`) take it from here.
pub fn answerer(
    co: &Cohort,
    dla_email: &str,
    consultant: Option<&consultant::Consultant>,
    topic: Topic,
    mail: &crate::models::outbox::MailContext,
) -> crate::mail::CalendarPerson {
    use crate::mail::CalendarPerson;
    if topic == Topic::Report
        && let Some(c) = consultant.filter(|c| !c.email.trim().is_empty())
    {
        return CalendarPerson {
            name: c.name.trim().to_string(),
            email: c.email.trim().to_string(),
        };
    }
    let name = co.officer_name.trim();
    let email = co.officer_email.trim();
    CalendarPerson {
        name: if name.is_empty() {
            mail.from_name.clone()
        } else {
            name.to_string()
        },
        email: if !email.is_empty() {
            email.to_string()
        } else if !dla_email.trim().is_empty() {
            dla_email.trim().to_string()
        } else {
            mail.from_address.clone()
        },
    }
}

/// Copies into `stored` the object keys of `defaults` it lacks, at every depth of objects.
fn fill_missing(stored: &mut serde_json::Value, defaults: &serde_json::Value) {
    if let (Some(stored), Some(defaults)) = (stored.as_object_mut(), defaults.as_object()) {
        for (key, value) in defaults {
            match stored.get_mut(key) {
                Some(own) => fill_missing(own, value),
                None => {
                    stored.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CohortInput {
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    /// Owning DLA.
    #[serde(default, deserialize_with = "lenient")]
    pub dla_id: String,
    #[serde(default)]
    pub partner_dla_ids: Vec<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub territory: String,
    #[serde(default, deserialize_with = "lenient")]
    pub approach: String,
    #[serde(default, deserialize_with = "lenient")]
    pub thematic: String,
    /// `AAAA-MM-JJ` or `JJ/MM/AAAA`.
    #[serde(default, deserialize_with = "lenient")]
    pub start_date: String,
    #[serde(default, deserialize_with = "lenient")]
    pub status: String,
    /// Defaults to 8.
    #[serde(default, deserialize_with = "lenient")]
    pub association_cap: String,
    #[serde(default, deserialize_with = "lenient")]
    pub consultant_id: String,
    /// The DLA's chargé·e de mission for this cohort: receives the weekly summary.
    #[serde(default, deserialize_with = "lenient")]
    pub officer_name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub officer_email: String,
    /// The version read before editing; a stale one is refused.
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl From<(&Cohort, Vec<String>)> for CohortInput {
    fn from((c, partners): (&Cohort, Vec<String>)) -> Self {
        CohortInput {
            name: c.name.clone(),
            dla_id: c.dla_id.clone(),
            partner_dla_ids: partners,
            territory: c.territory.clone(),
            approach: c.approach.clone(),
            thematic: c.thematic.clone().unwrap_or_default(),
            start_date: c.start_date.format("%Y-%m-%d").to_string(),
            status: c.status.clone(),
            association_cap: c.association_cap.to_string(),
            consultant_id: c.consultant_id.clone().unwrap_or_default(),
            officer_name: c.officer_name.clone(),
            officer_email: c.officer_email.clone(),
            version: c.version.to_string(),
        }
    }
}

struct Values {
    name: String,
    dla_id: String,
    partners: Vec<String>,
    territory: String,
    approach: String,
    thematic: Option<String>,
    start_date: NaiveDate,
    status: String,
    cap: i32,
    consultant_id: Option<String>,
    officer_name: String,
    officer_email: String,
    version: Option<i32>,
}

impl CohortInput {
    fn check(&self, conn: &mut Conn) -> Result<Values, AppError> {
        let mut c = Check::new();
        let name = c.required("name", &self.name, 200);
        let dla_id = self.dla_id.trim().to_string();
        if dla_id.is_empty() {
            c.add("dla_id", "Choisissez le DLA porteur.");
        } else if dla::get(conn, &dla_id).is_err() {
            c.add("dla_id", "Ce DLA n'existe pas.");
        }
        let mut partners: Vec<String> = Vec::new();
        for p in &self.partner_dla_ids {
            let p = p.trim().to_string();
            if p.is_empty() || p == dla_id || partners.contains(&p) {
                continue;
            }
            if dla::get(conn, &p).is_err() {
                c.add("partner_dla_ids", "Un des DLA partenaires n'existe pas.");
            }
            partners.push(p);
        }
        let territory = c.required("territory", &self.territory, 200);
        let approach = self.approach.trim().to_string();
        if !APPROACHES.iter().any(|(code, _)| *code == approach) {
            c.add(
                "approach",
                "Choisissez l'approche : territoriale, par réseau ou sectorielle.",
            );
        }
        let thematic = c.optional("thematic", &self.thematic, 300);
        let start_date = c.date("start_date", &self.start_date);
        let status = if self.status.trim().is_empty() {
            "brouillon".to_string()
        } else {
            self.status.trim().to_string()
        };
        if !STATUSES.iter().any(|(code, _)| *code == status) {
            c.add(
                "status",
                "Statut inconnu : brouillon, en cours ou terminée.",
            );
        }
        let cap = if self.association_cap.trim().is_empty() {
            Some(8)
        } else {
            c.int("association_cap", &self.association_cap, 1, 30)
        };
        let consultant_id = match self.consultant_id.trim() {
            "" => None,
            id => {
                if consultant::get(conn, id).is_err() {
                    c.add("consultant_id", "Ce·tte consultant·e n'existe pas.");
                }
                Some(id.to_string())
            }
        };
        let officer_name = c.text("officer_name", &self.officer_name, 150);
        let officer_email = if self.officer_email.trim().is_empty() {
            String::new()
        } else {
            c.email("officer_email", &self.officer_email)
        };
        if officer_email.is_empty() && !officer_name.is_empty() {
            c.add(
                "officer_email",
                "Indiquez aussi son adresse : elle reçoit le récapitulatif hebdomadaire.",
            );
        }
        let version = match self.version.trim() {
            "" => None,
            v => v.parse().ok(),
        };
        c.finish()?;
        Ok(Values {
            name,
            dla_id,
            partners,
            territory,
            approach,
            thematic,
            start_date: start_date.expect("checked"),
            status,
            cap: cap.expect("checked"),
            consultant_id,
            officer_name,
            officer_email,
            version,
        })
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Cohort, AppError> {
    cohorts::table
        .find(id)
        .select(Cohort::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("Cohorte"))
}

pub fn partners(conn: &mut Conn, cohort_id: &str) -> Result<Vec<dla::Dla>, AppError> {
    Ok(cohort_partners::table
        .inner_join(dlas::table)
        .filter(cohort_partners::cohort_id.eq(cohort_id))
        .order(dlas::name.asc())
        .select(dla::Dla::as_select())
        .load(conn)?)
}

pub fn partner_ids(conn: &mut Conn, cohort_id: &str) -> Result<Vec<String>, AppError> {
    Ok(partners(conn, cohort_id)?
        .into_iter()
        .map(|d| d.id)
        .collect())
}

fn set_partners(tx: &mut Tx, cohort_id: &str, partners: &[String]) -> Result<(), AppError> {
    diesel::delete(cohort_partners::table.filter(cohort_partners::cohort_id.eq(cohort_id)))
        .execute(tx.conn())?;
    for p in partners {
        diesel::insert_into(cohort_partners::table)
            .values((
                cohort_partners::cohort_id.eq(cohort_id),
                cohort_partners::dla_id.eq(p),
            ))
            .execute(tx.conn())?;
    }
    Ok(())
}

pub fn create(tx: &mut Tx, input: &CohortInput) -> Result<Cohort, AppError> {
    let v = input.check(tx)?;
    let t = tx.now_naive();
    let id = new_id();
    diesel::insert_into(cohorts::table)
        .values((
            cohorts::id.eq(&id),
            cohorts::dla_id.eq(&v.dla_id),
            cohorts::name.eq(&v.name),
            cohorts::territory.eq(&v.territory),
            cohorts::approach.eq(&v.approach),
            cohorts::thematic.eq(&v.thematic),
            cohorts::start_date.eq(v.start_date),
            cohorts::status.eq(&v.status),
            cohorts::association_cap.eq(v.cap),
            cohorts::consultant_id.eq(&v.consultant_id),
            cohorts::officer_name.eq(&v.officer_name),
            cohorts::officer_email.eq(&v.officer_email),
            cohorts::version.eq(1),
            cohorts::created_at.eq(t),
            cohorts::updated_at.eq(t),
        ))
        .execute(tx.conn())?;
    set_partners(tx, &id, &v.partners)?;
    let created = get(tx, &id)?;
    let after = audited(tx, &created)?;
    audit::created(tx, "cohort", &id, Some(&id), &after)?;
    Ok(created)
}

pub fn update(tx: &mut Tx, id: &str, input: &CohortInput) -> Result<Cohort, AppError> {
    // Before the places are counted: the capacity may not go under them.
    crate::db::lock_cohort(tx, id)?;
    let current = get(tx, id)?;
    let before = audited(tx, &current)?;
    let v = input.check(tx)?;
    if v.version.is_some_and(|ver| ver != current.version) {
        return Err(stale("La cohorte a été modifiée"));
    }
    let enrolled = places_taken(tx, id, None)?;
    if (v.cap as i64) < enrolled {
        return Err(AppError::field(
            "association_cap",
            format!(
                "La cohorte compte déjà {enrolled} associations (inscrites ou candidatures retenues) : la capacité ne peut pas être inférieure."
            ),
        ));
    }
    let n = diesel::update(
        cohorts::table
            .find(id)
            .filter(cohorts::version.eq(current.version)),
    )
    .set((
        cohorts::dla_id.eq(&v.dla_id),
        cohorts::name.eq(&v.name),
        cohorts::territory.eq(&v.territory),
        cohorts::approach.eq(&v.approach),
        cohorts::thematic.eq(&v.thematic),
        cohorts::start_date.eq(v.start_date),
        cohorts::status.eq(&v.status),
        cohorts::association_cap.eq(v.cap),
        cohorts::consultant_id.eq(&v.consultant_id),
        cohorts::officer_name.eq(&v.officer_name),
        cohorts::officer_email.eq(&v.officer_email),
        cohorts::version.eq(current.version + 1),
        cohorts::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "La cohorte a été modifiée")?;
    set_partners(tx, id, &v.partners)?;
    crate::models::planner::touch(tx, id)?;
    log_update(tx, id, &before)
}

/// Publishes the programme: from now on each participant gets their convocations, and
/// reminders at their time. A cohort still in draft becomes « en cours ». Publishing twice
/// changes nothing.
pub fn publish(tx: &mut Tx, id: &str) -> Result<Cohort, AppError> {
    let current = get(tx, id)?;
    if current.published_at.is_some() {
        return Ok(current);
    }
    let before = audited(tx, &current)?;
    let sessions: i64 = sessions::table
        .filter(sessions::cohort_id.eq(id))
        .count()
        .get_result(tx.conn())?;
    if sessions == 0 {
        return Err(AppError::Conflict {
            code: "programme_empty",
            message: "Le programme n'a encore aucune séance : générez-le ou ajoutez des \
                          séances avant de le publier."
                .into(),
        });
    }
    let status = if current.status == "brouillon" {
        "en_cours"
    } else {
        current.status.as_str()
    };
    // Conditional on the row read (its status decides the new one).
    let n = diesel::update(
        cohorts::table
            .find(id)
            .filter(cohorts::version.eq(current.version)),
    )
    .set((
        cohorts::published_at.eq(Some(tx.now_naive())),
        cohorts::status.eq(status),
        cohorts::version.eq(current.version + 1),
        cohorts::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    if n == 0 {
        // Published meanwhile by someone else: publishing twice changes nothing.
        let now_stored = get(tx, id)?;
        if now_stored.published_at.is_some() {
            return Ok(now_stored);
        }
    }
    crate::models::check_updated(n, "La cohorte a été modifiée")?;
    crate::models::planner::touch(tx, id)?;
    log_update(tx, id, &before)
}

/// The sending-settings form: each field empty keeps the configured default.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ScheduleInput {
    #[serde(default, deserialize_with = "lenient")]
    pub convocation_days_before: String,
    /// « 7, 1 ».
    #[serde(default, deserialize_with = "lenient")]
    pub reminder_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub reminder_hour: String,
    #[serde(default, deserialize_with = "lenient")]
    pub homework_reminder_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub overdue_days: String,
    #[serde(default, deserialize_with = "lenient")]
    pub summary_weekday: String,
    #[serde(default, deserialize_with = "lenient")]
    pub summary_hour: String,
    /// `oui` (drafts), `non`, or empty for the default.
    #[serde(default, deserialize_with = "lenient")]
    pub review_before_send: String,
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl ScheduleInput {
    pub fn from_override(o: &ScheduleOverride, version: i32) -> ScheduleInput {
        let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        ScheduleInput {
            convocation_days_before: n(o.convocation_days_before),
            reminder_days: o
                .reminder_days
                .as_ref()
                .map(|d| {
                    if d.is_empty() {
                        "aucun".to_string()
                    } else {
                        d.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                    }
                })
                .unwrap_or_default(),
            reminder_hour: n(o.reminder_hour),
            homework_reminder_days: n(o.homework_reminder_days),
            overdue_days: n(o.overdue_days),
            summary_weekday: n(o.summary_weekday),
            summary_hour: n(o.summary_hour),
            review_before_send: match o.review_before_send {
                Some(true) => "oui".into(),
                Some(false) => "non".into(),
                None => String::new(),
            },
            version: version.to_string(),
        }
    }

    /// The overrides this input asks for, or every wrong field with its French message.
    pub fn check(&self, defaults: &Schedule) -> Result<ScheduleOverride, AppError> {
        let mut c = Check::new();
        let number = |c: &mut Check, field: &str, value: &str, max: i32| -> Option<u32> {
            if value.trim().is_empty() {
                return None;
            }
            c.int(field, value, 0, max).map(|v| v as u32)
        };
        let max = crate::domain::schedule::MAX_DAYS as i32;
        let o = ScheduleOverride {
            convocation_days_before: number(
                &mut c,
                "convocation_days_before",
                &self.convocation_days_before,
                max,
            ),
            reminder_days: match self.reminder_days.trim() {
                "" => None,
                "aucun" | "0" => Some(Vec::new()),
                text => match parse_reminder_days(text) {
                    Some(days) => Some(days),
                    None => {
                        c.add(
                            "reminder_days",
                            "Des nombres de jours séparés par des virgules (exemple : 7, 1), \
                             ou « aucun ».",
                        );
                        None
                    }
                },
            },
            reminder_hour: number(&mut c, "reminder_hour", &self.reminder_hour, 23),
            homework_reminder_days: number(
                &mut c,
                "homework_reminder_days",
                &self.homework_reminder_days,
                max,
            ),
            overdue_days: number(&mut c, "overdue_days", &self.overdue_days, max),
            summary_weekday: number(&mut c, "summary_weekday", &self.summary_weekday, 7),
            summary_hour: number(&mut c, "summary_hour", &self.summary_hour, 23),
            review_before_send: match self.review_before_send.trim() {
                "" => None,
                v if Check::checkbox(v) => Some(true),
                "non" | "false" | "0" | "off" => Some(false),
                _ => {
                    c.add("review_before_send", "Répondez « oui » ou « non ».");
                    None
                }
            },
        };
        if c.errors.is_empty() {
            for e in o.apply(defaults).check() {
                c.add(e.field, e.message);
            }
        }
        c.finish()?;
        Ok(o)
    }
}

/// Stores a cohort's sending settings; pending automatic emails follow them.
pub fn set_schedule(
    tx: &mut Tx,
    id: &str,
    input: &ScheduleInput,
    defaults: &Schedule,
) -> Result<Cohort, AppError> {
    let current = get(tx, id)?;
    let logged = audited(tx, &current)?;
    let o = input.check(defaults)?;
    crate::models::check_version(&input.version, current.version, "La cohorte a été modifiée")?;
    let json = if o.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&o).map_err(|e| AppError::Internal(e.into()))?)
    };
    let (before, after) = (
        current.schedule(defaults).review_before_send,
        o.apply(defaults).review_before_send,
    );
    if before != after {
        set_review(tx, id, after)?;
    }
    let n = diesel::update(
        cohorts::table
            .find(id)
            .filter(cohorts::version.eq(current.version)),
    )
    .set((
        cohorts::mail_settings.eq(json),
        cohorts::version.eq(current.version + 1),
        cohorts::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "La cohorte a été modifiée")?;
    crate::models::planner::touch(tx, id)?;
    log_update(tx, id, &logged)
}

/// « Valider les envois » turned on: the automatic emails not sent yet (and not being
/// retried) wait as drafts; turned off: the drafts are scheduled.
fn set_review(tx: &mut Tx, cohort_id: &str, review: bool) -> Result<(), AppError> {
    use crate::db::schema::outbox_emails;
    use crate::domain::outbox::Status;
    let (from, to) = if review {
        (Status::Scheduled, Status::Draft)
    } else {
        (Status::Draft, Status::Scheduled)
    };
    let ids: Vec<(String, String)> = outbox_emails::table
        .filter(outbox_emails::cohort_id.eq(cohort_id))
        .filter(outbox_emails::status.eq(from.as_str()))
        .filter(outbox_emails::attempts.eq(0))
        .select((outbox_emails::id, outbox_emails::kind))
        .load(tx.conn())?;
    for (row, kind) in ids {
        if kind == crate::models::planner::WEEKLY_SUMMARY {
            continue; // for the team, never held
        }
        diesel::update(
            outbox_emails::table
                .find(&row)
                .filter(outbox_emails::status.eq(from.as_str())),
        )
        .set((
            outbox_emails::status.eq(to.as_str()),
            outbox_emails::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    }
    Ok(())
}

/// Stores the cohort's own programme template (`None`: back to the configured default).
/// `version` is the cohort's version read with the template (empty: no check, for
/// callers that hold none); a stale one is refused.
pub fn set_template(
    tx: &mut Tx,
    id: &str,
    template: Option<&ProgrammeTemplate>,
    version: &str,
) -> Result<Cohort, AppError> {
    // The one place a cohort's template is checked, whichever way it arrives.
    if let Some(Err(errors)) = template.map(ProgrammeTemplate::validate) {
        return Err(AppError::validation(errors.into_iter().collect()));
    }
    let json = template
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| AppError::Internal(e.into()))?;

    let current = get(tx, id)?;
    crate::models::check_version(version, current.version, "La cohorte a été modifiée")?;
    let before = audited(tx, &current)?;
    let n = diesel::update(
        cohorts::table
            .find(id)
            .filter(cohorts::version.eq(current.version)),
    )
    .set((
        cohorts::programme_template.eq(json),
        cohorts::version.eq(current.version + 1),
        cohorts::updated_at.eq(tx.now_naive()),
    ))
    .execute(tx.conn())?;
    crate::models::check_updated(n, "La cohorte a été modifiée")?;
    log_update(tx, id, &before)
}

/// The cohort as the audit log keeps it: its columns, the partner DLAs by name and the
/// settings the API does not show.
fn audited(conn: &mut Conn, c: &Cohort) -> Result<serde_json::Value, AppError> {
    let mut v = serde_json::to_value(c).map_err(|e| AppError::Internal(e.into()))?;
    let partners: Vec<String> = partners(conn, &c.id)?.into_iter().map(|d| d.name).collect();
    if let Some(map) = v.as_object_mut() {
        map.insert("partners".into(), serde_json::json!(partners));
        map.insert("mail_settings".into(), c.mail_settings.clone().into());
        map.insert(
            "programme_template".into(),
            c.programme_template.clone().into(),
        );
    }
    Ok(v)
}

/// Records the change from `before` to the stored cohort, and returns the latter.
fn log_update(tx: &mut Tx, id: &str, before: &serde_json::Value) -> Result<Cohort, AppError> {
    let updated = get(tx, id)?;
    let after = audited(tx, &updated)?;
    audit::updated(tx, "cohort", id, Some(id), before, &after)?;
    Ok(updated)
}

pub fn association_count(conn: &mut Conn, cohort_id: &str) -> Result<i64, AppError> {
    Ok(associations::table
        .filter(associations::cohort_id.eq(cohort_id))
        .count()
        .get_result(conn)?)
}

/// The places of the cohort's cap that are taken: its enrolled associations plus the
/// applications retained and not yet enrolled (an enrolled application counts once,
/// through its association). `holding`: an application about to be enrolled, whose own
/// place is not counted again. The one count behind the cap — `association::enrol`,
/// retaining an application, the import.
pub fn places_taken(
    conn: &mut Conn,
    cohort_id: &str,
    holding: Option<&str>,
) -> Result<i64, AppError> {
    let enrolled = association_count(conn, cohort_id)?;
    let retained = crate::models::application::retained_not_enrolled(conn, cohort_id, holding)?;
    Ok(enrolled + retained)
}

/// A row of the cohorts list.
#[derive(Clone, Debug, Serialize)]
pub struct CohortSummary {
    pub cohort: Cohort,
    pub dla_name: String,
    pub association_count: i64,
    pub next_session: Option<NaiveDateTime>,
}

/// What a list of cohorts is narrowed to, besides the person's scope: a piece of the name,
/// a status, a year of start, an owning DLA, the cohorts with emails late or failing at
/// that moment (`models::outbox_status`). Each empty field narrows nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CohortFilter {
    pub search: String,
    pub status: Option<String>,
    pub year: Option<i32>,
    pub dla_id: Option<String>,
    pub mail_trouble: Option<crate::models::outbox_status::Watch>,
}

/// The rows a cohorts page selects.
pub type CohortRow = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Cohort, crate::db::Backend>>;

/// The cohorts in `scope` that `filter` keeps, scope and filters in the `WHERE` (the year
/// is a range on `start_date`, which `cohorts_start` serves).
fn filtered(
    scope: &CohortScope,
    filter: &CohortFilter,
) -> cohorts::BoxedQuery<'static, crate::db::Backend> {
    let mut query = cohorts::table.into_boxed();
    if let Some(condition) = crate::models::scope::cohort_condition(scope) {
        query = query.filter(condition);
    }
    let search = filter.search.trim();
    if !search.is_empty() {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        // Lower case on both sides: `LIKE` alone ignores case on SQLite only.
        query = query.filter(
            crate::db::lower(cohorts::name)
                .like(format!("%{escaped}%"))
                .escape('\\'),
        );
    }
    if let Some(status) = &filter.status {
        query = query.filter(cohorts::status.eq(status.clone()));
    }
    if let Some((first, last)) = filter.year.and_then(|y| {
        Some((
            NaiveDate::from_ymd_opt(y, 1, 1)?,
            NaiveDate::from_ymd_opt(y, 12, 31)?,
        ))
    }) {
        query = query.filter(cohorts::start_date.between(first, last));
    }
    if let Some(dla) = &filter.dla_id {
        query = query.filter(cohorts::dla_id.eq(dla.clone()));
    }
    if let Some(watch) = filter.mail_trouble {
        query = query.filter(crate::models::outbox_status::cohorts_in_trouble(
            scope, watch,
        ));
    }
    query
}

/// One page of the cohorts in `scope` that `filter` keeps, the most recent start first:
/// the query the cohorts page and `GET /api/v1/cohorts` run (public for
/// tests/query_plans.rs).
pub fn page_query(
    scope: &CohortScope,
    filter: &CohortFilter,
    limit: i64,
    offset: i64,
) -> cohorts::BoxedQuery<'static, crate::db::Backend, CohortRow> {
    filtered(scope, filter)
        .order((
            cohorts::start_date.desc(),
            cohorts::name.asc(),
            cohorts::id.asc(),
        ))
        .limit(limit)
        .offset(offset)
        .select(Cohort::as_select())
}

/// How many cohorts [`page`] pages through.
pub fn count(conn: &mut Conn, scope: &CohortScope, filter: &CohortFilter) -> Result<i64, AppError> {
    Ok(filtered(scope, filter).count().get_result(conn)?)
}

/// One page of cohorts (see [`page_query`]).
pub fn page(
    conn: &mut Conn,
    scope: &CohortScope,
    filter: &CohortFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<Cohort>, AppError> {
    Ok(page_query(scope, filter, limit, offset).load(conn)?)
}

/// The cohorts list's rows for one page of cohorts: the DLA's name, the number of
/// associations and the next session, three queries keyed by the page's ids whatever the
/// number of cohorts.
pub fn summaries(
    conn: &mut Conn,
    page: Vec<Cohort>,
    now: NaiveDateTime,
) -> Result<Vec<CohortSummary>, AppError> {
    use std::collections::HashMap;
    let ids: Vec<&str> = page.iter().map(|c| c.id.as_str()).collect();
    let mut dla_ids: Vec<&str> = page.iter().map(|c| c.dla_id.as_str()).collect();
    dla_ids.sort_unstable();
    dla_ids.dedup();
    let names: HashMap<String, String> = dlas::table
        .filter(in_list(dlas::id, &dla_ids))
        .select((dlas::id, dlas::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let counts: HashMap<String, i64> = associations::table
        .filter(in_list(associations::cohort_id, &ids))
        .group_by(associations::cohort_id)
        .select((associations::cohort_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let next: HashMap<String, Option<NaiveDateTime>> = sessions::table
        .filter(in_list(sessions::cohort_id, &ids))
        .filter(sessions::starts_at.ge(now))
        .group_by(sessions::cohort_id)
        .select((sessions::cohort_id, diesel::dsl::min(sessions::starts_at)))
        .load::<(String, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .collect();
    Ok(page
        .into_iter()
        .map(|cohort| CohortSummary {
            dla_name: names.get(&cohort.dla_id).cloned().unwrap_or_default(),
            association_count: counts.get(&cohort.id).copied().unwrap_or(0),
            next_session: next.get(&cohort.id).copied().flatten(),
            cohort,
        })
        .collect())
}

/// Whether the instance has neither cohort nor DLA yet (one row looked for in each, not
/// counted: the cohorts list asks on every display).
pub fn is_database_empty(conn: &mut Conn) -> Result<bool, AppError> {
    let cohort: Option<String> = cohorts::table.select(cohorts::id).first(conn).optional()?;
    let dla: Option<String> = dlas::table.select(dlas::id).first(conn).optional()?;
    Ok(cohort.is_none() && dla.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cohort(officer_name: &str, officer_email: &str) -> Cohort {
        let t = NaiveDateTime::default();
        Cohort {
            id: "c-1".into(),
            dla_id: "d-1".into(),
            name: "Modèles socio-économiques 2027".into(),
            territory: "Bordeaux Métropole".into(),
            approach: "territoriale".into(),
            thematic: None,
            start_date: NaiveDate::from_ymd_opt(2027, 1, 11).unwrap(),
            status: "brouillon".into(),
            association_cap: 8,
            consultant_id: Some("k-1".into()),
            programme_template: None,
            version: 1,
            created_at: t,
            updated_at: t,
            published_at: None,
            mail_settings: None,
            officer_name: officer_name.into(),
            officer_email: officer_email.into(),
        }
    }

    fn mail() -> crate::models::outbox::MailContext {
        let mut config = crate::config::Config::defaults();
        config.mail.from_name = "DLA de la Gironde".into();
        config.mail.from_address = "contact@dla33.fr".into();
        crate::models::outbox::MailContext::new(
            &config,
            std::sync::Arc::new(handlebars::Handlebars::new()),
        )
    }

    fn consultant(email: &str) -> consultant::Consultant {
        let t = NaiveDateTime::default();
        consultant::Consultant {
            id: "k-1".into(),
            name: "Jeanne Roux".into(),
            firm: "Conseil & Territoires".into(),
            email: email.into(),
            created_at: t,
            updated_at: t,
            version: 1,
        }
    }

    fn who(p: crate::mail::CalendarPerson) -> (String, String) {
        (p.name, p.email)
    }

    #[test]
    fn the_officer_answers_for_the_cohort_and_the_consultant_for_the_report() {
        let co = cohort(" Claire Martin ", "claire.martin@dla33.fr ");
        let k = consultant("jeanne.roux@conseil.fr");
        let officer = (
            "Claire Martin".to_string(),
            "claire.martin@dla33.fr".to_string(),
        );
        assert_eq!(
            who(answerer(&co, "", None, Topic::Cohort, &mail())),
            officer
        );
        assert_eq!(
            who(answerer(&co, "", Some(&k), Topic::Cohort, &mail())),
            officer,
            "the consultant answers for the compte rendu only"
        );
        assert_eq!(
            who(answerer(&co, "", Some(&k), Topic::Report, &mail())),
            ("Jeanne Roux".into(), "jeanne.roux@conseil.fr".into())
        );
        assert_eq!(
            who(answerer(
                &co,
                "",
                Some(&consultant(" ")),
                Topic::Report,
                &mail()
            )),
            officer,
            "a consultant without an address: the officer"
        );
    }

    #[test]
    fn without_an_officer_the_dla_sending_address_answers() {
        let co = cohort("", "");
        assert_eq!(
            who(answerer(&co, "", None, Topic::Cohort, &mail())),
            ("DLA de la Gironde".into(), "contact@dla33.fr".into())
        );
        assert_eq!(
            who(answerer(&co, "", None, Topic::Report, &mail())),
            ("DLA de la Gironde".into(), "contact@dla33.fr".into())
        );
    }
}
