//! Audit log of changes: who, what, when, before/after (issue #5).
//!
//! The author of a change is the write transaction's (`db::Tx::author`): the request's
//! actor under `AppState::write`, « Système » for the background work and the command line.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::in_list;
use crate::db::schema::{associations, audit_log, cohorts, consultants, dlas, sessions};
use crate::db::{Conn, Tx};
use crate::domain::fr;
use crate::error::AppError;
use crate::models::input::new_id;

pub use crate::db::Author;

// ---------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------

/// What happened to the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Anonymise,
    /// The automatic purge of an ended cohort's personal data.
    Purge,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Anonymise,
        Action::Purge,
    ];

    /// As stored in `audit_log.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Anonymise => "anonymise",
            Action::Purge => "purge",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// « création », « modification »…
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "création",
            Action::Update => "modification",
            Action::Delete => "suppression",
            Action::Anonymise => "anonymisation",
            Action::Purge => "purge des données personnelles",
        }
    }
}

/// `audit_log.entity` codes and their French labels.
pub const ENTITIES: [(&str, &str); 14] = [
    ("cohort", "Cohorte"),
    ("association", "Association"),
    ("participant", "Participant·e"),
    ("session", "Séance"),
    ("task", "Travail intersession"),
    ("task_return", "Rendu d'un travail"),
    ("time_entry", "Temps saisi"),
    ("programme", "Programme"),
    ("guest", "Invité·e d'un bilan"),
    ("application", "Candidature"),
    ("decision_letter", "Courriel de décision"),
    ("import", "Import d'une liste"),
    ("call", "Appel à candidatures"),
    ("place", "Lieu"),
];

pub fn entity_label(code: &str) -> &str {
    ENTITIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(code)
}

/// Bookkeeping columns: a change of only these is no change.
const BOOKKEEPING: [&str; 2] = ["updated_at", "version"];

/// Columns never listed in the changes shown.
const HIDDEN: [&str; 8] = [
    "id",
    "cohort_id",
    "created_at",
    "updated_at",
    "version",
    "sequence",
    "feed_generation",
    "task_id",
];

fn snapshot<T: Serialize + ?Sized>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.into()))
}

