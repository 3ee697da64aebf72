//! CSV files that open correctly in French Excel (and LibreOffice): UTF-8 with a byte-order
//! mark (without it Excel reads the bytes as Windows-1252 and mangles accents), `;` as the
//! separator (French Excel expects it, since `,` is the decimal separator), CRLF line ends,
//! decimal comma, dates JJ/MM/AAAA. A field is quoted only when it has to be: when it contains
//! `;`, `"`, a line break, or starts or ends with a space (quotes doubled inside).
//!
//! Values are plain strings: callers format numbers with [`decimal_comma`] or [`fixed`],
//! dates with [`date`], and pass free text typed by users through [`text`] so that a cell
//! starting with `=` is not run as a formula by the spreadsheet.

use chrono::NaiveDate;

/// The UTF-8 byte-order mark Excel needs to recognise UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The separator French spreadsheets expect.
pub const SEPARATOR: char = ';';
/// `Content-Type` of the files built here.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The whole file: BOM, the header line, then one line per row, each ended by CRLF.
/// Rows shorter or longer than the header are written as they are.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = String::new();
    write_line(&mut out, header.iter().copied());
    for row in rows {
        write_line(&mut out, row.iter().map(String::as_str));
    }
    let mut bytes = Vec::with_capacity(BOM.len() + out.len());
    bytes.extend_from_slice(BOM);
    bytes.extend_from_slice(out.as_bytes());
    bytes
}

fn write_line<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, value) in fields.enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        push_field(out, value);
    }
    out.push_str("\r\n");
}

/// Appends one field, quoted when it needs to be.
fn push_field(out: &mut String, value: &str) {
    let needs_quotes = value.contains([SEPARATOR, '"', '\n', '\r'])
        || value.starts_with(' ')
        || value.ends_with(' ');
    if needs_quotes {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// A number with a decimal comma and exactly `decimals` decimals, no thousands separator
/// (a spreadsheet reads "1250,50" as a number, not "1 250,50"): `decimal_comma(10.5, 2)` →
/// "10,50". Rounds half away from zero; never "-0".
pub fn decimal_comma(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return String::new();
    }
    let decimals = decimals.min(9);
    let factor = 10f64.powi(decimals as i32);
    let scaled = value * factor;
    // Values a hair below .5 because of binary representation round away from zero.
    let nudged = scaled + scaled.signum() * scaled.abs().max(1.0) * 1e-12;
    fixed(nudged.round() as i64, decimals as u32)
}

/// An exact amount of `10^-decimals` units, with a decimal comma: `fixed(105, 1)` → "10,5",
/// `fixed(125050, 2)` → "1250,50" (cents as euros), `fixed(-5, 2)` → "-0,05".
pub fn fixed(scaled: i64, decimals: u32) -> String {
    let factor = 10u64.pow(decimals.min(18));
    let abs = scaled.unsigned_abs();
    let sign = if scaled < 0 { "-" } else { "" };
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    format!(
        "{sign}{},{:0width$}",
        abs / factor,
        abs % factor,
        width = decimals as usize
    )
}

/// Like [`decimal_comma`] with at most `decimals` decimals, trailing zeros dropped:
/// `decimal_trimmed(10.5, 2)` → "10,5", `decimal_trimmed(12.0, 2)` → "12".
pub fn decimal_trimmed(value: f64, decimals: usize) -> String {
    let mut s = decimal_comma(value, decimals);
    if s.contains(',') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with(',') {
            s.pop();
        }
    }
    if s == "-0" { "0".to_owned() } else { s }
}

/// A date as French spreadsheets read it: "11/01/2027".
pub fn date(d: NaiveDate) -> String {
    crate::domain::fr::date_short(d)
}

