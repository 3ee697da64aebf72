//! Raw input as typed by a user (form) or sent by a client (JSON), and the checks that turn
//! it into typed values with French messages per field.
//!
//! Inputs keep every field as text so that a rejected form can be shown again exactly as it
//! was typed; the API accepts numbers and booleans for the same fields (`lenient`).
//!
//! Text comes in two kinds. A one-line field (a name, an email, a title, a place) refuses
//! any line break: such values end up in email headers, calendar parameters and CSV cells,
//! where a line break changes the structure, not just the look. A multi-line field (a
//! textarea: agenda, notes, instructions, answers) keeps its line breaks, stored as LF only
//! whatever the browser (CRLF) or the client (lone CR) sent. Neither takes a control
//! character other than the tab: none of them is typed on purpose, and some (NUL, ESC) are
//! how injections start. The rules live in `domain::text`.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Deserializer};

use crate::domain::text::{is_forbidden_control, is_line_break, unify_line_breaks};
use crate::error::{AppError, FieldErrors};

/// The message beside a one-line field that holds a line break.
pub const LINE_BREAK_REFUSED: &str =
    "Ce champ tient sur une seule ligne : retirez les retours à la ligne.";
/// The message beside a field that holds a control character.
pub const CONTROL_REFUSED: &str = "Ce champ contient un caractère invisible non autorisé \
     (caractère de contrôle) : retirez-le ou retapez le texte.";

/// A one-line value, trimmed; refused (with the French message) when it holds a line break
/// or a control character other than the tab.
pub fn one_line(value: &str) -> Result<String, &'static str> {
    let v = value.trim();
    if v.chars().any(is_line_break) {
        Err(LINE_BREAK_REFUSED)
    } else if v.chars().any(is_forbidden_control) {
        Err(CONTROL_REFUSED)
    } else {
        Ok(v.to_string())
    }
}

/// A multi-line value, trimmed, with every line break as LF; refused (with the French
/// message) when it holds a control character other than the tab.
pub fn multiline(value: &str) -> Result<String, &'static str> {
    let v = unify_line_breaks(value.trim());
    if v.chars().any(is_forbidden_control) {
        Err(CONTROL_REFUSED)
    } else {
        Ok(v)
    }
}

/// Accepts a JSON string, number, boolean or null as text (null → empty).
pub fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Any {
        S(String),
        I(i64),
        F(f64),
        B(bool),
        N(()),
    }
    Ok(match Option::<Any>::deserialize(d)? {
        None | Some(Any::N(())) => String::new(),
        Some(Any::S(s)) => s,
        Some(Any::I(i)) => i.to_string(),
        Some(Any::F(f)) => f.to_string(),
        Some(Any::B(b)) => b.to_string(),
    })
}