fn without_bookkeeping(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !BOOKKEEPING.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Writes one row of the audit log, by the transaction's author (`Tx::author`), in the
/// caller's transaction. An update whose before and after are the same (apart from
/// `updated_at` and `version`) is not recorded.
pub fn record<B: Serialize + ?Sized, A: Serialize + ?Sized>(
    tx: &mut Tx,
    entity: &str,
    entity_id: &str,
    cohort_id: Option<&str>,
    action: Action,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let before = before.map(snapshot).transpose()?;
    let after = after.map(snapshot).transpose()?;
    if action == Action::Update
        && let (Some(b), Some(a)) = (&before, &after)
        && without_bookkeeping(b) == without_bookkeeping(a)
    {
        return Ok(());
    }
    let author = tx.author().clone();
    let text = |v: Option<Value>| v.map(|v| v.to_string());
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(new_id()),
            audit_log::at.eq(tx.now_naive()),
            audit_log::actor.eq(&author.label),
            audit_log::actor_user_id.eq(&author.user_id),
            audit_log::cohort_id.eq(cohort_id),
            audit_log::entity.eq(entity),
            audit_log::entity_id.eq(entity_id),
            audit_log::action.eq(action.as_str()),
            audit_log::before_data.eq(text(before)),
            audit_log::after_data.eq(text(after)),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// `record` of a creation.
pub fn created<T: Serialize + ?Sized>(
    tx: &mut Tx,
    entity: &str,
    entity_id: &str,
    cohort_id: Option<&str>,
    after: &T,
) -> Result<(), AppError> {
    record::<T, T>(
        tx,
        entity,
        entity_id,
        cohort_id,
        Action::Create,
        None,
        Some(after),
    )
}

/// `record` of an update (nothing written when nothing changed).
pub fn updated<T: Serialize + ?Sized>(
    tx: &mut Tx,
    entity: &str,
    entity_id: &str,
    cohort_id: Option<&str>,
    before: &T,
    after: &T,
) -> Result<(), AppError> {
    record(
        tx,
        entity,
        entity_id,
        cohort_id,
        Action::Update,
        Some(before),
        Some(after),
    )
}

/// `record` of a deletion.
pub fn deleted<T: Serialize + ?Sized>(
    tx: &mut Tx,
    entity: &str,
    entity_id: &str,
    cohort_id: Option<&str>,
    before: &T,
) -> Result<(), AppError> {
    record::<T, T>(
        tx,
        entity,
        entity_id,
        cohort_id,
        Action::Delete,
        Some(before),
        None,
    )
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// A stored row of `audit_log`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub at: NaiveDateTime,
    pub actor: String,
    pub actor_user_id: Option<String>,
    pub cohort_id: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub before_data: Option<String>,
    pub after_data: Option<String>,
}

/// One field of a change, as shown: « Nom : Ancien → Nouveau ».
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    /// French label of the field.
    pub label: String,
    /// The value before, in French (« — » when empty or absent).
    pub before: String,
    pub after: String,
}

/// A row of the audit log with its French reading.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
    /// « lundi 11 janvier 2027, 9 h 30 » (Europe/Paris).
    pub at_text: String,
    /// Who made the change, as shown.
    pub actor: String,
    pub actor_user_id: Option<String>,
    pub cohort_id: Option<String>,
    pub cohort_name: Option<String>,
    /// `cohort`, `association`, `participant`, `session`, `task`, `task_return`,
    /// `time_entry` or `programme`.
    pub entity: String,
    /// « Cohorte », « Séance »…
    pub entity_label: String,
    pub entity_id: String,
    /// What the row is called: its name, title or kind and date.
    pub subject: String,
    /// `create`, `update`, `delete` or `anonymise`.
    pub action: String,
    /// « création », « modification », « suppression », « anonymisation ».
    pub action_label: String,
    /// « Séance « État des lieux — 12/01/2027 » : modification ».
    pub summary: String,
    /// Updates: the fields that changed; creations and deletions: the values set or lost.
    pub changes: Vec<FieldChange>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// The fields shown, in the order they are listed, with their French labels.
const FIELDS: [(&str, &str); 53] = [
    ("name", "Nom"),
    ("title", "Titre"),
    ("kind", "Type"),
    ("entry_date", "Date"),
    ("starts_at", "Début"),
    ("ends_at", "Fin"),
    ("dla_id", "DLA porteur"),
    ("partners", "DLA partenaires"),
    ("territory", "Territoire"),
    ("approach", "Approche"),
    ("thematic", "Thématique"),
    ("start_date", "Date de début"),
    ("status", "Statut"),
    ("association_cap", "Nombre maximal d'associations"),
    ("consultant_id", "Consultant·e"),
    ("published_at", "Publication du programme"),
    ("officer_name", "Chargé·e de mission"),
    ("officer_email", "Adresse de la·du chargé·e de mission"),
    ("mail_settings", "Réglages des envois"),
    ("programme_template", "Modèle de programme"),
    ("purged_at", "Données personnelles purgées le"),
    ("rna", "RNA"),
    ("siret", "SIRET"),
    ("creation_year", "Année de création"),
    ("creation_date", "Date de création"),
    ("salaried_staff", "Salarié·es"),
    ("sector", "Secteur"),
    ("town", "Commune"),
    ("general_interest", "Intérêt général"),
    ("mirror_named", "Nommée dans le miroir"),
    ("anonymised_at", "Anonymisé·e le"),
    ("association_id", "Association"),
    ("email", "Adresse e-mail"),
    ("role", "Rôle"),
    ("function", "Fonction"),
    ("reminders", "Rappels"),
    ("location", "Lieu"),
    ("video_link", "Lien de visio"),
    ("agenda", "Ordre du jour"),
    ("planned_half_days", "Temps consultant prévu"),
    ("session_id", "Séance"),
    ("instructions", "Consignes"),
    ("due_date", "Échéance"),
    ("preparation_half_days", "Temps de préparation estimé"),
    ("half_days", "Durée (demi-journées)"),
    ("minutes", "Durée (heures)"),
    ("comment", "Commentaire"),
    ("returned_on", "Rendu le"),
    ("answer", "Réponse"),
    ("task_title", "Travail"),
    ("association_name", "Association"),
    ("sessions", "Séances"),
    ("tasks", "Travaux intersession"),
];

fn field_label(field: &str) -> &str {
    FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, l)| *l)
        .unwrap_or(field)
}