/// Free text typed by a user, made safe for a spreadsheet: a value starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be taken as a formula ("CSV injection"), so it
/// gets a leading apostrophe, which spreadsheets show as text.
pub fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// `Content-Disposition` value for a download named `filename` (ASCII expected; other
/// characters are replaced by `_` so the header stays valid).
pub fn attachment(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

/// ASCII slug of a name for a file name, at most 60 characters: « Modèles 2027 » →
/// "modeles-2027", « Les Pêcheurs d'Été » → "les-pecheurs-d-ete"; `fallback` when nothing
/// is left.
pub fn filename_slug(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        let mapped = match crate::domain::fr::fold_accent(c) {
            Some(f) => f,
            None if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            None => "-",
        };
        if mapped == "-" && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push_str(mapped);
    }
    let out: String = out.trim_end_matches('-').chars().take(60).collect();
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn starts_with_a_bom_and_ends_every_line_with_crlf() {
        let out = csv(
            &["Date", "Durée"],
            &[vec!["11/01/2027".into(), "0,5".into()]],
        );
        assert!(out.starts_with(BOM));
        assert_eq!(
            text_of(&out[BOM.len()..]),
            "Date;Durée\r\n11/01/2027;0,5\r\n"
        );
    }

    #[test]
    fn quotes_fields_with_separator_quote_or_line_break_and_doubles_quotes() {
        let out = csv(
            &["a"],
            &[
                vec!["un ; deux".into()],
                vec!["il a dit \"oui\"".into()],
                vec!["ligne 1\nligne 2".into()],
                vec!["simple".into()],
                vec![" espace".into()],
            ],
        );
        assert_eq!(
            text_of(&out[BOM.len()..]),
            "a\r\n\"un ; deux\"\r\n\"il a dit \"\"oui\"\"\"\r\n\"ligne 1\nligne 2\"\r\nsimple\r\n\" espace\"\r\n"
        );
    }

    #[test]
    fn keeps_accents_as_utf8() {
        let out = csv(
            &["Éléments"],
            &[vec!["préparation, déplacement à Besançon".into()]],
        );
        let s = text_of(&out[BOM.len()..]);
        assert!(s.contains("Éléments"));
        assert!(s.contains("préparation, déplacement à Besançon"));
    }

    #[test]
    fn numbers_use_a_decimal_comma_without_grouping() {
        assert_eq!(decimal_comma(10.5, 2), "10,50");
        assert_eq!(decimal_comma(1250.0, 2), "1250,00");
        assert_eq!(decimal_comma(2.675, 2), "2,68");
        assert_eq!(decimal_comma(-0.001, 2), "0,00");
        assert_eq!(decimal_comma(3.0, 0), "3");
        assert_eq!(decimal_trimmed(10.5, 2), "10,5");
        assert_eq!(decimal_trimmed(12.0, 2), "12");
        assert_eq!(decimal_trimmed(0.25, 2), "0,25");
        assert_eq!(fixed(105, 1), "10,5");
        assert_eq!(fixed(125_050, 2), "1250,50");
        assert_eq!(fixed(-5, 2), "-0,05");
        assert_eq!(fixed(7, 0), "7");
    }

    #[test]
    fn dates_are_day_month_year() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2027, 1, 11).unwrap()),
            "11/01/2027"
        );
    }

    #[test]
    fn formulas_typed_by_users_are_neutralised() {
        assert_eq!(text("=SOMME(A1)"), "'=SOMME(A1)");
        assert_eq!(text("@cmd"), "'@cmd");
        assert_eq!(text("Préparation"), "Préparation");
    }

    #[test]
    fn attachment_names_stay_ascii() {
        assert_eq!(
            attachment("temps-cohorte-été.csv"),
            "attachment; filename=\"temps-cohorte-_t_.csv\""
        );
    }

    #[test]
    fn file_names_are_ascii_slugs() {
        assert_eq!(
            filename_slug("Modèles socio-économiques 2027", "cohorte"),
            "modeles-socio-economiques-2027"
        );
        assert_eq!(filename_slug("  Cœur & Ça ! ", "cohorte"), "coeur-ca");
        assert_eq!(
            filename_slug("Les Pêcheurs d'Été", "x"),
            "les-pecheurs-d-ete"
        );
        assert_eq!(filename_slug("«»", "association"), "association");
    }
}