/// Collects field errors while converting input.
#[derive(Default)]
pub struct Check {
    pub errors: FieldErrors,
}

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    /// One-line text, trimmed, at most `max` characters (see [`one_line`]).
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = one_line(value).unwrap_or_else(|message| {
            self.add(field, message);
            value.trim().to_string()
        });
        self.max_chars(field, &v, max);
        v
    }

    /// Text from a textarea, trimmed, line breaks as LF, at most `max` characters counted
    /// after that (see [`multiline`]).
    pub fn multiline(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = multiline(value).unwrap_or_else(|message| {
            self.add(field, message);
            unify_line_breaks(value.trim())
        });
        self.max_chars(field, &v, max);
        v
    }

    fn max_chars(&mut self, field: &str, v: &str, max: usize) {
        if v.chars().count() > max {
            self.add(field, format!("{max} caractères au maximum."));
        }
    }

    pub fn required(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = self.text(field, value, max);
        if v.is_empty() {
            self.add(field, "Ce champ est obligatoire.");
        }
        v
    }

    pub fn optional(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        let v = self.text(field, value, max);
        (!v.is_empty()).then_some(v)
    }

    pub fn int(&mut self, field: &str, value: &str, min: i32, max: i32) -> Option<i32> {
        let v = value.trim().replace([' ', '\u{a0}', '\u{202f}'], "");
        if v.is_empty() {
            return None;
        }
        match v.parse::<i32>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            Ok(_) => {
                self.add(field, format!("Indiquez un nombre entre {min} et {max}."));
                None
            }
            Err(_) => {
                self.add(field, "Indiquez un nombre entier, par exemple 12.");
                None
            }
        }
    }

    pub fn required_int(&mut self, field: &str, value: &str, min: i32, max: i32) -> Option<i32> {
        if value.trim().is_empty() {
            self.add(field, "Ce champ est obligatoire.");
            return None;
        }
        self.int(field, value, min, max)
    }

    /// Days as typed in French ("1,5", "0.5", "2"), in half-days; must be a multiple of ½.
    pub fn half_days(&mut self, field: &str, value: &str) -> Option<i32> {
        let v = value.trim().replace(',', ".");
        if v.is_empty() {
            return Some(0);
        }
        match v.parse::<f64>() {
            Ok(d) if d.is_finite() && (0.0..=100.0).contains(&d) && (d * 2.0).fract() == 0.0 => {
                Some((d * 2.0) as i32)
            }
            Ok(_) => {
                self.add(
                    field,
                    "Indiquez un nombre de jours par demi-journées (0, 0,5, 1, 1,5…), 100 au plus.",
                );
                None
            }
            Err(_) => {
                self.add(field, "Indiquez un nombre de jours, par exemple 0,5 ou 1.");
                None
            }
        }
    }

    /// A date as `AAAA-MM-JJ` (HTML date input, API) or `JJ/MM/AAAA` (typed by hand).
    pub fn date(&mut self, field: &str, value: &str) -> Option<NaiveDate> {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "Indiquez une date.");
            return None;
        }
        let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"));
        match parsed {
            Ok(d) if (2000..=2100).contains(&chrono::Datelike::year(&d)) => Some(d),
            Ok(_) => {
                self.add(field, "Indiquez une date entre 2000 et 2100.");
                None
            }
            Err(_) => {
                self.add(
                    field,
                    "Date invalide : utilisez le format JJ/MM/AAAA (par exemple 11/01/2027).",
                );
                None
            }
        }
    }

    /// A time as `HH:MM` or the French `9h30` / `9 h 30`.
    pub fn time(&mut self, field: &str, value: &str) -> Option<NaiveTime> {
        let v: String = value
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if v.is_empty() {
            self.add(field, "Indiquez une heure.");
            return None;
        }
        let v = v.to_lowercase().replace('h', ":");
        let v = if v.ends_with(':') {
            format!("{v}00")
        } else {
            v
        };
        match NaiveTime::parse_from_str(&v, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(&v, "%H:%M:%S"))
        {
            Ok(t) => Some(t),
            Err(_) => {
                self.add(
                    field,
                    "Heure invalide : utilisez le format HH:MM (par exemple 09:30).",
                );
                None
            }
        }
    }

    /// A required address, returned as stored and compared (`account::normalise_email`).
    pub fn email(&mut self, field: &str, value: &str) -> String {
        let v = self.required(field, value, 254);
        if !v.is_empty() && !is_plausible_email(&v) {
            self.add(
                field,
                "Adresse e-mail invalide (exemple : prenom.nom@association.fr).",
            );
        }
        crate::models::account::normalise_email(&v)
    }

    pub fn url(&mut self, field: &str, value: &str) -> String {
        let v = self.text(field, value, 500);
        if !(v.is_empty() || v.starts_with("https://") || v.starts_with("http://")) {
            self.add(field, "Le lien doit commencer par https:// (ou http://).");
        }
        v
    }

    pub fn checkbox(value: &str) -> bool {
        matches!(
            value.trim().to_lowercase().as_str(),
            "on" | "true" | "1" | "oui" | "yes"
        )
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.errors))
        }
    }
}