fn field_rank(field: &str) -> usize {
    FIELDS
        .iter()
        .position(|(f, _)| *f == field)
        .unwrap_or(FIELDS.len())
}

/// Longer values are cut in the page (the API keeps them whole in `before`/`after`).
const MAX_SHOWN: usize = 300;

/// A JSON value in French, for the field `field` of an `entity`.
fn show(
    entity: &str,
    field: &str,
    value: Option<&Value>,
    names: &HashMap<String, String>,
) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => if *b { "oui" } else { "non" }.to_string(),
        Some(Value::Number(n)) => match (field, n.as_i64()) {
            ("planned_half_days" | "preparation_half_days" | "half_days", Some(h)) => {
                fr::half_days(h)
            }
            ("minutes", Some(m)) => crate::models::time_entry::hours_text(m),
            _ => n.to_string(),
        },
        Some(Value::String(s)) => {
            let text = show_text(entity, field, s, names);
            if text.chars().count() > MAX_SHOWN {
                let cut: String = text.chars().take(MAX_SHOWN).collect();
                return format!("{cut}…");
            }
            text
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| show(entity, field, Some(v), names))
            .collect::<Vec<_>>()
            .join(", "),
        Some(v @ Value::Object(_)) => v.to_string(),
    };
    if text.trim().is_empty() {
        return "—".to_string();
    }
    text
}

fn show_text(entity: &str, field: &str, s: &str, names: &HashMap<String, String>) -> String {
    use crate::domain::budget::TimeKind;
    use crate::domain::programme::SessionKind;
    use crate::models::{cohort, participant};
    if field.ends_with("_id") && !s.is_empty() {
        return names
            .get(s)
            .cloned()
            .unwrap_or_else(|| "élément supprimé".to_string());
    }
    let code = match (entity, field) {
        ("cohort", "status") => Some(cohort::status_label(s)),
        ("cohort", "approach") => Some(cohort::approach_label(s)),
        ("participant", "role") => Some(participant::role_label(s)),
        ("session", "kind") => SessionKind::parse(s).map(SessionKind::label),
        ("time_entry", "kind") => TimeKind::parse(s).map(TimeKind::label),
        ("task_return", "status") => match s {
            "rendu" => Some("rendu"),
            "a_faire" => Some("à faire"),
            _ => None,
        },
        _ => None,
    };
    if let Some(label) = code
        && label != "—"
    {
        return label.to_string();
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return fr::datetime_long(t.with_timezone(&chrono::Utc));
    }
    if s.len() == 10
        && let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
    {
        return fr::date_short(d);
    }
    s.to_string()
}

/// The fields to show: for an update, those that differ; for a creation or a deletion,
/// every value that is not empty.
pub fn changes(
    entity: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    names: &HashMap<String, String>,
) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut fields: Vec<&String> = a.keys().collect();
    fields.extend(b.keys().filter(|k| !a.contains_key(*k)));
    fields.sort_by_key(|f| (field_rank(f), f.as_str()));
    fields
        .into_iter()
        .filter(|f| !HIDDEN.contains(&f.as_str()))
        .filter(|f| b.get(*f) != a.get(*f))
        .filter_map(|f| {
            let (before, after) = (
                show(entity, f, b.get(f), names),
                show(entity, f, a.get(f), names),
            );
            // A field absent on one side and empty on the other changed nothing visible.
            (before != after).then(|| FieldChange {
                field: f.clone(),
                label: field_label(f).to_string(),
                before,
                after,
            })
        })
        .collect()
}

