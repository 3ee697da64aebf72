//! « Importer une liste »: the rows of a file or a paste (`domain::import`) checked as the
//! forms check them, then enrolled through the same functions as the forms
//! (`association::enrol`, `participant::create`), all in one write transaction or none.
//!
//! The preview is what the person sees before anything is saved: every row, with beside
//! each cell the form's message (`AssociationInput::problems`,
//! `ParticipantInput::problems`), the file's own problems (`domain::import::group`), a name
//! already enrolled in the cohort, and the cap for the whole list ([`check_room`]).
//! Saving computes the preview again inside its transaction and saves nothing while any
//! row is refused.

use serde::Serialize;
use serde_json::json;

use crate::db::{Conn, Tx};
use crate::domain::import::{self, ImportRow, Table};
use crate::domain::programme::ProgrammeTemplate;
use crate::domain::rules;
use crate::error::{AppError, FieldErrors};
use crate::models::association::{self, AssociationInput};
use crate::models::participant::{self, ParticipantInput};
use crate::models::{audit, cohort};

/// One row of the preview: its line in the text, its cells as typed, a message per field.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RowReport {
    pub line: usize,
    #[serde(flatten)]
    pub cells: ImportRow,
    /// French message per field (the field names of the row); empty when the row is fine.
    pub errors: FieldErrors,
}

/// What an import would do, and what stops it.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub rows: Vec<RowReport>,
    /// Associations the list would enrol.
    pub associations: usize,
    /// Participant·es the list would add.
    pub participants: usize,
    /// Problems of the whole list (the cohort's cap).
    pub general: Vec<String>,
    /// Headers that match no column: their cells are not imported.
    pub unknown_columns: Vec<String>,
}

impl Preview {
    /// Whether anything stops the import.
    pub fn refused(&self) -> bool {
        !self.general.is_empty() || self.rows.iter().any(|r| !r.errors.is_empty())
    }

    /// The refusal as an API error: each message under `rows[i].field` (i from 0 in the
    /// rows sent), the list's own under `text`.
    pub fn to_error(&self) -> AppError {
        let mut fields = FieldErrors::new();
        for (i, row) in self.rows.iter().enumerate() {
            for (field, message) in &row.errors {
                fields.insert(format!("rows[{i}].{field}"), message.clone());
            }
        }
        if !self.general.is_empty() {
            fields.insert("text".into(), self.general.join(" "));
        }
        AppError::validation(fields)
    }
}

/// What an import saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub associations: usize,
    pub participants: usize,
}

impl Imported {
    /// « 8 associations et 16 participant·es ».
    pub fn counts(&self) -> String {
        format!(
            "{} et {}",
            plural(self.associations, "association", "associations"),
            plural(self.participants, "participant·e", "participant·es"),
        )
    }