/// Deliberately simple: one `@`, a dot in the domain, no spaces. Deliverability is the
/// mail server's job; this catches typing slips.
pub fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
        && !domain.contains('@')
        // A dot may not start or end the local part, nor follow another (RFC 5322 dot-atom):
        // SMTP servers refuse such addresses, and the email would fail.
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !s.contains("..")
        // The address must also be one the mailer can send to.
        && s.parse::<lettre::Address>().is_ok()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_accept_iso_and_french_forms() {
        let mut c = Check::new();
        assert_eq!(
            c.date("d", "2027-01-11"),
            NaiveDate::from_ymd_opt(2027, 1, 11)
        );
        assert_eq!(
            c.date("d", "11/01/2027"),
            NaiveDate::from_ymd_opt(2027, 1, 11)
        );
        assert!(c.errors.is_empty());
        assert_eq!(c.date("d", "31/02/2027"), None);
        assert!(c.errors["d"].contains("Date invalide"));
    }

    #[test]
    fn times_accept_french_notation() {
        let mut c = Check::new();
        assert_eq!(c.time("t", "9h30"), NaiveTime::from_hms_opt(9, 30, 0));
        assert_eq!(c.time("t", "14 h"), NaiveTime::from_hms_opt(14, 0, 0));
        assert_eq!(c.time("t", "09:30"), NaiveTime::from_hms_opt(9, 30, 0));
        assert!(c.errors.is_empty());
        assert_eq!(c.time("t", "25:00"), None);
    }

    #[test]
    fn half_days_take_decimal_comma_and_refuse_quarters() {
        let mut c = Check::new();
        assert_eq!(c.half_days("p", "1,5"), Some(3));
        assert_eq!(c.half_days("p", "2"), Some(4));
        assert_eq!(c.half_days("p", "0.25"), None);
        assert!(c.errors.contains_key("p"));
    }

    #[test]
    fn one_line_fields_refuse_line_breaks_with_a_french_message() {
        for typed in [
            "Evil\r\nX-Injected: 1",
            "Evil\rX",
            "Evil\nX",
            "Evil\u{85}X",
            "Evil\u{2028}X",
            "Evil\u{2029}X",
        ] {
            let mut c = Check::new();
            c.required("name", typed, 150);
            assert_eq!(c.errors["name"], LINE_BREAK_REFUSED, "{typed:?}");
            let mut c = Check::new();
            c.email("email", &format!("a@b.fr{typed}"));
            assert_eq!(c.errors["email"], LINE_BREAK_REFUSED, "{typed:?}");
            let mut c = Check::new();
            c.url("video_link", &format!("https://visio.fr/{typed}"));
            assert_eq!(c.errors["video_link"], LINE_BREAK_REFUSED, "{typed:?}");
        }
    }

    #[test]
    fn one_line_fields_refuse_control_characters_but_keep_tabs() {
        for typed in [
            "Evil\u{0}",
            "Evil\u{1b}[31m",
            "Evil\u{7f}",
            "Evil\u{b}X",
            "\u{9b}X",
        ] {
            let mut c = Check::new();
            assert!(c.optional("name", typed, 150).is_some());
            assert_eq!(c.errors["name"], CONTROL_REFUSED, "{typed:?}");
        }
        let mut c = Check::new();
        assert_eq!(c.text("name", "  Nadia\tBenali \r\n", 150), "Nadia\tBenali");
        assert!(
            c.errors.is_empty(),
            "a tab, and spaces and line breaks around, are fine"
        );
    }

    #[test]
    fn multiline_fields_store_lf_only_and_refuse_control_characters() {
        let mut c = Check::new();
        assert_eq!(
            c.multiline(
                "agenda",
                "\r\nUn\r\nDeux\rTrois\n\tQuatre\u{2028}Cinq\r\n",
                100
            ),
            "Un\nDeux\nTrois\n\tQuatre\nCinq"
        );
        assert!(c.errors.is_empty());
        c.multiline("notes", "Un\u{0}Deux", 100);
        assert_eq!(c.errors["notes"], CONTROL_REFUSED);
    }

    #[test]
    fn multiline_length_counts_a_crlf_as_one_character() {
        let mut c = Check::new();
        assert_eq!(c.multiline("agenda", "a\r\nb\r\nc", 5), "a\nb\nc");
        assert!(c.errors.is_empty());
        c.multiline("agenda", "a\r\nb\r\nc\r\nd", 5);
        assert_eq!(c.errors["agenda"], "5 caractères au maximum.");
    }

    #[test]
    fn email_check_catches_typing_slips() {
        assert!(is_plausible_email("marie.dupont@asso.fr"));
        assert!(!is_plausible_email("marie.dupont@asso"));
        assert!(!is_plausible_email("marie dupont@asso.fr"));
        assert!(!is_plausible_email("marie.dupont.asso.fr"));
        assert!(!is_plausible_email("membre.du.bureau..@asso.fr"));
        assert!(!is_plausible_email(".marie@asso.fr"));
        assert!(!is_plausible_email("marie.@asso.fr"));
        assert!(!is_plausible_email("marie@asso..fr"));
        assert!(is_plausible_email("marie-claire.o'neil+dla@asso-33.fr"));
    }
}