/// What the row is called, from its snapshot: name, title, or kind and date.
fn subject(entity: &str, data: Option<&Value>, names: &HashMap<String, String>) -> String {
    let Some(data) = data else {
        return String::new();
    };
    let text = |f: &str| data.get(f).and_then(Value::as_str).unwrap_or("").trim();
    match entity {
        "session" => {
            let mut s = show(entity, "kind", data.get("kind"), names);
            if let Some(a) = data.get("association_id").filter(|v| !v.is_null()) {
                s = format!("{s} — {}", show(entity, "association_id", Some(a), names));
            }
            if let Some(d) = data.get("starts_at") {
                s = format!("{s}, {}", show(entity, "starts_at", Some(d), names));
            }
            s
        }
        "time_entry" => format!(
            "{} du {}",
            show(entity, "kind", data.get("kind"), names),
            show(entity, "entry_date", data.get("entry_date"), names)
        ),
        "task_return" => format!("{} — {}", text("task_title"), text("association_name")),
        "programme" => {
            let count = |f: &str| data.get(f).and_then(Value::as_array).map_or(0, Vec::len);
            let (s, t) = (count("sessions"), count("tasks"));
            format!(
                "{s} séance{}, {t} travau{} intersession",
                if s > 1 { "s" } else { "" },
                if t > 1 { "x" } else { "" }
            )
        }
        _ => {
            let name = text("name");
            if name.is_empty() {
                text("title").to_string()
            } else {
                name.to_string()
            }
        }
    }
}

fn parse_data(text: &Option<String>) -> Option<Value> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

/// The French reading of a stored row. `names` gives the name of each referenced row by
/// id (DLA, consultant·e, association, séance); `cohort_names` the cohorts'.
pub fn describe(
    row: AuditRow,
    names: &HashMap<String, String>,
    cohort_names: &HashMap<String, String>,
) -> AuditEntry {
    let before = parse_data(&row.before_data);
    let after = parse_data(&row.after_data);
    describe_parsed(row, before, after, names, cohort_names)
}

/// [`describe`] with the snapshots already parsed ([`read`] parses each once).
fn describe_parsed(
    row: AuditRow,
    before: Option<Value>,
    after: Option<Value>,
    names: &HashMap<String, String>,
    cohort_names: &HashMap<String, String>,
) -> AuditEntry {
    let entity_label = entity_label(&row.entity).to_string();
    let action_label = Action::parse(&row.action)
        .map(Action::label)
        .unwrap_or(row.action.as_str())
        .to_string();
    let subject = subject(&row.entity, after.as_ref().or(before.as_ref()), names);
    let summary = if subject.is_empty() {
        format!("{entity_label} : {action_label}")
    } else {
        format!("{entity_label} « {subject} » : {action_label}")
    };
    let changes = changes(&row.entity, before.as_ref(), after.as_ref(), names);
    AuditEntry {
        at_text: fr::datetime_long(row.at.and_utc()),
        cohort_name: row
            .cohort_id
            .as_ref()
            .and_then(|id| cohort_names.get(id).cloned()),
        id: row.id,
        at: row.at,
        actor: row.actor,
        actor_user_id: row.actor_user_id,
        cohort_id: row.cohort_id,
        entity: row.entity,
        entity_label,
        entity_id: row.entity_id,
        subject,
        action: row.action,
        action_label,
        summary,
        changes,
        before,
        after,
    }
}

/// Every id the snapshots refer to (fields ending in `_id`).
fn referenced_ids<'a>(snapshots: impl Iterator<Item = &'a Option<Value>>) -> HashSet<String> {
    let mut ids = HashSet::new();
    for data in snapshots {
        if let Some(Value::Object(map)) = data {
            for (k, v) in map {
                if k.ends_with("_id")
                    && let Value::String(s) = v
                {
                    ids.insert(s.clone());
                }
            }
        }
    }
    ids
}

