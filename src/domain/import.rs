//! The list import's pure part: bytes as a spreadsheet saved them → text (UTF-8 with or
//! without BOM, or Windows-1252 as French Excel writes it), text → rows (tab-separated when
//! pasted from a spreadsheet, else CSV with `;` or `,`, found on the header line), French
//! headers → columns (case- and accent-insensitive), and rows → associations (one row per
//! participant, the association's columns on its first row at least).
//!
//! The checks of each value are the forms' (`models::import` turns the rows into
//! `AssociationInput` / `ParticipantInput`); what is decided here is the file's shape:
//! unknown or repeated columns, rows without an association, association columns that
//! disagree between the rows of one association, a participant's address twice for one
//! association, a row repeated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One row as typed, each cell kept as text (so that the preview gives it back as it was).
/// The association's fields are named as in `AssociationInput` (its name is `association`),
/// the person's as in `ParticipantInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportRow {
    pub association: String,
    pub rna: String,
    pub siret: String,
    pub town: String,
    pub creation_date: String,
    pub creation_year: String,
    pub salaried_staff: String,
    pub sector: String,
    pub general_interest: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub function: String,
}

/// The columns: field of [`ImportRow`], header of the model file, and the headers accepted
/// (compared after [`normalize`]).
pub const COLUMNS: [(&str, &str, &[&str]); 13] = [
    (
        "association",
        "Association",
        &[
            "association",
            "nom de l association",
            "nom association",
            "structure",
        ],
    ),
    ("rna", "RNA", &["rna", "n rna", "no rna", "numero rna"]),
    (
        "siret",
        "SIRET",
        &["siret", "n siret", "no siret", "numero siret"],
    ),
    ("town", "Commune", &["commune", "ville"]),
    (
        "creation_date",
        "Date de création",
        &["date de creation", "creation"],
    ),
    ("creation_year", "Année de création", &["annee de creation"]),
    (
        "salaried_staff",
        "Salariés",
        &[
            "salaries",
            "salarie e s",
            "salarie es",
            "salariees",
            "nombre de salaries",
            "effectif salarie",
            "effectif",
        ],
    ),
    (
        "sector",
        "Secteur",
        &["secteur", "secteur d activite", "domaine"],
    ),
    ("general_interest", "Intérêt général", &["interet general"]),
    (
        "name",
        "Nom",
        &[
            "nom",
            "participant",
            "participante",
            "participant e",
            "nom du participant",
            "nom et prenom",
            "prenom et nom",
            "prenom nom",
            "personne",
        ],
    ),
    (
        "email",
        "Courriel",
        &[
            "courriel",
            "email",
            "e mail",
            "mail",
            "adresse e mail",
            "adresse electronique",
        ],
    ),
    ("role", "Rôle", &["role"]),
    ("function", "Fonction", &["fonction"]),
];

/// The header of the model file (`Année de création` is accepted instead of, or beside,
/// `Date de création`).
pub fn model_header() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|(key, _, _)| *key != "creation_year")
        .map(|(_, header, _)| *header)
        .collect()
}

/// The French header of a field (`"town"` → « Commune »).
pub fn header_of(field: &str) -> &'static str {
    COLUMNS
        .iter()
        .find(|(key, _, _)| *key == field)
        .map(|(_, header, _)| *header)
        .unwrap_or("")
}

impl ImportRow {
    /// The cell of a field named in [`COLUMNS`].
    pub fn get(&self, field: &str) -> &str {
        match field {
            "association" => &self.association,
            "rna" => &self.rna,
            "siret" => &self.siret,
            "town" => &self.town,
            "creation_date" => &self.creation_date,
            "creation_year" => &self.creation_year,
            "salaried_staff" => &self.salaried_staff,
            "sector" => &self.sector,
            "general_interest" => &self.general_interest,
            "name" => &self.name,
            "email" => &self.email,
            "role" => &self.role,
            "function" => &self.function,
            _ => "",
        }
    }