    /// « 8 associations et 16 participant·es importés. »
    pub fn sentence(&self) -> String {
        format!(
            "{} {}.",
            self.counts(),
            if self.associations + self.participants > 1 {
                "importés"
            } else {
                "importé"
            }
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n > 1 { many } else { one })
}

pub enum Outcome {
    Saved(Imported),
    /// Nothing saved: the preview says why.
    Refused(Preview),
}

/// The cap for a list: the places already taken in the cohort, plus the list's.
/// Taken places are `cohort::places_taken`: enrolled associations and retained
/// applications not yet enrolled.
pub fn check_room(
    conn: &mut Conn,
    cohort: &cohort::Cohort,
    adding: usize,
) -> Result<Result<(), String>, AppError> {
    let taken = cohort::places_taken(conn, &cohort.id, None)? as usize;
    Ok(rules::check_room(
        taken,
        adding,
        cohort.association_cap.max(0) as usize,
    ))
}

/// The association of a group as the enrolment form would receive it, and for each of
/// its fields the row whose cell gave the value (where a message about it goes).
fn association_input(
    rows: &[ImportRow],
    group: &import::Group,
) -> (AssociationInput, Vec<(&'static str, usize)>) {
    let value = |field: &str| group.value(rows, field);
    let (date_row, date) = value("creation_date");
    let (year_row, year) = value("creation_year");
    let (creation_date, creation_year) = import::creation(date, year);
    let year_row = if year.is_empty() { date_row } else { year_row };
    let (gi_row, gi) = value("general_interest");
    let input = AssociationInput {
        name: value("association").1.to_string(),
        rna: value("rna").1.to_string(),
        siret: value("siret").1.to_string(),
        creation_year,
        creation_date,
        salaried_staff: value("salaried_staff").1.to_string(),
        sector: value("sector").1.to_string(),
        town: value("town").1.to_string(),
        general_interest: match import::general_interest(gi) {
            Some(true) => "on".into(),
            _ => String::new(),
        },
        version: String::new(),
    };
    // Form field → (row field, row).
    let mut at = vec![
        ("name", value("association").0),
        ("creation_year", year_row),
        ("creation_date", date_row),
        ("general_interest", gi_row),
    ];
    for field in ["rna", "siret", "salaried_staff", "sector", "town"] {
        at.push((field, value(field).0));
    }
    (input, at)
}

/// The row field where a message about a form field goes.
fn row_field(form_field: &str, row: &ImportRow) -> &'static str {
    match form_field {
        "name" => "association",
        "creation_year" if row.creation_year.trim().is_empty() => "creation_date",
        other => import::COLUMNS
            .iter()
            .map(|(key, _, _)| *key)
            .find(|key| *key == other)
            .unwrap_or("association"),
    }
}

/// The person of a row as the participant form would receive it.
fn participant_input(row: &ImportRow) -> ParticipantInput {
    let role = import::role_code(&row.role)
        .map(str::to_string)
        .unwrap_or_else(|| row.role.trim().to_string());
    let function = match (row.function.trim(), role.as_str()) {
        ("", "gouvernance") => import::function_from_role(&row.role).unwrap_or_default(),
        (typed, _) => typed.to_string(),
    };
    ParticipantInput {
        name: row.name.clone(),
        email: row.email.clone(),
        role,
        function,
        reminders: String::new(),
        version: String::new(),
    }
}

/// The first message on a field of a row stays (the most basic one comes first).
fn add(reports: &mut [RowReport], row: usize, field: &str, message: String) {
    reports[row]
        .errors
        .entry(field.to_string())
        .or_insert(message);
}

/// Checks every row of `table` for the cohort; writes nothing.
pub fn preview(conn: &mut Conn, cohort_id: &str, table: &Table) -> Result<Preview, AppError> {
    let cohort = cohort::get(conn, cohort_id)?;
    let rows: Vec<ImportRow> = table.rows.iter().map(|(_, r)| r.clone()).collect();
    let mut reports: Vec<RowReport> = table
        .rows
        .iter()
        .map(|(line, cells)| RowReport {
            line: *line,
            cells: cells.clone(),
            errors: FieldErrors::new(),
        })
        .collect();
    let (groups, problems) = import::group(&rows);
    for p in problems {
        add(&mut reports, p.row, p.field, p.message);
    }
    let mut participants = 0;
    for group in &groups {
        let (input, at) = association_input(&rows, group);
        let first = group.rows[0];
        for (field, message) in input.problems() {
            let row = at
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(first, |(_, r)| *r);
            add(&mut reports, row, row_field(&field, &rows[row]), message);
        }
        let (gi_row, gi) = group.value(&rows, "general_interest");
        if import::general_interest(gi).is_none() {
            add(
                &mut reports,
                gi_row,
                "general_interest",
                "Répondez « oui » ou « non ».".into(),
            );
        }
        if !input.name.trim().is_empty()
            && let Err(AppError::Validation { fields, .. }) =
                association::check_unique_name(conn, cohort_id, input.name.trim())
        {
            for message in fields.into_values() {
                add(&mut reports, first, "association", message);
            }
        }
        for &i in group.rows.iter().filter(|&&i| rows[i].has_person()) {
            participants += 1;
            for (field, message) in participant_input(&rows[i]).problems() {
                add(&mut reports, i, &field, message);
            }
        }
    }
    let mut general = Vec::new();
    if let Err(message) = check_room(conn, &cohort, groups.len())? {
        general.push(message);
    }
    if rows.is_empty() {
        general.push("La liste ne contient aucune ligne sous les titres des colonnes.".into());
    }
    Ok(Preview {
        rows: reports,
        associations: groups.len(),
        participants,
        general,
        unknown_columns: table.unknown_columns.clone(),
    })
}

/// Saves the list, all of it or nothing: the preview is computed again inside the write
/// transaction; while any row is refused nothing is written and the preview is returned.
/// Each association and person goes through the forms' own functions (their rules, side
/// effects and audit rows), then one `import` row of the audit log sums it up. `source`
/// says where the rows came from (« fichier liste.csv », « collage »).
pub fn save(
    tx: &mut Tx,
    cohort_id: &str,
    table: &Table,
    source: &str,
    default_template: &ProgrammeTemplate,
    alsace_moselle: bool,
) -> Result<Outcome, AppError> {
    // Before the preview counts the places for the whole list.
    crate::db::lock_cohort(tx, cohort_id)?;
    let preview = preview(tx, cohort_id, table)?;
    if preview.refused() {
        return Ok(Outcome::Refused(preview));
    }
    let rows: Vec<ImportRow> = table.rows.iter().map(|(_, r)| r.clone()).collect();
    let (groups, _) = import::group(&rows);
    let mut names = Vec::new();
    let mut participants = 0;
    for group in &groups {
        let (input, _) = association_input(&rows, group);
        let a = association::enrol(tx, cohort_id, &input, default_template, alsace_moselle)?;
        for &i in group.rows.iter().filter(|&&i| rows[i].has_person()) {
            participant::create(tx, &a.id, &participant_input(&rows[i]))?;
            participants += 1;
        }
        names.push(a.name);
    }
    let imported = Imported {
        associations: groups.len(),
        participants,
    };
    let summary = json!({
        "name": imported.counts(),
        "source": source,
        "associations": names,
        "participants": participants,
    });
    audit::record::<serde_json::Value, _>(
        tx,
        "import",
        &crate::models::input::new_id(),
        Some(cohort_id),
        audit::Action::Create,
        None,
        Some(&summary),
    )?;
    Ok(Outcome::Saved(imported))
}