/// Names of the DLAs, consultant·es, associations and sessions among `ids`.
fn names_of(conn: &mut Conn, ids: &HashSet<String>) -> Result<HashMap<String, String>, AppError> {
    let ids: Vec<&String> = ids.iter().collect();
    let mut names = HashMap::new();
    if ids.is_empty() {
        return Ok(names);
    }
    let pairs: Vec<(String, String)> = dlas::table
        .filter(in_list(dlas::id, &ids))
        .select((dlas::id, dlas::name))
        .load(conn)?;
    names.extend(pairs);
    let pairs: Vec<(String, String)> = consultants::table
        .filter(in_list(consultants::id, &ids))
        .select((consultants::id, consultants::name))
        .load(conn)?;
    names.extend(pairs);
    let pairs: Vec<(String, String)> = associations::table
        .filter(in_list(associations::id, &ids))
        .select((associations::id, associations::name))
        .load(conn)?;
    names.extend(pairs);
    let found: Vec<(String, String, NaiveDateTime)> = sessions::table
        .filter(in_list(sessions::id, &ids))
        .select((sessions::id, sessions::kind, sessions::starts_at))
        .load(conn)?;
    for (id, kind, starts_at) in found {
        let label = crate::domain::programme::SessionKind::parse(&kind)
            .map(|k| k.label())
            .unwrap_or("Séance");
        let day = crate::domain::calendar::utc_to_paris(starts_at.and_utc()).date();
        names.insert(id, format!("{label} du {}", fr::date_short(day)));
    }
    Ok(names)
}

fn read(conn: &mut Conn, rows: Vec<AuditRow>) -> Result<Vec<AuditEntry>, AppError> {
    let parsed: Vec<(Option<Value>, Option<Value>)> = rows
        .iter()
        .map(|r| (parse_data(&r.before_data), parse_data(&r.after_data)))
        .collect();
    let names = names_of(
        conn,
        &referenced_ids(parsed.iter().flat_map(|(b, a)| [b, a])),
    )?;
    let cohort_ids: HashSet<&String> = rows.iter().filter_map(|r| r.cohort_id.as_ref()).collect();
    let cohort_names: HashMap<String, String> = cohorts::table
        .filter(in_list(cohorts::id, cohort_ids))
        .select((cohorts::id, cohorts::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .zip(parsed)
        .map(|(r, (before, after))| describe_parsed(r, before, after, &names, &cohort_names))
        .collect())
}

/// The cohort's log, newest first.
pub fn list_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let rows = audit_log::table
        .filter(audit_log::cohort_id.eq(cohort_id))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(AuditRow::as_select())
        .load(conn)?;
    read(conn, rows)
}

pub fn count_for_cohort(conn: &mut Conn, cohort_id: &str) -> Result<i64, AppError> {
    Ok(audit_log::table
        .filter(audit_log::cohort_id.eq(cohort_id))
        .count()
        .get_result(conn)?)
}

/// The log of every cohort the DLA owns, newest first. The page's ids are chosen from the
/// index `audit_log_cohort (cohort_id, at, id)` alone, then only their rows are read: ordering
/// the rows themselves sorted every entry of the DLA's cohorts with its before/after data.
pub fn list_for_dla(
    conn: &mut Conn,
    dla_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let chosen = diesel::alias!(audit_log as chosen);
    let page = chosen
        .filter(
            chosen.field(audit_log::cohort_id).eq_any(
                cohorts::table
                    .filter(cohorts::dla_id.eq(dla_id.to_string()))
                    .select(cohorts::id.nullable()),
            ),
        )
        .order((
            chosen.field(audit_log::at).desc(),
            chosen.field(audit_log::id).desc(),
        ))
        .limit(limit)
        .offset(offset)
        .select(chosen.field(audit_log::id));
    let rows = audit_log::table
        .filter(audit_log::id.eq_any(page))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .select(AuditRow::as_select())
        .load(conn)?;
    read(conn, rows)
}