    fn cell(&mut self, field: &str) -> Option<&mut String> {
        Some(match field {
            "association" => &mut self.association,
            "rna" => &mut self.rna,
            "siret" => &mut self.siret,
            "town" => &mut self.town,
            "creation_date" => &mut self.creation_date,
            "creation_year" => &mut self.creation_year,
            "salaried_staff" => &mut self.salaried_staff,
            "sector" => &mut self.sector,
            "general_interest" => &mut self.general_interest,
            "name" => &mut self.name,
            "email" => &mut self.email,
            "role" => &mut self.role,
            "function" => &mut self.function,
            _ => return None,
        })
    }

    /// Sets a field named in [`COLUMNS`] (others are ignored).
    pub fn set(&mut self, field: &str, value: &str) {
        if let Some(cell) = self.cell(field) {
            *cell = value.to_string();
        }
    }

    /// The row names its association (name, RNA or SIRET).
    pub fn names_association(&self) -> bool {
        IDENTITY.iter().any(|f| !self.get(f).trim().is_empty())
    }

    /// The row holds a person (any of the person's columns).
    pub fn has_person(&self) -> bool {
        PERSON.iter().any(|f| !self.get(f).trim().is_empty())
    }

    fn is_blank(&self) -> bool {
        COLUMNS
            .iter()
            .all(|(f, _, _)| self.get(f).trim().is_empty())
    }
}

/// The fields that name an association.
const IDENTITY: [&str; 3] = ["association", "rna", "siret"];
/// The association's fields.
pub const ASSOCIATION_FIELDS: [&str; 9] = [
    "association",
    "rna",
    "siret",
    "town",
    "creation_date",
    "creation_year",
    "salaried_staff",
    "sector",
    "general_interest",
];
/// The person's fields.
pub const PERSON: [&str; 4] = ["name", "email", "role", "function"];

/// The text of an uploaded file: UTF-8 (its BOM dropped) when the bytes are valid UTF-8,
/// else Windows-1252, which is what French Excel writes for « CSV (séparateur : point-
/// virgule) ». Every byte sequence decodes: nothing is refused here.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            text.into_owned()
        }
    }
}

/// A header as compared: lowercase, without accents, without what is in parentheses,
/// every other character than letters and digits as one space (« Intérêt général
/// (oui/non) » → `interet general`, « Participant·e » → `participant e`).
pub fn normalize(header: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in header.chars().flat_map(char::to_lowercase) {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ => match crate::domain::fr::fold_accent(c) {
                Some(s) => out.push_str(s),
                None if c.is_ascii_alphanumeric() => out.push(c),
                None => out.push(' '),
            },
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The field a header names, if any.
pub fn column_of(header: &str) -> Option<&'static str> {
    let h = normalize(header);
    COLUMNS
        .iter()
        .find(|(_, _, accepted)| accepted.contains(&h.as_str()))
        .map(|(key, _, _)| *key)
}

/// The rows read from a file or a paste.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Each non-blank row after the header, with its line number in the text.
    pub rows: Vec<(usize, ImportRow)>,
    /// Headers matching no column, as typed: their cells are not imported.
    pub unknown_columns: Vec<String>,
}

/// The separator of a file, found on its header line (the first non-blank one): a tab
/// (a paste from a spreadsheet), else whichever of `;` and `,` appears more often outside
/// quotes (`;` on a tie).
pub fn separator(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if header.contains('\t') {
        return b'\t';
    }
    let (mut semicolons, mut commas, mut quoted) = (0, 0, false);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => semicolons += 1,
            ',' if !quoted => commas += 1,
            _ => {}
        }
    }
    if commas > semicolons { b',' } else { b';' }
}

/// The most rows a list may hold (a cohort takes a few dozen people).
pub const MAX_ROWS: usize = 500;

