//! Line breaks and control characters in text that people type or send.
//!
//! One definition for the two places that must agree: the input checks
//! (`models::input::Check`), which refuse a line break in a one-line field and store
//! multi-line text with LF only, and the calendar invites (`mail::ics`), which must stay
//! well-formed whatever is stored (rows written before the checks, configuration values).
//! A line break is CR, LF, NEL, LINE SEPARATOR or PARAGRAPH SEPARATOR: what a browser, a
//! word processor or a copy-paste can put in a text, and what a mail or calendar client may
//! take as the end of a line.

/// CR, LF, NEL (U+0085), LINE SEPARATOR (U+2028), PARAGRAPH SEPARATOR (U+2029).
pub fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// A control character (Unicode Cc: C0, DEL, C1) that is neither a tab nor a line break.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t' && !is_line_break(c)
}

/// Every line break as one LF: CRLF, a lone CR (old Mac, some mail clients), NEL, U+2028
/// and U+2029. Browsers send a textarea's line breaks as CRLF.
pub fn unify_line_breaks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        out.push(if is_line_break(c) { '\n' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_break_becomes_one_lf() {
        assert_eq!(
            unify_line_breaks("a\r\nb\rc\nd\u{85}e\u{2028}f\u{2029}g"),
            "a\nb\nc\nd\ne\nf\ng"
        );
        assert_eq!(unify_line_breaks("a\r\r\nb"), "a\n\nb", "CR then CRLF: two");
        assert_eq!(unify_line_breaks("a\n\rb"), "a\n\nb", "LF then CR: two");
        assert_eq!(unify_line_breaks("fin\r"), "fin\n");
    }

    #[test]
    fn tab_and_line_breaks_are_not_forbidden_controls() {
        assert!(!is_forbidden_control('\t'));
        assert!(!is_forbidden_control('\n'));
        assert!(!is_forbidden_control('\r'));
        assert!(!is_forbidden_control('\u{85}'));
        for c in [
            '\u{0}', '\u{7}', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{9b}',
        ] {
            assert!(is_forbidden_control(c), "{c:?}");
        }
        assert!(!is_forbidden_control('é'));
        assert!(!is_forbidden_control('\u{2028}'));
    }
}