pub fn count_for_dla(conn: &mut Conn, dla_id: &str) -> Result<i64, AppError> {
    Ok(audit_log::table
        .filter(
            audit_log::cohort_id.eq_any(
                cohorts::table
                    .filter(cohorts::dla_id.eq(dla_id))
                    .select(cohorts::id.nullable()),
            ),
        )
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(entity: &str, action: &str, before: Option<Value>, after: Option<Value>) -> AuditRow {
        AuditRow {
            id: "a1".into(),
            at: NaiveDate::from_ymd_opt(2027, 1, 11)
                .unwrap()
                .and_hms_opt(8, 30, 0)
                .unwrap(),
            actor: "Claire Martin".into(),
            actor_user_id: None,
            cohort_id: Some("c1".into()),
            entity: entity.into(),
            entity_id: "e1".into(),
            action: action.into(),
            before_data: before.map(|v| v.to_string()),
            after_data: after.map(|v| v.to_string()),
        }
    }

    #[test]
    fn an_update_lists_only_the_changed_fields_in_french() {
        let before = json!({"id": "c1", "name": "Cohorte A", "status": "brouillon",
            "association_cap": 8, "version": 1, "updated_at": "2027-01-01T10:00:00Z"});
        let after = json!({"id": "c1", "name": "Cohorte B", "status": "en_cours",
            "association_cap": 8, "version": 2, "updated_at": "2027-01-02T10:00:00Z"});
        let mut cohorts = HashMap::new();
        cohorts.insert("c1".to_string(), "MSE 2027".to_string());
        let e = describe(
            row("cohort", "update", Some(before), Some(after)),
            &HashMap::new(),
            &cohorts,
        );
        assert_eq!(e.entity_label, "Cohorte");
        assert_eq!(e.action_label, "modification");
        assert_eq!(e.summary, "Cohorte « Cohorte B » : modification");
        assert_eq!(e.cohort_name.as_deref(), Some("MSE 2027"));
        // 8 h 30 UTC is 9 h 30 in Paris in January.
        assert_eq!(e.at_text, "lundi 11 janvier 2027, 9\u{a0}h\u{a0}30");
        assert_eq!(
            e.changes,
            vec![
                FieldChange {
                    field: "name".into(),
                    label: "Nom".into(),
                    before: "Cohorte A".into(),
                    after: "Cohorte B".into(),
                },
                FieldChange {
                    field: "status".into(),
                    label: "Statut".into(),
                    before: "Brouillon".into(),
                    after: "En cours".into(),
                },
            ]
        );
    }

    #[test]
    fn a_deletion_shows_what_was_lost_and_names_references() {
        let before = json!({"id": "s1", "kind": "etat_des_lieux", "association_id": null,
            "starts_at": "2027-02-01T08:30:00Z", "location": "", "planned_half_days": 3,
            "session_id": "gone"});
        let e = describe(
            row("session", "delete", Some(before), None),
            &HashMap::new(),
            &HashMap::new(),
        );
        assert_eq!(e.action_label, "suppression");
        assert_eq!(
            e.summary,
            "Séance « État des lieux, lundi 1er février 2027, 9\u{a0}h\u{a0}30 » : suppression"
        );
        let fields: Vec<&str> = e.changes.iter().map(|c| c.field.as_str()).collect();
        // Empty values and bookkeeping are left out.
        assert_eq!(
            fields,
            ["kind", "starts_at", "planned_half_days", "session_id"]
        );
        assert!(e.changes.iter().all(|c| c.after == "—"));
        assert_eq!(e.changes[2].before, "1,5\u{a0}jour");
        assert_eq!(e.changes[3].before, "élément supprimé");
    }

    #[test]
    fn references_dates_and_booleans_read_in_french() {
        let mut names = HashMap::new();
        names.insert("a1".to_string(), "Les Jardins".to_string());
        let before = json!({"entry_date": "2027-03-04", "association_id": null,
            "minutes": 90, "kind": "preparation"});
        let after = json!({"entry_date": "2027-03-05", "association_id": "a1",
            "minutes": 120, "kind": "preparation"});
        let c = changes("time_entry", Some(&before), Some(&after), &names);
        let shown: Vec<(&str, &str, &str)> = c
            .iter()
            .map(|c| (c.label.as_str(), c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Date", "04/03/2027", "05/03/2027"),
                ("Association", "—", "Les Jardins"),
                ("Durée (heures)", "1\u{a0}h\u{a0}30", "2\u{a0}h"),
            ]
        );
    }

    #[test]
    fn long_values_are_cut_and_unknown_codes_kept() {
        let long = "x".repeat(1000);
        let c = changes(
            "task",
            Some(&json!({"instructions": ""})),
            Some(&json!({"instructions": long})),
            &HashMap::new(),
        );
        assert_eq!(c[0].after.chars().count(), MAX_SHOWN + 1);
        assert!(c[0].after.ends_with('…'));
        let flag = changes(
            "association",
            Some(&json!({"general_interest": false})),
            Some(&json!({"general_interest": true})),
            &HashMap::new(),
        );
        assert_eq!(
            (flag[0].before.as_str(), flag[0].after.as_str()),
            ("non", "oui")
        );
        assert_eq!(entity_label("inconnu"), "inconnu");
        assert_eq!(Action::parse("anonymise"), Some(Action::Anonymise));
        assert_eq!(Action::Delete.label(), "suppression");
    }

    fn memory() -> Conn {
        use diesel::Connection;
        use diesel_migrations::MigrationHarness;
        let mut conn = Conn::establish(":memory:").expect("in-memory database");
        conn.run_pending_migrations(crate::db::SQLITE_MIGRATIONS)
            .expect("migrations");
        conn
    }

    #[test]
    fn record_writes_the_transactions_author_and_instant_and_skips_an_update_that_changes_nothing()
    {
        use crate::db::write_with;
        use chrono::TimeZone;
        let mut conn = memory();
        let at = chrono::Utc.with_ymd_and_hms(2027, 1, 11, 8, 30, 0).unwrap();
        let before = json!({"name": "A", "version": 1, "updated_at": "x"});
        let same = json!({"name": "A", "version": 2, "updated_at": "y"});
        let after = json!({"name": "B", "version": 3, "updated_at": "z"});
        write_with(&mut conn, Author::system(), at, |tx| {
            updated(tx, "cohort", "c1", Some("c1"), &before, &same)
        })
        .unwrap();
        assert_eq!(count_for_cohort(&mut conn, "c1").unwrap(), 0);
        let author = Author {
            label: "Claire Martin (chargé·e de mission)".into(),
            user_id: Some("u1".into()),
        };
        write_with(&mut conn, author, at, |tx| {
            updated(tx, "cohort", "c1", Some("c1"), &same, &after)
        })
        .unwrap();
        write_with(&mut conn, Author::system(), at, |tx| {
            created(
                tx,
                "association",
                "a1",
                Some("c1"),
                &json!({"name": "Asso"}),
            )
        })
        .unwrap();
        let list = list_for_cohort(&mut conn, "c1", 50, 0).unwrap();
        assert_eq!(list.len(), 2);
        let update = list.iter().find(|e| e.action == "update").unwrap();
        assert_eq!(update.actor, "Claire Martin (chargé·e de mission)");
        assert_eq!(update.actor_user_id.as_deref(), Some("u1"));
        assert_eq!(update.at, at.naive_utc(), "the transaction's instant");
        assert_eq!(update.changes.len(), 1);
        let create = list.iter().find(|e| e.action == "create").unwrap();
        assert_eq!(create.actor, "Système");
        assert_eq!(create.summary, "Association « Asso » : création");
        assert_eq!(list_for_cohort(&mut conn, "c1", 1, 1).unwrap().len(), 1);
        assert_eq!(count_for_dla(&mut conn, "d1").unwrap(), 0);
    }
}