/// Reads a file or a paste whose first non-blank line holds the headers. Refused, with a
/// French message, when no header names the association, a column is given twice, or the
/// text is not readable as CSV.
pub fn parse(text: &str) -> Result<Table, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    let mut header_seen = false;
    let mut table = Table::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(text, p.byte()));
            format!("Ligne {line} illisible : vérifiez les guillemets de cette ligne.")
        })?;
        let line = record.position().map_or(0, |p| line_at(text, p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let mut seen: BTreeMap<&str, String> = BTreeMap::new();
            for cell in record.iter() {
                let column = column_of(cell);
                match column {
                    Some(key) => {
                        if let Some(first) = seen.insert(key, cell.trim().to_string()) {
                            return Err(format!(
                                "Les colonnes « {first} » et « {} » désignent la même information ({}) : gardez-en une seule.",
                                cell.trim(),
                                header_of(key)
                            ));
                        }
                    }
                    None if !cell.trim().is_empty() => {
                        table.unknown_columns.push(cell.trim().to_string())
                    }
                    None => {}
                }
                columns.push(column);
            }
            if !seen.contains_key("association") {
                return Err(
                    "La première ligne doit donner les titres des colonnes, dont « Association » \
                     (voir le modèle de fichier)."
                        .to_string(),
                );
            }
            continue;
        }
        let mut row = ImportRow::default();
        for (cell, column) in record.iter().zip(&columns) {
            if let Some(key) = column {
                row.set(key, cell.trim());
            }
        }
        if !row.is_blank() {
            if table.rows.len() == MAX_ROWS {
                return Err(format!(
                    "La liste dépasse {MAX_ROWS} lignes : importez-la en plusieurs fois."
                ));
            }
            table.rows.push((line, row));
        }
    }
    if !header_seen {
        return Err("Le fichier est vide : collez des lignes ou choisissez un fichier.".into());
    }
    Ok(table)
}

/// The line number of the record the reader says starts at `byte`. The reader counts
/// neither the blank lines it skips nor them in its position: it gives the end of the
/// previous record, so the line breaks after it are skipped here.
fn line_at(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut start = (byte as usize).min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A problem of the file's shape, on one row and one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Index in the rows given (not the line number).
    pub row: usize,
    pub field: &'static str,
    pub message: String,
}

/// One association of the file: the rows that are its own (the first one names it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub rows: Vec<usize>,
}

impl Group {
    /// The association's value of a field: the first non-blank cell of its rows, with the
    /// index of that row (the first row when every cell is blank).
    pub fn value<'a>(&self, rows: &'a [ImportRow], field: &str) -> (usize, &'a str) {
        self.rows
            .iter()
            .map(|&i| (i, rows[i].get(field).trim()))
            .find(|(_, v)| !v.is_empty())
            .unwrap_or((self.rows[0], ""))
    }
}

/// A value as compared between rows: lowercase, spaces collapsed (and removed in an
/// identifier).
fn comparable(field: &str, value: &str) -> String {
    let lower = value.trim().to_lowercase();
    if matches!(field, "rna" | "siret") {
        lower.split_whitespace().collect()
    } else {
        lower.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Groups the rows by association and finds the file's own problems. A row that names an
/// association (name, RNA or SIRET) joins the association with the same RNA, SIRET or
/// name met before, or starts a new one; a row that names none belongs to the association
/// of the row above. A row with no person's cell is an association without participants.
pub fn group(rows: &[ImportRow]) -> (Vec<Group>, Vec<Problem>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut problems = Vec::new();
    let mut current: Option<usize> = None;
    let line_of = |i: usize| format!("la ligne de « {} »", rows[i].association.trim());
    for (i, row) in rows.iter().enumerate() {
        if let Some(j) = rows[..i].iter().position(|earlier| same_row(earlier, row)) {
            problems.push(Problem {
                row: i,
                field: if row.has_person() {
                    "email"
                } else {
                    "association"
                },
                message: format!(
                    "Cette ligne répète la {} : supprimez-la.",
                    ordinal_row(j, rows)
                ),
            });
            continue;
        }
        let found = if row.names_association() {
            groups.iter().position(|g| {
                let first = &rows[g.rows[0]];
                IDENTITY.iter().any(|f| {
                    let (mine, theirs) = (row.get(f).trim(), first.get(f).trim());
                    !mine.is_empty() && comparable(f, mine) == comparable(f, theirs)
                })
            })
        } else {
            current
        };
        let g = match found {
            Some(g) => g,
            None if row.names_association() => {
                groups.push(Group { rows: vec![i] });
                current = Some(groups.len() - 1);
                continue;
            }
            None => {
                problems.push(Problem {
                    row: i,
                    field: "association",
                    message: "Indiquez l'association de cette personne (sur sa ligne ou sur une ligne au-dessus)."
                        .into(),
                });
                continue;
            }
        };
        // Cells of the association given again must agree with what its rows already say.
        for field in ASSOCIATION_FIELDS {
            let mine = row.get(field).trim();
            if mine.is_empty() {
                continue;
            }
            let (k, theirs) = groups[g].value(rows, field);
            if !theirs.is_empty() && comparable(field, mine) != comparable(field, theirs) {
                problems.push(Problem {
                    row: i,
                    field,
                    message: format!(
                        "« {theirs} » sur {} de la même association : laissez cette case vide ou écrivez la même valeur.",
                        if k == groups[g].rows[0] {
                            "la première ligne".to_string()
                        } else {
                            line_of(k)
                        }
                    ),
                });
            }
        }
        if !row.has_person() && row.names_association() {
            problems.push(Problem {
                row: i,
                field: "association",
                message: "Cette association figure déjà plus haut : ajoutez ses participant·es sur cette ligne ou supprimez-la."
                    .into(),
            });
            continue;
        }
        let email = comparable("email", &row.email);
        if !email.is_empty()
            && groups[g]
                .rows
                .iter()
                .any(|&k| comparable("email", &rows[k].email) == email)
        {
            problems.push(Problem {
                row: i,
                field: "email",
                message: "Cette adresse est déjà celle d'une autre personne de la même association dans la liste."
                    .into(),
            });
        }
        groups[g].rows.push(i);
        current = Some(g);
    }
    (groups, problems)
}

fn same_row(a: &ImportRow, b: &ImportRow) -> bool {
    COLUMNS
        .iter()
        .all(|(f, _, _)| comparable(f, a.get(f)) == comparable(f, b.get(f)))
}

fn ordinal_row(j: usize, rows: &[ImportRow]) -> String {
    let who = if rows[j].name.trim().is_empty() {
        rows[j].association.trim()
    } else {
        rows[j].name.trim()
    };
    format!("ligne de « {who} » plus haut")
}

/// The stored role code (`models::participant::ROLES`) of a role as typed in a file: the
/// code itself, its label, or the words a DLA uses (« dirigeant·e salarié·e », « membre du
/// CA », « président·e »…). `None` when the words are unknown: the form's check then
/// refuses the value as typed.
pub fn role_code(typed: &str) -> Option<&'static str> {
    let n = normalize(typed);
    let n = n.as_str();
    // Stems match the start of the text; words match a whole first word or words.
    let stem = |stems: &[&str]| stems.iter().any(|p| n.starts_with(p));
    let word = |words: &[&str]| {
        words
            .iter()
            .any(|w| n == *w || n.strip_prefix(w).is_some_and(|rest| rest.starts_with(' ')))
    };
    if n.is_empty() {
        None
    } else if stem(&["direct", "dirigeant", "coordinat"]) || word(&["dg"]) {
        Some("direction")
    } else if stem(&[
        "gouvernance",
        "membre du c",
        "membre du bureau",
        "administrat",
        "president",
        "co president",
        "vice president",
        "tresorier",
        "secretaire",
        "benevole",
    ]) || word(&["ca", "bureau", "conseil d administration"])
    {
        Some("gouvernance")
    } else if n == "autre" {
        Some("autre")
    } else {
        None
    }
}

/// A governance role typed as the function itself (« Présidente », « Trésorier »): the
/// function to record when the file's « Fonction » cell is blank.
pub fn function_from_role(typed: &str) -> Option<String> {
    let n = normalize(typed);
    [
        "president",
        "co president",
        "vice president",
        "tresorier",
        "secretaire",
    ]
    .iter()
    .any(|p| n.starts_with(p))
    .then(|| typed.trim().to_string())
}

/// « Intérêt général » as typed: `oui`/`non` (and `x`, `vrai`/`faux`, `1`/`0`); blank is
/// « oui », as the enrolment form's box is ticked by default. `None` for anything else.
pub fn general_interest(typed: &str) -> Option<bool> {
    match normalize(typed).as_str() {
        "" | "oui" | "o" | "x" | "vrai" | "true" | "1" | "yes" | "on" => Some(true),
        "non" | "n" | "faux" | "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The creation cells as the form takes them: a « Date de création » cell holding a year
/// alone (what many lists keep) is the year.
pub fn creation(date: &str, year: &str) -> (String, String) {
    let (date, year) = (date.trim(), year.trim());
    if year.is_empty() && date.len() == 4 && date.chars().all(|c| c.is_ascii_digit()) {
        (String::new(), date.to_string())
    } else {
        (date.to_string(), year.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<ImportRow> {
        parse(text)
            .unwrap()
            .rows
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    #[test]
    fn windows_1252_bytes_from_french_excel_decode_with_their_accents() {
        // « Intérêt général;Rôle » then « Élan;Trésorière » as Excel saves them.
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252
            .encode("Association;Intérêt général;Rôle\r\nÉlan;oui;Trésorière\r\n");
        assert!(!unmappable);
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "not UTF-8: the fixture is real"
        );
        assert_eq!(bytes[15], 0xE9, "é is one byte, 0xE9");
        let text = decode(&bytes);
        assert_eq!(
            text,
            "Association;Intérêt général;Rôle\r\nÉlan;oui;Trésorière\r\n"
        );
        let t = parse(&text).unwrap();
        assert_eq!(t.rows[0].1.association, "Élan");
        assert_eq!(t.rows[0].1.role, "Trésorière");
        assert_eq!(t.rows[0].1.general_interest, "oui");
    }

    #[test]
    fn a_utf8_bom_is_dropped_and_utf8_kept() {
        let text = decode(b"\xEF\xBB\xBFAssociation,Commune\n\xC3\x89lan,B\xC3\xA8gles\n");
        assert!(text.starts_with("Association"));
        let t = parse(&text).unwrap();
        assert_eq!(t.rows[0].1.association, "Élan");
        assert_eq!(t.rows[0].1.town, "Bègles");
    }

    #[test]
    fn the_separator_is_found_on_the_header_line() {
        assert_eq!(separator("Association;Nom;Courriel\r\nA, B;C;D"), b';');
        assert_eq!(separator("Association,Nom,Courriel\nA;B,C,D"), b',');
        assert_eq!(separator("\n\nAssociation\tNom\nA\tB"), b'\t');
        assert_eq!(separator("\"Nom; prénom\",Association,Courriel"), b',');
    }

    #[test]
    fn quoted_separators_line_breaks_and_crlf_are_read_as_one_cell() {
        let t = parse(
            "Association;Secteur;Nom\r\n\"Le Lien; solidaire\";\"Action \"\"sociale\"\"\";\"Anne\r\nMarie\"\r\n",
        )
        .unwrap();
        assert_eq!(t.rows.len(), 1);
        let r = &t.rows[0].1;
        assert_eq!(r.association, "Le Lien; solidaire");
        assert_eq!(r.sector, "Action \"sociale\"");
        assert_eq!(
            r.name, "Anne\r\nMarie",
            "kept as typed: the form's check refuses it"
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_kept() {
        let t = parse("\r\nAssociation;Nom\r\n\r\nA;Anne\r\n;;\r\n \t \r\nB;Bruno\r\n").unwrap();
        let lines: Vec<usize> = t.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![4, 7]);
        assert_eq!(t.rows[1].1.name, "Bruno");
    }

    #[test]
    fn headers_match_in_any_order_case_and_accents_and_unknown_ones_are_reported() {
        let t = parse(
            "COURRIEL;rôle;Nom;ASSOCIATION;Interet general (oui/non);Téléphone;Annee de creation;salarié·es;Participant·e\n\
             a@b.fr;Gouvernance;x;Élan;non;0556;2015;3;\n",
        );
        let err = t.unwrap_err();
        assert!(err.contains("« Nom » et « Participant·e »"), "{err}");
        let t = parse(
            "COURRIEL;rôle;Nom;ASSOCIATION;Interet general (oui/non);Téléphone;Annee de creation;salarié·es\n\
             a@b.fr;Gouvernance;Anne;Élan;non;0556;2015;3\n",
        )
        .unwrap();
        let r = &t.rows[0].1;
        assert_eq!(
            (r.email.as_str(), r.role.as_str(), r.name.as_str()),
            ("a@b.fr", "Gouvernance", "Anne")
        );
        assert_eq!(
            (
                r.association.as_str(),
                r.general_interest.as_str(),
                r.creation_year.as_str(),
                r.salaried_staff.as_str()
            ),
            ("Élan", "non", "2015", "3")
        );
        assert_eq!(t.unknown_columns, vec!["Téléphone".to_string()]);
    }

    #[test]
    fn a_file_without_the_association_column_is_refused() {
        let err = parse("Nom;Courriel\nAnne;a@b.fr\n").unwrap_err();
        assert!(err.contains("« Association »"), "{err}");
        assert!(parse("\n\n").unwrap_err().contains("vide"));
    }

    #[test]
    fn rows_group_by_name_or_identifier_with_blank_association_cells_below() {
        let r = rows(
            "Association;RNA;Commune;Nom;Courriel\n\
             Élan;W332004518;Bègles;Anne;anne@elan.fr\n\
             ;;;Bruno;bruno@elan.fr\n\
             Le Lien;;Pessac;Chloé;chloe@lien.fr\n\
             Cap Sud;;;;\n\
             ÉLAN;;;Denis;denis@elan.fr\n\
             ;W 332004518;;Emma;emma@elan.fr\n",
        );
        let (groups, problems) = group(&r);
        assert_eq!(problems, vec![]);
        assert_eq!(
            groups,
            vec![
                Group {
                    rows: vec![0, 1, 4, 5]
                },
                Group { rows: vec![2] },
                Group { rows: vec![3] },
            ]
        );
        assert_eq!(groups[0].value(&r, "town"), (0, "Bègles"));
        assert!(!r[3].has_person(), "an association without participants");
    }

    #[test]
    fn the_files_own_problems_are_placed_on_their_row_and_field() {
        let r = rows(
            "Association;Commune;Nom;Courriel\n\
             ;;Zoé;zoe@x.fr\n\
             Élan;Bègles;Anne;anne@elan.fr\n\
             Élan;Pessac;Bruno;bruno@elan.fr\n\
             ;;Anne B.;ANNE@elan.fr\n\
             Élan;Bègles;Anne;anne@elan.fr\n\
             Élan;;;\n",
        );
        let (groups, problems) = group(&r);
        assert_eq!(groups.len(), 1);
        let found: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.field)).collect();
        assert_eq!(
            found,
            vec![
                (0, "association"),
                (2, "town"),
                (3, "email"),
                (4, "email"),
                (5, "association")
            ]
        );
        assert!(problems[1].message.contains("« Bègles »"));
        assert!(problems[3].message.contains("répète"));
    }

    #[test]
    fn roles_are_read_from_codes_labels_and_a_dlas_words() {
        for (typed, code) in [
            ("direction", Some("direction")),
            ("Direction salariée", Some("direction")),
            ("Dirigeant·e salarié·e", Some("direction")),
            ("Directrice", Some("direction")),
            ("gouvernance", Some("gouvernance")),
            ("Membre du CA", Some("gouvernance")),
            ("Présidente", Some("gouvernance")),
            ("Trésorier", Some("gouvernance")),
            ("Autre", Some("autre")),
            ("Stagiaire", None),
            ("", None),
        ] {
            assert_eq!(role_code(typed), code, "{typed}");
        }
        assert_eq!(
            function_from_role(" Présidente "),
            Some("Présidente".into())
        );
        assert_eq!(function_from_role("Membre du CA"), None);
    }

    #[test]
    fn general_interest_reads_oui_non_and_blank_as_the_forms_default() {
        assert_eq!(general_interest("Oui"), Some(true));
        assert_eq!(general_interest(""), Some(true));
        assert_eq!(general_interest("NON"), Some(false));
        assert_eq!(general_interest("peut-être"), None);
    }

    #[test]
    fn a_year_alone_in_the_date_column_is_the_year() {
        assert_eq!(creation("2012", ""), (String::new(), "2012".into()));
        assert_eq!(
            creation("15/09/2012", ""),
            ("15/09/2012".into(), String::new())
        );
        assert_eq!(creation("2012", "2012"), ("2012".into(), "2012".into()));
    }

    #[test]
    fn the_model_header_reads_back_as_every_column_but_the_year() {
        let header = model_header().join(";");
        let t = parse(&format!("{header}\n")).unwrap();
        assert!(t.unknown_columns.is_empty());
        assert_eq!(model_header().len(), 12);
        for (key, h, _) in COLUMNS {
            assert_eq!(column_of(h), Some(key), "{h}");
        }
    }
}
